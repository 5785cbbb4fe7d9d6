"""The highest-revenue customers of the period, and everything known about one customer."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection, func, select

from services.filters import FilterOptions, Filters
from services.models import Branch, Coupon, CouponEvent, Customer, CustomerSummary, SurveyResponse
from services.selection import S, T, customer_totals, period_of
from services.sql_functions import month_parts, month_starts

TOP_SIZES = (10, 25, 50, 100)
TOP_COLUMNS = ["customer_id", "external_id", "name", "country", "city", "profile", "rfm_segment",
               "orders", "revenue", "last_order"]
C = Customer.__table__.c


def top_customers(connection: Connection, filters: Filters, options: FilterOptions, limit: int = 10) -> pd.DataFrame:
    """The `limit` customers with the most revenue in the period, ties broken by customer id."""
    period = period_of(filters, options)
    if period is None:
        return pd.DataFrame(columns=TOP_COLUMNS)
    totals = customer_totals(filters, period)
    per_customer = (select(totals).order_by(totals.c.revenue.desc(), totals.c.customer_id).limit(limit)
                    .subquery("top"))
    query = (
        select(per_customer.c.customer_id, C.external_id, C.name, S.country, S.city, S.profile, S.rfm_segment,
               per_customer.c.orders, per_customer.c.revenue, per_customer.c.last_order)
        .join_from(per_customer, Customer.__table__, C.id == per_customer.c.customer_id)
        .join(CustomerSummary.__table__, S.customer_id == per_customer.c.customer_id)
        .order_by(per_customer.c.revenue.desc(), per_customer.c.customer_id)
    )
    frame = pd.DataFrame(connection.execute(query).all(), columns=TOP_COLUMNS)
    frame["last_order"] = pd.to_datetime(frame["last_order"])
    return frame.astype({"orders": "int64", "revenue": "float64"})


@dataclass(frozen=True)
class CustomerDetail:
    profile: dict  # the customer's summary row joined with their name and external id
    monthly_orders: pd.DataFrame  # month, orders, revenue
    categories: pd.DataFrame  # category, orders, revenue
    coupons: pd.DataFrame  # occurred_at, event, code, branch
    surveys: pd.DataFrame  # answered_at, nps_score, comment


def customer_detail(connection: Connection, customer_id: int, scope: tuple[str, ...] | None) -> CustomerDetail | None:
    """All history of one customer; None when the customer does not exist or lies outside `scope`."""
    query = (select(C.external_id, C.name, C.income, C.marital_status, C.signup_date, CustomerSummary.__table__)
             .join_from(Customer.__table__, CustomerSummary.__table__, S.customer_id == C.id)
             .where(C.id == customer_id))
    if scope is not None:
        query = query.where(S.country.in_(scope))
    row = connection.execute(query).mappings().first()
    if row is None:
        return None
    return CustomerDetail(dict(row), _monthly_orders(connection, customer_id), _categories(connection, customer_id),
                          _coupons(connection, customer_id), _surveys(connection, customer_id))


def _monthly_orders(connection: Connection, customer_id: int) -> pd.DataFrame:
    year, month = month_parts(T.ordered_at)
    rows = connection.execute(
        select(year, month, func.count(), func.sum(T.amount)).where(T.customer_id == customer_id)
        .group_by(year, month).order_by(year, month)
    ).all()
    frame = pd.DataFrame(rows, columns=["year", "month", "orders", "revenue"])
    return frame.assign(month=month_starts(frame["year"], frame["month"]))[["month", "orders", "revenue"]].astype({"orders": "int64", "revenue": "float64"})


def _categories(connection: Connection, customer_id: int) -> pd.DataFrame:
    revenue = func.sum(T.amount)
    rows = connection.execute(
        select(func.coalesce(T.category, "Uncategorised"), func.count(), revenue)
        .where(T.customer_id == customer_id).group_by(T.category).order_by(revenue.desc())
    ).all()
    return pd.DataFrame(rows, columns=["category", "orders", "revenue"])


def _coupons(connection: Connection, customer_id: int) -> pd.DataFrame:
    E = CouponEvent.__table__.c
    rows = connection.execute(
        select(E.occurred_at, E.event, Coupon.code, Branch.name)
        .join_from(CouponEvent.__table__, Coupon.__table__, Coupon.id == E.coupon_id)
        .outerjoin(Branch.__table__, Branch.id == E.branch_id)
        .where(E.customer_id == customer_id).order_by(E.occurred_at.desc(), E.id.desc())
    ).all()
    return pd.DataFrame(rows, columns=["occurred_at", "event", "code", "branch"])


def _surveys(connection: Connection, customer_id: int) -> pd.DataFrame:
    R = SurveyResponse.__table__.c
    rows = connection.execute(
        select(R.answered_at, R.nps_score, R.comment).where(R.customer_id == customer_id)
        .order_by(R.answered_at.desc())
    ).all()
    return pd.DataFrame(rows, columns=["answered_at", "nps_score", "comment"])
