"""The highest-revenue customers of the period, and everything known about one customer."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection, func, select

from services.analytics.warehouse import Selection, Warehouse
from services.filters import FilterOptions, Filters
from services.performance.cube import period_cube
from services.models import Branch, Coupon, CouponEvent, Customer, CustomerSummary, SurveyResponse, Transaction
from services.selection import Period, period_of
from services.sql_functions import month_parts, month_starts

TOP_SIZES = (10, 25, 50, 100)
TOP_COLUMNS = ["customer_id", "external_id", "name", "country", "city", "profile", "rfm_segment",
               "orders", "revenue", "last_order"]
TOP_CANDIDATES = 20  # customers ranked first per place asked for, by revenue overall
RANK_DIRECTLY_UP_TO = 500_000  # orders in the period: ranking every buyer is quicker than two rounds
MAX_CONTENDERS = 20_000  # beyond, ranking every buyer of the period is as quick as a second round
C = Customer.__table__.c
S = CustomerSummary.__table__.c
T = Transaction.__table__.c


def top_customers(warehouse: Warehouse, filters: Filters, options: FilterOptions, limit: int = 10) -> pd.DataFrame:
    """The `limit` customers with the most revenue in the period, ties broken by customer id.

    `last_order` is the day of the customer's last order in the period.
    """
    period = period_of(filters, options)
    if period is None:
        return pd.DataFrame(columns=TOP_COLUMNS)
    selection = warehouse.selection(filters)
    if period.open_start and period.open_end:
        ranked = warehouse.frame(
            f"SELECT customer_id, orders, revenue, last_day AS last_order FROM customers "
            f"WHERE orders > 0 AND {selection.where()} ORDER BY revenue DESC, customer_id LIMIT {int(limit)}")
    else:
        orders = int(period_cube(warehouse, filters, period)["orders"].sum())
        ranked = _top_in_period(warehouse, selection, period, int(limit), orders)
    frame = ranked.merge(_names(warehouse, ranked["customer_id"].astype(int).tolist()), on="customer_id",
                         how="left")[TOP_COLUMNS]
    frame["last_order"] = pd.to_datetime(frame["last_order"])
    return frame.astype({"customer_id": "int64", "orders": "int64", "revenue": "float64"})


def _names(warehouse: Warehouse, ids: list[int]) -> pd.DataFrame:
    """Name and attributes of a few customers, by primary key from the SQL database."""
    columns = ["customer_id", "external_id", "name", "country", "city", "profile", "rfm_segment"]
    with warehouse.sql.connect() as connection:
        rows = connection.execute(
            select(C.id, C.external_id, C.name, S.country, S.city, S.profile, S.rfm_segment)
            .join_from(Customer.__table__, CustomerSummary.__table__, S.customer_id == C.id).where(C.id.in_(ids))).all()
    return pd.DataFrame(rows, columns=columns)


def _top_in_period(warehouse: Warehouse, selection: Selection, period: Period, limit: int,
                   orders: int) -> pd.DataFrame:
    """The buyers of a period with up to `RANK_DIRECTLY_UP_TO` `orders` are ranked directly. In a
    busier period, the customers with the most revenue overall are ranked first. Amounts are never negative, so nobody earned more
    in the period than in total: once the `limit`-th best earns T in the period, only customers
    with a total of at least T can still rank; they are ranked next."""
    params = {"start": period.start, "end": period.end}

    def ranked(condition: str) -> pd.DataFrame:
        return warehouse.frame(
            f"SELECT customer_id, count(*) AS orders, sum(amount) AS revenue, max(day) AS last_order FROM orders "
            f"WHERE day BETWEEN $start AND $end AND {condition} GROUP BY customer_id "
            f"ORDER BY revenue DESC, customer_id LIMIT {limit}", params)

    def among_biggest(count: int) -> pd.DataFrame:
        return ranked(f"customer_id IN (SELECT customer_id FROM customers WHERE orders > 0 AND {selection.where()} "
                      f"ORDER BY revenue DESC, customer_id LIMIT {count})")

    if orders <= RANK_DIRECTLY_UP_TO:
        return ranked(selection.where())
    first = among_biggest(TOP_CANDIDATES * limit)
    threshold = float(first["revenue"].iloc[-1]) if len(first) == limit else 0.0
    contenders = warehouse.row(  # a hair of slack for rounding in the sums
        f"SELECT count(*) FROM customers WHERE orders > 0 AND revenue >= $threshold AND {selection.where()}",
        {"threshold": threshold * (1 - 1e-9)})[0]
    if contenders <= TOP_CANDIDATES * limit:
        return first
    if contenders <= MAX_CONTENDERS:
        return among_biggest(contenders)
    return ranked(selection.where())


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
