"""The SQL of a readout: each analysed customer's metric values, summed into sufficient statistics per variant.

Analysed customers: those assigned to exactly one variant of the campaign (a customer with
several is excluded and counted by `assignment_health`) who pass the filters and the data
scope. Every analysed customer counts, buyer or not: a customer without orders in the window
has zeros. The snapshot's `campaign_customers` holds every analysed customer's values, computed
once when the snapshot is built (the window ends at the data's last day, fixed per data version).
With capping on, each capped column is limited to its percentile over the analysed customers
(the pre-campaign values to theirs).
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from services.analytics.warehouse import Warehouse
from services.campaigns.metrics import CAPPED, METRICS, Metric
from services.campaigns.window import Window
from services.experiments.sufficient import MeanStats, RatioStats

VALUES = ("converted", "orders", "revenue", "profit", "claims", "burns")
PRE_VALUES = tuple(f"pre_{metric.value}" for metric in METRICS if metric.covariate)
TOTAL = "__all__"  # the segment label of the row over every analysed customer


@dataclass(frozen=True)
class Design:
    """What a readout analyses; the values that change its numbers are all here (and in the cache key)."""

    campaign_id: int
    window: Window  # the days the snapshot's campaign tables cover (the timeline's days)
    customers: str  # the selection's condition on the snapshot's `customers` table
    cap: float | None = None  # the percentile (0..1) values are capped at; None: no capping

    def params(self) -> dict:
        return {"campaign": self.campaign_id, "cap": self.cap}


def values_sql(design: Design) -> str:
    """A query with a row per analysed customer: customer_id, variant and every value column."""
    limited = (*CAPPED, *(f"pre_{column}" for column in CAPPED)) if design.cap is not None else ()
    columns = [f"least({c}, (SELECT {c} FROM caps)) AS {c}" if c in limited else c for c in (*VALUES, *PRE_VALUES)]
    caps = (f", caps AS (SELECT {', '.join(f'quantile_cont({c}, $cap) AS {c}' for c in limited)} FROM raw_values)"
            if limited else "")
    return f"""
WITH raw_values AS (
    SELECT * FROM campaign_customers WHERE campaign_id = $campaign AND {design.customers}
){caps}
SELECT customer_id, variant, {", ".join(columns)} FROM raw_values"""


def variants(warehouse: Warehouse, design: Design) -> list[str]:
    """The variants the analysed customers are in."""
    query = f"SELECT DISTINCT variant FROM campaign_customers WHERE campaign_id = $campaign AND {design.customers}"
    return sorted(variant for (variant,) in warehouse.snapshot.execute(query, {"campaign": design.campaign_id})
                  .fetchall())


def _sums() -> list[str]:
    """The sufficient statistics of every metric, as SQL aggregates over the value rows."""
    sums = ["count(*) AS n"]
    for column in VALUES + PRE_VALUES:
        sums += [f"sum(v.{column}) AS {column}_sum", f"sum(v.{column} * v.{column}) AS {column}_sq"]
    for metric in METRICS:
        other = metric.covariate or metric.denominator
        sums.append(f"sum(v.{metric.value} * v.{other}) AS {_cross(metric)}")
    return list(dict.fromkeys(sums))


def _cross(metric: Metric) -> str:
    return f"{metric.value}_x_{metric.covariate or metric.denominator}"


def variant_sums(warehouse: Warehouse, design: Design, segment_sql: str | None = None,
                 joins: str = "") -> pd.DataFrame:
    """Sufficient statistics per variant (segment `TOTAL`) and, given a segment expression, per segment too."""
    grouping = f"GROUPING SETS ((v.variant), (v.variant, {segment_sql}))" if segment_sql else "v.variant"
    segment = f"coalesce(CAST({segment_sql} AS VARCHAR), 'Unknown')" if segment_sql else "NULL"
    query = f"""
WITH v AS ({values_sql(design)})
SELECT v.variant, CASE WHEN grouping(v.variant) = 0 {"AND grouping(" + segment_sql + ") = 1" if segment_sql else ""}
                       THEN '{TOTAL}' ELSE {segment} END AS segment, {", ".join(_sums())}
FROM v {joins} GROUP BY {grouping} ORDER BY segment, v.variant"""
    return warehouse.frame(query, design.params())


def stats_of(row: pd.Series, metric: Metric) -> MeanStats | RatioStats:
    """The engine's statistics of one metric from a row of `variant_sums`."""
    n = int(row["n"])
    if metric.kind == "ratio":
        m, d = metric.value, metric.denominator
        return RatioStats(n, float(row[f"{m}_sum"]), float(row[f"{m}_sq"]), float(row[f"{d}_sum"]),
                          float(row[f"{d}_sq"]), float(row[_cross(metric)]))
    y, x = metric.value, metric.covariate
    return MeanStats(n, float(row[f"{y}_sum"]), float(row[f"{y}_sq"]), float(row[f"{x}_sum"]),
                     float(row[f"{x}_sq"]), float(row[_cross(metric)]))


def assignment_health(warehouse: Warehouse, campaign_id: int, customers: str) -> tuple[pd.DataFrame, int, int]:
    """Customers per variant (analysed ones), customers in several variants (excluded), duplicate rows."""
    query = f"""
WITH assigned AS (
    SELECT customer_id, min(variant) AS variant, count(DISTINCT variant) AS variants, count(*) AS assignments
    FROM campaign_assignments WHERE campaign_id = $campaign
      AND customer_id IN (SELECT customer_id FROM customers WHERE {customers})
    GROUP BY customer_id)
SELECT variant, count(*) AS customers, count(*) FILTER (WHERE assignments > variants) AS duplicated
FROM assigned WHERE variants = 1 GROUP BY variant
UNION ALL SELECT NULL, count(*), 0 FROM assigned WHERE variants > 1
ORDER BY variant NULLS LAST"""
    frame = warehouse.frame(query, {"campaign": campaign_id})
    several = int(frame.loc[frame["variant"].isna(), "customers"].sum())
    counts = frame.dropna(subset=["variant"]).reset_index(drop=True)
    return counts[["variant", "customers"]], several, int(counts["duplicated"].sum())
