"""Value & churn callbacks: the stored scores for the filters, the models' reports, the threshold explorer,
the at-risk list (export, save as a segment)."""
from __future__ import annotations

import math

import pandas as pd
from dash import Input, Output, State, html, no_update
from dash.exceptions import PreventUpdate

from callbacks.inputs import FILTERS, THEME, choice
from callbacks.inputs import filters_of as filters_in
from callbacks.segmentation_common import save_members
from layouts import filter_bar as fb
from layouts import value as ids
from layouts import value_charts as charts
from layouts.figures import themed
from services import formatting as fmt
from services.csv_export import to_csv
from services.models import ANALYST_ROLES
from services.segmentation import saved
from services.value import records, views
from services.value.churn import FEATURE_LABELS

TRAINED = Input(ids.TRAINED, "data")
EXPORT_ROWS = ids.EXPORT_ROWS


def threshold_of(value) -> float:
    """The slider's threshold, on its 5% grid inside its range (the default for anything else)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ids.DEFAULT_THRESHOLD
    if not math.isfinite(number):
        return ids.DEFAULT_THRESHOLD
    return round(min(max(number, 0.05), 0.95) * 20) / 20


def rows(frame: pd.DataFrame) -> list[dict]:
    """Grid rows: days as text, money to the cent, probabilities to four places."""
    shown = frame.assign(last_order=frame["last_order"].dt.strftime("%Y-%m-%d")).round(
        {"revenue": 2, "clv_12m": 2, "revenue_at_risk": 2, "purchases_12m": 2, "p_alive": 4, "churn_risk": 4})
    return shown.astype(object).where(shown.notna(), None).to_dict("records")


def model_note(value: records.ModelInfo | None, churn: records.ModelInfo | None, scoped: bool) -> list:
    """When and on what the models were trained; a scoped user is not told how many customers there are in all."""
    if value is None:
        return ["No model has been trained yet: the refresh trains them (", html.Code("flask --app wsgi refresh"),
                ")."]
    who = value.trained_by or "the refresh"
    parts = [f"Trained {value.trained_at:%d %b %Y %H:%M} UTC by {who} on data version {value.data_version}. "]
    if value.trained:
        fitted = "a sample of all buyers" if scoped else \
            f"{value.report['sample']:,} of {value.report['customers']:,} buyers"
        parts.append(f"Value: modified BG/NBD and Gamma-Gamma fitted on {fitted}. ")
    else:
        parts.append(f"Value: {value.report['reason']} ")
    if churn is not None and churn.trained:
        report = churn.report
        parts.append(f"Churn ({churn.settings['horizon']} days): {charts.MODEL_NAMES[report['model']]} learned at "
                     f"{report['training_cutoff']} and judged at {report['test_cutoff']}, AUC "
                     f"{report['auc'][report['model']]:.2f} against {report['auc']['recency']:.2f} for recency "
                     "alone. ")
    elif churn is not None:
        parts.append(f"Churn: {churn.report['reason']} ")
    parts.append("Scores are as of the data's last day: the period filter does not apply to them.")
    if scoped:
        parts.append(" The model checks are measured on all countries' customers.")
    return parts


def kpi_values(overview: views.ValueOverview) -> tuple[str, ...]:
    if not overview.customers:
        return ("–",) * len(ids.KPIS)
    return (fmt.money(overview.clv_total), fmt.money(overview.clv_mean), fmt.compact(overview.purchases),
            fmt.percent(overview.alive / overview.customers), fmt.money(overview.revenue_at_risk))


def threshold_readout(report: dict | None, threshold: float, flagged: int, revenue: float, scored: int) -> html.Div:
    today = html.Div([html.Strong(f"{flagged:,} customers"), f" at or above {threshold:.0%} churn risk",
                      f" ({flagged / scored:.0%} of those scored)" if scored else "", ", with ",
                      html.Strong(fmt.money(revenue)), " of revenue at risk."])
    table = (report or {}).get("thresholds")
    if not table:
        return html.Div([today])
    at = min(range(len(table["threshold"])), key=lambda i: abs(table["threshold"][i] - threshold))
    precision = table["precision"][at]
    holdout = html.Div([
        "On the holdout: ", html.Strong(f"precision {fmt.percent(precision, 0) if precision is not None else '–'}"),
        " (of those flagged, the share who churned) · ", html.Strong(f"recall {table['recall'][at]:.0%}"),
        " (of the churners, the share flagged) · ", f"{table['flagged'][at]:.0%} of customers flagged",
        f" · {table['revenue_caught'][at]:.0%} of the churners' revenue caught"
        if table.get("revenue_caught") and table["revenue_caught"][at] is not None else "", "."],
        className="text-body-secondary mt-1")
    return html.Div([today, holdout])


def register(app, context) -> None:
    def filters_of(search):
        return filters_in(context, search)

    def models() -> dict[str, records.ModelInfo | None]:
        return context.cached("value-models", lambda connection: {kind: records.latest(connection, kind)
                                                                  for kind in records.KINDS})

    def fetch(name, filters, compute, *params):
        key = "|".join([f"value-{name}", filters.cache_key(), *map(str, params)])
        return context.analysed(key, lambda warehouse: compute(warehouse, filters, *params))

    @app.callback(Output(ids.BODY, "children"), Output(ids.OPEN, "className"), Input(ids.OPEN, "n_clicks"),
                  prevent_initial_call=True)
    def open_section(clicks):
        """The section for the user's role (from the server-side record); the opener then hides."""
        if not clicks:
            raise PreventUpdate
        return ids.body(context.user().role), "d-none"

    @app.callback(
        Output(ids.MODEL_NOTE, "children"), *(Output(card_id, "children") for card_id, *_ in ids.KPIS),
        Output(ids.HISTOGRAM, "figure"), Output(ids.ALIVE_GRAPH, "figure"), Output(ids.CALIBRATION_GRAPH, "figure"),
        Output(ids.TOP_GRID, "rowData"),
        FILTERS, TRAINED, THEME,
    )
    def update_value(search, _trained, theme):
        filters, found = filters_of(search), models()
        value = found["value"]
        scoped = context.scope() is not None
        return (model_note(value, found["churn"], scoped), *kpi_values(fetch("overview", filters, views.overview)),
                themed(charts.clv_histogram(fetch("histogram", filters, views.clv_histogram)), theme),
                themed(charts.alive_matrix(fetch("alive", filters, views.alive_matrix)), theme),
                themed(charts.holdout_check(value.report if value else None, show_counts=not scoped), theme),
                rows(fetch("top", filters, views.top_value, 25)))

    @app.callback(Output(ids.BY_GRAPH, "figure"), FILTERS, Input(ids.BY_DIMENSION, "value"), TRAINED, THEME)
    def update_by(search, dimension, _trained, theme):
        dimension = choice(dimension, tuple(views.DIMENSIONS))
        frame = fetch("by", filters_of(search), views.clv_by, dimension)
        return themed(charts.clv_by(frame, views.DIMENSIONS[dimension]), theme)

    @app.callback(
        Output(ids.ROC_GRAPH, "figure"), Output(ids.PR_GRAPH, "figure"), Output(ids.RELIABILITY_GRAPH, "figure"),
        Output(ids.IMPORTANCE_GRAPH, "figure"), TRAINED, THEME,
    )
    def update_churn_model(_trained, theme):
        churn = models()["churn"]
        report = churn.report if churn is not None and churn.trained else None
        return (themed(charts.roc(report), theme), themed(charts.precision_recall(report), theme),
                themed(charts.reliability(report), theme), themed(charts.importance(report, FEATURE_LABELS), theme))

    @app.callback(Output(ids.THRESHOLD_READOUT, "children"), Output(ids.RISK_GRID, "rowData"),
                  FILTERS, Input(ids.THRESHOLD, "value"), TRAINED)
    def update_threshold(search, value, _trained):
        filters, threshold = filters_of(search), threshold_of(value)
        flagged, revenue = fetch("risk-summary", filters, views.at_risk_summary, threshold)
        churn = models()["churn"]
        scored = fetch("overview", filters, views.overview).churn_scored
        readout = threshold_readout(churn.report if churn is not None and churn.trained else None, threshold,
                                    flagged, revenue, scored)
        return readout, rows(fetch("risk", filters, views.at_risk_customers, threshold, ids.GRID_ROWS))

    @app.callback(Output(ids.TOP_DOWNLOAD, "data"), Input(ids.TOP_EXPORT, "n_clicks"), State(fb.STORE, "data"),
                  prevent_initial_call=True)
    def export_top(_clicks, search):
        filters = filters_of(search)
        frame = fetch("top", filters, views.top_value, EXPORT_ROWS)
        context.audit("export", what="future-value customers", rows=len(frame), filters=filters.to_search())
        return {"content": to_csv(frame), "filename": "future-value-customers.csv", "type": "text/csv"}

    @app.callback(Output(ids.RISK_DOWNLOAD, "data"), Input(ids.RISK_EXPORT, "n_clicks"), State(fb.STORE, "data"),
                  State(ids.THRESHOLD, "value"), prevent_initial_call=True)
    def export_at_risk(_clicks, search, value):
        filters, threshold = filters_of(search), threshold_of(value)
        frame = fetch("risk", filters, views.at_risk_customers, threshold, EXPORT_ROWS)
        context.audit("export", what="customers at risk", rows=len(frame), threshold=threshold,
                      filters=filters.to_search())
        return {"content": to_csv(frame), "filename": f"customers-at-risk-{round(threshold * 100)}.csv",
                "type": "text/csv"}

    @app.callback(
        Output(ids.SAVE_FEEDBACK, "children"), Output(fb.SEGMENT, "options", allow_duplicate=True),
        Input(ids.SAVE_SEGMENT, "n_clicks"), State(ids.SEGMENT_NAME, "value"), State(fb.STORE, "data"),
        State(ids.THRESHOLD, "value"), prevent_initial_call=True,
    )
    def save_at_risk(clicks, name, search, value):
        if not clicks:  # the button appearing fires it: the segment list it updates was on the page before
            raise PreventUpdate
        context.require_role(ANALYST_ROLES)
        filters, threshold = filters_of(search), threshold_of(value)
        members = fetch("risk", filters, views.at_risk_customers, threshold, None)["customer_id"].tolist()
        churn = models()["churn"]
        feedback, counter = save_members(
            context, name, "churn", members, filters, None,
            definition={"churn_threshold": threshold, "churn_model": churn.id if churn else None},
            description=f"Churn risk at or above {threshold:.0%}")
        if counter is no_update:
            return feedback, no_update
        with context.engine().connect() as connection:
            listed = saved.list_segments(connection)
        return feedback, [{"label": info.name, "value": info.id} for info in listed]
