"""The clustering lab's default features and scaling.

One signature per kind of customer: age, income, basket size (avg_order_value), rhythm
(orders_per_year), coupon habit (coupon_usage) and the two categories that set shoppers
apart (share_electronics, share_grocery). Totals (frequency, monetary) and recency are left
out: they mostly measure how long and how recently someone has bought, and a handful of
top buyers dominate them.

Scaling "log-standard" (signed log1p, then standardised) because incomes and baskets are
multiplicative: on a log scale an affluent customer's spread is as wide as anyone's, and a
few huge buyers cannot claim a cluster of their own.

Measured: K-means (k = 5) on these features recovers the demo data's planted groups with an
adjusted Rand index over buyers of 0.90-0.91 at 20,000 customers (seeds 42, 7, 2024) and
0.87-0.92 at 2,000 customers (13 seeds; 0.91 for seed 42). "standard" scaling scores about
the same on these features but falls to about 0.62 at 2,000 customers once `monetary` is
added; "robust" reaches only about 0.56, because income and basket size have so narrow an
IQR next to the affluent customers that those split into two clusters.
"""
from __future__ import annotations

DEFAULT_FEATURES: tuple[str, ...] = (
    "age",
    "income",
    "avg_order_value",
    "orders_per_year",
    "coupon_usage",
    "share_electronics",
    "share_grocery",
)
DEFAULT_SCALING: str = "log-standard"
