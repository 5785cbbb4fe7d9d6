"""The coupon funnel of the period (issued, claimed, burned, expired), its money, and a data-quality check.

Rates compare the period's event counts: claim rate = claimed / issued, burn rate =
burned / claimed. The time to burn of a burned coupon is measured from the latest claim of
the same coupon by the same customer at or before the burn.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from services.analytics.warehouse import Warehouse
from services.coupons.view import EVENTS, CouponView, rate

@dataclass(frozen=True)
class Funnel:
    issued: int
    claimed: int
    burned: int
    expired: int
    median_days_to_burn: float | None
    coupon_orders: int  # orders paid with a coupon
    revenue: float  # their net revenue (after the discount)
    discount: float  # the discount given on them
    margin: float  # their revenue minus cost: the margin left after the discount

    @property
    def claim_rate(self) -> float | None:
        return rate(self.claimed, self.issued)

    @property
    def burn_rate(self) -> float | None:
        return rate(self.burned, self.claimed)

    @property
    def expiry_rate(self) -> float | None:
        return rate(self.expired, self.claimed)

    @property
    def revenue_per_discount_dollar(self) -> float | None:
        return rate(self.revenue, self.discount)

    @property
    def empty(self) -> bool:
        return not (self.issued or self.claimed or self.burned or self.expired or self.coupon_orders)


def event_counts_sql(where: str, by: str = "") -> str:
    """Counts of each event (one column per event) over `coupon_events` rows meeting `where`."""
    counts = ", ".join(f"count(*) FILTER (WHERE event = '{event}') AS {event}" for event in EVENTS)
    keys = f"{by}, " if by else ""
    return f"SELECT {keys}{counts} FROM coupon_events WHERE {where}" + (f" GROUP BY {by}" if by else "")


def money_sql(where: str, by: str = "") -> str:
    """Orders, revenue, discount and margin of the coupon orders meeting `where`."""
    keys = f"{by}, " if by else ""
    return (f"SELECT {keys}count(*) AS coupon_orders, coalesce(sum(amount), 0.0) AS revenue, "
            f"coalesce(sum(discount), 0.0) AS discount, coalesce(sum(amount - cost), 0.0) AS margin "
            f"FROM coupon_orders WHERE {where}" + (f" GROUP BY {by}" if by else ""))


def by_burns(frame: pd.DataFrame, ties: list[str]) -> pd.DataFrame:
    """Rows of `event_counts_sql` and `money_sql` columns with whole counts and the burn rate, most burns first."""
    frame = frame.astype({event: "int64" for event in EVENTS} | {"coupon_orders": "int64"})
    frame["burn_rate"] = frame["burned"] / frame["claimed"].where(frame["claimed"] > 0)
    return frame.sort_values(["burned", *ties], ascending=[False, *[True] * len(ties)]).reset_index(drop=True)


def funnel(warehouse: Warehouse, view: CouponView) -> Funnel:
    events = warehouse.row(event_counts_sql(view.where), view.params)
    money = warehouse.row(money_sql(view.where), view.params)
    return Funnel(*map(int, events), median_days_to_burn(warehouse, view), int(money[0]), *map(float, money[1:]))


def median_days_to_burn(warehouse: Warehouse, view: CouponView) -> float | None:
    """`days_to_burn` is set by the snapshot on every burn that follows a claim."""
    (median,) = warehouse.row(f"SELECT quantile_cont(days_to_burn, 0.5) FROM coupon_events "
                              f"WHERE event = 'burned' AND {view.where}", view.params)
    return None if median is None else float(median)


@dataclass(frozen=True)
class DataQuality:
    """Burns the data cannot explain: more burns of a coupon by a customer than earlier claims of it."""

    unclaimed_burns: int
    customers: int  # customers with such burns

    @property
    def ok(self) -> bool:
        return self.unclaimed_burns == 0


def data_quality(warehouse: Warehouse, view: CouponView) -> DataQuality:
    """Over all days (a claim before the period may explain a burn in it), for the filtered customers.

    The snapshot keeps, per customer and coupon, the balance of claims minus burns in time order
    (a claim first at the same moment) and marks `unclaimed` each burn that takes it to a new low below zero.
    """
    row = warehouse.row(f"SELECT count(*), count(DISTINCT customer_id) FROM coupon_events "
                        f"WHERE unclaimed AND {view.customers}", view.params)
    return DataQuality(int(row[0]), int(row[1]))
