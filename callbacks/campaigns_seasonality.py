"""Campaigns tab, seasonality and timing: the filters in; revenue by month, weekday and hour, its STL
decomposition, the named peaks and the campaign windows out."""
from __future__ import annotations

from dash import Output, html

from callbacks.inputs import FILTERS, THEME, filters_of
from layouts import campaigns as ids
from layouts import campaigns_charts as charts
from layouts.figures import empty_figure, themed
from services import formatting as fmt
from services import seasonality
from services.campaigns import catalog


def register(app, context) -> None:
    def fetch(name, filters, compute):
        options = context.filter_options()
        return context.analysed(f"campaigns-season-{name}|{filters.cache_key()}",
                                lambda warehouse: compute(warehouse, filters, options))

    @app.callback(Output(ids.SEASON_WINDOWS_GRAPH, "figure"), Output(ids.SEASON_MONTH_GRAPH, "figure"),
                  Output(ids.SEASON_HEATMAP, "figure"), Output(ids.SEASON_STL_GRAPH, "figure"),
                  Output(ids.SEASON_FACTS, "children"), FILTERS, THEME)
    def update_seasonality(search, theme):
        filters = filters_of(context, search)
        weekly = fetch("weekly", filters, seasonality.weekly_revenue)
        campaigns = context.analysed("campaigns-list", catalog.campaigns)
        decomposition = seasonality.decompose(weekly)  # milliseconds: not worth a cache entry
        summary = fetch("timing", filters, seasonality.timing_summary)
        stl = (empty_figure(decomposition) if isinstance(decomposition, str)
               else charts.decomposition(decomposition.frame))
        return (themed(charts.revenue_with_campaigns(weekly, campaigns), theme),
                themed(charts.month_of_year(fetch("months", filters, seasonality.by_month_of_year)), theme),
                themed(charts.weekday_hour(fetch("hours", filters, seasonality.by_weekday_hour)), theme),
                themed(stl, theme), _facts(decomposition, summary))


def _facts(decomposition, summary) -> list:
    facts = []
    if not isinstance(decomposition, str):
        peaks = seasonality.peak_periods(decomposition)
        named = "; ".join(f"{p.name} ({fmt.change(p.uplift / 100) if p.uplift is not None else 'no trend'} over the "
                          f"trend)" for p in peaks) or "none stands out"
        facts.append(html.Div([html.Strong("Peak periods: "), named, f". Strength of seasonality "
                               f"{decomposition.strength:.2f} (0 none, 1 all of the variation)."],
                              id="campaigns-season-peaks"))
    if summary.peak_weekday is not None:
        facts.append(html.Div(
            f"Busiest weekday: {summary.peak_weekday_name} ({fmt.money(summary.peak_weekday_daily_revenue)} a day); "
            f"busiest hour: {summary.peak_hour}:00 ({fmt.percent(summary.peak_hour_share)} of revenue); weekend days "
            f"bring {fmt.change(summary.weekend_uplift)} against weekdays."))
    return facts
