"""The KPI cards: what each one shows, how it is formatted, and which direction is good."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import dash_bootstrap_components as dbc
from dash import html

from services import formatting as fmt
from services.performance.kpis import DEFAULT_CHURN_DAYS, KpiReport, PeriodKpis


@dataclass(frozen=True)
class KpiSpec:
    id: str
    title: str  # may name {churn_days}
    icon: str
    value: Callable[[PeriodKpis], float | None]
    text: Callable[[float | None], str]
    good_when_up: bool | None = True  # None: neither direction is better
    change_in_points: bool = False  # a score that can cross zero: show the change in points


KPIS = (
    KpiSpec("kpi-total-customers", "Customers", "bi-people", lambda k: k.customers, fmt.compact),
    KpiSpec("kpi-average-age", "Average age", "bi-person", lambda k: k.average_age, fmt.years, good_when_up=None),
    KpiSpec("kpi-total-revenue", "Revenue", "bi-cash-stack", lambda k: k.revenue, fmt.money),
    KpiSpec("kpi-orders", "Orders", "bi-bag", lambda k: k.orders, fmt.compact),
    KpiSpec("kpi-average-order-value", "Avg. order value", "bi-receipt", lambda k: k.average_order_value, fmt.money),
    KpiSpec("kpi-revenue-per-customer", "Revenue / customer", "bi-person-badge",
            lambda k: k.revenue_per_customer, fmt.money),
    KpiSpec("kpi-repeat-rate", "Repeat rate", "bi-arrow-repeat", lambda k: k.repeat_rate, fmt.percent),
    KpiSpec("kpi-churn-rate", "Churn rate ({churn_days} d)", "bi-person-dash", lambda k: k.churn_rate, fmt.percent,
            good_when_up=False),
    KpiSpec("kpi-nps", "NPS", "bi-emoji-smile", lambda k: k.nps, fmt.score, change_in_points=True),
)


def kpi_card(spec: KpiSpec) -> dbc.Card:
    return dbc.Card(dbc.CardBody(kpi_body(spec, None), id=spec.id, className="kpi"), className="shadow-sm")


def kpi_body(spec: KpiSpec, report: KpiReport | None) -> list:
    """Title, value and change against the previous period, ready to replace the card's children."""
    current = spec.value(report.current) if report else None
    previous = spec.value(report.previous) if report and report.previous else None
    title = spec.title.format(churn_days=report.churn_days if report else DEFAULT_CHURN_DAYS)
    return [
        html.Div([html.I(className=f"bi {spec.icon} me-1"), title], className="kpi-title small text-body-secondary"),
        html.Div(spec.text(current), className="kpi-value"),
        _change(spec, current, previous, report is not None and report.previous is not None),
    ]


def _change(spec: KpiSpec, current: float | None, previous: float | None, comparable: bool) -> html.Div:
    if not comparable:
        return html.Div("No earlier period", className="kpi-change small text-body-tertiary")
    if current is None or previous is None or (previous == 0 and not spec.change_in_points):
        return html.Div("No comparison", className="kpi-change small text-body-tertiary")
    delta = current - previous
    text = f"{delta:+.0f} pts" if spec.change_in_points else fmt.change(delta / abs(previous))
    arrow = "bi-arrow-up-right" if delta > 0 else "bi-arrow-down-right" if delta < 0 else "bi-arrow-right"
    better = None if spec.good_when_up is None or delta == 0 else (delta > 0) == spec.good_when_up
    colour = {True: "text-success", False: "text-danger", None: "text-body-secondary"}[better]
    return html.Div([html.I(className=f"bi {arrow} me-1"), text], title="Against the previous period",
                    className=f"kpi-change small fw-semibold {colour}")
