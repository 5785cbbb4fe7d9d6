"""Saved segments: the list, saving the current filters, and comparing two segments."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.components import analyst_note, data_grid, export_button, feedback, graph, section

GRID = "segmentation-segments-grid"
REFRESH = "segmentation-segments-refresh"  # a counter bumped whenever segments change
DELETE = "segmentation-segments-delete"
EXPORT = "segmentation-segments-export"
DOWNLOAD = "segmentation-segments-download"
FILTER_NAME = "segmentation-segments-filter-name"
SAVE_FILTERS = "segmentation-segments-save-filters"
FEEDBACK = "segmentation-segments-feedback"
SEGMENT_A = "segmentation-compare-a"
SEGMENT_B = "segmentation-compare-b"
COMPARE_GRID = "segmentation-compare-grid"
COMPARE_NOTE = "segmentation-compare-note"
COMPARE_EXPORT = "segmentation-compare-export"
COMPARE_DOWNLOAD = "segmentation-compare-download"
DISTRIBUTIONS = "segmentation-compare-distributions"
MIXES = "segmentation-compare-mixes"

SEGMENT_COLUMNS = [
    {"field": "name", "headerName": "Segment", "minWidth": 220, "checkboxSelection": True},
    {"field": "kind", "headerName": "Made from", "maxWidth": 130},
    {"field": "customers", "type": "numericColumn", "maxWidth": 130,
     "valueFormatter": {"function": "d3.format(',')(params.value)"}},
    {"field": "description", "headerName": "Description", "minWidth": 260, "flex": 2},
]
PVALUE = "params.value == null ? '–' : (params.value < 0.001 ? '< 0.001' : d3.format('.3f')(params.value))"
COMPARE_COLUMNS = [
    {"field": "metric", "headerName": "Metric", "minWidth": 210, "pinned": "left"},
    {"field": "shown_a", "headerName": "Segment A", "type": "numericColumn", "maxWidth": 130},
    {"field": "shown_b", "headerName": "Segment B", "type": "numericColumn", "maxWidth": 130},
    {"field": "shown_difference", "headerName": "B − A", "type": "numericColumn", "maxWidth": 120},
    {"field": "shown_effect", "headerName": "Effect size", "maxWidth": 190},
    {"field": "test", "headerName": "Test", "maxWidth": 190},
    {"field": "p_value", "headerName": "p", "type": "numericColumn", "maxWidth": 95,
     "valueFormatter": {"function": PVALUE}},
    {"field": "p_adjusted", "headerName": "p (BH)", "type": "numericColumn", "maxWidth": 105,
     "valueFormatter": {"function": PVALUE},
     "cellClassRules": {"fw-bold text-success": "params.value != null && params.value < 0.05"}},
    {"field": "warning", "headerName": "Note", "minWidth": 200, "flex": 1, "cellClass": "text-warning-emphasis"},
]


def _saved(can_edit: bool) -> html.Div:
    save = dbc.InputGroup([
        dbc.Input(id=FILTER_NAME, placeholder="Name for the customers the filters select", maxLength=120,
                  disabled=not can_edit),
        dbc.Button([html.I(className="bi bi-funnel me-1"), "Save filter selection"], id=SAVE_FILTERS,
                   disabled=not can_edit),
    ], size="sm")
    delete = dbc.Button([html.I(className="bi bi-trash me-1"), "Delete selected"], id=DELETE, color="danger",
                        outline=True, size="sm", disabled=not can_edit)
    return section("Saved segments", [
        data_grid(GRID, SEGMENT_COLUMNS, "No saved segments yet: save an RFM segment, a clustering or a filter "
                                         "selection.", row_id="'' + params.data.id", rowSelection="single"),
        html.Div([save, delete], className="d-flex gap-2 mt-3 flex-wrap flex-md-nowrap"),
        analyst_note(can_edit, "save and delete segments"), feedback(FEEDBACK),
        dcc.Store(id=REFRESH, data=0),
    ], icon="bi-bookmarks", info="Saved segments appear in the filter bar and filter every tab.",
        actions=export_button(EXPORT, DOWNLOAD, "Export members"))


def _compare(can_edit: bool) -> html.Div:
    pickers = dbc.Row([
        dbc.Col([dbc.Label("Segment A", html_for=SEGMENT_A, className="small fw-semibold"),
                 dcc.Dropdown(id=SEGMENT_A, placeholder="Choose a segment", disabled=not can_edit)], md=6),
        dbc.Col([dbc.Label("Segment B", html_for=SEGMENT_B, className="small fw-semibold"),
                 dcc.Dropdown(id=SEGMENT_B, placeholder="Choose a segment", disabled=not can_edit)], md=6),
    ], className="g-2 mb-2")
    return section("Compare two segments", [
        pickers, analyst_note(can_edit, "compare segments"),
        html.Div(id=COMPARE_NOTE, className="small mb-2"),
        data_grid(COMPARE_GRID, COMPARE_COLUMNS, "Choose two segments to compare.", row_id="params.data.metric"),
        html.Div("Money metrics: Mann-Whitney U (skewed); NPS: Welch t-test; rates: two-proportion z-test; mixes: "
                 "chi-square. p (BH): Benjamini-Hochberg adjusted across the table; bold when below 0.05.",
                 className="small text-body-secondary mt-2"),
        dbc.Row([dbc.Col(graph(DISTRIBUTIONS, 300), lg=6), dbc.Col(graph(MIXES, 300), lg=6)], className="g-3 mt-1"),
    ], icon="bi-layout-split", actions=export_button(COMPARE_EXPORT, COMPARE_DOWNLOAD),
        info="Both segments are compared within your data scope, on each customer's whole history up to the latest "
             "order.")


def layout(can_edit: bool) -> html.Div:
    return html.Div([_saved(can_edit), _compare(can_edit)])
