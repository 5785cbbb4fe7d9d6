"""Coupons tab callbacks: filters and focus in, the coupon services through the cache, figures and tables out."""
from __future__ import annotations

import re

import pandas as pd
from dash import Input, Output, State, ctx, html
from dash.exceptions import PreventUpdate

from callbacks.inputs import FILTERS, THEME, choice, filters_of
from layouts import coupons as ids
from layouts import coupons_charts as charts
from layouts import filter_bar as fb
from layouts import shell
from layouts.figures import empty_figure, themed
from services import formatting as fmt
from services.coupons import branches, catalog, users
from services.coupons.activity import GRAINS, HABITUAL_BURNS
from services.coupons.retention import REPEAT_DAYS
from services.coupons.tab import QUERIES
from services.coupons.view import Focus, coupon_view
from services.csv_export import to_csv
from services.segmentation.features import COUPON_FEATURES, city_feature_name
from services.selection import period_of

FOCUS = Input(ids.FOCUS, "data")
PRESET_CITIES = 3  # the shortcut into the lab adds the cities with the most burns
TABLE_KINDS = tuple(kind for kind, _ in ids.TABLE_KINDS)


def branch_id_of(value) -> int | None:
    """A branch id from the browser: a whole number (not a boolean) or a string of ASCII digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and re.fullmatch(r"[0-9]{1,9}", value) else None


def register(app, context) -> None:
    def branch_list():
        """The branches of the user's countries (a focus elsewhere would only ever show nothing)."""
        known = context.analysed("coupons-branch-list", branches.branch_list)
        scope = context.scope()
        return known if scope is None else known[known["country"].isin(scope)]

    def focus_of(data) -> Focus:
        """The focus from the browser, kept only when it names a known city or branch."""
        data = data if isinstance(data, dict) else {}
        known = branch_list()
        branch_id, city = branch_id_of(data.get("branch_id")), data.get("city")
        if branch_id is not None and branch_id in set(known["branch_id"]):
            return Focus(branch_id=branch_id)
        if isinstance(city, str) and city in set(known["city"]):
            return Focus(city=city)
        return Focus()

    def fetch(name, filters, focus, *settings):
        """One of the tab's queries through the shared cache; None without any data."""
        options, service = context.filter_options(), QUERIES[name]
        key = "|".join([f"coupons-{name}", filters.cache_key(), focus.key(), *map(str, settings)])

        def compute(warehouse):
            view = coupon_view(warehouse, filters, options, focus)
            return None if view is None else service(warehouse, view, *settings)
        return context.analysed(key, compute)

    def inputs(search, focus):
        return filters_of(context, search), focus_of(focus)

    @app.callback(
        Output(ids.KPI_GRID, "children"), Output(ids.FUNNEL_GRAPH, "figure"), Output(ids.PERIOD_NOTE, "children"),
        Output(ids.QUALITY, "children"), Output(ids.QUALITY, "is_open"),
        Output(ids.EMPTY_STATE, "children"), Output(ids.EMPTY_STATE, "is_open"),
        Output(ids.FOCUS_BADGE, "children"), Output(ids.FOCUS_CLEAR, "style"),
        FILTERS, FOCUS, THEME,
    )
    def update_summary(search, focus_data, theme):
        filters, focus = inputs(search, focus_data)
        result, quality = fetch("funnel", filters, focus), fetch("quality", filters, focus)
        empty = result is None or result.empty
        problem = quality is not None and not quality.ok
        return (ids.kpi_cards(result), themed(charts.funnel(result) if result else empty_figure(), theme),
                _period_note(period_of(filters, context.filter_options())),
                _quality_message(quality) if problem else None, problem,
                _empty_message(focus), empty, _focus_badge(focus, branch_list()),
                {} if focus != Focus() else {"display": "none"})

    @app.callback(Output(ids.TIMELINE_GRAPH, "figure"), FILTERS, FOCUS, Input(ids.GRAIN, "value"), THEME)
    def update_timeline(search, focus, grain, theme):
        grain = choice(grain, GRAINS, ids.DEFAULT_GRAIN)
        frame = fetch("timeline", *inputs(search, focus), grain)
        return themed(charts.timeline(frame, grain) if frame is not None else empty_figure(), theme)

    @app.callback(Output(ids.CITIES_GRAPH, "figure"), Output(ids.BRANCHES_GRAPH, "figure"),
                  Output(ids.BRANCH_GRID, "rowData"), FILTERS, FOCUS, THEME)
    def update_places(search, focus, theme):
        table = _or_empty(fetch("branches", *inputs(search, focus)), branches.COLUMNS)
        return (themed(charts.places(branches.city_table(table), "city"), theme),
                themed(charts.places(table, "branch"), theme), _records(table))

    @app.callback(Output(ids.GENDER_GRAPH, "figure"), Output(ids.USER_CITIES_GRAPH, "figure"),
                  Output(ids.AGE_GRAPH, "figure"), Output(ids.SEGMENT_GRAPH, "figure"),
                  FILTERS, FOCUS, Input(ids.SEGMENT_KIND, "value"), THEME)
    def update_users(search, focus, kind, theme):
        attributes = _or_empty(fetch("users", *inputs(search, focus)), ["group", *users.ATTRIBUTES, "customers"])
        kind = choice(kind, tuple(value for value, _ in ids.SEGMENT_KINDS))
        return (themed(charts.gender_pie(users.split_by(attributes, "gender")), theme),
                themed(charts.group_shares(users.split_by(attributes, "city", limit=10), horizontal=True), theme),
                themed(charts.group_shares(users.split_by(attributes, "age_bracket")), theme),
                themed(charts.group_shares(users.split_by(attributes, kind)), theme))

    @app.callback(Output(ids.FREQUENCY_GRAPH, "figure"), Output(ids.FREQUENCY_FACTS, "children"),
                  Output(ids.RETENTION_GRAPH, "figure"), Output(ids.RETENTION_FACTS, "children"),
                  Output(ids.COHORT_GRAPH, "figure"), FILTERS, FOCUS, THEME)
    def update_loyalty(search, focus, theme):
        filters, focus = inputs(search, focus)
        usage, comparison = fetch("frequency", filters, focus), fetch("retention", filters, focus)
        cohorts = fetch("cohorts", filters, focus)
        return (themed(charts.burn_frequency(usage.burns, HABITUAL_BURNS) if usage else empty_figure(), theme),
                _frequency_facts(usage), themed(charts.retention(comparison, REPEAT_DAYS), theme),
                _retention_facts(comparison),
                themed(charts.burn_cohorts(cohorts) if cohorts is not None else empty_figure(), theme))

    @app.callback(Output(ids.COUPON_GRID, "rowData"), Output(ids.COUPON_GRID, "columnDefs"),
                  FILTERS, FOCUS, Input(ids.TABLE_KIND, "value"))
    def update_coupon_table(search, focus, kind):
        kind = choice(kind, TABLE_KINDS)
        table = _coupon_rows(fetch("coupons", *inputs(search, focus)), kind)
        return _records(table), ids.coupon_columns(per_campaign=kind == ids.PER_CAMPAIGN)

    @app.callback(Output(ids.FOCUS, "data"), Input(ids.CITIES_GRAPH, "clickData"),
                  Input(ids.BRANCHES_GRAPH, "clickData"), Input(ids.BRANCH_GRID, "cellClicked"),
                  Input(ids.FOCUS_CLEAR, "n_clicks"), prevent_initial_call=True)
    def focus_on_click(city_click, branch_click, cell, _clear):
        known = branch_list()
        trigger = ctx.triggered_id
        if trigger == ids.FOCUS_CLEAR:
            return {}
        if trigger == ids.BRANCH_GRID:
            branch_id = branch_id_of(cell.get("rowId") if isinstance(cell, dict) else None)
            return {"branch_id": branch_id} if branch_id in set(known["branch_id"]) else _no_change()
        if trigger == ids.CITIES_GRAPH:
            label = _clicked_label(city_click)
            return {"city": label} if label in set(known["city"]) else _no_change()
        match = known[known["branch"] == _clicked_label(branch_click)]
        return {"branch_id": int(match["branch_id"].iloc[0])} if not match.empty else _no_change()

    def export(name, frame, filename, filters):
        context.audit("export", what=name, rows=len(frame), filters=filters.to_search())
        return {"content": to_csv(frame), "filename": filename, "type": "text/csv"}

    @app.callback(Output(ids.BRANCH_DOWNLOAD, "data"), Input(ids.BRANCH_EXPORT, "n_clicks"),
                  State(fb.STORE, "data"), State(ids.FOCUS, "data"), prevent_initial_call=True)
    def export_branches(_clicks, search, focus):
        filters, focus = inputs(search, focus)
        table = _or_empty(fetch("branches", filters, focus), branches.COLUMNS)
        return export("coupon branches", table, "coupon-branches.csv", filters)

    @app.callback(Output(ids.COUPON_DOWNLOAD, "data"), Input(ids.COUPON_EXPORT, "n_clicks"),
                  State(fb.STORE, "data"), State(ids.FOCUS, "data"), State(ids.TABLE_KIND, "value"),
                  prevent_initial_call=True)
    def export_coupons(_clicks, search, focus, kind):
        filters, focus = inputs(search, focus)
        kind = choice(kind, TABLE_KINDS)
        return export(f"coupons per {kind}", _coupon_rows(fetch("coupons", filters, focus), kind),
                      f"coupons-per-{kind}.csv", filters)

    @app.callback(Output(shell.TABS, "active_tab", allow_duplicate=True),
                  Output(shell.LAB_PRESET, "data", allow_duplicate=True),
                  Input(ids.SEGMENT_SHORTCUT, "n_clicks"), State(fb.STORE, "data"), State(ids.FOCUS, "data"),
                  prevent_initial_call=True)
    def open_coupon_segmentation(clicks, search, focus):
        if not clicks:
            raise PreventUpdate
        table = _or_empty(fetch("branches", *inputs(search, focus)), branches.COLUMNS)
        cities = branches.city_table(table)["city"].head(PRESET_CITIES)
        return "segmentation", [*COUPON_FEATURES, *(city_feature_name(city) for city in cities)]


def _no_change():
    raise PreventUpdate


def _clicked_label(click) -> str | None:
    """The category label of a clicked horizontal bar, if the click data has one."""
    points = click.get("points") if isinstance(click, dict) else None
    point = points[0] if isinstance(points, list) and points else None
    label = point.get("y") if isinstance(point, dict) else None
    return label if isinstance(label, str) else None


def _or_empty(frame, columns):
    return frame if frame is not None else pd.DataFrame(columns=columns)


def _records(frame) -> list[dict]:
    return frame.round(4).to_dict("records")


def _coupon_rows(coupons, kind):
    if coupons is None:
        coupons = _or_empty(None, catalog.COUPON_COLUMNS)
    table = catalog.campaign_table(coupons) if kind == ids.PER_CAMPAIGN else coupons
    return table.assign(**{column: table[column].astype(str) for column in ("valid_from", "valid_to")
                           if column in table.columns})


def _period_note(period) -> list | str:
    if period is None:
        return "No orders in the database yet."
    return [html.I(className="bi bi-calendar-range me-1"), period.label()]


def _focus_badge(focus: Focus, known) -> list | None:
    if focus.branch_id is not None:
        name = known.loc[known["branch_id"] == focus.branch_id, "branch"].iloc[0]
        text = f"Branch: {name}"
    elif focus.city is not None:
        text = f"City: {focus.city}"
    else:
        return None
    return [html.Span([html.I(className="bi bi-geo-alt me-1"), text], className="badge text-bg-primary")]


def _empty_message(focus: Focus) -> list:
    where = " at this city or branch" if focus != Focus() else ""
    return [html.I(className="bi bi-ticket-perforated me-2"),
            f"No coupon activity for these filters{where}. Widen the date range, remove a filter, or choose "
            "All branches."]


def _quality_message(quality) -> list:
    return [html.I(className="bi bi-exclamation-triangle me-2"), html.Div([
        html.Strong("The coupon data breaks the funnel. "),
        f"{quality.unclaimed_burns:,} burned coupons ({quality.customers:,} customers) have no earlier claim of the "
        "same coupon by the same customer. They are counted as burned, so burn rates may be overstated; check the "
        "imported coupon events.",
    ])]


def _frequency_facts(usage) -> list:
    if usage is None or not usage.coupon_users:
        return []
    users_count = usage.coupon_users
    return [
        html.Div(f"One-time users: {usage.one_time_users:,} ({fmt.percent(usage.one_time_users / users_count)} of "
                 f"{users_count:,} coupon users)."),
        html.Div(f"Habitual users ({HABITUAL_BURNS}+ burns): {usage.habitual_users:,} "
                 f"({fmt.percent(usage.habitual_users / users_count)}), bringing "
                 f"{fmt.percent(usage.habitual_revenue_share)} of the period's revenue; all coupon users bring "
                 f"{fmt.percent(usage.coupon_user_revenue_share)}."),
    ]


def _retention_facts(comparison) -> list:
    if comparison is None:
        return [html.Div(f"The period must start at least {REPEAT_DAYS} days before the data ends to follow "
                         "customers for the whole window.")]
    gap = (None if comparison.coupon_rate is None or comparison.comparable_rate is None
           else comparison.coupon_rate - comparison.comparable_rate)
    return [
        html.Div(f"Coupon users: {fmt.percent(comparison.coupon_rate)} of {comparison.coupon_customers:,} bought "
                 f"again within {REPEAT_DAYS} days of their first burn; comparable buyers "
                 f"{fmt.percent(comparison.comparable_rate)}, all {comparison.other_customers:,} other buyers "
                 f"{fmt.percent(comparison.other_rate)}."
                 + ("" if gap is None else f" Gap against comparable buyers: {100 * gap:+.1f} points.")),
        html.Div(f"First burns or orders from {comparison.anchor_start:%d %b %Y} to "
                 f"{comparison.anchor_end:%d %b %Y}.", className="text-body-secondary"),
        html.Div([html.I(className="bi bi-info-circle me-1"), ids.OBSERVATIONAL], className="fst-italic mt-1"),
    ]
