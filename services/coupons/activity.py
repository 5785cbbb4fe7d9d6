"""Coupon events over time, and how often coupon users burn coupons."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from services.analytics.warehouse import Warehouse
from services.coupons.view import EVENTS, CouponView, orders_in_period, rate

GRAINS = ("day", "week", "month")  # weeks start on Monday
HABITUAL_BURNS = 3  # a customer who burned this many coupons in the period is a habitual coupon user
BURN_BUCKETS = ((1, 1, "1"), (2, 2, "2"), (3, 3, "3"), (4, 5, "4–5"), (6, 9, "6–9"), (10, None, "10+"))


def timeline(warehouse: Warehouse, view: CouponView, grain: str) -> pd.DataFrame:
    """One row per day, week or month from the first to the last with events: period, and one count per event."""
    if grain not in GRAINS:
        raise ValueError(f"Unknown granularity {grain!r}; choose one of {', '.join(GRAINS)}.")
    frame = warehouse.frame(
        f"SELECT CAST(date_trunc('{grain}', day) AS DATE) AS period, event, count(*) AS events "
        f"FROM coupon_events WHERE {view.where} GROUP BY ALL", view.params)
    if frame.empty:
        return pd.DataFrame(columns=["period", *EVENTS])
    table = frame.pivot_table(index="period", columns="event", values="events", aggfunc="sum", fill_value=0)
    table.index = pd.to_datetime(table.index)
    every = pd.date_range(table.index.min(), table.index.max(), freq={"day": "D", "week": "W-MON", "month": "MS"}[grain])
    table = table.reindex(every, fill_value=0).reindex(columns=list(EVENTS), fill_value=0)
    return table.rename_axis("period").reset_index().astype({event: "int64" for event in EVENTS})


@dataclass(frozen=True)
class UsageFrequency:
    burns: pd.DataFrame  # bucket (label), customers: coupon users by number of burns in the period
    coupon_users: int
    habitual_users: int  # with at least HABITUAL_BURNS burns
    revenue: float  # the filtered customers' revenue in the period (all orders)
    coupon_user_revenue: float  # ... of it, from coupon users
    habitual_revenue: float  # ... of it, from habitual coupon users

    @property
    def one_time_users(self) -> int:
        row = self.burns[self.burns["bucket"] == BURN_BUCKETS[0][2]]
        return int(row["customers"].sum())

    @property
    def habitual_revenue_share(self) -> float | None:
        return rate(self.habitual_revenue, self.revenue)

    @property
    def coupon_user_revenue_share(self) -> float | None:
        return rate(self.coupon_user_revenue, self.revenue)


def usage_frequency(warehouse: Warehouse, view: CouponView) -> UsageFrequency:
    burners = (f"SELECT customer_id, count(*) AS burns FROM coupon_events WHERE event = 'burned' AND {view.where} "
               f"GROUP BY customer_id")
    counts = warehouse.frame(f"SELECT burns, count(*) AS customers FROM ({burners}) GROUP BY burns", view.params)
    (total,) = warehouse.row(f"SELECT coalesce(sum(amount), 0.0) FROM orders WHERE {orders_in_period(view)}",
                             view.params)
    users, habitual = warehouse.row(  # the burners are the small side of the join
        f"SELECT coalesce(sum(o.amount), 0.0), coalesce(sum(o.amount) FILTER (WHERE b.burns >= {HABITUAL_BURNS}), 0.0) "
        f"FROM ({burners}) b JOIN (SELECT customer_id, amount FROM orders WHERE {orders_in_period(view)}) o "
        f"USING (customer_id)", view.params)
    return UsageFrequency(_bucketed(counts), int(counts["customers"].sum()),
                          int(counts.loc[counts["burns"] >= HABITUAL_BURNS, "customers"].sum()), float(total),
                          float(users), float(habitual))


def _bucketed(counts: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for low, high, label in BURN_BUCKETS:
        inside = (counts["burns"] >= low) & (counts["burns"] <= (high if high is not None else counts["burns"].max()))
        rows.append((label, int(counts.loc[inside, "customers"].sum())))
    return pd.DataFrame(rows, columns=["bucket", "customers"])
