"""What a readout measures per customer over the campaign window, and how each metric is tested.

- `proportion`: a 0/1 value per customer (two-proportion z-test);
- `mean`: a value per customer (Welch t-test), with its pre-campaign value as CUPED's covariate;
- `ratio`: a ratio of sums over customers (delta method), e.g. revenue over orders.

The per-customer columns (`converted`, `orders`, `revenue`, `profit`, `claims`, `burns` and the
`pre_` ones) are written by `facts`. Revenue is net of discounts, so profit is after the discount.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    kind: str  # proportion | mean | ratio
    value: str  # the per-customer column (the numerator, for a ratio)
    denominator: str | None = None  # ratio metrics only
    money: bool = False
    percent: bool = False  # shown as a percentage (rates)

    @property
    def covariate(self) -> str | None:
        """The pre-campaign column CUPED adjusts with (ratios are not adjusted)."""
        return None if self.kind == "ratio" else f"pre_{self.value}"


METRICS = (
    Metric("conversion", "Conversion (any purchase)", "proportion", "converted", percent=True),
    Metric("orders", "Orders per customer", "mean", "orders"),
    Metric("revenue", "Revenue per customer", "mean", "revenue", money=True),
    Metric("profit", "Profit per customer", "mean", "profit", money=True),
    Metric("aov", "Average order value", "ratio", "revenue", "orders", money=True),
    Metric("profit_per_sale", "Profit per sale", "ratio", "profit", "orders", money=True),
    Metric("burn_rate", "Coupon burn rate", "ratio", "burns", "claims", percent=True),
)
BY_KEY = {metric.key: metric for metric in METRICS}
PER_CUSTOMER = tuple(metric for metric in METRICS if metric.kind != "ratio")  # those with a daily timeline
CAPPED = ("orders", "revenue", "profit")  # the columns outlier capping limits (and their pre-campaign values)
