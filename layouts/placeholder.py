"""The honest empty state of a tab whose feature has not been built yet."""
from __future__ import annotations

from dash import html


def not_built_yet(title: str, what: str) -> html.Div:
    return html.Div(
        [
            html.I(className="bi bi-cone-striped display-6 text-body-secondary"),
            html.H2(title, className="h5 mt-3"),
            html.P(f"Not built yet. {what}", className="text-body-secondary mb-0"),
        ],
        className="text-center py-5 not-built-yet",
    )
