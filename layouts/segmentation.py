"""The Segmentation tab."""
from __future__ import annotations

from dash import html

from layouts.placeholder import not_built_yet

CONTENT = "segmentation-content"


def layout() -> html.Div:
    return html.Div(not_built_yet("Segmentation", "RFM segments, the clustering lab and saved segments will appear here."), id=CONTENT)
