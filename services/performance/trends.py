"""Monthly revenue, orders and active customers; seasonality and year-over-year change."""
from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, distinct, func

from services.filters import FilterOptions, Filters
from services.selection import T, orders_of, period_of
from services.sql_functions import month_parts, month_starts

MONTHLY_COLUMNS = ["month", "revenue", "orders", "customers"]


def monthly(connection: Connection, filters: Filters, options: FilterOptions) -> pd.DataFrame:
    """One row per calendar month with orders: month (first day), revenue, orders, active customers."""
    period = period_of(filters, options)
    if period is None:
        return _empty()
    year, month = month_parts(T.ordered_at)
    query = orders_of(
        filters, period, year.label("year"), month.label("month"), func.sum(T.amount),
        func.count(), func.count(distinct(T.customer_id)),
    ).group_by(year, month).order_by(year, month)
    rows = pd.DataFrame(connection.execute(query).all(), columns=["year", "month", "revenue", "orders", "customers"])
    if rows.empty:
        return _empty()
    frame = rows.assign(month=month_starts(rows["year"], rows["month"]))[MONTHLY_COLUMNS]
    return frame.astype({"revenue": "float64", "orders": "int64", "customers": "int64"})


def _empty() -> pd.DataFrame:
    return pd.DataFrame({"month": pd.Series(dtype="datetime64[ns]"), "revenue": pd.Series(dtype="float64"),
                         "orders": pd.Series(dtype="int64"), "customers": pd.Series(dtype="int64")})


def seasonality(months: pd.DataFrame) -> pd.DataFrame:
    """Revenue as a year × month-of-year grid (rows: years, columns: 1-12; NaN where no data)."""
    grid = months.assign(year=months["month"].dt.year, month_of_year=months["month"].dt.month)
    table = grid.pivot_table(index="year", columns="month_of_year", values="revenue", aggfunc="sum")
    return table.reindex(columns=range(1, 13))


def year_over_year(months: pd.DataFrame) -> pd.DataFrame:
    """Per month, revenue against the same month a year earlier: month, revenue, previous, change (fraction)."""
    revenue = months.set_index("month")["revenue"]
    previous = revenue.rename(lambda month: month + pd.DateOffset(years=1))
    frame = pd.DataFrame({"revenue": revenue, "previous": previous.reindex(revenue.index)}).dropna()
    frame = frame[frame["previous"] > 0]
    frame["change"] = frame["revenue"] / frame["previous"] - 1.0
    return frame.rename_axis("month").reset_index()
