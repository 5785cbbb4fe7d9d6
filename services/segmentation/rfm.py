"""RFM over the customers the filters select, read from the snapshot.

A customer is scored on its orders in the selected period up to an "as of" day: recency is
the days from its last such order to that day, frequency their number, monetary their
revenue. Scores follow `rules.RFM_SCORE_RULE`; segments `rules.RFM_SEGMENT_MAP`. Since a
segment depends on R and F only, every view is built from one query grouped by score cell.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from services.analytics.warehouse import Selection, Warehouse
from services.filters import FilterOptions, Filters
from services.rules import RFM_SEGMENT_MAP, RFM_SEGMENTS, rfm_segment
from services.selection import Period, period_of

MIGRATION_STEPS = (30, 90, 180, 365)  # days between the two RFM pictures of the migration view
DEFAULT_MIGRATION_STEP = 90
NOT_YET_ACTIVE = "No orders yet"


@dataclass(frozen=True)
class RfmOverview:
    period: Period
    customers: int
    cells: pd.DataFrame  # r, f, segment, customers, revenue, monetary (sum of the customers' monetary values)
    segments: pd.DataFrame  # segment, customers, revenue, customer_share, revenue_share, avg_monetary


def _quintile(rank: str) -> str:
    """`rules.rfm_score` in DuckDB."""
    return f"CASE WHEN n = 1 THEN 3 WHEN {rank} = 1 THEN 1 ELSE CAST(({rank} - 1) * 5 + n - 2 AS BIGINT) // (n - 1) END"


def scores_query(selection: Selection, name: str) -> str:
    """customer_id, recency, frequency, monetary, r, f, m of the customers with orders from
    `$start` to `${name}`; the parameter names the as-of day, so two pictures can share a query."""
    return f"""
        SELECT customer_id, recency, frequency, monetary,
               {_quintile('r_rank')} AS r, {_quintile('f_rank')} AS f, {_quintile('m_rank')} AS m
        FROM (
            SELECT *, count(*) OVER () AS n,
                   row_number() OVER (ORDER BY recency DESC, customer_id) AS r_rank,
                   row_number() OVER (ORDER BY frequency, customer_id) AS f_rank,
                   -- rounded: equal revenues summed in another order differ in the last bits, and ties go by id
                   row_number() OVER (ORDER BY round(monetary, 6), customer_id) AS m_rank
            FROM (
                SELECT customer_id, date_diff('day', max(day), ${name}) AS recency, count(*) AS frequency,
                       sum(amount) AS monetary
                FROM orders WHERE day BETWEEN $start AND ${name} AND {selection.where()}
                GROUP BY customer_id))"""


def _segment_cases(r: str, f: str) -> str:
    whens = " ".join(f"WHEN {r} IN ({', '.join(map(str, rs))}) AND {f} IN ({', '.join(map(str, fs))}) "
                     f"THEN '{name.replace(chr(39), chr(39) * 2)}'" for name, rs, fs in RFM_SEGMENT_MAP)
    return f"CASE {whens} END"


def rfm_overview(warehouse: Warehouse, filters: Filters, options: FilterOptions) -> RfmOverview | None:
    """Customers and revenue per score cell and per segment; None when there is no data."""
    period = period_of(filters, options)
    if period is None:
        return None
    selection = warehouse.selection(filters)
    cells = warehouse.frame(
        f"SELECT r, f, count(*) AS customers, sum(monetary) AS revenue FROM ({scores_query(selection, 'as_of')}) "
        f"GROUP BY r, f ORDER BY r, f", {"start": period.start, "as_of": period.end})
    cells["segment"] = [rfm_segment(int(r), int(f)) for r, f in zip(cells["r"], cells["f"])]
    cells["avg_monetary"] = cells["revenue"] / cells["customers"]
    return RfmOverview(period, int(cells["customers"].sum()), cells, _segments(cells))


def _segments(cells: pd.DataFrame) -> pd.DataFrame:
    segments = (cells.groupby("segment")[["customers", "revenue"]].sum()
                .reindex(list(RFM_SEGMENTS), fill_value=0).rename_axis("segment").reset_index())
    segments["customers"] = segments["customers"].astype(int)
    total_customers, total_revenue = segments["customers"].sum(), segments["revenue"].sum()
    segments["customer_share"] = segments["customers"] / total_customers if total_customers else 0.0
    segments["revenue_share"] = segments["revenue"] / total_revenue if total_revenue else 0.0
    segments["avg_monetary"] = (segments["revenue"] / segments["customers"].where(segments["customers"] > 0))
    return segments


def rfm_migration(warehouse: Warehouse, filters: Filters, options: FilterOptions,
                  step_days: int = DEFAULT_MIGRATION_STEP) -> pd.DataFrame:
    """How customers moved between segments from `step_days` before the period's end to its end.

    Both pictures score the orders from the period's start; a customer without orders by the
    earlier day comes from `NOT_YET_ACTIVE`. Columns: source, target, customers.
    """
    period = period_of(filters, options)
    earlier = period.end - dt.timedelta(days=step_days) if period else None
    if period is None or earlier < period.start:
        return pd.DataFrame({"source": [], "target": [], "customers": []})
    selection = warehouse.selection(filters)
    moves = warehouse.frame(
        f"SELECT before.r AS r0, before.f AS f0, now.r AS r1, now.f AS f1, count(*) AS customers "
        f"FROM ({scores_query(selection, 'as_of')}) now "
        f"LEFT JOIN ({scores_query(selection, 'earlier')}) before USING (customer_id) GROUP BY ALL",
        {"start": period.start, "as_of": period.end, "earlier": earlier})
    moves["source"] = [NOT_YET_ACTIVE if pd.isna(r) else rfm_segment(int(r), int(f))
                       for r, f in zip(moves["r0"], moves["f0"])]
    moves["target"] = [rfm_segment(int(r), int(f)) for r, f in zip(moves["r1"], moves["f1"])]
    return (moves.groupby(["source", "target"], as_index=False)["customers"].sum()
            .sort_values("customers", ascending=False, kind="stable").reset_index(drop=True))


def rfm_members(warehouse: Warehouse, filters: Filters, options: FilterOptions, segment: str) -> list[int]:
    """The ids of the customers in `segment` under these filters (to save it)."""
    period = period_of(filters, options)
    if period is None or segment not in RFM_SEGMENTS:
        return []
    selection = warehouse.selection(filters)
    frame = warehouse.frame(
        f"SELECT customer_id FROM ({scores_query(selection, 'as_of')}) WHERE {_segment_cases('r', 'f')} = $segment "
        f"ORDER BY customer_id", {"start": period.start, "as_of": period.end, "segment": segment})
    return frame["customer_id"].astype(int).tolist()


def customer_scores(warehouse: Warehouse, filters: Filters, options: FilterOptions) -> pd.DataFrame:
    """Every scored customer with its values, scores and segment (for exports and tests)."""
    period = period_of(filters, options)
    if period is None:
        return pd.DataFrame(columns=["customer_id", "recency", "frequency", "monetary", "r", "f", "m", "segment"])
    selection = warehouse.selection(filters)
    return warehouse.frame(
        f"SELECT *, {_segment_cases('r', 'f')} AS segment FROM ({scores_query(selection, 'as_of')}) "
        f"ORDER BY customer_id", {"start": period.start, "as_of": period.end})
