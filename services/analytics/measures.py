"""The building blocks every view is made of, read from the snapshot.

- `sales`: orders, revenue and each month's distinct customers; additive, so whole months
  come from the `monthly` roll-up and only the partial months at the ends from `orders`.
- `buyers`: distinct customers (and repeat customers) of a period. An open end lets the
  per-customer milestones answer (first, second, penultimate and last order day); a period
  closed at both ends counts each customer's first order in it (no previous order since
  its start), one scan of the period's orders.
- `churn`, `nps`: the KPI inputs that are not sales.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd

from services.analytics.months import month_end, month_number, split_months
from services.analytics.warehouse import Selection, Warehouse
from services.selection import Period

NEW_IN_PERIOD = "(prev_day IS NULL OR prev_day < $start)"


def planning_span(period: Period) -> tuple[dt.date, dt.date]:
    """The period's days, open ends widened to whole months (there are no orders beyond them)."""
    start = period.start.replace(day=1) if period.open_start else period.start
    end = month_end(month_number(period.end)) if period.open_end else period.end
    return start, end


def _group(by: tuple[str, ...]) -> tuple[str, str]:
    keys = ", ".join(by)
    return (f"{keys}, " if by else ""), (f"GROUP BY {keys}" if by else "")


def sales_query(selection: Selection, period: Period, by: tuple[str, ...], name: str = "sales") -> tuple[str, dict]:
    """SQL for `sales` and its parameters (named after `name`, so that several can share a query)."""
    start, end = planning_span(period)
    split = split_months(start, end, selection.rollups_usable)
    select_keys, group_by = _group(by)
    parts, params = [], {f"{name}_start": start}
    if split.has_months:
        parts.append(f"SELECT {select_keys}orders, revenue, month_customers FROM monthly "
                     f"WHERE month BETWEEN {split.first_month} AND {split.last_month} AND {selection.rollup_where()}")
    ranges = ["FALSE"]  # an empty period still answers, with nothing
    for index, (first, last) in enumerate(split.partial_days):
        params[f"{name}_first{index}"], params[f"{name}_last{index}"] = first, last
        ranges.append(f"day BETWEEN ${name}_first{index} AND ${name}_last{index}")
    parts.append(
        f"SELECT {select_keys}count(*) AS orders, sum(amount) AS revenue, count(*) FILTER "
        f"(prev_day IS NULL OR prev_day < greatest(${name}_start, date_trunc('month', day))) AS month_customers "
        f"FROM orders WHERE ({' OR '.join(ranges)}) AND {selection.where()} {group_by}")
    query = (f"SELECT {select_keys}CAST(coalesce(sum(orders), 0) AS BIGINT) AS orders, "
             f"coalesce(sum(revenue), 0.0) AS revenue, CAST(coalesce(sum(month_customers), 0) AS BIGINT) "
             f"AS month_customers FROM ({' UNION ALL '.join(parts)}) {group_by}")
    return query, params


def sales(warehouse: Warehouse, selection: Selection, period: Period, by: tuple[str, ...]) -> pd.DataFrame:
    """Per `by` (cell, city_id, month; none: one row of totals): orders, revenue, and
    month_customers (customers with an order in that month within the period; additive over
    months only when grouped by month)."""
    return warehouse.frame(*sales_query(selection, period, by))


def buyers_query(selection: Selection, period: Period, by: tuple[str, ...]) -> tuple[str, dict]:
    """SQL for `buyers` and its parameters."""
    select_keys, group_by = _group(by)
    milestones = {
        (True, True): ("orders > 0", "orders >= 2"),
        (False, True): ("last_day >= $start", "penultimate_day >= $start"),
        (True, False): ("first_day <= $end", "second_day <= $end"),
    }.get((period.open_start, period.open_end))
    if milestones is not None:
        active, repeat = milestones
        query = (f"SELECT {select_keys}count(*) AS customers, coalesce(sum(age), 0) AS age_sum, "
                 f"count(age) AS age_n, count(*) FILTER ({repeat}) AS repeaters FROM customers "
                 f"WHERE {active} AND {selection.where()} {group_by}")
    else:
        # Each customer's first order in the period has no previous order since the start; its
        # second has exactly one. Both have no order two back since the start.
        query = (f"SELECT {select_keys}count(*) FILTER {NEW_IN_PERIOD} AS customers, "
                 f"coalesce(sum(age) FILTER {NEW_IN_PERIOD}, 0) AS age_sum, "
                 f"count(age) FILTER {NEW_IN_PERIOD} AS age_n, count(*) FILTER (prev_day >= $start) AS repeaters "
                 f"FROM orders WHERE day BETWEEN $start AND $end AND (prev2_day IS NULL OR prev2_day < $start) "
                 f"AND {selection.where()} {group_by}")
    return query, {"start": period.start, "end": period.end}


def buyers(warehouse: Warehouse, selection: Selection, period: Period, by: tuple[str, ...]) -> pd.DataFrame:
    """Per `by` (cell, city_id; none: one row of totals): customers with an order in the period,
    the sum and count of their known ages, and repeaters (customers with two or more orders in it)."""
    return warehouse.frame(*buyers_query(selection, period, by))


def churn(warehouse: Warehouse, selection: Selection, period: Period, days: int) -> tuple[int, int]:
    """Customers with an order by the period's end, and those of them without one in its last `days` days."""
    cutoff = period.end - dt.timedelta(days=days - 1)
    params = {"end": period.end, "cutoff": cutoff}
    if period.open_end:  # every order lies before the end: the last order day answers
        base, active = warehouse.row(
            f"SELECT count(*), count(*) FILTER (last_day >= $cutoff) FROM customers "
            f"WHERE first_day <= $end AND {selection.where()}", params)
    else:
        base = warehouse.row(f"SELECT count(*) FROM customers WHERE first_day <= $end AND {selection.where()}",
                             params)[0]
        active = warehouse.row(
            f"SELECT count(*) FROM orders WHERE day BETWEEN $cutoff AND $end "
            f"AND (prev_day IS NULL OR prev_day < $cutoff) AND {selection.where()}", params)[0]
    return int(base), int(base - active)


def nps(warehouse: Warehouse, selection: Selection, start: dt.date, end: dt.date,
        promoter_min: int, detractor_max: int) -> tuple[int, int, int]:
    """Answers from day `start` to day `end`: how many, promoters, detractors."""
    row = warehouse.row(
        f"SELECT count(*), count(*) FILTER (nps_score >= {int(promoter_min)}), "
        f"count(*) FILTER (nps_score <= {int(detractor_max)}) FROM surveys "
        f"WHERE day BETWEEN $start AND $end AND {selection.where()}", {"start": start, "end": end})
    return int(row[0]), int(row[1]), int(row[2])
