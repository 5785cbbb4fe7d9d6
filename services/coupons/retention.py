"""Do coupon users come back? Repeat purchases after the first coupon burn, against comparable buyers.

Observational, not causal: coupon users differ from other customers in ways the data does
not show. The comparison is made fairer, not fair:

- coupon users: the filtered customers whose first ever burn (at the focus branches) falls
  in the anchor window; their anchor is that day;
- comparable buyers: the filtered customers who never burned a coupon and ordered in the
  anchor window; their anchor is their first order in it;
- a customer repeats when they order again within `REPEAT_DAYS` days after the anchor day;
- the anchor window is the period, ending `REPEAT_DAYS` days before the data does, so every
  customer is followed for the whole window;
- both groups are split by the number of orders before the anchor (buying history is the
  strongest predictor of buying again), and the comparable rate weights the other buyers'
  rates by the coupon users' mix of histories.
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
HISTORIES = (("0", 0, 0), ("1", 1, 1), ("2–4", 2, 4), ("5+", 5, None))  # orders before the anchor
STRATA = ["prior_orders", "coupon_customers", "coupon_repeaters", "other_customers", "other_repeaters"]


@dataclass(frozen=True)
class RetentionComparison:
    anchor_start: dt.date
    anchor_end: dt.date
    strata: pd.DataFrame  # one row per history bracket: STRATA

    def _total(self, column: str) -> int:
        return int(self.strata[column].sum())

    @property
    def coupon_customers(self) -> int:
        return self._total("coupon_customers")

    @property
    def other_customers(self) -> int:
        return self._total("other_customers")

    @property
    def coupon_rate(self) -> float | None:
        return rate(self._total("coupon_repeaters"), self.coupon_customers)

    @property
    def other_rate(self) -> float | None:
        return rate(self._total("other_repeaters"), self.other_customers)

    @property
    def comparable_rate(self) -> float | None:
        """The other buyers' repeat rate with their histories weighted as the coupon users' are."""
        usable = self.strata[(self.strata["other_customers"] > 0) & (self.strata["coupon_customers"] > 0)]
        weights = usable["coupon_customers"]
        if not weights.sum():
            return None
        return float((weights * usable["other_repeaters"] / usable["other_customers"]).sum() / weights.sum())


def _burners(view: CouponView) -> str:
    """Every filtered customer who ever burned a coupon: first burn day and its branch."""
    return (f"SELECT customer_id, min(day) AS first_burn, arg_min(branch_id, occurred_at) AS branch_id FROM coupon_events "
            f"WHERE event = 'burned' AND {view.customers} GROUP BY customer_id")


def retention(warehouse: Warehouse, view: CouponView) -> RetentionComparison | None:
    """None when the period ends too close to the end of the data to follow anyone for the whole window."""
    start = view.period.start
    end = min(view.period.end, view.data_end) - dt.timedelta(days=REPEAT_DAYS)
    if end < start:
        return None
    brackets = " ".join(f"WHEN prior <= {high} THEN '{label}'" for label, _, high in HISTORIES if high is not None)
    frame = warehouse.frame(
        f"WITH burners AS ({_burners(view)}), "
        f"anchored AS (SELECT TRUE AS coupon, customer_id, first_burn AS anchor FROM burners "
        f"WHERE first_burn BETWEEN $anchor_start AND $anchor_end AND {view.focus} "
        f"UNION ALL SELECT FALSE, customer_id, min(day) FROM orders WHERE {view.customers} "
        f"AND day BETWEEN $anchor_start AND $anchor_end AND customer_id NOT IN (SELECT customer_id FROM burners) "
        f"GROUP BY customer_id), "
        f"followed AS (SELECT a.coupon, a.customer_id, count(o.day) FILTER (WHERE o.day < a.anchor) AS prior, "
        f"coalesce(bool_or(o.day > a.anchor AND o.day <= a.anchor + {REPEAT_DAYS}), FALSE) AS repeated "
        f"FROM anchored a LEFT JOIN orders o USING (customer_id) GROUP BY a.coupon, a.customer_id) "
        f"SELECT coupon, CASE {brackets} ELSE '{HISTORIES[-1][0]}' END AS prior_orders, count(*) AS customers, "
        f"count(*) FILTER (WHERE repeated) AS repeaters FROM followed GROUP BY ALL",
        {**view.params, "anchor_start": start, "anchor_end": end})
    strata = pd.DataFrame({"prior_orders": [label for label, _, _ in HISTORIES]})
    for flag, prefix in ((True, "coupon"), (False, "other")):
        part = frame[frame["coupon"] == flag].set_index("prior_orders")
        strata[f"{prefix}_customers"] = strata["prior_orders"].map(part["customers"]).fillna(0).astype("int64")
        strata[f"{prefix}_repeaters"] = strata["prior_orders"].map(part["repeaters"]).fillna(0).astype("int64")
    return RetentionComparison(start, end, strata[STRATA])


COHORT_COLUMNS = ["cohort", "months_since", "customers", "cohort_size", "share"]


def burn_cohorts(warehouse: Warehouse, view: CouponView) -> pd.DataFrame:
    """Coupon users by the month of their first ever burn (in the period, at the focus branches), and the
    share of each who ordered n = 0..12 months later, up to the last month of the data."""
    frame = warehouse.frame(
        f"WITH cohorts AS (SELECT customer_id, CAST(year(first_burn) * 12 + month(first_burn) - 1 AS INTEGER) AS cohort "
        f"FROM ({_burners(view)}) WHERE {view.focus} AND {view.days('first_burn')}) "
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
