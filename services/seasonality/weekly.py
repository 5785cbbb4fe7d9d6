"""Revenue per complete ISO week, and its STL decomposition into trend, seasonal and residual."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.tsa.seasonal import STL

from services.analytics.warehouse import Warehouse
from services.filters import FilterOptions, Filters
from services.seasonality.timing import data_span

MIN_CYCLES = 2  # STL needs at least two full seasonal periods of weeks
NOISE = 1e-9  # components smaller than this share of the mean weekly revenue are rounding error (a flat series)
WEEK = dt.timedelta(days=7)


def complete_weeks(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date] | None:
    """The Monday of the first and of the last week (Monday to Sunday) wholly inside `start`..`end`."""
    first = start + dt.timedelta(days=(7 - start.weekday()) % 7)
    last = end - dt.timedelta(days=(end.weekday() + 1) % 7) - dt.timedelta(days=6)
    return (first, last) if first <= last else None


def weekly_revenue(warehouse: Warehouse, filters: Filters, options: FilterOptions) -> pd.DataFrame:
    """One row per complete ISO week in the period, oldest first: week (its Monday), revenue, orders
    (0 in weeks without orders); partial weeks at either edge are left out."""
    span = data_span(filters, options)
    weeks = complete_weeks(span.start, span.end) if span is not None else None
    if weeks is None:
        return pd.DataFrame({"week": pd.Series(dtype="datetime64[ns]"), "revenue": pd.Series(dtype="float64"),
                             "orders": pd.Series(dtype="int64")})
    first, last = weeks
    frame = warehouse.frame(
        f"SELECT CAST(w.range AS DATE) AS week, coalesce(o.revenue, 0.0) AS revenue, "
        f"CAST(coalesce(o.orders, 0) AS BIGINT) AS orders "
        f"FROM range(CAST($first AS TIMESTAMP), CAST($last AS TIMESTAMP) + INTERVAL 1 DAY, INTERVAL 7 DAY) w "
        f"LEFT JOIN (SELECT CAST(date_trunc('week', day) AS DATE) AS week, sum(amount) AS revenue, count(*) AS orders "
        f"FROM orders WHERE day BETWEEN $first AND $end AND {warehouse.selection(filters).where()} GROUP BY 1) o "
        f"ON o.week = CAST(w.range AS DATE) ORDER BY 1",
        {"first": first, "last": last, "end": last + dt.timedelta(days=6)})
    return frame.assign(week=pd.to_datetime(frame["week"]).astype("datetime64[ns]"))


@dataclass(frozen=True)
class Decomposition:
    """An STL decomposition of weekly revenue: revenue = trend + seasonal + resid, week by week."""

    frame: pd.DataFrame  # week, revenue, trend, seasonal, resid
    period: int  # weeks per seasonal cycle
    strength: float  # strength of seasonality, 0..1: max(0, 1 - var(resid) / var(seasonal + resid))


def decompose(weekly: pd.DataFrame, period: int = 52) -> Decomposition | str:
    """Robust STL of `weekly_revenue`'s revenue; a sentence saying why instead, when it cannot be done
    (fewer than MIN_CYCLES full periods of weeks, or no revenue at all)."""
    if period < 2:
        raise ValueError(f"A seasonal period needs at least 2 weeks, not {period}.")
    weeks = pd.to_datetime(weekly["week"])
    if (weeks.diff().dropna() != pd.Timedelta(WEEK)).any():
        raise ValueError("Weekly revenue must have one row per consecutive week, oldest first.")
    needed = MIN_CYCLES * period
    if len(weekly) < needed:
        return (f"Seasonality needs at least {needed} complete weeks ({MIN_CYCLES} cycles of {period}); "
                f"the selected period has {len(weekly)}.")
    revenue = weekly["revenue"].to_numpy(dtype="float64")
    if not np.any(revenue):
        return "The selected customers have no revenue in the period's complete weeks."
    fit = STL(revenue, period=period, robust=True).fit()
    frame = pd.DataFrame({"week": weeks.astype("datetime64[ns]").to_numpy(), "revenue": revenue,
                          "trend": fit.trend, "seasonal": fit.seasonal, "resid": fit.resid})
    return Decomposition(frame, period, seasonal_strength(frame["seasonal"], frame["resid"], noise_level(revenue)))


def noise_level(revenue) -> float:
    """The size below which a component of this weekly revenue is rounding error."""
    return NOISE * float(np.mean(np.abs(revenue)))


def seasonal_strength(seasonal: pd.Series, resid: pd.Series, noise: float = 0.0) -> float:
    """Wang, Smith & Hyndman's strength of seasonality: max(0, 1 - var(resid) / var(seasonal + resid));
    0 when seasonal + resid varies by no more than `noise` (nothing but rounding error to share out)."""
    total = float(np.var(seasonal + resid))
    return max(0.0, 1.0 - float(np.var(resid)) / total) if total > noise ** 2 else 0.0
