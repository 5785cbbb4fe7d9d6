"""The Campaigns tab: a campaign's experiment readout (health, lifts, profit, segments, time, planning) and
seasonality."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from layouts.components import analyst_note, data_grid, export_button, graph, kpi_card, section, segmented
from services import formatting as fmt
from services.campaigns.metrics import METRICS, PER_CUSTOMER
from services.campaigns.readout import CAPS
from services.campaigns.segments import DIMENSIONS
from services.experiments.bayesian import DEFAULT_PRIOR
from services.experiments.health import MIN_CUSTOMERS_PER_VARIANT, SRM_ALPHA
from services.experiments.multiple import METHODS
from services.experiments.sequential import DEFAULT_N_STAR
from services.models import ANALYST_ROLES

CONTENT = "campaigns-content"
CAMPAIGN = "campaigns-campaign"
DESCRIPTION = "campaigns-description"
CUPED = "campaigns-cuped"
CAP = "campaigns-cap"
CORRECTION = "campaigns-correction"
SEQUENTIAL = "campaigns-sequential"
NOT_RANDOMISED = "campaigns-not-randomised"
READOUT = "campaigns-readout"  # everything that needs a randomised campaign
VERDICT = "campaigns-verdict"
HEALTH = "campaigns-health"
KPI_GRID = "campaigns-kpis"
LIFT_GRAPH = "campaigns-lift-graph"
READOUT_GRID = "campaigns-readout-grid"
EXPORT, DOWNLOAD = "campaigns-export", "campaigns-download"
PROFIT_GRAPH = "campaigns-profit-graph"
PROFIT_FACTS = "campaigns-profit-facts"
DIMENSION = "campaigns-dimension"
SEGMENT_METRIC = "campaigns-segment-metric"
SEGMENT_GRAPH = "campaigns-segment-graph"
SEGMENT_GRID = "campaigns-segment-grid"
INTERACTION = "campaigns-interaction"
TIMELINE_METRIC = "campaigns-timeline-metric"
TIMELINE_GRAPH = "campaigns-timeline-graph"
PLAN_METRIC = "campaigns-plan-metric"
PLAN_MDE = "campaigns-plan-mde"
PLAN_POWER = "campaigns-plan-power"
PLAN_RESULT = "campaigns-plan-result"
SEASON_MONTH_GRAPH = "campaigns-season-month-graph"
SEASON_HEATMAP = "campaigns-season-heatmap"
SEASON_STL_GRAPH = "campaigns-season-stl-graph"
SEASON_WINDOWS_GRAPH = "campaigns-season-windows-graph"
SEASON_FACTS = "campaigns-season-facts"

NO_CAP = "off"
CAP_OPTIONS = [(NO_CAP, "Off")] + [(f"{cap:g}", f"{cap * 100:g}th pct") for cap in CAPS]
POWERS = ("0.8", "0.9")
DEFAULT_MDE = 5.0  # percent
METRIC_OPTIONS = [{"label": metric.label, "value": metric.key} for metric in METRICS]
PER_CUSTOMER_OPTIONS = [{"label": metric.label, "value": metric.key} for metric in PER_CUSTOMER]
DIMENSION_OPTIONS = [{"label": dimension.label, "value": dimension.key} for dimension in DIMENSIONS]

NUMBER = {"type": "numericColumn"}
P_VALUE = {**NUMBER, "valueFormatter": {"function": "params.value == null ? '–' : params.value < 0.001 ? '<0.001' "
                                                    ": d3.format('.3f')(params.value)"}}
PERCENT = {**NUMBER, "valueFormatter": {"function": "params.value == null ? '–' : d3.format('.1%')(params.value)"}}
SIGNED = {**NUMBER, "valueFormatter": {"function": "params.value == null ? '–' : d3.format('+.1%')(params.value)"}}
VALUE = {**NUMBER, "valueFormatter": {"function": "params.value == null ? '–' : params.data.percent ? "
                                                  "d3.format('.1%')(params.value) : d3.format(',.2f')(params.value)"}}
COUNT = {**NUMBER, "valueFormatter": {"function": "d3.format(',')(params.value)"}}
SIGNIFICANT = {"styleConditions": [
    {"condition": "params.data.significant && params.data.relative_lift > 0",
     "style": {"color": "#16a34a", "fontWeight": "600"}},
    {"condition": "params.data.significant && params.data.relative_lift < 0",
     "style": {"color": "#dc2626", "fontWeight": "600"}}]}


def layout(role: str) -> html.Div:
    """Experiment readouts are for analysts and administrators; everyone sees the seasonality."""
    if role not in ANALYST_ROLES:
        return html.Div([analyst_note(False, "read campaign experiments"), _seasonality()], id=CONTENT)
    return html.Div([
        _toolbar(),
        dbc.Alert(id=NOT_RANDOMISED, is_open=False, color="info", className="d-flex align-items-start"),
        html.Div(_readout(), id=READOUT),
        _seasonality(),
    ], id=CONTENT)


def _toolbar() -> dbc.Card:
    campaign = dbc.Select(id=CAMPAIGN, options=[], size="sm", className="w-auto", style={"minWidth": "16rem"})
    cap = dbc.Select(id=CAP, options=[{"label": label, "value": value} for value, label in CAP_OPTIONS],
                     value=NO_CAP, size="sm", className="w-auto")
    settings = html.Div([
        html.Span(dbc.Switch(id=CUPED, label="CUPED", value=False, className="mb-0"),
                  title="Variance reduction with each customer's pre-campaign value of the metric"),
        html.Div([html.Span("Capping", className="small me-1"), cap], className="d-flex align-items-center"),
        html.Div([html.Span("Correction", className="small me-1"),
                  segmented(CORRECTION, list(METHODS.items()), "holm")], className="d-flex align-items-center"),
        html.Span(dbc.Switch(id=SEQUENTIAL, label="Sequential", value=False, className="mb-0"),
                  title="Confidence sequences that stay valid however often you look"),
    ], className="d-flex flex-wrap gap-3 align-items-center")
    return dbc.Card(dbc.CardBody([
        html.Div([html.Div([html.I(className="bi bi-megaphone me-2 text-primary"),
                            html.Span("Campaign", className="fw-semibold me-2"), campaign],
                           className="d-flex align-items-center"), settings],
                 className="d-flex flex-wrap justify-content-between align-items-center gap-3"),
        html.Div(id=DESCRIPTION, className="small text-body-secondary mt-2"),
    ]), className="section shadow-sm mb-3")


def _readout() -> list:
    return [
        dbc.Card(dbc.CardBody([html.Div(id=HEALTH, className="d-flex flex-wrap gap-2 mb-2"),
                               html.P(id=VERDICT, className="mb-0 verdict")]),
                 className="section shadow-sm mb-3"),
        html.Div(id=KPI_GRID, className="kpi-grid kpi-grid-6 mb-3"),
        dbc.Row([
            dbc.Col(section("Lift by metric", graph(LIFT_GRAPH, height=340), icon="bi-bar-chart-steps",
                            info=_method_note()), lg=7),
            dbc.Col(section("Did it pay?", [graph(PROFIT_GRAPH, height=260), html.Div(id=PROFIT_FACTS,
                                                                                       className="small")],
                            icon="bi-piggy-bank", info=_profit_note()), lg=5),
        ], className="g-3"),
        section("Readout", data_grid(READOUT_GRID, readout_columns(), "No readout for this campaign."),
                icon="bi-table",
                actions=export_button(EXPORT, DOWNLOAD), info=_method_note()),
        _segments(),
        dbc.Row([
            dbc.Col(_timeline(), lg=7),
            dbc.Col(_planning(), lg=5),
        ], className="g-3"),
    ]


def _method_note() -> str:
    return ("Per variant over the campaign window. Conversion: the share of customers who bought at least once; "
            "coupon burn rate: coupons burned / claimed. Rates: two-proportion z-test; means: Welch's t-test; ratios "
            "(average order value, profit per sale, burn rate): delta method. Relative lift intervals use the delta "
            f"method. Bayesian: a normal prior on the relative lift (mean {DEFAULT_PRIOR.mean:g}, sd "
            f"{DEFAULT_PRIOR.sd:g}); chance to beat control and the expected loss of shipping the treatment. CUPED "
            "adjusts per-customer metrics with the customer's value in the same number of days before the start. "
            "Adjusted p-values correct for testing several metrics at once.")


def _profit_note() -> str:
    return ("Incremental = the per-customer lift times the treated customers. Revenue is net of discounts, so "
            "profit is after the discount; the campaign's cost comes on top. ROI = (incremental profit − cost) / "
            "cost. Break-even lift: how much orders per customer had to rise to pay for the discount and the cost "
            "at the treatment's profit per sale. Money is never capped, even with capping on.")


def readout_columns() -> list[dict]:
    return [
        {"field": "metric", "headerName": "Metric", "pinned": "left", "minWidth": 250, "cellStyle": SIGNIFICANT},
        {"field": "control", "headerName": "Control", **VALUE, "minWidth": 100},
        {"field": "treatment", "headerName": "Treatment", **VALUE, "minWidth": 110},
        {"field": "relative_lift", "headerName": "Lift", **SIGNED, "minWidth": 90, "cellStyle": SIGNIFICANT},
        {"field": "relative_low", "headerName": "95% CI low", **SIGNED, "minWidth": 110},
        {"field": "relative_high", "headerName": "95% CI high", **SIGNED, "minWidth": 110},
        {"field": "absolute_lift", "headerName": "Absolute", **VALUE, "minWidth": 100},
        {"field": "p_value", "headerName": "p", **P_VALUE, "minWidth": 80},
        {"field": "p_adjusted", "headerName": "Adjusted p", **P_VALUE, "minWidth": 110},
        {"field": "chance_to_win", "headerName": "Chance to beat control", **PERCENT, "minWidth": 180},
        {"field": "expected_loss", "headerName": "Expected loss", **PERCENT, "minWidth": 130},
    ]


def _segments() -> dbc.Card:
    dimension = dbc.Select(id=DIMENSION, options=DIMENSION_OPTIONS, value=DIMENSIONS[0].key, size="sm",
                           className="w-auto")
    metric = dbc.Select(id=SEGMENT_METRIC, options=METRIC_OPTIONS, value="orders", size="sm", className="w-auto")
    actions = html.Div([dimension, metric], className="d-flex gap-2")
    columns = [
        {"field": "segment", "headerName": "Segment", "pinned": "left", "minWidth": 170},
        {"field": "control_n", "headerName": "Control customers", **COUNT},
        {"field": "treatment_n", "headerName": "Treatment customers", **COUNT},
        {"field": "relative", "headerName": "Lift", **SIGNED},
        {"field": "relative_low", "headerName": "95% CI low", **SIGNED},
        {"field": "relative_high", "headerName": "95% CI high", **SIGNED},
        {"field": "p_value", "headerName": "p", **P_VALUE},
        {"field": "p_adjusted", "headerName": "Adjusted p", **P_VALUE},
    ]
    return section("Who responded", [
        graph(SEGMENT_GRAPH, height=300),
        html.Div(id=INTERACTION, className="small mb-2"),
        data_grid(SEGMENT_GRID, columns, "No segment has customers in both variants."),
    ], icon="bi-people", actions=actions,
        info="The lift of one metric within each segment, with p-values adjusted across the segments. The "
             "interaction test (an F-test of treatment × segment) asks whether the lift differs between segments "
             "at all: only then does 'this group responds more' hold.")


def _timeline() -> dbc.Card:
    metric = dbc.Select(id=TIMELINE_METRIC, options=PER_CUSTOMER_OPTIONS, value="orders", size="sm",
                        className="w-auto")
    return section("Lift over time", graph(TIMELINE_GRAPH, height=320), icon="bi-graph-up", actions=metric,
                   info="Cumulative relative lift from the first day of the window to each day, with its 95% "
                        "interval. Looking at fixed intervals every day inflates false alarms; with Sequential on, "
                        "the band is an asymptotic confidence sequence (Waudby-Smith et al.; tuned for "
                        f"{DEFAULT_N_STAR:,} customers) that stays valid however often you look.")


def _planning() -> dbc.Card:
    metric = dbc.Select(id=PLAN_METRIC, options=PER_CUSTOMER_OPTIONS, value="orders", size="sm")
    form = dbc.Row([
        dbc.Col([dbc.Label("Metric", className="small mb-0"), metric], xs=12, md=6),
        dbc.Col([dbc.Label("Smallest lift", className="small mb-0"),
                 dbc.InputGroup([dbc.Input(id=PLAN_MDE, type="number", min=0.1, max=100, step=0.1,
                                           value=DEFAULT_MDE, size="sm"), dbc.InputGroupText("%")], size="sm")],
                xs=6, md=3),
        dbc.Col([dbc.Label("Power", className="small mb-0"),
                 dbc.Select(id=PLAN_POWER, options=[{"label": f"{float(p):.0%}", "value": p} for p in POWERS],
                            value=POWERS[0], size="sm")], xs=6, md=3),
    ], className="g-2 mb-2")
    return section("Plan the next test", [form, html.Div(id=PLAN_RESULT, className="small")],
                   icon="bi-calculator",
                   info="Sample size for a two-sided test at α = 0.05, from this campaign's control group: its "
                        "mean and variance of the metric and its planned split.")


def _seasonality() -> html.Div:
    return html.Div([
        html.H5([html.I(className="bi bi-calendar3 me-2 text-primary"), "Seasonality and timing"],
                className="mt-4 mb-1"),
        html.Div("Revenue of the filtered customers in the chosen period (the date filter applies here; the readout "
                 "above uses the campaign's own window).", className="small text-body-secondary mb-2"),
        section("Revenue over time, with the campaign windows", graph(SEASON_WINDOWS_GRAPH, height=300),
                icon="bi-graph-up", info="Weekly revenue (complete weeks, from Monday); shaded bands are campaigns."),
        dbc.Row([
            dbc.Col(section("By month of year", graph(SEASON_MONTH_GRAPH, height=300), icon="bi-calendar-month",
                            info="Average revenue per calendar month over the years in the period."), lg=5),
            dbc.Col(section("By weekday and hour", graph(SEASON_HEATMAP, height=300), icon="bi-grid-3x3-gap",
                            info="Revenue per weekday and hour of the order."), lg=7),
        ], className="g-3"),
        section("Trend, seasonality and residual", [html.Div(id=SEASON_FACTS, className="small mb-2"),
                                                    graph(SEASON_STL_GRAPH, height=460)],
                icon="bi-activity",
                info="Weekly revenue decomposed with STL (statsmodels, robust, a 52-week season): the trend, the "
                     "yearly pattern and what is left. Peaks are runs of weeks well above the trend."),
    ])


def kpi_cards(cards: list[tuple[str, str, str, str, str, str]]) -> list[dbc.Card]:
    """(id, title, icon, value, note, tone) per card; tone colours the value: good, bad or neutral."""
    return [kpi_card(*card) for card in cards]


def health_badges(items: list[tuple[str, str, str]]) -> list[dbc.Badge]:
    """(text, colour, tooltip title) per badge."""
    return [dbc.Badge(text, color=color, className="health-badge", title=title) for text, color, title in items]


def health_rules() -> str:
    return (f"Sample ratio mismatch: a chi-square test of the customers per variant against the planned split, "
            f"flagged at p < {SRM_ALPHA}. Fewer than {MIN_CUSTOMERS_PER_VARIANT} customers in a variant is too few.")


def description(text: str, window: str, kind: str, cost: float, share: str) -> list:
    return [html.Span(kind, className="badge text-bg-light border me-2"), html.Span(window, className="me-2"),
            html.Span(f"cost {fmt.money(cost)}", className="me-2"), html.Span(share, className="me-2"),
            html.Span(text)]

