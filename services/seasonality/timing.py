"""Revenue by calendar month of the year and by weekday × hour, and the peak weekday and hour."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from services.analytics.measures import sales_query
from services.analytics.warehouse import Warehouse
from services.filters import FilterOptions, Filters
from services.selection import Period, period_of

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")  # 0 = Monday
WEEKEND = (5, 6)
MONTH_COLUMNS = ["month", "revenue", "orders", "years", "days", "average_revenue", "daily_revenue"]
GRID_COLUMNS = ["weekday", "hour", "revenue", "orders", "days"]


def data_span(filters: Filters, options: FilterOptions) -> Period | None:
    """The filters' period clipped to the days of the data; None when it holds none of them."""
    period = period_of(filters, options)
    if period is None:
        return None
    start, end = max(period.start, options.first_date), min(period.end, options.last_date)
    return Period(start, end, period.open_start, period.open_end) if start <= end else None


def _days(span: Period | None) -> pd.DatetimeIndex:
    """Every day of the span (none without one)."""
    return pd.date_range(span.start, span.end, freq="D") if span is not None else pd.DatetimeIndex([])


def by_month_of_year(warehouse: Warehouse, filters: Filters, options: FilterOptions) -> pd.DataFrame:
    """Per calendar month 1-12: revenue, orders, years (the month's occurrences in the period, partial
    ones included), days (of it in the period), average_revenue (per occurrence; NaN without one), daily_revenue."""
    span = data_span(filters, options)
    days = _days(span)
    calendar = pd.DataFrame({"month": days.month, "year": days.year}).groupby("month")
    frame = pd.DataFrame({"month": np.arange(1, 13)}).assign(
        years=lambda f: f["month"].map(calendar["year"].nunique()).fillna(0).astype("int64"),
        days=lambda f: f["month"].map(calendar.size()).fillna(0).astype("int64"))
    totals = _month_totals(warehouse, filters, span).set_index("month")
    frame["revenue"] = frame["month"].map(totals["revenue"]).fillna(0.0).astype("float64")
    frame["orders"] = frame["month"].map(totals["orders"]).fillna(0).astype("int64")
    frame["average_revenue"] = frame["revenue"] / frame["years"].where(frame["years"] > 0)
    frame["daily_revenue"] = frame["revenue"] / frame["days"].where(frame["days"] > 0)
    return frame[MONTH_COLUMNS]


def _month_totals(warehouse: Warehouse, filters: Filters, span: Period | None) -> pd.DataFrame:
    """Revenue and orders by month of the year, from the monthly roll-ups and the partial months' orders."""
    if span is None:
        return pd.DataFrame({"month": pd.Series(dtype="int64"), "revenue": pd.Series(dtype="float64"),
                             "orders": pd.Series(dtype="int64")})
    query, params = sales_query(warehouse.selection(filters), span, ("month",))
    return warehouse.frame(f"SELECT CAST(month % 12 + 1 AS INTEGER) AS month, sum(revenue) AS revenue, "
                           f"CAST(sum(orders) AS BIGINT) AS orders FROM ({query}) GROUP BY 1", params)


def by_weekday_hour(warehouse: Warehouse, filters: Filters, options: FilterOptions) -> pd.DataFrame:
    """All 168 cells (weekday 0 = Monday .. 6, hour 0-23, in that order): revenue, orders (zeros filled),
    and days (how many of that weekday the period has)."""
    return warehouse.memo(("seasonality.weekday_hour", filters, options),
                          lambda: _weekday_hour(warehouse, filters, data_span(filters, options)))


def _weekday_hour(warehouse: Warehouse, filters: Filters, span: Period | None) -> pd.DataFrame:
    cells = ("SELECT CAST(w.range AS INTEGER) AS weekday, CAST(h.range AS INTEGER) AS hour "
             "FROM range(7) w CROSS JOIN range(24) h")
    if span is None:
        facts, params = ("SELECT 0 AS weekday, 0 AS hour, 0.0 AS revenue, 0 AS orders WHERE FALSE", {})
    else:
        facts = (f"SELECT CAST(isodow(day) - 1 AS INTEGER) AS weekday, CAST(hour AS INTEGER) AS hour, "
                 f"sum(amount) AS revenue, count(*) AS orders FROM orders "
                 f"WHERE day BETWEEN $start AND $end AND {warehouse.selection(filters).where()} GROUP BY ALL")
        params = {"start": span.start, "end": span.end}
    frame = warehouse.frame(f"SELECT c.weekday, c.hour, coalesce(o.revenue, 0.0) AS revenue, "
                            f"CAST(coalesce(o.orders, 0) AS BIGINT) AS orders FROM ({cells}) c "
                            f"LEFT JOIN ({facts}) o USING (weekday, hour) ORDER BY c.weekday, c.hour", params)
    weekdays = np.bincount(_days(span).day_of_week, minlength=7)
    return frame.assign(days=weekdays[frame["weekday"].to_numpy()].astype("int64"))[GRID_COLUMNS]


@dataclass(frozen=True)
class TimingSummary:
    """When in the week and the day the selection buys; peaks are None without revenue."""

    peak_weekday: int | None  # 0 = Monday: the highest revenue per day of that weekday in the period
    peak_weekday_daily_revenue: float | None
    peak_hour: int | None  # 0-23: the hour of the day with the most revenue
    peak_hour_share: float | None  # ... its share of the revenue
    weekday_daily_revenue: float | None  # revenue per Monday-Friday day of the period
    weekend_daily_revenue: float | None  # revenue per Saturday or Sunday of the period

    @property
    def peak_weekday_name(self) -> str | None:
        return WEEKDAYS[self.peak_weekday] if self.peak_weekday is not None else None

    @property
    def weekend_uplift(self) -> float | None:
        """Weekend revenue per day over weekday revenue per day, minus one (0.25: 25% more)."""
        if not self.weekday_daily_revenue or self.weekend_daily_revenue is None:
            return None
        return self.weekend_daily_revenue / self.weekday_daily_revenue - 1.0


def timing_summary(warehouse: Warehouse, filters: Filters, options: FilterOptions) -> TimingSummary:
    """The peak weekday and hour and the weekend against the working week, from `by_weekday_hour`."""
    grid = by_weekday_hour(warehouse, filters, options)
    weekdays = grid.groupby("weekday").agg(revenue=("revenue", "sum"), days=("days", "first"))
    hours = grid.groupby("hour")["revenue"].sum()
    total = float(hours.sum())
    daily = weekdays["revenue"] / weekdays["days"].where(weekdays["days"] > 0)
    weekend = weekdays.index.isin(WEEKEND)
    peak_weekday = int(daily.idxmax()) if total > 0 else None
    return TimingSummary(
        peak_weekday=peak_weekday,
        peak_weekday_daily_revenue=float(daily[peak_weekday]) if peak_weekday is not None else None,
        peak_hour=int(hours.idxmax()) if total > 0 else None,
        peak_hour_share=float(hours.max()) / total if total > 0 else None,
        weekday_daily_revenue=_per_day(weekdays[~weekend]),
        weekend_daily_revenue=_per_day(weekdays[weekend]))


def _per_day(weekdays: pd.DataFrame) -> float | None:
    days = int(weekdays["days"].sum())
    return float(weekdays["revenue"].sum()) / days if days else None
