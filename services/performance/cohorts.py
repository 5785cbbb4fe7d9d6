"""Retention of first-purchase-month cohorts: the share of each cohort buying n months later."""
from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, distinct, func

from services.filters import FilterOptions, Filters
from services.selection import S, T, orders_of, period_of
from services.sql_functions import month_number, month_starts

COLUMNS = ["cohort", "months_since", "customers", "cohort_size", "share"]


def cohort_retention(connection: Connection, filters: Filters, options: FilterOptions) -> pd.DataFrame:
    """Customers whose first ever order falls in the period, by that month, and their later months with orders.

    One row per cohort and month offset up to the period's end (0 where nobody bought);
    share = buyers / cohort size.
    """
    period = period_of(filters, options)
    if period is None:
        return pd.DataFrame(columns=COLUMNS)
    cohort = month_number(S.first_order_at)
    offset = month_number(T.ordered_at) - cohort
    query = (orders_of(filters, period, cohort.label("cohort"), offset.label("offset"),
                       func.count(distinct(T.customer_id)), with_summary=True)
             .where(period.contains(S.first_order_at))
             .group_by(cohort, offset))
    rows = pd.DataFrame(connection.execute(query).all(), columns=["cohort", "months_since", "customers"])
    if rows.empty:
        return pd.DataFrame(columns=COLUMNS)
    rows = _with_silent_months(rows.astype("int64"), _month_number_of(period.end))
    sizes = rows[rows["months_since"] == 0].set_index("cohort")["customers"]
    rows["cohort_size"] = rows["cohort"].map(sizes).astype("int64")
    rows["share"] = rows["customers"] / rows["cohort_size"]
    number = rows["cohort"]
    rows["cohort"] = month_starts(number // 12, number % 12 + 1)
    return rows.sort_values(["cohort", "months_since"]).reset_index(drop=True)[COLUMNS]


def _month_number_of(day) -> int:
    return day.year * 12 + day.month - 1


def _with_silent_months(rows: pd.DataFrame, last_month: int) -> pd.DataFrame:
    """Add the months in which nobody of a cohort bought (0 customers), up to the period's last month."""
    cells = [(cohort, offset) for cohort in rows["cohort"].unique() for offset in range(last_month - cohort + 1)]
    full = pd.DataFrame(cells, columns=["cohort", "months_since"])
    return full.merge(rows, how="left", on=["cohort", "months_since"]).fillna({"customers": 0}).astype("int64")
