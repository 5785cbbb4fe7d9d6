"""The Customer performance tab."""
from __future__ import annotations

from dash import html

from layouts.placeholder import not_built_yet

CONTENT = "performance-content"


def layout() -> html.Div:
    return html.Div(not_built_yet("Customer performance", "KPIs, demographics, geography, trends and cohorts of your customers will appear here."), id=CONTENT)
