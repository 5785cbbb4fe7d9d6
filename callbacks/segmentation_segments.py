"""Saved segments: the list (also in the filter bar), saving the filter selection, deleting, comparing two."""
from __future__ import annotations

import math

from dash import Input, Output, State, no_update
from dash.exceptions import PreventUpdate

from callbacks.segmentation_common import ANALYST_ROLES, THEME, filters_of, message, save_members
from layouts import filter_bar as fb
from layouts import segmentation_assign as assign_ids
from layouts import segmentation_charts as charts
from layouts import segmentation_segments as ids
from layouts.figures import themed
from services import formatting as fmt
from services.csv_export import to_csv
from services.segmentation import comparison, saved
from services.segmentation.features import selected_buyer_ids
from services.segmentation.statistics import MetricComparison

MONEY = frozenset({*comparison.MONEY_METRICS, "Revenue (total)"})


def shown(row: MetricComparison, value: float | None, difference: bool = False) -> str:
    """A comparison value as the table shows it: money, percent (points for differences), counts or decimals."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    sign = "+" if difference and value > 0 else ""
    if row.kind in ("rate", "mix"):
        return f"{sign}{value * 100:.1f} pp" if difference else fmt.percent(value)
    if row.metric in MONEY:
        return sign + fmt.money(value) if value >= 0 else "−" + fmt.money(-value)
    if row.kind == "count":
        return f"{sign}{value:,.0f}"
    return f"{sign}{value:,.1f}"


def display_rows(rows: list[MetricComparison]) -> list[dict]:
    return [{"metric": row.metric, "shown_a": shown(row, row.value_a), "shown_b": shown(row, row.value_b),
             "shown_difference": shown(row, row.difference, difference=True),
             "shown_effect": "–" if row.effect_size is None else f"{row.effect_name} {row.effect_size:+.2f}",
             "test": row.test or "–", "p_value": row.p_value, "p_adjusted": row.p_adjusted, "warning": row.warning}
            for row in rows]


def segment_choice(value, segments) -> int | None:
    """A segment id from the browser, if it is a saved segment."""
    return value if isinstance(value, int) and value in {info.id for info in segments} else None


def register(app, context) -> None:
    def segments():
        with context.engine().connect() as connection:
            return saved.list_segments(connection)

    @app.callback(
        Output(ids.GRID, "rowData"), Output(ids.SEGMENT_A, "options"), Output(ids.SEGMENT_B, "options"),
        Output(fb.SEGMENT, "options"), Output(assign_ids.CLUSTERING, "options"),
        Input(ids.REFRESH, "data"),
    )
    def list_segments(_counter):
        with context.engine().connect() as connection:
            listed, clusterings = saved.list_segments(connection), saved.list_clusterings(connection)
        options = [{"label": f"{info.name} ({info.customers:,})", "value": info.id} for info in listed]
        return ([{"id": info.id, "name": info.name, "kind": info.kind, "customers": info.customers,
                  "description": info.description} for info in listed], options, options,
                [{"label": info.name, "value": info.id} for info in listed],
                [{"label": info.name, "value": info.id} for info in clusterings])

    @app.callback(
        Output(ids.FEEDBACK, "children"), Output(ids.REFRESH, "data", allow_duplicate=True),
        Input(ids.SAVE_FILTERS, "n_clicks"), State(ids.FILTER_NAME, "value"), State(fb.STORE, "data"),
        State(ids.REFRESH, "data"), prevent_initial_call=True,
    )
    def save_filter_selection(_clicks, name, search, counter):
        context.require_role(ANALYST_ROLES)
        filters = filters_of(context, search)
        members = context.analysed(f"filter-members|{filters.cache_key()}",
                                   lambda warehouse: selected_buyer_ids(warehouse, filters, context.filter_options()))
        return save_members(context, name, "filters", members, filters, counter, definition={})

    @app.callback(
        Output(ids.FEEDBACK, "children", allow_duplicate=True), Output(ids.REFRESH, "data", allow_duplicate=True),
        Input(ids.DELETE, "n_clicks"), State(ids.GRID, "selectedRows"), State(ids.REFRESH, "data"),
        prevent_initial_call=True,
    )
    def delete_segment(_clicks, selected, counter):
        context.require_role(ANALYST_ROLES)
        listed = segments()
        segment_id = segment_choice(((selected or [{}])[0] or {}).get("id"), listed)
        if segment_id is None:
            return message("Select a saved segment in the table first.", ok=False), no_update
        info = next(info for info in listed if info.id == segment_id)
        if info.owner_id != context.user_id() and context.user().role != "admin":
            return message("Only its owner or an administrator can delete this segment.", ok=False), no_update
        with context.engine().begin() as connection:
            saved.delete_segment(connection, segment_id)
        context.audit("delete segment", segment_id=segment_id, name=info.name)
        return message(f"Deleted “{info.name}”."), (counter or 0) + 1

    @app.callback(Output(ids.DOWNLOAD, "data"), Output(ids.FEEDBACK, "children", allow_duplicate=True),
                  Input(ids.EXPORT, "n_clicks"), State(ids.GRID, "selectedRows"), prevent_initial_call=True)
    def export_members(_clicks, selected):
        listed = segments()
        segment_id = segment_choice(((selected or [{}])[0] or {}).get("id"), listed)
        if segment_id is None:
            return no_update, message("Select a saved segment in the table first.", ok=False)
        frame = context.analysed(f"segment-members|{segment_id}|scope={context.scope()}",
                                 lambda warehouse: comparison.member_export(warehouse, segment_id, context.scope()))
        context.audit("export", what="segment members", segment_id=segment_id, rows=len(frame))
        name = next(info.name for info in listed if info.id == segment_id)
        return {"content": to_csv(frame), "filename": f"{name}.csv", "type": "text/csv"}, no_update

    def compared(value_a, value_b):
        listed = segments()
        a, b = segment_choice(value_a, listed), segment_choice(value_b, listed)
        if a is None or b is None:
            return None
        names = {info.id: info.name for info in listed}
        labels = (names[a], names[b]) if a != b else (names[a], f"{names[b]} (again)")
        key = f"compare|{a}|{b}|scope={context.scope()}"
        return context.analysed(key, lambda warehouse: comparison.compare_segments(warehouse, a, b, labels,
                                                                                   context.scope()))

    @app.callback(
        Output(ids.COMPARE_GRID, "rowData"), Output(ids.COMPARE_NOTE, "children"),
        Output(ids.DISTRIBUTIONS, "figure"), Output(ids.MIXES, "figure"),
        Input(ids.SEGMENT_A, "value"), Input(ids.SEGMENT_B, "value"), THEME,
    )
    def compare(value_a, value_b, theme):
        if value_a is None and value_b is None:
            empty = themed(charts.distributions({}, ("", "")), theme)
            return [], "", empty, empty
        context.require_role(ANALYST_ROLES)
        result = compared(value_a, value_b)
        if result is None:
            raise PreventUpdate
        note = (f"{result.overlap:,} customers are in both segments: the tests assume separate groups, so read "
                "them with care." if result.overlap else "")
        return (display_rows(result.rows), note, themed(charts.distributions(result.distributions, result.labels),
                                                        theme),
                themed(charts.mixes(result.mixes, result.labels), theme))

    @app.callback(Output(ids.COMPARE_DOWNLOAD, "data"), Input(ids.COMPARE_EXPORT, "n_clicks"),
                  State(ids.SEGMENT_A, "value"), State(ids.SEGMENT_B, "value"), prevent_initial_call=True)
    def export_comparison(_clicks, value_a, value_b):
        context.require_role(ANALYST_ROLES)
        result = compared(value_a, value_b)
        if result is None:
            raise PreventUpdate
        frame = result.frame()
        context.audit("export", what="segment comparison", rows=len(frame))
        return {"content": to_csv(frame), "filename": "segment-comparison.csv", "type": "text/csv"}
