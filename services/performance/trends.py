"""Monthly revenue, orders and active customers; seasonality and year-over-year change."""
from __future__ import annotations

import pandas as pd

from services.analytics.measures import sales
from services.analytics.warehouse import Warehouse
from services.filters import FilterOptions, Filters
from services.selection import period_of
from services.sql_functions import month_starts

MONTHLY_COLUMNS = ["month", "revenue", "orders", "customers"]


def monthly(warehouse: Warehouse, filters: Filters, options: FilterOptions) -> pd.DataFrame:
    """One row per calendar month with orders: month (first day), revenue, orders, active customers."""
    period = period_of(filters, options)
    if period is None:
        return _empty()
    rows = sales(warehouse, warehouse.selection(filters), period, ("month",))
    rows = rows[rows["orders"] > 0].sort_values("month")
    if rows.empty:
        return _empty()
    frame = rows.assign(month=month_starts(rows["month"] // 12, rows["month"] % 12 + 1),
                        customers=rows["month_customers"])[MONTHLY_COLUMNS]
    return frame.reset_index(drop=True)


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
