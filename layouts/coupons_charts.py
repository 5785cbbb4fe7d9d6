"""Figures of the Coupons tab, built from the services' small frames (callbacks theme them)."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from layouts.figures import COLORWAY, empty_figure
from services import formatting as fmt
from services.coupons.funnel import Funnel
from services.coupons.retention import RetentionComparison
from services.coupons.users import COUPON_USERS, OTHERS

EVENT_COLOURS = {"issued": "#94a3b8", "claimed": COLORWAY[0], "burned": COLORWAY[1], "expired": COLORWAY[3]}
GROUP_COLOURS = {COUPON_USERS: COLORWAY[1], OTHERS: "#94a3b8"}
LOW_BURN_COLOUR = COLORWAY[3]
LEGEND_BELOW = {"orientation": "h", "y": -0.2}


def funnel(result: Funnel) -> go.Figure:
    """Issued -> claimed -> burned, with each stage's share of the one before; expired beside it."""
    if result.empty:
        return empty_figure()
    stages = ["Issued", "Claimed", "Burned"]
    values = [result.issued, result.claimed, result.burned]
    figure = go.Figure(go.Funnel(
        y=stages, x=values, texttemplate="%{value:,}<br>%{percentPrevious:.1%}", marker={"color": [EVENT_COLOURS[s.lower()]
                                                                                 for s in stages]},
        hovertemplate="%{y}: %{x:,}<br>%{percentPrevious:.1%} of the stage before<extra></extra>",
    ))
    figure.add_annotation(text=f"Expired after claiming: {result.expired:,} ({fmt.percent(result.expiry_rate)})",
                          xref="paper", yref="paper", x=1, y=-0.12, showarrow=False, xanchor="right",
                          font={"color": EVENT_COLOURS["expired"]})
    figure.update_layout(margin={"l": 80, "r": 16, "t": 8, "b": 40})
    return figure


def timeline(frame: pd.DataFrame, grain: str) -> go.Figure:
    if frame.empty:
        return empty_figure()
    hover = {"day": "%{x|%d %b %Y}", "week": "week of %{x|%d %b %Y}", "month": "%{x|%b %Y}"}[grain]
    figure = go.Figure()
    for event in ("claimed", "burned", "expired"):
        figure.add_scatter(x=frame["period"], y=frame[event], mode="lines", name=event,
                           line={"color": EVENT_COLOURS[event], "width": 1.5 if grain == "day" else 2},
                           hovertemplate=f"{hover}<br>%{{y:,}} {event}<extra></extra>")
    figure.update_layout(legend=LEGEND_BELOW, hovermode="x unified", yaxis={"tickformat": "~s"})
    return figure


def places(frame: pd.DataFrame, label: str, limit: int = 10) -> go.Figure:
    """Successful burns per city or branch, coloured by burn rate; flagged low burners in red."""
    top = frame.head(limit)
    if top.empty or not top["burned"].any():
        return empty_figure()
    labels = top[label]
    colours = [LOW_BURN_COLOUR if low else COLORWAY[1] for low in top["low_burn"]]
    figure = go.Figure(go.Bar(
        y=labels, x=top["burned"], orientation="h", marker={"color": colours},
        text=[f"{fmt.compact(b)} · {fmt.percent(r, 0)} burned" for b, r in zip(top["burned"], top["burn_rate"])],
        textposition="auto", customdata=top[["claimed", "burn_rate"]],
        hovertemplate="%{y}<br>%{x:,} burns of %{customdata[0]:,} claims (%{customdata[1]:.1%})"
                      "<extra>click to focus</extra>",
    ))
    figure.update_layout(yaxis={"autorange": "reversed"}, margin={"l": 170}, clickmode="event",
                         xaxis={"title": "Coupons burned"})
    return figure


def gender_pie(split: pd.DataFrame) -> go.Figure:
    users = split[(split["group"] == COUPON_USERS) & (split["customers"] > 0)]
    if users.empty:
        return empty_figure()
    figure = go.Figure(go.Pie(labels=users["value"], values=users["customers"], hole=0.5, sort=False,
                              texttemplate="%{label}<br>%{percent:.1%}",
                              hovertemplate="%{label}: %{value:,} coupon users (%{percent:.1%})<extra></extra>"))
    figure.update_layout(showlegend=False)
    return figure


def group_shares(split: pd.DataFrame, horizontal: bool = False) -> go.Figure:
    """Share of coupon users beside share of other buyers per value."""
    if split.empty or not split["customers"].any():
        return empty_figure()
    figure = go.Figure()
    for group in (COUPON_USERS, OTHERS):
        part = split[split["group"] == group]
        axes = {"y": part["value"], "x": part["share"], "orientation": "h"} if horizontal else \
            {"x": part["value"], "y": part["share"]}
        figure.add_bar(**axes, name=group, marker_color=GROUP_COLOURS[group], customdata=part["customers"],
                       hovertemplate="%{" + ("y" if horizontal else "x") + "}<br>%{" + ("x" if horizontal else "y")
                                     + ":.1%} of " + group.lower() + " (%{customdata:,})<extra></extra>")
    share_axis = {"tickformat": ".0%"}
    figure.update_layout(barmode="group", legend=LEGEND_BELOW,
                         **({"xaxis": share_axis, "yaxis": {"autorange": "reversed"}, "margin": {"l": 120}}
                            if horizontal else {"yaxis": share_axis}))
    return figure


def burn_frequency(burns: pd.DataFrame, habitual_from: int) -> go.Figure:
    if burns.empty or not burns["customers"].any():
        return empty_figure()
    habitual = [int(label.rstrip("+").split("–")[0]) >= habitual_from for label in burns["bucket"]]
    figure = go.Figure(go.Bar(
        x=burns["bucket"], y=burns["customers"], marker_color=[COLORWAY[4] if h else COLORWAY[0] for h in habitual],
        text=[fmt.compact(v) for v in burns["customers"]], textposition="outside", cliponaxis=False,
        hovertemplate="%{x} burns: %{y:,} customers<extra></extra>",
    ))
    figure.update_layout(xaxis={"title": "Coupons burned in the period", "type": "category"},
                         yaxis={"title": "Customers", "tickformat": "~s"}, showlegend=False)
    return figure


def retention(result: RetentionComparison | None, days: int) -> go.Figure:
    if result is None or not result.coupon_customers:
        return empty_figure("Not enough follow-up time in this period")
    bars = [("Coupon users", result.coupon_rate, result.coupon_customers, GROUP_COLOURS[COUPON_USERS]),
            ("Comparable buyers", result.comparable_rate, result.other_customers, COLORWAY[0]),
            ("All other buyers", result.other_rate, result.other_customers, GROUP_COLOURS[OTHERS])]
    bars = [bar for bar in bars if bar[1] is not None]
    figure = go.Figure(go.Bar(
        x=[b[0] for b in bars], y=[b[1] for b in bars], marker_color=[b[3] for b in bars],
        text=[fmt.percent(b[1]) for b in bars], textposition="outside", cliponaxis=False,
        customdata=[b[2] for b in bars],
        hovertemplate="%{x}<br>%{y:.1%} bought again within " + str(days) + " days<br>"
                      "of %{customdata:,} customers<extra></extra>",
    ))
    figure.update_layout(yaxis={"tickformat": ".0%", "title": f"Repeat within {days} days"}, showlegend=False,
                         margin={"l": 64})
    return figure


def burn_cohorts(frame: pd.DataFrame) -> go.Figure:
    if frame.empty:
        return empty_figure()
    grid = frame.pivot(index="cohort", columns="months_since", values="share")
    sizes = frame.drop_duplicates("cohort").set_index("cohort")["cohort_size"].reindex(grid.index)
    labels = [f"{month:%b %Y}" for month in grid.index]
    figure = go.Figure(go.Heatmap(
        z=grid.to_numpy(), x=[str(m) for m in grid.columns], y=labels, colorscale="Greens", zmin=0, zmax=1,
        colorbar={"tickformat": ".0%"}, customdata=[[size] * len(grid.columns) for size in sizes],
        hovertemplate="First burn %{y}, month %{x}: %{z:.1%} ordered<br>of %{customdata:,} customers<extra></extra>",
    ))
    figure.update_layout(xaxis={"title": "Months after the first burn", "type": "category"},
                         yaxis={"autorange": "reversed"}, margin={"l": 80})
    return figure
