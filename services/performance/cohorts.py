"""Retention of first-purchase-month cohorts: the share of each cohort buying n months later."""
from __future__ import annotations

import pandas as pd

from services.analytics.measures import planning_span
from services.analytics.months import month_number, split_months
from services.analytics.warehouse import Warehouse
from services.filters import FilterOptions, Filters
from services.selection import period_of
from services.sql_functions import month_starts

COLUMNS = ["cohort", "months_since", "customers", "cohort_size", "share"]


def cohort_retention(warehouse: Warehouse, filters: Filters, options: FilterOptions) -> pd.DataFrame:
    """Customers whose first ever order falls in the period, by that month, and their later months with orders.

    One row per cohort and month offset up to the period's end (0 where nobody bought);
    share = buyers / cohort size.
    """
    period = period_of(filters, options)
    if period is None:
        return pd.DataFrame(columns=COLUMNS)
    rows = _cohort_buyers(warehouse, filters, *planning_span(period))
    if rows.empty:
        return pd.DataFrame(columns=COLUMNS)
    rows = _with_silent_months(rows.astype("int64"), month_number(period.end))
    sizes = rows[rows["months_since"] == 0].set_index("cohort")["customers"]
    rows["cohort_size"] = rows["cohort"].map(sizes).astype("int64")
    rows["share"] = rows["customers"] / rows["cohort_size"]
    rows["cohort"] = month_starts(rows["cohort"] // 12, rows["cohort"] % 12 + 1)
    return rows.sort_values(["cohort", "months_since"]).reset_index(drop=True)[COLUMNS]


def _cohort_buyers(warehouse: Warehouse, filters: Filters, start, end) -> pd.DataFrame:
    """cohort (month number), months_since, customers: distinct buyers per cohort and month.

    Cohorts and months that lie wholly inside the period come from the roll-up; the rest
    (a partial first or last month) from the orders of customers who first bought in the period.
    """
    selection = warehouse.selection(filters)
    split = split_months(start, end, selection.rollups_usable)
    parts = []
    outside_rollup = "TRUE"
    if split.has_months:
        months = f"BETWEEN {split.first_month} AND {split.last_month}"
        parts.append(f"SELECT first_month, month, customers FROM cohort_months "
                     f"WHERE first_month {months} AND month {months} AND {selection.rollup_where()}")
        outside_rollup = f"NOT (first_month {months} AND month {months})"
    parts.append(f"SELECT first_month, month, 1 AS customers FROM orders WHERE first_in_month "
                 f"AND day BETWEEN $start AND $end AND first_day BETWEEN $start AND $end "
                 f"AND {outside_rollup} AND {selection.where()}")
    return warehouse.frame(
        f"SELECT first_month AS cohort, month - first_month AS months_since, sum(customers) AS customers "
        f"FROM ({' UNION ALL '.join(parts)}) GROUP BY first_month, month", {"start": start, "end": end})


def _with_silent_months(rows: pd.DataFrame, last_month: int) -> pd.DataFrame:
    """Add the months in which nobody of a cohort bought (0 customers), up to the period's last month."""
    cells = [(cohort, offset) for cohort in rows["cohort"].unique() for offset in range(last_month - cohort + 1)]
    full = pd.DataFrame(cells, columns=["cohort", "months_since"])
    return full.merge(rows, how="left", on=["cohort", "months_since"]).fillna({"customers": 0}).astype("int64")
