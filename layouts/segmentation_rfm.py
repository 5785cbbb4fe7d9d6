"""The RFM part of the Segmentation tab: segments, the R × F grid, migrations and saving a segment."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from layouts.components import analyst_note, data_grid, export_button, feedback, graph, section
from services.rules import RFM_SCORE_RULE, RFM_SEGMENT_DESCRIPTIONS, RFM_SEGMENT_MAP, RFM_SEGMENTS
from services.segmentation.rfm import DEFAULT_MIGRATION_STEP, MIGRATION_STEPS

PERIOD = "segmentation-rfm-period"
MEASURE = "segmentation-rfm-measure"
TREEMAP = "segmentation-rfm-treemap"
HEATMAP = "segmentation-rfm-heatmap"
GRID = "segmentation-rfm-grid"
EXPORT = "segmentation-rfm-export"
DOWNLOAD = "segmentation-rfm-download"
STEP = "segmentation-rfm-step"
SANKEY = "segmentation-rfm-sankey"
SAVE_SEGMENT = "segmentation-rfm-save-segment"
SAVE_NAME = "segmentation-rfm-save-name"
SAVE = "segmentation-rfm-save"
SAVE_FEEDBACK = "segmentation-rfm-save-feedback"

COLUMNS = [
    {"field": "segment", "headerName": "Segment", "minWidth": 150, "pinned": "left"},
    {"field": "customers", "type": "numericColumn", "maxWidth": 120,
     "valueFormatter": {"function": "d3.format(',')(params.value)"}},
    {"field": "customer_share", "headerName": "% customers", "type": "numericColumn", "maxWidth": 130,
     "valueFormatter": {"function": "d3.format('.1%')(params.value)"}},
    {"field": "revenue", "type": "numericColumn", "maxWidth": 140,
     "valueFormatter": {"function": "d3.format('$,.0f')(params.value)"}},
    {"field": "revenue_share", "headerName": "% revenue", "type": "numericColumn", "maxWidth": 120,
     "valueFormatter": {"function": "d3.format('.1%')(params.value)"}},
    {"field": "avg_monetary", "headerName": "Revenue per customer", "type": "numericColumn", "maxWidth": 170,
     "valueFormatter": {"function": "params.value == null ? '–' : d3.format('$,.0f')(params.value)"}},
    {"field": "description", "headerName": "What to do", "minWidth": 280, "flex": 2},
]


def score_map() -> dbc.Table:
    """The documented R/F map, shown as it is applied."""
    rows = [html.Tr([html.Td(name, className="fw-semibold"), html.Td(", ".join(map(str, r))),
                     html.Td(", ".join(map(str, f))), html.Td(RFM_SEGMENT_DESCRIPTIONS[name])])
            for name, r, f in RFM_SEGMENT_MAP]
    head = html.Thead(html.Tr([html.Th("Segment"), html.Th("R scores"), html.Th("F scores"), html.Th("Meaning")]))
    return dbc.Table([head, html.Tbody(rows)], size="sm", bordered=False, hover=True, className="mb-0 small")


def _save_form(can_edit: bool) -> html.Div:
    controls = dbc.InputGroup([
        dbc.Select(id=SAVE_SEGMENT, options=list(RFM_SEGMENTS), value=RFM_SEGMENTS[0], disabled=not can_edit,
                   style={"maxWidth": "14rem"}),
        dbc.Input(id=SAVE_NAME, placeholder="Segment name, e.g. Champions Q4", maxLength=120, disabled=not can_edit),
        dbc.Button([html.I(className="bi bi-bookmark-plus me-1"), "Save segment"], id=SAVE, disabled=not can_edit),
    ], size="sm")
    return html.Div([controls, analyst_note(can_edit, "save segments"), feedback(SAVE_FEEDBACK)], className="mt-3")


def layout(can_edit: bool) -> html.Div:
    measure = dbc.RadioItems(id=MEASURE, options=[{"label": "Customers", "value": "customers"},
                                                  {"label": "Revenue", "value": "revenue"}],
                             value="customers", inline=True, className="small")
    step = dbc.Select(id=STEP, options=[{"label": f"{days} days earlier", "value": days} for days in MIGRATION_STEPS],
                      value=DEFAULT_MIGRATION_STEP, size="sm", className="w-auto")
    scoring = html.Details([html.Summary("How customers are scored and segmented", className="small"),
                            html.P(RFM_SCORE_RULE, className="small text-body-secondary mt-2 mb-2"), score_map()],
                           className="mb-3")
    return html.Div([
        html.Div(id=PERIOD, className="small text-body-secondary mb-2"),
        scoring,
        dbc.Row([
            dbc.Col(section("Segments", graph(TREEMAP, 360), icon="bi-grid-1x2", actions=measure,
                            info="Each customer's recency, frequency and monetary scores over the selected period; "
                                 "the segment follows from R and F."), lg=7),
            dbc.Col(section("Recency × frequency", graph(HEATMAP, 360), icon="bi-grid-3x3",
                            info="Customers per R and F score; the colour is their average revenue."), lg=5),
        ], className="g-3"),
        section("Segment table", [data_grid(GRID, COLUMNS, "No customers with orders match these filters.",
                                            row_id="params.data.segment"), _save_form(can_edit)],
                icon="bi-table", actions=export_button(EXPORT, DOWNLOAD)),
        section("Movement between segments", graph(SANKEY, 460), icon="bi-shuffle", actions=step,
                info="Each customer's segment some days before the period's end (scored on the orders up to then) "
                     "and at its end."),
    ])
