"""The Value & churn section of the Customer performance tab: lifetime value, probability alive, churn risk."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.components import analyst_note, data_grid, export_button, feedback, graph, kpi_card, section, segmented
from services.models import ANALYST_ROLES
from services.value.training import DISCOUNT_RANGE, HORIZON_RANGE, ValueSettings
from services.value.views import DIMENSIONS

SECTION = "value-section"
OPEN = "value-open"
BODY = "value-body"
MODEL_NOTE = "value-model-note"
TRAINED = "value-trained"  # the data version a training in this browser produced
HORIZON = "value-horizon"
DISCOUNT = "value-discount"
TRAIN = "value-train"
CANCEL = "value-cancel"
PROGRESS = "value-progress"
STATUS = "value-status"
KPI_CLV = "value-kpi-clv"
KPI_AVERAGE = "value-kpi-average"
KPI_PURCHASES = "value-kpi-purchases"
KPI_ALIVE = "value-kpi-alive"
KPI_RISK = "value-kpi-risk"
KPIS = ((KPI_CLV, "12-month value", "bi-gem", "expected, discounted"),
        (KPI_AVERAGE, "Average CLV", "bi-person-check", "per scored customer"),
        (KPI_PURCHASES, "Expected purchases", "bi-bag", "purchase days, next 12 months"),
        (KPI_ALIVE, "Likely active", "bi-heart-pulse", "expected share still buying"),
        (KPI_RISK, "Revenue at risk", "bi-exclamation-triangle", "churn risk × last year's revenue"))
HISTOGRAM = "value-histogram"
BY_DIMENSION = "value-by-dimension"
BY_GRAPH = "value-by-graph"
ALIVE_GRAPH = "value-alive-graph"
CALIBRATION_GRAPH = "value-calibration-graph"
TOP_GRID = "value-top-grid"
TOP_EXPORT = "value-top-export"
TOP_DOWNLOAD = "value-top-download"
ROC_GRAPH = "value-roc-graph"
PR_GRAPH = "value-pr-graph"
RELIABILITY_GRAPH = "value-reliability-graph"
IMPORTANCE_GRAPH = "value-importance-graph"
THRESHOLD = "value-threshold"
THRESHOLD_READOUT = "value-threshold-readout"
RISK_GRID = "value-risk-grid"
RISK_EXPORT = "value-risk-export"
RISK_DOWNLOAD = "value-risk-download"
SEGMENT_NAME = "value-segment-name"
SAVE_SEGMENT = "value-save-segment"
SAVE_FEEDBACK = "value-save-feedback"
DEFAULT_THRESHOLD = 0.5
GRID_ROWS = 100
EXPORT_ROWS = 100_000  # a bigger list goes to a segment rather than a file

_MONEY = {"function": "params.value == null ? '–' : d3.format('$,.0f')(params.value)"}
_SHARE = {"function": "params.value == null ? '–' : d3.format('.0%')(params.value)"}
_NUMBER = {"function": "params.value == null ? '–' : d3.format(',.1f')(params.value)"}
CUSTOMER_COLUMNS = [
    {"field": "name", "headerName": "Customer", "minWidth": 160},
    {"field": "external_id", "headerName": "ID", "maxWidth": 110},
    {"field": "country", "maxWidth": 130},
    {"field": "profile", "maxWidth": 120},
    {"field": "orders", "type": "numericColumn", "maxWidth": 100},
    {"field": "clv_12m", "headerName": "CLV, 12 months", "type": "numericColumn", "valueFormatter": _MONEY},
    {"field": "purchases_12m", "headerName": "Expected purchases", "type": "numericColumn",
     "valueFormatter": _NUMBER},
    {"field": "p_alive", "headerName": "P(alive)", "type": "numericColumn", "valueFormatter": _SHARE,
     "maxWidth": 110},
    {"field": "churn_risk", "headerName": "Churn risk", "type": "numericColumn", "valueFormatter": _SHARE,
     "maxWidth": 120},
    {"field": "revenue_at_risk", "headerName": "Revenue at risk", "type": "numericColumn",
     "valueFormatter": _MONEY},
    {"field": "last_order", "headerName": "Last order", "maxWidth": 130},
]


def _customer_grid(grid_id: str, empty: str):
    """A scrolling grid of customers (a hundred rows would make the page very long)."""
    grid = data_grid(grid_id, CUSTOMER_COLUMNS, empty, row_id="'' + params.data.customer_id", domLayout="normal")
    grid.style = {"width": "100%", "height": "420px"}
    return grid


def layout() -> html.Div:
    """The section closed: its content, and the queries behind it, come when the user opens it."""
    opener = dbc.Button([html.I(className="bi bi-gem me-2"), "Show value & churn",
                         html.Span(": lifetime value, probability alive, churn risk and revenue at risk",
                                   className="fw-normal")], id=OPEN, color="primary", outline=True,
                        className="mt-3")
    return html.Div([opener, html.Div(id=BODY)], id=SECTION)


def body(role: str) -> html.Div:
    return html.Div([
        html.Div([html.H2([html.I(className="bi bi-gem me-2 text-primary"), "Value & churn"], className="h5 mb-1"),
                  html.Div(id=MODEL_NOTE, className="small text-body-secondary"), dcc.Store(id=TRAINED)],
                 className="mt-4 mb-2"),
        _training(role in ANALYST_ROLES),
        html.Div([kpi_card(card_id, title, icon, "–", note) for card_id, title, icon, note in KPIS],
                 className="kpi-grid kpi-grid-5 mb-3"),
        dbc.Row([
            dbc.Col(section("Lifetime value distribution", graph(HISTOGRAM), icon="bi-bar-chart-line",
                            info="Customers by expected value of their next 12 months, discounted monthly. "
                                 "The last bar gathers the top 1%."), lg=6),
            dbc.Col(section("Lifetime value by group", graph(BY_GRAPH), icon="bi-collection",
                            actions=segmented(BY_DIMENSION, list(DIMENSIONS.items()), "rfm_segment"),
                            info="Expected 12-month value of each group, with the average per customer."), lg=6),
        ], className="g-3"),
        dbc.Row([
            dbc.Col(section("Probability alive", graph(ALIVE_GRAPH, height=340), icon="bi-heart-pulse",
                            info="The average chance that customers are still buying, by days since their "
                                 "last order and by their orders: recent, frequent buyers are alive; frequent "
                                 "buyers gone quiet are the ones slipping away."), lg=6),
            dbc.Col(section("Model check on a holdout period", graph(CALIBRATION_GRAPH, height=340),
                            icon="bi-clipboard-check",
                            info="The model fitted without the last months predicts how often each group buys "
                                 "in them; the bars are what customers actually did."), lg=6),
        ], className="g-3"),
        section("Top future-value customers",
                _customer_grid(TOP_GRID, "No scored customers match these filters."),
                icon="bi-trophy", info="The customers expected to be worth the most over the next 12 months; "
                                       f"the export holds up to {EXPORT_ROWS:,} of them.",
                actions=export_button(TOP_EXPORT, TOP_DOWNLOAD)),
        html.H3([html.I(className="bi bi-door-open me-2 text-primary"), "Churn model"], className="h6 mt-3"),
        dbc.Row([
            dbc.Col(section("ROC curve", graph(ROC_GRAPH, height=280), icon="bi-graph-up",
                            info="On the holdout cutoff: the share of churners caught against the share of "
                                 "staying customers wrongly flagged, for the model and for recency alone."), lg=4),
            dbc.Col(section("Precision and recall", graph(PR_GRAPH, height=280), icon="bi-bullseye",
                            info="On the holdout cutoff: of the customers flagged, the share who churned "
                                 "(precision), against the share of churners flagged (recall)."), lg=4),
            dbc.Col(section("Calibration", graph(RELIABILITY_GRAPH, height=280), icon="bi-rulers",
                            info="Predicted churn risk against the share who churned, in ten groups of "
                                 "customers; on the diagonal the risks can be read as probabilities."), lg=4),
        ], className="g-3"),
        dbc.Row([
            dbc.Col(section("What drives churn", graph(IMPORTANCE_GRAPH, height=340), icon="bi-sliders",
                            info="How much the holdout AUC drops when one feature is shuffled (permutation "
                                 "importance), for each model."), lg=5),
            dbc.Col(section("Threshold explorer", _threshold(), icon="bi-funnel",
                            info="Customers whose churn risk is at or above the threshold are flagged. "
                                 "Precision and recall are measured on the holdout cutoff; the customers "
                                 "and revenue at risk are today's, for the filters."), lg=7),
        ], className="g-3"),
        section("Customers at risk", [_customer_grid(RISK_GRID, "No customer is at or above this threshold."),
                                      html.Div(f"The {GRID_ROWS} with the most revenue at risk. The export holds "
                                               f"up to {EXPORT_ROWS:,}; a segment holds all of them.",
                                               className="small text-body-secondary mt-2"),
                                      _save_segment(role in ANALYST_ROLES)],
                icon="bi-exclamation-triangle", actions=export_button(RISK_EXPORT, RISK_DOWNLOAD),
                info="Flagged customers, the most revenue at risk first: a list for a retention campaign."),
    ])


def _training(can_train: bool) -> html.Div:
    defaults = ValueSettings()
    if not can_train:
        return html.Div(analyst_note(False, "retrain the models"), className="mb-2")
    low, high = HORIZON_RANGE
    controls = html.Div([
        dbc.InputGroup([dbc.InputGroupText("Churn: no purchase in"),
                        dbc.Input(id=HORIZON, type="number", min=low, max=high, step=1, value=defaults.horizon,
                                  style={"maxWidth": "5.5rem"}),
                        dbc.InputGroupText("days")], size="sm", className="w-auto"),
        dbc.InputGroup([dbc.InputGroupText("Monthly discount"),
                        dbc.Input(id=DISCOUNT, type="number", min=DISCOUNT_RANGE[0] * 100,
                                  max=DISCOUNT_RANGE[1] * 100, step=0.1, value=defaults.monthly_discount * 100,
                                  style={"maxWidth": "5rem"}),
                        dbc.InputGroupText("%")], size="sm", className="w-auto"),
        dbc.Button([html.I(className="bi bi-cpu me-1"), "Retrain models"], id=TRAIN, size="sm", color="primary"),
        dbc.Button("Cancel", id=CANCEL, size="sm", color="secondary", outline=True, disabled=True),
    ], className="d-flex flex-wrap align-items-center gap-2")
    return html.Div([controls,
                     dbc.Progress(id=PROGRESS, value=0, className="mt-2", style={"height": "6px"}),
                     html.Div(id=STATUS, className="small mt-1", role="status")], className="mb-3")


def _threshold() -> html.Div:
    return html.Div([
        dcc.Slider(id=THRESHOLD, min=0.05, max=0.95, step=0.05, value=DEFAULT_THRESHOLD,
                   marks={value / 100: f"{value}%" for value in range(10, 100, 20)},
                   allow_direct_input=False, tooltip={"placement": "bottom", "always_visible": False}),
        html.Div(id=THRESHOLD_READOUT, className="threshold-readout mt-3"),
    ])


def _save_segment(can_save: bool):
    if not can_save:
        return html.Div(analyst_note(False, "save these customers as a segment"), className="mt-2")
    return html.Div([
        dbc.InputGroup([dbc.Input(id=SEGMENT_NAME, placeholder="Segment name, e.g. Win-back Q1", maxLength=120),
                        dbc.Button([html.I(className="bi bi-bookmark-plus me-1"), "Save as segment"],
                                   id=SAVE_SEGMENT, color="primary")], size="sm", className="mt-3",
                       style={"maxWidth": "32rem"}),
        feedback(SAVE_FEEDBACK),
    ])
