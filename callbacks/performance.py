"""Customer performance callbacks: filters in, services through the cache, figures and cards out."""
from __future__ import annotations

from dash import Input, Output, State, html
from dash.exceptions import PreventUpdate

from callbacks.inputs import FILTERS, THEME
from callbacks.inputs import filters_of as filters_in
from layouts import customer_detail, performance_charts as charts
from layouts import filter_bar as fb
from layouts import performance as ids
from layouts import shell
from layouts.figures import THEMES, themed
from layouts.performance_kpis import KPIS, kpi_body
from services.csv_export import to_csv
from services.filters import scope_key
from services.performance import customers, insights, kpis, tab, trends
from services.performance.breakdowns import Dimension


def churn_days(value) -> int:
    """The churn window from the browser, clamped to the allowed range."""
    low, high = kpis.CHURN_DAYS_RANGE
    try:
        return min(max(int(value), low), high)
    except (TypeError, ValueError):
        return kpis.DEFAULT_CHURN_DAYS


def top_size(value) -> int:
    try:
        size = int(value)
    except (TypeError, ValueError):
        return customers.TOP_SIZES[0]
    return size if size in customers.TOP_SIZES else customers.TOP_SIZES[0]


def register(app, context) -> None:
    def filters_of(search):
        return filters_in(context, search)

    def fetch(name, filters, *params):
        """One of the tab's queries for these filters through the shared cache (default settings unless given)."""
        service, defaults = tab.QUERIES[name]
        params, options = params or defaults, context.filter_options()
        key = "|".join([f"performance-{name}", filters.cache_key(), *map(str, params)])
        return context.analysed(key, lambda warehouse: service(warehouse, filters, options, *params))

    def remembered(name, render, filters, *settings):
        """A rendered part of the tab through the cache: a hit costs one read, not a page of figures."""
        key = "|".join([f"performance-{name}", filters.cache_key(), *map(str, settings)])
        return context.remember(key, lambda: render(filters, *settings))

    def breakdowns(filters):
        return {dimension: fetch(dimension.name.lower(), filters) for dimension in Dimension}

    # Two callbacks: the cards and sentences (plain HTML) reach the page before the figures,
    # which wait for plotly.js; within each, the figures share the period's scans.
    @app.callback(
        *(Output(spec.id, "children") for spec in KPIS),
        Output(ids.COMPARISON_NOTE, "children"), Output(ids.EMPTY_STATE, "children"),
        Output(ids.EMPTY_STATE, "is_open"), Output(ids.INSIGHTS, "children"),
        FILTERS, Input(ids.CHURN_DAYS, "value"),
    )
    def update_summary(search, days):
        return remembered("summary", render_summary, filters_of(search), churn_days(days))

    def render_summary(filters, days):
        report, split = fetch("kpis", filters, days), breakdowns(filters)
        facts = insights.PerformanceFacts(report, split[Dimension.AGE_BRACKET], split[Dimension.PROFILE],
                                          split[Dimension.GENDER], split[Dimension.FAMILY_STATUS],
                                          fetch("growth", filters))
        sentences = insights.insights(facts)
        empty = report is None or report.current.customers == 0
        return (*(kpi_body(spec, report) for spec in KPIS), _comparison_note(report), _empty_message(), empty,
                [html.Li(sentence) for sentence in sentences] or [html.Li("No customers match these filters.")])

    @app.callback(
        Output(ids.FAMILY_GRAPH, "figure"), Output(ids.FAMILY_COUNTRIES, "children"),
        Output(ids.AGE_GRAPH, "figure"), Output(ids.PROFILE_GRAPH, "figure"), Output(ids.GENDER_GRAPH, "figure"),
        Output(ids.MAP_GRAPH, "figure"), Output(ids.CITIES_GRAPH, "figure"),
        Output(ids.MONTHLY_GRAPH, "figure"), Output(ids.SEASONALITY_GRAPH, "figure"), Output(ids.YOY_GRAPH, "figure"),
        Output(ids.COHORT_GRAPH, "figure"), Output(ids.TOP_GRID, "rowData"),
        FILTERS, Input(ids.TOP_SIZE, "value"), THEME,
    )
    def update_figures(search, size, theme):
        return remembered("figures", render_figures, filters_of(search), top_size(size),
                          theme if theme in THEMES else THEMES[0])

    def render_figures(filters, size, theme):
        split, months, top = breakdowns(filters), fetch("monthly", filters), fetch("top", filters, size)
        return (
            themed(charts.shares(split[Dimension.FAMILY_STATUS], "family_status"), theme),
            _leading_countries(fetch("leading-countries", filters)),
            themed(charts.age_brackets(split[Dimension.AGE_BRACKET]), theme),
            themed(charts.profiles(split[Dimension.PROFILE]), theme),
            themed(charts.genders(split[Dimension.GENDER]), theme),
            themed(charts.country_map(split[Dimension.COUNTRY]), theme),
            themed(charts.cities(fetch("cities", filters)), theme),
            themed(charts.monthly(months), theme), themed(charts.seasonality(trends.seasonality(months)), theme),
            themed(charts.year_over_year(trends.year_over_year(months)), theme),
            themed(charts.cohorts(fetch("cohorts", filters)), theme),
            top.assign(last_order=top["last_order"].dt.strftime("%Y-%m-%d"), revenue=top["revenue"].round(2))
            .to_dict("records"),
        )

    @app.callback(
        Output(ids.TOP_DOWNLOAD, "data"), Input(ids.TOP_EXPORT, "n_clicks"),
        State(fb.STORE, "data"), State(ids.TOP_SIZE, "value"), prevent_initial_call=True,
    )
    def export_top_customers(_clicks, search, size):
        filters, limit = filters_of(search), top_size(size)
        frame = fetch("top", filters, limit)
        context.audit("export", what="top customers", rows=len(frame), filters=filters.to_search())
        return {"content": to_csv(frame), "filename": f"top-{limit}-customers.csv", "type": "text/csv"}

    @app.callback(
        Output(ids.DETAIL, "is_open"), Output(ids.DETAIL, "title"), Output(ids.DETAIL_BODY, "children"),
        Input(ids.TOP_GRID, "cellClicked"), State(shell.THEME_STORE, "data"), prevent_initial_call=True,
    )
    def open_customer_detail(cell, theme):
        customer_id = str((cell or {}).get("rowId", ""))
        if not customer_id.isdigit():
            raise PreventUpdate
        detail = context.cached(
            f"customer-detail|{customer_id}|scope={scope_key(context.scope())}",
            lambda connection: customers.customer_detail(connection, int(customer_id), context.scope()))
        if detail is None:
            return True, "Customer", customer_detail.not_found()
        return True, customer_detail.title(detail), customer_detail.body(detail, theme)

    @app.callback(Output(fb.COUNTRIES, "value", allow_duplicate=True), Input(ids.MAP_GRAPH, "clickData"),
                  prevent_initial_call=True)
    def filter_to_clicked_country(click):
        points = (click or {}).get("points") or [{}]
        country = points[0].get("location")
        if country not in context.filter_options().countries:
            raise PreventUpdate
        return [country]


def _comparison_note(result) -> list | str:
    if result is None:
        return "No orders in the database yet."
    note = [html.I(className="bi bi-calendar-range me-1"), f"{result.period.label()}"]
    if result.previous is not None:
        note.append(f", compared with {result.previous_period.label()}")
    else:
        note.append(". Choose an order-date range to compare with the previous period of equal length.")
    return note


def _empty_message() -> list:
    return [html.I(className="bi bi-funnel me-2"),
            "No customers match these filters. Widen the date range or remove a filter, or use Reset."]


def _leading_countries(frame) -> list:
    if frame.empty:
        return []
    groups = []
    for status, rows in frame.groupby("family_status", sort=False):
        listed = ", ".join(f"{row.country} {row.share:.0%}" for row in rows.itertuples())
        groups.append(html.Div([html.Span(f"{status}: ", className="fw-semibold"), listed]))
    return [html.Div("Leading countries by revenue", className="text-body-secondary"), *groups]
