"""What every coupon query shares: the filtered customers, the period and the branch the tab is narrowed to."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services.analytics.warehouse import Warehouse
from services.filters import FilterOptions, Filters
from services.selection import Period, period_of

EVENTS = ("issued", "claimed", "burned", "expired")


@dataclass(frozen=True)
class Focus:
    """Where a click on a bar narrows the tab to: the branches of one city, or one branch."""

    city: str | None = None
    branch_id: int | None = None

    def key(self) -> str:
        return f"city={self.city or ''}|branch={self.branch_id or ''}"


@dataclass(frozen=True)
class CouponView:
    """SQL conditions on `coupon_events` and `coupon_orders` (both have day, branch_id and the customer codes)."""

    period: Period
    data_end: dt.date  # the last order day in the data
    customers: str  # the filtered customers, any branch, any day
    branches: str  # the focus branches, as a condition on "{column}"
    params: dict

    def focus(self, column: str = "branch_id") -> str:
        """The focus branches, as a condition on `column`."""
        return self.branches.format(column=column)

    def days(self, column: str = "day") -> str:
        """The period's days on `column`; an open end is not bounded (events may outlast the last order)."""
        bounds = [f"{column} {condition}" for condition, is_open in ((">= $start", self.period.open_start),
                                                                     ("<= $end", self.period.open_end)) if not is_open]
        return " AND ".join(bounds) or "TRUE"

    @property
    def focused(self) -> str:
        return f"{self.customers} AND {self.focus()}"

    @property
    def where(self) -> str:
        """The filtered customers' rows at the focus branches in the period."""
        return f"{self.focused} AND {self.days()}"


def coupon_view(warehouse: Warehouse, filters: Filters, options: FilterOptions,
                focus: Focus = Focus()) -> CouponView | None:
    """The conditions for these filters and focus; None when there is no data."""
    period = period_of(filters, options)
    if period is None:
        return None
    params: dict = {"start": period.start, "end": period.end}
    branches = "TRUE"
    if focus.branch_id is not None:
        branches, params["branch_id"] = "{column} = $branch_id", focus.branch_id
    elif focus.city is not None:
        branches, params["city"] = "{column} IN (SELECT branch_id FROM branches WHERE city = $city)", focus.city
    return CouponView(period, options.last_date, warehouse.selection(filters).where(), branches, params)


def orders_in_period(view: CouponView) -> str:
    """The condition on the snapshot's `orders` for the filtered customers' orders in the period."""
    return f"{view.customers} AND day BETWEEN $start AND $end"


def first_orders_in(view: CouponView, start: str, end: str) -> str:
    """The condition on `orders` for each filtered customer's first order in [start, end] (parameter names):
    one row per customer who ordered then, no DISTINCT needed."""
    return f"{view.customers} AND day BETWEEN ${start} AND ${end} AND (prev_day IS NULL OR prev_day < ${start})"


def rate(part: float, whole: float) -> float | None:
    return part / whole if whole else None
