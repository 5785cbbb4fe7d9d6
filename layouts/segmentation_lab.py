"""The clustering lab: settings, the k chart, the clusters in 2D/3D, their profiles, saving them."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.components import analyst_note, data_grid, export_button, feedback, graph, section
from services.segmentation.defaults import DEFAULT_SCALING

FEATURES = "segmentation-lab-features"
PRESET_FEATURES = "segmentation-lab-preset-features"  # what the lab opens with, when another tab chose
SCALING = "segmentation-lab-scaling"
ALGORITHM = "segmentation-lab-algorithm"
K = "segmentation-lab-k"
EPS = "segmentation-lab-eps"
MIN_SAMPLES = "segmentation-lab-min-samples"
MIN_CLUSTER_SIZE = "segmentation-lab-min-cluster-size"
SEED = "segmentation-lab-seed"
SCAN = "segmentation-lab-scan"
RUN = "segmentation-lab-run"
CANCEL = "segmentation-lab-cancel"
PROGRESS = "segmentation-lab-progress"
STATUS = "segmentation-lab-status"
SCAN_RESULT = "segmentation-lab-scan-result"
RESULT = "segmentation-lab-result"
K_GRAPH = "segmentation-lab-k-graph"
K_REASON = "segmentation-lab-k-reason"
SCAN_STATUS = "segmentation-lab-scan-status"
METRICS = "segmentation-lab-metrics"
DIMS = "segmentation-lab-dims"
PROJECTION = "segmentation-lab-projection"
PROFILES = "segmentation-lab-profiles"
EXPORT = "segmentation-lab-export"
DOWNLOAD = "segmentation-lab-download"
SAVE_NAME = "segmentation-lab-save-name"
SAVE = "segmentation-lab-save"
SAVE_FEEDBACK = "segmentation-lab-save-feedback"

SCALINGS = (("standard", "Standard"), ("robust", "Robust"), ("log-standard", "Log, then standard"))
ALGORITHMS = (("kmeans", "K-means"), ("ward", "Agglomerative (Ward)"), ("dbscan", "DBSCAN"),
              ("hdbscan", "HDBSCAN"), ("gmm", "Gaussian mixture"))

PROFILE_COLUMNS = [
    {"field": "name", "headerName": "Cluster", "width": 230, "pinned": "left", "cellClass": "fw-semibold"},
    {"field": "customers", "type": "numericColumn", "width": 115,
     "valueFormatter": {"function": "d3.format(',')(params.value)"}},
    {"field": "customer_share", "headerName": "% customers", "type": "numericColumn", "width": 125,
     "valueFormatter": {"function": "d3.format('.1%')(params.value)"}},
    {"field": "revenue_share", "headerName": "% revenue", "type": "numericColumn", "width": 115,
     "valueFormatter": {"function": "d3.format('.1%')(params.value)"}},
    {"field": "dominant_gender", "headerName": "Gender", "width": 105},
    {"field": "top_category", "headerName": "Top category", "width": 135},
    {"field": "top_country", "headerName": "Top country", "width": 140},
    {"field": "description", "headerName": "Profile", "width": 380},
    {"field": "action", "headerName": "Suggested action", "width": 300},
]


def _settings(can_edit: bool, features: list[str] | None) -> html.Div:
    advanced = html.Details([
        html.Summary("Advanced", className="small"),
        dbc.Row([
            dbc.Col([dbc.Label("DBSCAN radius (eps)", html_for=EPS, className="small"),
                     dbc.Input(id=EPS, type="number", min=0.05, max=10, step=0.05, value=0.5, size="sm")], xs=6),
            dbc.Col([dbc.Label("Min. samples", html_for=MIN_SAMPLES, className="small"),
                     dbc.Input(id=MIN_SAMPLES, type="number", min=2, max=500, step=1, value=10, size="sm")], xs=6),
            dbc.Col([dbc.Label("HDBSCAN min. cluster size", html_for=MIN_CLUSTER_SIZE, className="small"),
                     dbc.Input(id=MIN_CLUSTER_SIZE, type="number", min=5, max=100000, step=1, value=50, size="sm")],
                    xs=6),
            dbc.Col([dbc.Label("Random seed", html_for=SEED, className="small"),
                     dbc.Input(id=SEED, type="number", min=0, max=2**31 - 1, step=1, value=42, size="sm")], xs=6),
        ], className="g-2 mt-1"),
    ], className="mb-3")
    return html.Div([
        dbc.Label("Features", html_for=FEATURES, className="small fw-semibold"),
        dcc.Dropdown(id=FEATURES, multi=True, placeholder="Choose at least two features", className="mb-3"),
        dcc.Store(id=PRESET_FEATURES, data=features),
        dbc.Label("Scaling", className="small fw-semibold"),
        dbc.RadioItems(id=SCALING, options=[{"label": label, "value": value} for value, label in SCALINGS],
                       value=DEFAULT_SCALING, className="small mb-3"),
        dbc.Label("Algorithm", html_for=ALGORITHM, className="small fw-semibold"),
        dbc.Select(id=ALGORITHM, options=[{"label": label, "value": value} for value, label in ALGORITHMS],
                   value="kmeans", size="sm", className="mb-3"),
        dbc.Label("Number of clusters (k)", html_for=K, className="small fw-semibold"),
        dcc.Slider(id=K, min=2, max=10, step=1, value=5, marks={k: str(k) for k in range(2, 11)}),
        html.Div("DBSCAN and HDBSCAN find the number of clusters themselves.", className="small text-body-secondary"),
        advanced,
        html.Div([
            dbc.Button([html.I(className="bi bi-graph-down me-1"), "Suggest k"], id=SCAN, color="secondary",
                       outline=True, size="sm", disabled=not can_edit),
            dbc.Button([html.I(className="bi bi-play-fill me-1"), "Run clustering"], id=RUN, size="sm",
                       disabled=not can_edit),
            dbc.Button("Cancel", id=CANCEL, color="danger", outline=True, size="sm", disabled=True),
        ], className="d-flex gap-2 flex-wrap"),
        dbc.Progress(id=PROGRESS, value=0, striped=True, animated=True, className="mt-3", style={"height": "6px"}),
        html.Div(id=STATUS, className="small text-body-secondary mt-1", role="status"),
        analyst_note(can_edit, "run clusterings"),
    ])


def _save_form(can_edit: bool) -> html.Div:
    return html.Div([
        dbc.InputGroup([
            dbc.Input(id=SAVE_NAME, placeholder="Clustering name, e.g. Behaviour 2023", maxLength=120,
                      disabled=not can_edit),
            dbc.Button([html.I(className="bi bi-bookmark-plus me-1"), "Save clustering and its segments"], id=SAVE,
                       disabled=not can_edit),
        ], size="sm"),
        html.Div("Saves every cluster as a segment (named after the clustering and the cluster) and keeps the "
                 "fitted model to assign new customers.", className="small text-body-secondary mt-1"),
        feedback(SAVE_FEEDBACK),
    ], className="mt-3")


def layout(can_edit: bool, features: list[str] | None = None) -> html.Div:
    """The lab; `features` are chosen at first (the callbacks keep only those the data offers)."""
    dims = dbc.RadioItems(id=DIMS, options=[{"label": "2D", "value": 2}, {"label": "3D", "value": 3}], value=2,
                          inline=True, className="small")
    return html.Div([
        dcc.Store(id=SCAN_RESULT), dcc.Store(id=RESULT),
        dbc.Row([
            dbc.Col(section("Settings", _settings(can_edit, features), icon="bi-sliders",
                            info="Features describe each customer's whole history up to the latest order. The "
                                 "filters choose which customers are clustered; a date range keeps those who "
                                 "ordered in it."), lg=4),
            dbc.Col([
                section("Choosing k", [graph(K_GRAPH, 280), html.Div(id=SCAN_STATUS, className="small text-body-secondary"),
                                      html.Div(id=K_REASON, className="small mt-1")],
                        icon="bi-graph-down",
                        info="K-means for k = 2…10 on a sample: inertia falls as k grows (look for the bend); "
                             "silhouette (on a sample) is higher for better separated clusters."),
                section("Clusters", [html.Div(id=METRICS, className="small text-body-secondary mb-1"),
                                     graph(PROJECTION, 420)],
                        icon="bi-bullseye", actions=dims,
                        info="A sample of the clustered customers on the first principal components of the scaled "
                             "features."),
            ], lg=8),
        ], className="g-3"),
        section("Cluster profiles", [data_grid(PROFILES, PROFILE_COLUMNS, "Run a clustering to profile its clusters.",
                                               row_id="'' + params.data.cluster", column_size=None), _save_form(can_edit)],
                icon="bi-person-lines-fill", actions=export_button(EXPORT, DOWNLOAD),
                info="Names, descriptions and actions are generated from how each cluster differs from all "
                     "clustered customers."),
    ])
