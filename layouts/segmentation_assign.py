"""Assign new customers to a saved clustering: a form for one, a CSV upload for many."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.components import analyst_note, data_grid, export_button, feedback, section

CLUSTERING = "segmentation-assign-clustering"
FORM = "segmentation-assign-form"
FIELD = "segmentation-assign-field"  # pattern-matching id type: {"type": FIELD, "feature": name}
ASSIGN = "segmentation-assign-one"
ANSWER = "segmentation-assign-answer"
UPLOAD = "segmentation-assign-upload"
UPLOAD_FEEDBACK = "segmentation-assign-upload-feedback"
GRID = "segmentation-assign-grid"
EXPORT = "segmentation-assign-export"
DOWNLOAD = "segmentation-assign-download"
RESULT = "segmentation-assign-result"


def field(name: str, label: str) -> dbc.Col:
    """One number input of the single-customer form."""
    control_id = {"type": FIELD, "feature": name}
    return dbc.Col([dbc.Label(label, className="small mb-0"),
                    dbc.Input(id=control_id, type="number", size="sm", placeholder=name)], xs=6, md=4, lg=3)


def layout(can_edit: bool) -> html.Div:
    upload = dcc.Upload(
        id=UPLOAD, disabled=not can_edit, max_size=5 * 1024 * 1024, multiple=False,
        children=html.Div([html.I(className="bi bi-filetype-csv me-2"), "Drop a CSV here or ",
                           html.A("choose a file")]),
        className="upload-box", accept=".csv,text/csv",
    )
    return section("Assign customers to a saved clustering", [
        dbc.Label("Saved clustering", html_for=CLUSTERING, className="small fw-semibold"),
        dcc.Dropdown(id=CLUSTERING, placeholder="Choose a saved clustering", disabled=not can_edit,
                     className="mb-3"),
        html.Div(id=FORM),
        dbc.Button([html.I(className="bi bi-signpost-split me-1"), "Assign this customer"], id=ASSIGN, size="sm",
                   className="mt-2", disabled=not can_edit),
        html.Div(id=ANSWER, className="mt-2", role="status"),
        html.Hr(),
        html.Div("Many customers: a CSV with one column per feature of the clustering (named as in the form) and "
                 "optionally a customer column; at most 5 MB.", className="small text-body-secondary mb-2"),
        upload, feedback(UPLOAD_FEEDBACK),
        data_grid(GRID, [], "Upload a CSV to assign its customers."),
        dcc.Store(id=RESULT),
        analyst_note(can_edit, "assign customers"),
    ], icon="bi-signpost-split", actions=export_button(EXPORT, DOWNLOAD))
