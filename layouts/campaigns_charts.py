"""Figures of the Campaigns tab, from the services' results (callbacks theme them)."""
from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from layouts.figures import COLORWAY, empty_figure
from services import formatting as fmt

GOOD, BAD, FLAT = COLORWAY[1], COLORWAY[3], "#94a3b8"
BAND = "rgba(37, 99, 235, 0.15)"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _tone(relative: float, significant: bool) -> str:
    return FLAT if not significant or math.isnan(relative) else GOOD if relative > 0 else BAD


def lift_bars(table: pd.DataFrame) -> go.Figure:
    """Relative lift per metric with its 95% interval: green up, red down, grey when not significant."""
    if table.empty:
        return empty_figure("No readout")
    rows = table.iloc[::-1]  # the first metric on top
    colours = [_tone(r, s) for r, s in zip(rows["relative_lift"], rows["significant"])]
    figure = go.Figure(go.Bar(
        y=rows["metric"], x=rows["relative_lift"], orientation="h", marker={"color": colours},
        error_x={"type": "data", "symmetric": False, "array": rows["relative_high"] - rows["relative_lift"],
                 "arrayminus": rows["relative_lift"] - rows["relative_low"], "color": "#475569", "thickness": 1.5},
        customdata=rows[["relative_low", "relative_high", "p_adjusted"]],
        hovertemplate="%{y}<br>lift %{x:+.1%} (95% CI %{customdata[0]:+.1%} to %{customdata[1]:+.1%})"
                      "<br>adjusted p %{customdata[2]:.3f}<extra></extra>",
    ))
    figure.add_vline(x=0, line={"color": "#64748b", "width": 1})
    figure.update_layout(xaxis={"tickformat": "+.0%", "title": "relative lift, treatment vs control"},
                         margin={"l": 230, "r": 16, "t": 8, "b": 48})
    return figure


def profit_waterfall(profit) -> go.Figure:
    """Incremental profit after the discount, less the campaign's cost: the net result."""
    steps = [("Incremental profit", profit.profit.value, "relative"), ("Campaign cost", -profit.cost, "relative"),
             ("Net", profit.net.value, "total")]
    figure = go.Figure(go.Waterfall(
        x=[s[0] for s in steps], y=[s[1] for s in steps], measure=[s[2] for s in steps],
        text=[fmt.money(s[1]) for s in steps], textposition="outside", cliponaxis=False,
        increasing={"marker": {"color": GOOD}}, decreasing={"marker": {"color": BAD}},
        totals={"marker": {"color": GOOD if profit.net.value > 0 else BAD}},
        connector={"line": {"color": "#94a3b8", "width": 1}},
        hovertemplate="%{x}: %{y:$,.0f}<extra></extra>",
    ))
    figure.update_layout(yaxis={"tickprefix": "$", "tickformat": "~s"}, showlegend=False,
                         margin={"l": 56, "r": 16, "t": 28, "b": 32})
    return figure


def segment_lifts(table: pd.DataFrame) -> go.Figure:
    if table.empty:
        return empty_figure("No segment has customers in both variants")
    colours = [_tone(r, s) for r, s in zip(table["relative"], table["significant"])]
    figure = go.Figure(go.Bar(
        x=table["segment"], y=table["relative"], marker={"color": colours},
        error_y={"type": "data", "symmetric": False, "array": table["relative_high"] - table["relative"],
                 "arrayminus": table["relative"] - table["relative_low"], "color": "#475569", "thickness": 1.5},
        customdata=table[["control_n", "treatment_n", "p_adjusted"]],
        hovertemplate="%{x}<br>lift %{y:+.1%}<br>%{customdata[0]:,} control, %{customdata[1]:,} treatment"
                      "<br>adjusted p %{customdata[2]:.3f}<extra></extra>",
    ))
    figure.add_hline(y=0, line={"color": "#64748b", "width": 1})
    figure.update_layout(yaxis={"tickformat": "+.0%", "title": "relative lift"})
    return figure


def cumulative_lift(frame: pd.DataFrame, sequential: bool) -> go.Figure:
    if frame.empty or frame["relative"].isna().all():
        return empty_figure("No orders in the window yet")
    band = "confidence sequence" if sequential else "95% interval"
    figure = go.Figure([
        go.Scatter(x=frame["day"], y=frame["relative_high"], mode="lines", line={"width": 0}, hoverinfo="skip",
                   showlegend=False),
        go.Scatter(x=frame["day"], y=frame["relative_low"], mode="lines", line={"width": 0}, fill="tonexty",
                   fillcolor=BAND, name=band, hoverinfo="skip"),
        go.Scatter(x=frame["day"], y=frame["relative"], mode="lines", line={"color": COLORWAY[0], "width": 2},
                   name="cumulative lift", customdata=frame[["relative_low", "relative_high"]],
                   hovertemplate="%{x|%d %b %Y}: %{y:+.1%} (%{customdata[0]:+.1%} to %{customdata[1]:+.1%})"
                                 "<extra></extra>"),
    ])
    figure.add_hline(y=0, line={"color": "#64748b", "width": 1})
    figure.update_layout(yaxis={"tickformat": "+.0%"}, legend={"orientation": "h", "y": -0.2})
    return figure


def month_of_year(frame: pd.DataFrame) -> go.Figure:
    if frame is None or frame.empty or not frame["revenue"].any():
        return empty_figure()
    figure = go.Figure(go.Bar(x=[MONTHS[m - 1] for m in frame["month"]], y=frame["average_revenue"],
                              marker={"color": COLORWAY[0]},
                              hovertemplate="%{x}: %{y:$,.0f} on average<extra></extra>"))
    figure.update_layout(yaxis={"tickprefix": "$", "tickformat": "~s"})
    return figure


def weekday_hour(frame: pd.DataFrame) -> go.Figure:
    if frame is None or frame.empty or not frame["revenue"].any():
        return empty_figure()
    grid = frame.pivot(index="weekday", columns="hour", values="revenue").reindex(range(7)).fillna(0.0)
    figure = go.Figure(go.Heatmap(z=grid.to_numpy(), x=list(grid.columns), y=list(WEEKDAYS), colorscale="Blues",
                                  hovertemplate="%{y} %{x}:00: %{z:$,.0f}<extra></extra>",
                                  colorbar={"tickprefix": "$", "tickformat": "~s"}))
    figure.update_layout(xaxis={"title": "hour", "dtick": 2}, yaxis={"autorange": "reversed"})
    return figure


def decomposition(frame: pd.DataFrame) -> go.Figure:
    figure = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                           subplot_titles=("Revenue and trend", "Seasonal", "Residual"))
    figure.add_scatter(x=frame["week"], y=frame["revenue"], mode="lines", name="weekly revenue",
                       line={"color": "#94a3b8", "width": 1}, row=1, col=1)
    figure.add_scatter(x=frame["week"], y=frame["trend"], mode="lines", name="trend",
                       line={"color": COLORWAY[0], "width": 2}, row=1, col=1)
    figure.add_scatter(x=frame["week"], y=frame["seasonal"], mode="lines", name="seasonal",
                       line={"color": COLORWAY[1]}, row=2, col=1)
    figure.add_bar(x=frame["week"], y=frame["resid"], name="residual", marker={"color": COLORWAY[2]}, row=3, col=1)
    figure.update_yaxes(tickprefix="$", tickformat="~s")
    figure.update_layout(showlegend=False, margin={"l": 56, "r": 16, "t": 28, "b": 32})
    return figure


def revenue_with_campaigns(weekly: pd.DataFrame, campaigns: list) -> go.Figure:
    """Weekly revenue with each campaign's window shaded and named."""
    if weekly is None or weekly.empty:
        return empty_figure()
    figure = go.Figure(go.Scatter(x=weekly["week"], y=weekly["revenue"], mode="lines", name="weekly revenue",
                                  line={"color": COLORWAY[0], "width": 2},
                                  hovertemplate="week of %{x|%d %b %Y}: %{y:$,.0f}<extra></extra>"))
    first, last = weekly["week"].min(), weekly["week"].max() + pd.Timedelta(days=6)
    for i, info in enumerate(campaigns):
        start, end = max(pd.Timestamp(info.starts_on), first), min(pd.Timestamp(info.ends_on), last)
        if start > end:
            continue
        figure.add_vrect(x0=start, x1=end, fillcolor=COLORWAY[(i + 4) % len(COLORWAY)], opacity=0.15, line_width=0)
        figure.add_annotation(x=start, y=1.08 - 0.09 * (i % 2), xref="x", yref="paper", text=info.name,
                              showarrow=False, xanchor="left", font={"size": 11})  # staggered: windows may be close
    figure.update_layout(yaxis={"tickprefix": "$", "tickformat": "~s"}, showlegend=False,
                         margin={"l": 56, "r": 16, "t": 36, "b": 40})
    return figure
