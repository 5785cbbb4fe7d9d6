"""What the Value & churn section shows of the stored scores, for the filtered customers.

The scores are as of the data's last day, so the customer filters and the scope apply and the
period does not. Customers without scores (no purchase yet, or no model could be fitted) are
left out. Aggregation happens in the snapshot.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from services.analytics.warehouse import Warehouse
from services.filters import Filters

DIMENSIONS = {"rfm_segment": "RFM segment", "profile": "Profile", "country": "Country"}
# Bands of days since the last order and of orders, for the probability-alive matrix.
RECENCY_BANDS = ((0, 30, "0–30 days"), (31, 90, "31–90 days"), (91, 180, "91–180 days"),
                 (181, 365, "181–365 days"), (366, 730, "1–2 years"), (731, None, "over 2 years"))
ORDER_BANDS = ((1, 1, "1"), (2, 2, "2"), (3, 4, "3–4"), (5, 9, "5–9"), (10, 19, "10–19"), (20, None, "20+"))
CUSTOMER_COLUMNS = ["customer_id", "external_id", "name", "country", "profile", "rfm_segment", "orders",
                    "revenue", "last_order", "clv_12m", "purchases_12m", "p_alive", "churn_risk", "revenue_at_risk"]
HISTOGRAM_BINS = 30
TAIL_QUANTILE = 0.99  # the histogram's last bin gathers everyone above it


@dataclass(frozen=True)
class ValueOverview:
    customers: int  # scored by the value model
    clv_total: float
    clv_mean: float
    clv_median: float
    purchases: float  # expected in the next 12 months
    alive: float  # expected customers still alive (the sum of the probabilities)
    churn_scored: int
    churn_risk_mean: float
    revenue_at_risk: float


def _scored(filters_where: str, column: str = "clv_12m") -> str:
    return f"{column} IS NOT NULL AND {filters_where}"


def overview(warehouse: Warehouse, filters: Filters) -> ValueOverview:
    where = warehouse.selection(filters).where()
    row = warehouse.row(
        "SELECT count(clv_12m), coalesce(sum(clv_12m), 0), avg(clv_12m), median(clv_12m),"
        " coalesce(sum(purchases_12m), 0), coalesce(sum(p_alive), 0), count(churn_risk), avg(churn_risk),"
        " coalesce(sum(revenue_at_risk), 0) "
        f"FROM customers WHERE orders > 0 AND {where}")
    return ValueOverview(*(float("nan") if value is None else value for value in row))


def clv_histogram(warehouse: Warehouse, filters: Filters, bins: int = HISTOGRAM_BINS) -> pd.DataFrame:
    """lower, upper, customers, clv: equal bins up to the 99th percentile; the last one is open-ended."""
    where = _scored(warehouse.selection(filters).where())
    top = warehouse.row(f"SELECT quantile_cont(clv_12m, {TAIL_QUANTILE}), min(clv_12m) FROM customers WHERE {where}")
    if top is None or top[0] is None:
        return pd.DataFrame(columns=["lower", "upper", "customers", "clv"])
    cap, low = max(float(top[0]), 0.0), min(float(top[1]), 0.0)
    width = (cap - low) / bins or 1.0
    frame = warehouse.frame(
        f"SELECT least(CAST(floor((clv_12m - $low) / $width) AS INTEGER), {bins - 1}) AS bin, count(*) AS customers,"
        f" sum(clv_12m) AS clv FROM customers WHERE {where} GROUP BY bin ORDER BY bin",
        {"low": low, "width": width})
    frame["lower"] = low + frame["bin"] * width
    frame["upper"] = (low + (frame["bin"] + 1) * width).where(frame["bin"] < bins - 1)  # NaN: open-ended
    return frame[["lower", "upper", "customers", "clv"]].astype({"customers": "int64"})


def clv_by(warehouse: Warehouse, filters: Filters, dimension: str) -> pd.DataFrame:
    """group, customers, clv_total, clv_mean, p_alive, churn_risk, revenue_at_risk; the most value first."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}")
    where = _scored(warehouse.selection(filters).where())
    frame = warehouse.frame(
        f"SELECT coalesce({dimension}, 'Unknown') AS \"group\", count(*) AS customers, sum(clv_12m) AS clv_total,"
        " avg(clv_12m) AS clv_mean, avg(p_alive) AS p_alive, avg(churn_risk) AS churn_risk,"
        " coalesce(sum(revenue_at_risk), 0) AS revenue_at_risk "
        f"FROM customers WHERE {where} GROUP BY 1 ORDER BY clv_total DESC, 1")
    return frame.astype({"customers": "int64"})


def _band(column: str, bands) -> str:
    whens = " ".join(f"WHEN {column} >= {low}" + (f" AND {column} <= {high}" if high is not None else "")
                     + f" THEN {index}" for index, (low, high, _label) in enumerate(bands))
    return f"CASE {whens} END"


def alive_matrix(warehouse: Warehouse, filters: Filters) -> pd.DataFrame:
    """recency (band label), orders (band label), customers, p_alive (mean): every band pair, empty ones NaN."""
    where = _scored(warehouse.selection(filters).where(), "p_alive")
    found = warehouse.frame(
        f"SELECT {_band('recency_days', RECENCY_BANDS)} AS r, {_band('orders', ORDER_BANDS)} AS f,"
        f" count(*) AS customers, avg(p_alive) AS p_alive FROM customers WHERE {where} GROUP BY ALL")
    grid = pd.MultiIndex.from_product([range(len(RECENCY_BANDS)), range(len(ORDER_BANDS))], names=["r", "f"])
    frame = found.set_index(["r", "f"]).reindex(grid).reset_index()
    frame["customers"] = frame["customers"].fillna(0).astype("int64")
    frame["recency"] = [RECENCY_BANDS[int(r)][2] for r in frame["r"]]
    frame["orders"] = [ORDER_BANDS[int(f)][2] for f in frame["f"]]
    return frame[["recency", "orders", "customers", "p_alive"]]


def _customers(warehouse: Warehouse, where: str, order: str, limit: int | None, params: dict | None = None
               ) -> pd.DataFrame:
    cap = f" LIMIT {int(limit)}" if limit is not None else ""
    frame = warehouse.frame(
        "SELECT customer_id, external_id, name, country, profile, rfm_segment, orders, revenue,"
        " last_day AS last_order, clv_12m, purchases_12m, p_alive, churn_risk, revenue_at_risk "
        f"FROM customers WHERE {where} ORDER BY {order}, customer_id{cap}", params)
    frame["last_order"] = pd.to_datetime(frame["last_order"])
    return frame[CUSTOMER_COLUMNS].astype({"customer_id": "int64", "orders": "int64"})


def top_value(warehouse: Warehouse, filters: Filters, limit: int = 25) -> pd.DataFrame:
    """The customers worth the most over the next 12 months."""
    return _customers(warehouse, _scored(warehouse.selection(filters).where()), "clv_12m DESC", limit)


def _at_risk_where(warehouse: Warehouse, filters: Filters) -> str:
    return f"churn_risk >= $threshold AND {warehouse.selection(filters).where()}"


def at_risk_summary(warehouse: Warehouse, filters: Filters, threshold: float) -> tuple[int, float]:
    """Customers at or above the churn-risk threshold and their revenue at risk."""
    customers, revenue = warehouse.row(f"SELECT count(*), coalesce(sum(revenue_at_risk), 0) FROM customers "
                                       f"WHERE {_at_risk_where(warehouse, filters)}", {"threshold": threshold})
    return int(customers), float(revenue)


def at_risk_customers(warehouse: Warehouse, filters: Filters, threshold: float,
                      limit: int | None = None) -> pd.DataFrame:
    """The customers at or above the threshold, the most revenue at risk first (all of them without a limit)."""
    return _customers(warehouse, _at_risk_where(warehouse, filters), "revenue_at_risk DESC", limit,
                      {"threshold": float(threshold)})
