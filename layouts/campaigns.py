"""The Campaigns tab."""
from __future__ import annotations

from dash import html

from layouts.placeholder import not_built_yet

CONTENT = "campaigns-content"


def layout() -> html.Div:
    return html.Div(not_built_yet("Campaigns", "Experiment readouts, campaign profit and seasonality will appear here."), id=CONTENT)
