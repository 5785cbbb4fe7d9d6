"""The customer detail panel: who the customer is, what and when they bought, coupons, surveys."""
from __future__ import annotations

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from layouts import performance_charts as charts
from layouts.components import GRAPH_CONFIG
from layouts.figures import themed
from services import formatting as fmt
from services.performance.customers import CustomerDetail
from services.rules import PROFILE_DESCRIPTIONS

MAX_ROWS = 20


def not_found() -> html.Div:
    return html.Div([html.I(className="bi bi-person-x me-2"),
                     "This customer does not exist or lies outside your data scope."],
                    className="text-body-secondary")


def title(detail: CustomerDetail) -> str:
    return f"{detail.profile['name'] or 'Customer'} ({detail.profile['external_id']})"


def body(detail: CustomerDetail, theme: str | None) -> list:
    return [
        _facts(detail.profile),
        html.H3("Orders over time", className="h6 mt-3"),
        _graph(charts.customer_orders(detail.monthly_orders), theme, 200),
        html.H3("Categories", className="h6 mt-3"),
        _graph(charts.customer_categories(detail.categories), theme, 40 + 28 * max(len(detail.categories), 2)),
        html.H3("Coupons used", className="h6 mt-3"),
        _table(detail.coupons, {"occurred_at": "When", "event": "Event", "code": "Coupon", "branch": "Branch"},
               "No coupon activity."),
        html.H3("Survey answers", className="h6 mt-3"),
        _table(detail.surveys, {"answered_at": "Answered", "nps_score": "NPS score", "comment": "Comment"},
               "No survey answers."),
    ]


def _facts(profile: dict) -> dbc.Row:
    facts = [
        ("Profile", html.Span(profile["profile"], title=PROFILE_DESCRIPTIONS.get(profile["profile"], ""),
                              className="badge text-bg-primary")),
        ("RFM segment", f"{profile['rfm_segment'] or fmt.MISSING} "
                        f"(R{profile['r_score'] or '-'} F{profile['f_score'] or '-'} M{profile['m_score'] or '-'})"),
        ("Location", ", ".join(part for part in (profile["city"], profile["country"]) if part) or fmt.MISSING),
        ("Gender and age", f"{profile['gender']}, {fmt.years(profile['age'])}"),
        ("Family", profile["family_status"]),
        ("Orders", fmt.compact(profile["orders"])),
        ("Revenue", fmt.money(profile["revenue"])),
        ("Profit", fmt.money(profile["profit"])),
        ("First order", _day(profile["first_order_at"])),
        ("Last order", f"{_day(profile['last_order_at'])} ({profile['recency_days']} days before the data ends)"
         if profile["last_order_at"] else fmt.MISSING),
        ("Expected value, 12 months", fmt.money(profile["clv_12m"])),
        ("Expected purchases, 12 months", fmt.compact(profile["purchases_12m"])),
        ("Probability alive", fmt.percent(profile["p_alive"], 0)),
        ("Churn risk", fmt.percent(profile["churn_risk"], 0)),
        ("Revenue at risk", fmt.money(profile["revenue_at_risk"])),
    ]
    return dbc.Row([dbc.Col([html.Div(label, className="small text-body-secondary"), html.Div(value)], xs=6,
                            className="mb-2") for label, value in facts])


def _day(value) -> str:
    return f"{value:%d %b %Y}" if value is not None and not pd.isna(value) else fmt.MISSING


def _graph(figure, theme: str | None, height: int) -> dcc.Graph:
    return dcc.Graph(figure=themed(figure, theme), config={**GRAPH_CONFIG, "displayModeBar": False},
                     style={"height": f"{height}px"})


def _table(frame: pd.DataFrame, columns: dict[str, str], empty: str):
    if frame.empty:
        return html.Div(empty, className="small text-body-secondary")
    shown = frame.head(MAX_ROWS)
    rows = [html.Tr([html.Td(_day(value) if key.endswith("_at") else value) for key, value in row.items()])
            for row in shown[list(columns)].to_dict("records")]
    more = html.Div(f"Latest {MAX_ROWS} of {len(frame)}.", className="small text-body-secondary") \
        if len(frame) > MAX_ROWS else None
    return html.Div([dbc.Table([html.Thead(html.Tr([html.Th(label) for label in columns.values()])), html.Tbody(rows)],
                               size="sm", striped=True, className="mb-1"), more])
