"""Figures of the Customer performance tab, built from the services' small frames.

Each function returns an unthemed figure (or the empty state); callbacks pass it to `themed`.
"""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from layouts.figures import empty_figure
from services import formatting as fmt
from services.rules import PROFILE_DESCRIPTIONS

MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
SHARE_HOVER = "%{y}<br>%{x:.1%} of %{fullData.name}<extra></extra>"


def _money_axis(figure: go.Figure, axis: str = "y") -> None:
    figure.update_layout({f"{axis}axis": {"tickprefix": fmt.CURRENCY, "tickformat": "~s"}})


def shares(frame: pd.DataFrame, key: str, hover: list[str] | None = None) -> go.Figure:
    """Share of customers beside share of revenue per group, as horizontal bars."""
    if frame.empty:
        return empty_figure()
    figure = go.Figure()
    for column, name in (("customer_share", "customers"), ("revenue_share", "revenue")):
        figure.add_bar(y=frame[key], x=frame[column], name=name, orientation="h",
                       text=[fmt.percent(value) for value in frame[column]], textposition="outside",
                       cliponaxis=False,
                       customdata=hover, hovertemplate=SHARE_HOVER if hover is None else
                       "%{y}<br>%{x:.1%} of %{fullData.name}<br>%{customdata}<extra></extra>")
    figure.update_layout(barmode="group", xaxis={"tickformat": ".0%"}, legend={"orientation": "h", "y": -0.15},
                         yaxis={"autorange": "reversed"})
    return figure


def profiles(frame: pd.DataFrame) -> go.Figure:
    """Shares per profile, each bar's hover naming the rule behind the profile."""
    rules = [PROFILE_DESCRIPTIONS.get(name, "") for name in frame["profile"]] if not frame.empty else None
    return shares(frame, "profile", rules)


def age_brackets(frame: pd.DataFrame) -> go.Figure:
    """Revenue per age bracket with the average bracket drawn and labelled."""
    frame = frame[frame["customers"] > 0]
    if frame.empty:
        return empty_figure()
    average = frame["revenue"].mean()
    figure = go.Figure(go.Bar(
        x=frame["age_bracket"], y=frame["revenue"], name="revenue",
        marker_color=["#2563eb" if value > average else "#93c5fd" for value in frame["revenue"]],
        customdata=frame[["customers", "revenue_share"]],
        hovertemplate="%{x}<br>%{y:$,.0f} (%{customdata[1]:.1%})<br>%{customdata[0]:,} customers<extra></extra>",
    ))
    figure.add_hline(y=average, line_dash="dash", line_color="#dc2626",
                     annotation_text=f"Average per bracket: {fmt.money(average)}", annotation_position="top left")
    _money_axis(figure)
    figure.update_layout(showlegend=False)
    return figure


def genders(frame: pd.DataFrame) -> go.Figure:
    """Revenue by gender as a donut, the total in the middle."""
    frame = frame[frame["revenue"] > 0]
    if frame.empty:
        return empty_figure()
    figure = go.Figure(go.Pie(
        labels=frame["gender"], values=frame["revenue"], hole=0.55, sort=False,
        texttemplate="%{label}<br>%{percent:.1%}", customdata=frame["customers"],
        hovertemplate="%{label}<br>%{value:$,.0f} (%{percent:.1%})<br>%{customdata:,} customers<extra></extra>",
    ))
    figure.update_layout(showlegend=False, annotations=[{
        "text": f"{fmt.money(frame['revenue'].sum())}<br>revenue", "showarrow": False, "font": {"size": 16}}])
    return figure


def country_map(frame: pd.DataFrame) -> go.Figure:
    """Revenue per country as a choropleth; clicking a country reports its name."""
    if frame.empty:
        return empty_figure()
    figure = go.Figure(go.Choropleth(
        locations=frame["country"], locationmode="country names", z=frame["revenue"],
        colorscale="Blues", marker_line_width=0.5, colorbar={"tickprefix": fmt.CURRENCY, "tickformat": "~s"},
        customdata=frame[["customers", "revenue_share"]],
        hovertemplate="%{location}<br>%{z:$,.0f} (%{customdata[1]:.1%})<br>%{customdata[0]:,} customers"
                      "<extra>click to filter</extra>",
    ))
    figure.update_geos(showframe=False, showcoastlines=False, projection_type="natural earth",
                       bgcolor="rgba(0,0,0,0)", landcolor="rgba(128,128,128,0.15)", showland=True)
    figure.update_layout(margin={"l": 0, "r": 0, "t": 8, "b": 0}, clickmode="event")
    return figure


def cities(frame: pd.DataFrame) -> go.Figure:
    if frame.empty:
        return empty_figure()
    labels = frame["city"] + ", " + frame["country"].fillna("")
    figure = go.Figure(go.Bar(
        y=labels, x=frame["revenue"], orientation="h", customdata=frame["customers"],
        text=[fmt.money(value) for value in frame["revenue"]], textposition="auto",
        hovertemplate="%{y}<br>%{x:$,.0f}<br>%{customdata:,} customers<extra></extra>",
    ))
    _money_axis(figure, "x")
    figure.update_layout(yaxis={"autorange": "reversed"}, margin={"l": 140})
    return figure


def monthly(frame: pd.DataFrame) -> go.Figure:
    """Revenue, orders and active customers per month, stacked with a shared time axis."""
    if frame.empty:
        return empty_figure()
    figure = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                           subplot_titles=("Revenue", "Orders", "Active customers"))
    for row, (column, hover) in enumerate((("revenue", "%{y:$,.0f}"), ("orders", "%{y:,}"),
                                           ("customers", "%{y:,}")), start=1):
        figure.add_scatter(x=frame["month"], y=frame[column], mode="lines", name=column, row=row, col=1,
                           hovertemplate=f"%{{x|%b %Y}}<br>{hover}<extra></extra>")
    figure.update_yaxes(tickformat="~s")
    figure.update_yaxes(tickprefix=fmt.CURRENCY, row=1, col=1)
    figure.update_layout(showlegend=False, hovermode="x unified", margin={"t": 28})
    return figure


def seasonality(grid: pd.DataFrame) -> go.Figure:
    """Revenue per month of year (columns) and year (rows)."""
    if grid.empty:
        return empty_figure()
    figure = go.Figure(go.Heatmap(
        z=grid.to_numpy(), x=list(MONTH_NAMES), y=[str(year) for year in grid.index], colorscale="Blues",
        colorbar={"tickprefix": fmt.CURRENCY, "tickformat": "~s"}, hoverongaps=False,
        hovertemplate="%{x} %{y}<br>%{z:$,.0f}<extra></extra>",
    ))
    figure.update_layout(yaxis={"type": "category", "autorange": "reversed"})
    return figure


def year_over_year(frame: pd.DataFrame) -> go.Figure:
    """Each month's revenue change against the same month a year earlier."""
    if frame.empty:
        return empty_figure("Needs more than a year of data")
    figure = go.Figure(go.Bar(
        x=frame["month"], y=frame["change"],
        marker_color=["#16a34a" if value >= 0 else "#dc2626" for value in frame["change"]],
        customdata=frame[["revenue", "previous"]],
        hovertemplate="%{x|%b %Y}: %{y:+.1%}<br>%{customdata[0]:$,.0f} against %{customdata[1]:$,.0f}"
                      "<extra></extra>",
    ))
    figure.update_layout(yaxis={"tickformat": "+.0%"}, showlegend=False)
    return figure


def cohorts(frame: pd.DataFrame) -> go.Figure:
    """Share of each first-purchase cohort buying n months later."""
    if frame.empty:
        return empty_figure()
    grid = frame.pivot(index="cohort", columns="months_since", values="share")
    sizes = frame.drop_duplicates("cohort").set_index("cohort")["cohort_size"].reindex(grid.index)
    labels = [f"{cohort:%b %Y} ({size:,})" for cohort, size in sizes.items()]
    later = frame.loc[frame["months_since"] > 0, "share"]
    figure = go.Figure(go.Heatmap(
        # Month 0 is 100% by definition: the colour scale spans the later months, where the story is.
        z=grid.to_numpy(), x=list(grid.columns), y=labels, colorscale="Blues", zmin=0,
        zmax=later.max() if not later.empty else 1.0,
        colorbar={"tickformat": ".0%"}, hoverongaps=False,
        hovertemplate="Cohort %{y}<br>%{x} months later: %{z:.1%} bought<extra></extra>",
    ))
    figure.update_layout(xaxis={"title": "Months since first purchase", "dtick": 3},
                         yaxis={"type": "category", "autorange": "reversed", "tickfont": {"size": 10}})
    return figure


def customer_orders(frame: pd.DataFrame) -> go.Figure:
    """One customer's revenue per month, the order count in the hover."""
    if frame.empty:
        return empty_figure("No orders yet")
    figure = go.Figure(go.Bar(x=frame["month"], y=frame["revenue"], customdata=frame["orders"],
                              hovertemplate="%{x|%b %Y}<br>%{y:$,.2f}<br>%{customdata} orders<extra></extra>"))
    _money_axis(figure)
    figure.update_layout(margin={"l": 48, "r": 8, "t": 8, "b": 32})
    return figure


def customer_categories(frame: pd.DataFrame) -> go.Figure:
    if frame.empty:
        return empty_figure("No orders yet")
    figure = go.Figure(go.Bar(y=frame["category"], x=frame["revenue"], orientation="h", customdata=frame["orders"],
                              hovertemplate="%{y}<br>%{x:$,.2f}<br>%{customdata} orders<extra></extra>"))
    _money_axis(figure, "x")
    figure.update_layout(yaxis={"autorange": "reversed"}, margin={"l": 96, "r": 8, "t": 8, "b": 32})
    return figure
