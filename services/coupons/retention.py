"""Do coupon users come back? Repeat purchases after the first coupon burn, against comparable buyers.

Observational, not causal: coupon users differ from other customers in ways the data does
not show. The comparison is made fairer, not fair:

- coupon users: the filtered customers whose first ever burn (at the focus branches) falls
  in the anchor window; their anchor is that day;
- other buyers: the filtered customers who never burned a coupon and ordered in the anchor
  window; their anchor is their first order day in it;
- a customer repeats when they order again within `REPEAT_DAYS` days after the anchor day;
- the anchor window is the period, ending at the latest `REPEAT_DAYS` days before the data
  does, so every customer is followed for the whole window;
- history: the number of orders on days before the anchor, in brackets (buying history is
  the strongest predictor of buying again). Comparable buyers are the other buyers anchored
  at the first order day in the window on which they had each bracket's history; the
  comparable rate weights their rate per bracket by the coupon users' mix of histories.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from services.analytics.months import month_number
from services.analytics.warehouse import Warehouse
from services.coupons.view import CouponView, rate
from services.sql_functions import month_starts

REPEAT_DAYS = 90
COHORT_MONTHS = 12
HISTORIES = (("0", 0, 0), ("1", 1, 1), ("2–4", 2, 4), ("5+", 5, None))  # orders on days before the anchor
STRATA = ["prior_orders", "coupon_customers", "coupon_repeaters", "comparable_customers", "comparable_repeaters"]


@dataclass(frozen=True)
class RetentionComparison:
    anchor_start: dt.date
    anchor_end: dt.date
    strata: pd.DataFrame  # one row per history bracket: STRATA
    other_customers: int  # other buyers, anchored at their first order day in the window
    other_repeaters: int

    @property
    def coupon_customers(self) -> int:
        return int(self.strata["coupon_customers"].sum())

    @property
    def coupon_rate(self) -> float | None:
        return rate(int(self.strata["coupon_repeaters"].sum()), self.coupon_customers)

    @property
    def other_rate(self) -> float | None:
        return rate(self.other_repeaters, self.other_customers)

    @property
    def comparable_rate(self) -> float | None:
        """The other buyers' repeat rate per history bracket, weighted by the coupon users' brackets."""
        usable = self.strata[(self.strata["comparable_customers"] > 0) & (self.strata["coupon_customers"] > 0)]
        weights = usable["coupon_customers"]
        if not weights.sum():
            return None
        return float((weights * usable["comparable_repeaters"] / usable["comparable_customers"]).sum() / weights.sum())


def _bracket(column: str) -> str:
    cases = " ".join(f"WHEN {column} <= {high} THEN '{label}'" for label, _, high in HISTORIES if high is not None)
    return f"CASE {cases} ELSE '{HISTORIES[-1][0]}' END"


def retention(warehouse: Warehouse, view: CouponView) -> RetentionComparison | None:
    """None when the period starts too close to the end of the data to follow anyone for the whole window.

    The snapshot keeps each customer's first burn (day, branch, orders before it, next later
    order day) and each order's orders on earlier days (and on the day before) and next later
    order day, so both groups are one filtered scan: an order day qualifies for the other
    buyers when it is their first in the window or the first with a new history bracket.
    """
    start = view.period.start
    end = min(view.period.end, view.data_end - dt.timedelta(days=REPEAT_DAYS))
    if end < start:
        return None
    first_in_window = "(prev_day IS NULL OR prev_day < $anchor_start)"
    frame = warehouse.frame(
        f"SELECT coupon, first_in_window, {_bracket('prior')} AS prior_orders, count(*) AS customers, "
        f"count(*) FILTER (WHERE next_day <= anchor + {REPEAT_DAYS}) AS repeaters FROM ("
        f"SELECT TRUE AS coupon, TRUE AS first_in_window, first_burn_day AS anchor, orders_before_first_burn AS prior, "
        f"next_order_after_first_burn AS next_day FROM customers WHERE first_burn_day BETWEEN $anchor_start "
        f"AND $anchor_end AND {view.customers} AND {view.focus('first_burn_branch')} "
        f"UNION ALL SELECT FALSE, {first_in_window}, day, earlier, next_day FROM orders "
        f"WHERE {view.customers} AND day BETWEEN $anchor_start AND $anchor_end "
        f"AND (prev_day IS NULL OR prev_day < day) "  # the day's first order
        f"AND ({first_in_window} OR {_bracket('earlier')} <> {_bracket('earlier_before')}) "
        f"AND customer_id NOT IN (SELECT customer_id FROM customers WHERE first_burn_day IS NOT NULL)"
        f") GROUP BY ALL",
        {**view.params, "anchor_start": start, "anchor_end": end})
    strata = pd.DataFrame({"prior_orders": [label for label, _, _ in HISTORIES]})
    for flag, prefix in ((True, "coupon"), (False, "comparable")):
        part = frame[frame["coupon"] == flag].groupby("prior_orders")[["customers", "repeaters"]].sum()
        strata[f"{prefix}_customers"] = strata["prior_orders"].map(part["customers"]).fillna(0).astype("int64")
        strata[f"{prefix}_repeaters"] = strata["prior_orders"].map(part["repeaters"]).fillna(0).astype("int64")
    others = frame[~frame["coupon"] & frame["first_in_window"]]
    return RetentionComparison(start, end, strata[STRATA], int(others["customers"].sum()),
                               int(others["repeaters"].sum()))


COHORT_COLUMNS = ["cohort", "months_since", "customers", "cohort_size", "share"]


def burn_cohorts(warehouse: Warehouse, view: CouponView) -> pd.DataFrame:
    """Coupon users by the month of their first ever burn (in the period, at the focus branches), and the
    share of each who ordered n = 0..12 months later, up to the last month of the data."""
    frame = warehouse.frame(
        f"WITH cohorts AS (SELECT customer_id, CAST(year(first_burn_day) * 12 + month(first_burn_day) - 1 AS INTEGER) "
        f"AS cohort FROM customers WHERE first_burn_day IS NOT NULL AND {view.customers} AND "
        f"{view.focus('first_burn_branch')} AND {view.days('first_burn_day')}) "
        f"SELECT cohort, o.month - cohort AS months_since, count(*) AS customers FROM cohorts "
        f"JOIN orders o USING (customer_id) WHERE o.first_in_month AND o.month BETWEEN cohort AND cohort + "
        f"{COHORT_MONTHS} GROUP BY ALL "
        f"UNION ALL SELECT cohort, -1, count(*) FROM cohorts GROUP BY cohort", view.params)
    if frame.empty:
        return pd.DataFrame(columns=COHORT_COLUMNS)
    sizes = frame[frame["months_since"] == -1].set_index("cohort")["customers"]
    last = month_number(view.data_end)
    cells = pd.DataFrame([(cohort, offset) for cohort in sizes.index
                          for offset in range(min(COHORT_MONTHS, last - cohort) + 1)],
                         columns=["cohort", "months_since"])
    rows = cells.merge(frame, how="left", on=["cohort", "months_since"]).fillna({"customers": 0})
    rows["cohort_size"] = rows["cohort"].map(sizes)
    rows = rows.astype({"cohort": "int64", "months_since": "int64", "customers": "int64", "cohort_size": "int64"})
    rows["share"] = rows["customers"] / rows["cohort_size"]
    rows["cohort"] = month_starts(rows["cohort"] // 12, rows["cohort"] % 12 + 1)
    return rows.sort_values(["cohort", "months_since"]).reset_index(drop=True)[COHORT_COLUMNS]
