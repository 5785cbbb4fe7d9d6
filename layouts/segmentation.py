"""The Segmentation tab: RFM, the clustering lab, saved segments with comparison, and assignment."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from layouts import segmentation_assign, segmentation_lab, segmentation_rfm, segmentation_segments
from services.models import ANALYST_ROLES

CONTENT = "segmentation-content"
SECTIONS = "segmentation-sections"


def layout(role: str, lab_features: list[str] | None = None) -> html.Div:
    """The tab; `lab_features` (from another tab's shortcut) opens the clustering lab with them chosen."""
    can_edit = role in ANALYST_ROLES
    sections = dbc.Tabs([
        dbc.Tab(segmentation_rfm.layout(can_edit), label="RFM", tab_id="rfm"),
        dbc.Tab(segmentation_lab.layout(can_edit, lab_features), label="Clustering lab", tab_id="lab"),
        dbc.Tab(segmentation_segments.layout(can_edit), label="Saved segments", tab_id="segments"),
        dbc.Tab(segmentation_assign.layout(can_edit), label="Assign customers", tab_id="assign"),
    ], id=SECTIONS, active_tab="lab" if lab_features else "rfm", className="mb-3 segmentation-sections")
    return html.Div(sections, id=CONTENT)
