"""Figures of the Value & churn section, from the views' frames and the stored model reports (callbacks theme them)."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from layouts.figures import COLORWAY, empty_figure
from services import formatting as fmt

MODEL_NAMES = {"logistic": "Logistic regression", "boosting": "Gradient boosting", "recency": "Recency alone"}
DIAGONAL = {"color": "#94a3b8", "dash": "dot", "width": 1}
NOT_TRAINED = "No model yet: see the note above"


def clv_histogram(frame: pd.DataFrame) -> go.Figure:
    if frame.empty:
        return empty_figure()
    labels = [f"{fmt.money(low)}–{fmt.money(high)}" if pd.notna(high) else f"{fmt.money(low)} and more"
              for low, high in zip(frame["lower"], frame["upper"])]
    widths = (frame["upper"] - frame["lower"]).dropna()  # the last, open-ended bin has none
    width = float(widths.iloc[0]) if len(widths) else max(float(frame["lower"].iloc[0]), 1.0)
    figure = go.Figure(go.Bar(
        x=frame["lower"] + width / 2, y=frame["customers"], width=width * 0.95, marker_color=COLORWAY[0],
        customdata=list(zip(labels, frame["clv"])),
        hovertemplate="%{customdata[0]}<br>%{y:,} customers<br>%{customdata[1]:$,.0f} in all<extra></extra>",
    ))
    figure.update_layout(xaxis={"title": "expected value, next 12 months", "tickprefix": fmt.CURRENCY,
                                "tickformat": "~s"}, yaxis={"title": "customers"}, showlegend=False, bargap=0)
    return figure


def clv_by(frame: pd.DataFrame, label: str) -> go.Figure:
    if frame.empty:
        return empty_figure()
    rows = frame.iloc[::-1]
    figure = go.Figure(go.Bar(
        y=rows["group"], x=rows["clv_total"], orientation="h", marker_color=COLORWAY[0],
        text=[f"{fmt.money(mean)} each" for mean in rows["clv_mean"]], textposition="outside", cliponaxis=False,
        customdata=rows[["customers", "clv_mean", "p_alive", "revenue_at_risk"]],
        hovertemplate=f"{label} %{{y}}<br>%{{x:$,.0f}} expected from %{{customdata[0]:,}} customers"
                      "<br>%{customdata[1]:$,.0f} per customer · %{customdata[2]:.0%} alive on average"
                      "<br>%{customdata[3]:$,.0f} revenue at risk<extra></extra>",
    ))
    figure.update_layout(xaxis={"tickprefix": fmt.CURRENCY, "tickformat": "~s", "title": "expected 12-month value"},
                         showlegend=False, margin={"l": 130, "r": 72, "t": 8, "b": 44})
    return figure


def alive_matrix(frame: pd.DataFrame) -> go.Figure:
    if frame.empty or frame["customers"].sum() == 0:
        return empty_figure()
    recency = list(dict.fromkeys(frame["recency"]))
    orders = list(dict.fromkeys(frame["orders"]))
    alive = frame.pivot(index="recency", columns="orders", values="p_alive").reindex(index=recency, columns=orders)
    counts = frame.pivot(index="recency", columns="orders", values="customers").reindex(index=recency,
                                                                                      columns=orders)
    text = [[("" if pd.isna(value) else f"{value:.0%}") for value in row] for row in alive.to_numpy()]
    figure = go.Figure(go.Heatmap(
        z=alive.to_numpy(), x=orders, y=recency, zmin=0, zmax=1, colorscale="RdYlGn", text=text,
        texttemplate="%{text}", customdata=counts.to_numpy(), colorbar={"tickformat": ".0%", "title": "alive"},
        hovertemplate="Last order %{y} ago · %{x} orders<br>%{z:.0%} likely alive · %{customdata:,} customers"
                      "<extra></extra>", hoverongaps=False,
    ))
    figure.update_layout(xaxis={"title": "orders", "type": "category"},
                         yaxis={"title": "since the last order", "type": "category", "autorange": "reversed"},
                         margin={"l": 110, "r": 16, "t": 8, "b": 44})
    return figure


def holdout_check(report: dict | None, show_counts: bool = True) -> go.Figure:
    table = (report or {}).get("calibration")
    if not table:
        return empty_figure(NOT_TRAINED if report is None else "Too little history for a holdout check")
    frame = pd.DataFrame(table)
    labels = [f"{x}+" if x == frame["x"].max() else str(x) for x in frame["x"]]
    figure = go.Figure()
    counts = " · %{customdata:,} customers" if show_counts else ""
    figure.add_bar(x=labels, y=frame["actual"], name="actual", marker_color=COLORWAY[0],
                   customdata=frame["customers"] if show_counts else None,
                   hovertemplate=f"%{{x}} repeat purchases before<br>actual %{{y:.2f}} each{counts}<extra></extra>")
    figure.add_scatter(x=labels, y=frame["predicted"], name="predicted", mode="lines+markers",
                       line={"color": COLORWAY[2], "width": 3},
                       hovertemplate="%{x} repeat purchases before<br>predicted %{y:.2f} each<extra></extra>")
    figure.update_layout(xaxis={"title": "repeat purchase days before the holdout", "type": "category"},
                         yaxis={"title": "purchase days in the holdout"},
                         legend={"orientation": "h", "y": 1.1, "x": 0})
    return figure


def roc(report: dict | None) -> go.Figure:
    if not report or "roc" not in report:
        return empty_figure(NOT_TRAINED)
    figure = go.Figure()
    figure.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line=DIAGONAL, name="chance", hoverinfo="skip")
    auc = report["auc"]
    figure.add_scatter(x=report["roc"]["fpr"], y=report["roc"]["tpr"], mode="lines", line={"color": COLORWAY[0],
                       "width": 3}, name=f"{MODEL_NAMES[report['model']]} (AUC {auc[report['model']]:.2f})",
                       hovertemplate="flagged %{x:.0%} of stayers<br>caught %{y:.0%} of churners<extra></extra>")
    figure.update_layout(xaxis={"title": "false positive rate", "tickformat": ".0%", "range": [0, 1]},
                         yaxis={"title": "true positive rate", "tickformat": ".0%", "range": [0, 1.02]},
                         legend={"orientation": "h", "y": -0.3, "x": 0},
                         annotations=[_auc_note(auc)])
    return figure


def _auc_note(auc: dict) -> dict:
    lines = "<br>".join(f"{MODEL_NAMES[name]}: {value:.3f}" for name, value in auc.items())
    return {"text": f"AUC on the holdout<br>{lines}", "xref": "paper", "yref": "paper", "x": 0.98, "y": 0.04,
            "xanchor": "right", "yanchor": "bottom", "showarrow": False, "align": "right", "font": {"size": 11}}


def precision_recall(report: dict | None) -> go.Figure:
    if not report or "pr" not in report:
        return empty_figure(NOT_TRAINED)
    figure = go.Figure()
    figure.add_hline(y=report["test_churn_rate"], line=DIAGONAL,
                     annotation_text=f"churn rate {report['test_churn_rate']:.0%}", annotation_position="bottom left")
    figure.add_scatter(x=report["pr"]["recall"], y=report["pr"]["precision"], mode="lines",
                       line={"color": COLORWAY[1], "width": 3}, name="model",
                       hovertemplate="recall %{x:.0%}<br>precision %{y:.0%}<extra></extra>")
    figure.update_layout(xaxis={"title": "recall", "tickformat": ".0%", "range": [0, 1]},
                         yaxis={"title": "precision", "tickformat": ".0%", "range": [0, 1.02]}, showlegend=False)
    return figure


def reliability(report: dict | None) -> go.Figure:
    if not report or "calibration" not in report:
        return empty_figure(NOT_TRAINED)
    figure = go.Figure()
    figure.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line=DIAGONAL, name="perfect", hoverinfo="skip")
    figure.add_scatter(x=report["calibration"]["predicted"], y=report["calibration"]["observed"],
                       mode="lines+markers", line={"color": COLORWAY[4], "width": 3}, name="model",
                       hovertemplate="predicted %{x:.0%}<br>churned %{y:.0%}<extra></extra>")
    figure.update_layout(xaxis={"title": "predicted churn risk", "tickformat": ".0%", "range": [0, 1]},
                         yaxis={"title": "share who churned", "tickformat": ".0%", "range": [0, 1.02]},
                         showlegend=False)
    return figure


def importance(report: dict | None, labels: dict[str, str]) -> go.Figure:
    if not report or "importance" not in report:
        return empty_figure(NOT_TRAINED)
    frame = pd.DataFrame(report["importance"])
    order = (frame.groupby("feature")["importance"].max().sort_values().index.tolist())
    figure = go.Figure()
    for index, (model, rows) in enumerate(frame.groupby("model", sort=False)):
        rows = rows.set_index("feature").reindex(order)
        figure.add_bar(y=[labels.get(name, name) for name in order], x=rows["importance"], orientation="h",
                       name=MODEL_NAMES[model], marker_color=COLORWAY[index],
                       hovertemplate="%{y}<br>AUC drop %{x:.3f}<extra>%{fullData.name}</extra>")
    figure.update_layout(barmode="group", xaxis={"title": "AUC drop when shuffled"},
                         legend={"orientation": "h", "y": -0.2, "x": 0}, margin={"l": 150, "r": 16, "t": 8, "b": 60})
    return figure
