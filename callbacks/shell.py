"""Shell callbacks: theme, tab rendering, and the global filters mirrored in the URL."""
from __future__ import annotations

from urllib.parse import parse_qs, urlencode

from dash import Input, Output, State, ctx, no_update

from layouts import filter_bar as fb
from layouts import shell
from services.filters import Filters, parse_filters, parse_search

THEME_JS = """
function(isDark, stored) {
    const fromSwitch = dash_clientside.callback_context.triggered_id === "%(switch)s";
    const theme = fromSwitch ? (isDark ? "dark" : "light") : (stored === "dark" ? "dark" : "light");
    document.documentElement.setAttribute("data-bs-theme", theme);
    return [theme === "dark", theme];
}
""" % {"switch": shell.THEME_SWITCH}


def tab_from_search(search: str | None) -> str:
    tab = parse_qs((search or "").lstrip("?")).get("tab", [shell.DEFAULT_TAB])[0]
    return tab if tab in shell.TAB_KEYS else shell.DEFAULT_TAB


def search_for(filters: Filters, tab: str) -> str:
    query = filters.to_query()
    if tab != shell.DEFAULT_TAB:
        query["tab"] = tab
    return f"?{urlencode(query)}" if query else ""


def register(app, context) -> None:
    app.clientside_callback(
        THEME_JS,
        Output(shell.THEME_SWITCH, "value"), Output(shell.THEME_STORE, "data"),
        Input(shell.THEME_SWITCH, "value"), Input(shell.THEME_STORE, "data"),
    )

    @app.callback(Output(shell.TAB_CONTENT, "children"), Output(shell.LAB_PRESET, "data"),
                  Input(shell.TABS, "active_tab"), State(shell.LAB_PRESET, "data"))
    def render_tab(active_tab, preset):
        """The tab's layout; a lab preset is used once, by the tab it was meant for."""
        preset = [name for name in preset if isinstance(name, str)] if isinstance(preset, list) else None
        used = active_tab == "segmentation" and bool(preset)
        return shell.render_tab(active_tab, context.user().role, preset if used else None), None

    @app.callback(
        Output(fb.DATE_RANGE, "start_date"), Output(fb.DATE_RANGE, "end_date"),
        Output(fb.COUNTRIES, "value"), Output(fb.GENDERS, "value"), Output(fb.AGE_BRACKETS, "value"),
        Output(fb.SEGMENT, "value"),
        Output(shell.TABS, "active_tab"), Output(fb.STORE, "data"), Output(shell.URL, "search"),
        Input(shell.URL, "search"),
        Input(fb.DATE_RANGE, "start_date"), Input(fb.DATE_RANGE, "end_date"),
        Input(fb.COUNTRIES, "value"), Input(fb.GENDERS, "value"), Input(fb.AGE_BRACKETS, "value"),
        Input(fb.SEGMENT, "value"),
        Input(shell.TABS, "active_tab"), Input(fb.RESET, "n_clicks"),
    )
    def sync_filters(search, start, end, countries, genders, ages, segment, tab, _reset):
        """The URL drives the controls on load/navigation; the controls drive the URL after."""
        options = context.filter_options()
        trigger, shown_tab = ctx.triggered_id, tab
        if trigger in (None, shell.URL):
            filters, tab = parse_search(search, options), tab_from_search(search)
        elif trigger == fb.RESET:
            filters = Filters()
        else:
            filters = parse_filters(start, end, countries, genders, ages, options, segment)
        tab = tab if tab in shell.TAB_KEYS else shell.DEFAULT_TAB
        pushes_controls = trigger in (None, shell.URL, fb.RESET)
        # Setting the tab, even to the same one, renders it afresh: only when it changes.
        controls = ((*_control_values(filters), tab if tab != shown_tab else no_update) if pushes_controls
                    else (no_update,) * 7)
        new_search = search_for(filters, tab)
        # The store holds the canonical query string; tab callbacks re-parse it on the server.
        return (*controls, filters.to_search(), new_search if new_search != (search or "") else no_update)

def _control_values(filters: Filters) -> tuple:
    return (
        filters.start.isoformat() if filters.start else None,
        filters.end.isoformat() if filters.end else None,
        list(filters.countries), list(filters.genders), list(filters.age_brackets), filters.segment_id,
    )
