"""RFM callbacks: segments, the R × F grid, movement between segments, export, and saving a segment."""
from __future__ import annotations

import datetime as dt

import pandas as pd
from dash import Input, Output, State, no_update

from callbacks.segmentation_common import ANALYST_ROLES, FILTERS, THEME, filters_of, message, save_members
from layouts import filter_bar as fb
from layouts import segmentation_charts as charts
from layouts import segmentation_rfm as ids
from layouts import segmentation_segments as segment_ids
from layouts.figures import empty_figure, themed
from services.csv_export import to_csv
from services.rules import RFM_SEGMENT_DESCRIPTIONS, RFM_SEGMENTS
from services.segmentation import rfm


def migration_step(value) -> int:
    """The step from the browser, one of the offered ones."""
    try:
        step = int(value)
    except (TypeError, ValueError):
        return rfm.DEFAULT_MIGRATION_STEP
    return step if step in rfm.MIGRATION_STEPS else rfm.DEFAULT_MIGRATION_STEP


def segment_rows(overview: rfm.RfmOverview | None) -> list[dict]:
    if overview is None or overview.customers == 0:
        return []
    table = overview.segments[overview.segments["customers"] > 0]
    return table.assign(description=table["segment"].map(RFM_SEGMENT_DESCRIPTIONS),
                        revenue=table["revenue"].round(2)).to_dict("records")


def register(app, context) -> None:
    def overview(filters):
        key = f"rfm-overview|{filters.cache_key()}"
        return context.analysed(key, lambda warehouse: rfm.rfm_overview(warehouse, filters,
                                                                         context.filter_options()))

    @app.callback(
        Output(ids.PERIOD, "children"), Output(ids.TREEMAP, "figure"), Output(ids.HEATMAP, "figure"),
        Output(ids.GRID, "rowData"),
        FILTERS, Input(ids.MEASURE, "value"), THEME,
    )
    def update_segments(search, measure, theme):
        filters = filters_of(context, search)
        result = overview(filters)
        if result is None or result.customers == 0:
            empty = themed(empty_figure("No customers with orders match these filters"), theme)
            return "No customers with orders match these filters.", empty, empty, []
        period = (f"{result.customers:,} customers scored on their orders from {result.period.label()}; "
                  f"recency counts to {result.period.end:%d %b %Y}.")
        return (period, themed(charts.segment_treemap(result.segments, measure), theme),
                themed(charts.rf_heatmap(result.cells), theme), segment_rows(result))

    @app.callback(Output(ids.SANKEY, "figure"), FILTERS, Input(ids.STEP, "value"), THEME)
    def update_migration(search, step, theme):
        filters, days = filters_of(context, search), migration_step(step)
        options = context.filter_options()
        moves = context.analysed(f"rfm-migration|{filters.cache_key()}|{days}",
                                 lambda warehouse: rfm.rfm_migration(warehouse, filters, options, days))
        result = overview(filters)
        if result is None:
            return themed(empty_figure(), theme)
        earlier = result.period.end - dt.timedelta(days=days)
        return themed(charts.migration_sankey(moves, f"{earlier:%d %b %Y}", f"{result.period.end:%d %b %Y}"), theme)

    @app.callback(Output(ids.DOWNLOAD, "data"), Input(ids.EXPORT, "n_clicks"), State(fb.STORE, "data"),
                  prevent_initial_call=True)
    def export_segments(_clicks, search):
        filters = filters_of(context, search)
        rows = segment_rows(overview(filters))
        context.audit("export", what="RFM segments", rows=len(rows), filters=filters.to_search())
        return {"content": to_csv(pd.DataFrame(rows)), "filename": "rfm-segments.csv", "type": "text/csv"}

    @app.callback(
        Output(ids.SAVE_FEEDBACK, "children"), Output(segment_ids.REFRESH, "data", allow_duplicate=True),
        Input(ids.SAVE, "n_clicks"), State(ids.SAVE_SEGMENT, "value"), State(ids.SAVE_NAME, "value"),
        State(fb.STORE, "data"), State(segment_ids.REFRESH, "data"), prevent_initial_call=True,
    )
    def save_rfm_segment(_clicks, segment, name, search, counter):
        context.require_role(ANALYST_ROLES)
        filters = filters_of(context, search)
        if segment not in RFM_SEGMENTS:
            return message("Choose one of the RFM segments.", ok=False), no_update
        members = context.analysed(f"rfm-members|{filters.cache_key()}|{segment}",
                                   lambda warehouse: rfm.rfm_members(warehouse, filters, context.filter_options(),
                                                                     segment))
        return save_members(context, name or segment, "rfm", members, filters, counter,
                            definition={"rfm_segment": segment}, description=RFM_SEGMENT_DESCRIPTIONS[segment])
