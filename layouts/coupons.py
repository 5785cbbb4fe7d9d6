"""The Coupons tab."""
from __future__ import annotations

from dash import html

from layouts.placeholder import not_built_yet

CONTENT = "coupons-content"


def layout() -> html.Div:
    return html.Div(not_built_yet("Coupons", "The coupon funnel, burn rates by branch and coupon retention will appear here."), id=CONTENT)
