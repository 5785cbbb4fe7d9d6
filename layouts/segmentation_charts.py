"""Figures of the Segmentation tab, built from the services' small frames (callbacks theme them)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from layouts.figures import COLORWAY, empty_figure
from services import formatting as fmt
from services.rules import RFM_SEGMENT_DESCRIPTIONS, RFM_SEGMENTS

# One colour per RFM segment, from warm (best) to grey (lost), the same in every figure.
SEGMENT_COLOURS = dict(zip(RFM_SEGMENTS, (
    "#15803d", "#22c55e", "#84cc16", "#0ea5e9", "#38bdf8", "#f59e0b", "#fb923c", "#b91c1c", "#ef4444",
    "#94a3b8", "#64748b")))
NOISE_COLOUR = "#9ca3af"
# Side-by-side subplots keep their legend above the subplot titles, clear of rotated tick labels.
LEGEND_ABOVE = {"orientation": "h", "x": 0, "y": 1.3, "yanchor": "bottom"}
MARGIN_BELOW_LEGEND = {"t": 80}


def segment_treemap(segments: pd.DataFrame, measure: str) -> go.Figure:
    """Customers (or revenue) per RFM segment as a treemap, coloured per segment."""
    shown = segments[segments["customers"] > 0]
    if shown.empty:
        return empty_figure()
    value = "customers" if measure == "customers" else "revenue"
    share = "customer_share" if value == "customers" else "revenue_share"
    texts = [fmt.compact(v) if value == "customers" else fmt.money(v) for v in shown[value]]
    figure = go.Figure(go.Treemap(
        labels=shown["segment"], parents=[""] * len(shown), values=shown[value], branchvalues="total",
        marker={"colors": [SEGMENT_COLOURS[name] for name in shown["segment"]]},
        text=[f"{t} · {fmt.percent(s)}" for t, s in zip(texts, shown[share])],
        texttemplate="<b>%{label}</b><br>%{text}", textposition="middle center",
        customdata=[RFM_SEGMENT_DESCRIPTIONS[name] for name in shown["segment"]],
        hovertemplate="<b>%{label}</b><br>%{text}<br>%{customdata}<extra></extra>",
        tiling={"pad": 2},
    ))
    figure.update_layout(margin={"l": 4, "r": 4, "t": 4, "b": 4})
    return figure


def rf_heatmap(cells: pd.DataFrame) -> go.Figure:
    """Recency score by frequency score, coloured by the average monetary value, with customer counts."""
    if cells.empty:
        return empty_figure()
    grid = cells.pivot(index="r", columns="f", values="avg_monetary").reindex(index=range(1, 6), columns=range(1, 6))
    counts = cells.pivot(index="r", columns="f", values="customers").reindex(index=range(1, 6), columns=range(1, 6))
    segments = cells.pivot(index="r", columns="f", values="segment").reindex(index=range(1, 6), columns=range(1, 6))
    text = [[fmt.compact(c) if pd.notna(c) else "" for c in row] for row in counts.to_numpy()]
    figure = go.Figure(go.Heatmap(
        z=grid.to_numpy(), x=[f"F{f}" for f in grid.columns], y=[f"R{r}" for r in grid.index],
        text=text, texttemplate="%{text}", colorscale="Blues", colorbar={"title": "Avg revenue", "tickprefix": "$"},
        customdata=segments.to_numpy(),
        hovertemplate="%{y} %{x}: %{customdata}<br>%{text} customers<br>average revenue %{z:$,.0f}<extra></extra>",
    ))
    figure.update_layout(xaxis={"title": "Frequency score"}, yaxis={"title": "Recency score"})
    return figure


def migration_sankey(moves: pd.DataFrame, earlier_label: str, later_label: str) -> go.Figure:
    """Customers flowing from their segment at the earlier day to their segment at the later one."""
    if moves.empty:
        return empty_figure("No customers to follow: widen the date range or shorten the step")
    sources = [name for name in (*RFM_SEGMENTS, "No orders yet") if name in set(moves["source"])]
    targets = [name for name in RFM_SEGMENTS if name in set(moves["target"])]
    labels = [f"{name} " for name in sources] + targets  # a trailing space keeps the two columns apart
    colour = lambda name: SEGMENT_COLOURS.get(name.strip(), NOISE_COLOUR)  # noqa: E731
    figure = go.Figure(go.Sankey(
        arrangement="snap",
        node={"label": labels, "color": [colour(name) for name in labels], "pad": 12, "thickness": 14},
        link={"source": [sources.index(s) for s in moves["source"]],
              "target": [len(sources) + targets.index(t) for t in moves["target"]],
              "value": moves["customers"], "color": "rgba(148, 163, 184, 0.35)",
              "hovertemplate": "%{source.label}→ %{target.label}<br>%{value:,} customers<extra></extra>"},
    ))
    figure.update_layout(margin={"l": 8, "r": 8, "t": 28, "b": 8}, annotations=[
        {"text": earlier_label, "x": 0, "y": 1.06, "xref": "paper", "yref": "paper", "showarrow": False,
         "xanchor": "left"},
        {"text": later_label, "x": 1, "y": 1.06, "xref": "paper", "yref": "paper", "showarrow": False,
         "xanchor": "right"}])
    return figure


def k_choice(scan: pd.DataFrame, suggested: int | None) -> go.Figure:
    """Inertia (elbow) and silhouette per k in one chart, the suggested k marked."""
    if scan.empty:
        return empty_figure("Press “Suggest k” to compare k = 2…10")
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_scatter(x=scan["k"], y=scan["inertia"], name="inertia (elbow)", mode="lines+markers")
    figure.add_scatter(x=scan["k"], y=scan["silhouette"], name="silhouette", mode="lines+markers",
                       secondary_y=True)
    if suggested is not None:
        figure.add_vline(x=suggested, line_dash="dash", line_color=COLORWAY[3],
                         annotation_text=f"suggested k = {suggested}", annotation_position="top")
    figure.update_layout(legend={"orientation": "h", "y": -0.2}, xaxis={"title": "k", "dtick": 1})
    figure.update_yaxes(title_text="inertia", tickformat="~s", secondary_y=False)
    figure.update_yaxes(title_text="silhouette", tickformat=".2f", secondary_y=True, showgrid=False)
    return figure


def cluster_projection(points: pd.DataFrame, names: dict[int, str], dims: int,
                       variance: Sequence[float]) -> go.Figure:
    """The sampled customers on the first principal components, one WebGL trace per cluster."""
    if points.empty:
        return empty_figure("Run a clustering to see its clusters")
    figure = go.Figure()
    for index, (cluster, rows) in enumerate(points.groupby("cluster", sort=True)):
        colour = NOISE_COLOUR if cluster < 0 else COLORWAY[index % len(COLORWAY)]
        name = names.get(int(cluster), f"Cluster {cluster}")
        common = {"name": name, "mode": "markers", "customdata": rows["customer_id"],
                  "hovertemplate": f"{name}<br>customer %{{customdata}}<extra></extra>"}
        if dims == 3:
            figure.add_trace(go.Scatter3d(x=rows["pc1"], y=rows["pc2"], z=rows["pc3"],
                                          marker={"size": 2.5, "color": colour, "opacity": 0.7}, **common))
        else:
            figure.add_trace(go.Scattergl(x=rows["pc1"], y=rows["pc2"],
                                          marker={"size": 5, "color": colour, "opacity": 0.6}, **common))
    axis = [f"PC{i + 1} ({fmt.percent(v, 0)} of variance)" for i, v in enumerate(variance)]
    if dims == 3:
        figure.update_layout(scene={"xaxis": {"title": axis[0]}, "yaxis": {"title": axis[1]},
                                    "zaxis": {"title": axis[2]}}, margin={"l": 0, "r": 0, "t": 0, "b": 0},
                             legend={"orientation": "h", "y": 0})
    else:
        figure.update_layout(xaxis={"title": axis[0]}, yaxis={"title": axis[1]})
    figure.update_layout(legend={"itemsizing": "constant"})
    return figure


def distributions(values: dict[str, dict[str, np.ndarray]], labels: tuple[str, str]) -> go.Figure:
    """Per money metric, the two segments' distributions as overlaid histograms on a log scale."""
    metrics = [metric for metric, groups in values.items() if any(len(v) for v in groups.values())]
    if not metrics:
        return empty_figure("Choose two segments to compare")
    figure = make_subplots(rows=1, cols=len(metrics), subplot_titles=metrics)
    for column, metric in enumerate(metrics, start=1):
        positive = [v[v > 0] for v in values[metric].values()]
        edges = np.geomspace(max(min(float(v.min()) for v in positive if len(v)), 0.01),
                             max(float(v.max()) for v in positive if len(v)), 31)
        for index, (label, data) in enumerate(zip(labels, positive)):
            counts, _ = np.histogram(data, bins=edges)
            share = counts / counts.sum() if counts.sum() else counts
            centres = np.sqrt(edges[:-1] * edges[1:])
            figure.add_bar(x=centres, y=share, name=label, marker_color=COLORWAY[index], opacity=0.6,
                           showlegend=column == 1, legendgroup=label, width=np.diff(edges),
                           hovertemplate=f"{label}<br>around %{{x:$,.0f}}: %{{y:.1%}} of customers<extra></extra>",
                           row=1, col=column)
        figure.update_xaxes(type="log", dtick=1, tickprefix="$", row=1, col=column)
        figure.update_yaxes(tickformat=".0%", row=1, col=column)
    figure.update_layout(barmode="overlay", bargap=0, legend=LEGEND_ABOVE, margin=MARGIN_BELOW_LEGEND)
    return figure


def mixes(shares: dict[str, pd.DataFrame], labels: tuple[str, str]) -> go.Figure:
    """Gender, age and country mixes of the two segments side by side (share of each segment)."""
    shown = {name: frame for name, frame in shares.items() if not frame.empty}
    if not shown:
        return empty_figure("Choose two segments to compare")
    figure = make_subplots(rows=1, cols=len(shown), subplot_titles=list(shown))
    for column, frame in enumerate(shown.values(), start=1):
        for index, label in enumerate(labels):
            figure.add_bar(x=frame.index.astype(str), y=frame[label], name=label, marker_color=COLORWAY[index],
                           showlegend=column == 1, legendgroup=label,
                           hovertemplate=f"{label}<br>%{{x}}: %{{y:.1%}}<extra></extra>", row=1, col=column)
        figure.update_yaxes(tickformat=".0%", row=1, col=column)
    figure.update_layout(barmode="group", legend=LEGEND_ABOVE, margin=MARGIN_BELOW_LEGEND)
    return figure
