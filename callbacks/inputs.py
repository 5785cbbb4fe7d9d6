"""What the tabs' callbacks share: the filter and theme inputs, and the filters of the filter bar's store."""
from __future__ import annotations

from dash import Input
from dash.exceptions import PreventUpdate

from layouts import filter_bar as fb
from layouts import shell
from services.filters import Filters

FILTERS = Input(fb.STORE, "data")
THEME = Input(shell.THEME_STORE, "data")


def filters_of(context, search: str | None) -> Filters:
    """The filters of the store's query string, with the user's scope; nothing to do before the bar has synced."""
    if search is None:
        raise PreventUpdate
    return context.filters(search)


def choice(value, allowed: tuple[str, ...], default: str | None = None) -> str:
    """The browser's value when it is one of `allowed`, else the default (the first allowed)."""
    return value if isinstance(value, str) and value in allowed else (default or allowed[0])
