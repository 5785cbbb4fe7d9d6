"""Documented business rules of the derived data: age brackets, customer profiles, RFM segments.

The refresh turns these into SQL; the UI shows the same texts in tooltips, and the README
repeats them. Change a rule here and everything follows.
"""
from __future__ import annotations

from dataclasses import dataclass

# ------------------------------------------------------------------ age brackets
# Decade brackets, (label, lowest age, highest age); ages outside fall in the open ends.
AGE_BRACKETS: tuple[tuple[str, int, int], ...] = (
    ("Under 21", 0, 20),
    ("21-30", 21, 30),
    ("31-40", 31, 40),
    ("41-50", 41, 50),
    ("51-60", 51, 60),
    ("61-70", 61, 70),
    ("Over 70", 71, 200),
)
UNKNOWN = "Unknown"
AGE_BRACKET_LABELS = tuple(label for label, _, _ in AGE_BRACKETS) + (UNKNOWN,)
AGE_RULE = "Age on the reference date (the latest order in the data), in decade brackets."

FAMILY_WITH_CHILDREN = "With children"
FAMILY_WITHOUT_CHILDREN = "Without children"
FAMILY_STATUSES = (FAMILY_WITH_CHILDREN, FAMILY_WITHOUT_CHILDREN, UNKNOWN)


# ------------------------------------------------------------------ profiles
@dataclass(frozen=True)
class ProfileThresholds:
    vip_revenue_percentile: float = 0.98  # revenue at or above this share of buyers
    vip_min_orders: int = 2
    new_within_days: int = 90  # first order this close to the reference date
    loyal_orders_per_year: float = 3.0  # average over the customer's tenure (at least one year)
    loyal_active_within_days: int = 365
    periodic_min_years: int = 3  # distinct calendar years with an order


THRESHOLDS = ProfileThresholds()

# Checked in this order; the first rule that matches names the profile.
PROFILE_RULES: tuple[tuple[str, str], ...] = (
    ("Prospect", "No orders yet."),
    ("VIP", f"Revenue in the top {100 - THRESHOLDS.vip_revenue_percentile * 100:.0f}% of buyers "
            f"and at least {THRESHOLDS.vip_min_orders} orders."),
    ("New", f"First order within {THRESHOLDS.new_within_days} days of the reference date."),
    ("One-time", "Exactly one order."),
    ("Loyal", f"At least {THRESHOLDS.loyal_orders_per_year:g} orders per year of tenure on average "
              f"and an order within the last {THRESHOLDS.loyal_active_within_days} days."),
    ("Periodic", f"Orders in at least {THRESHOLDS.periodic_min_years} different calendar years, "
                 "at a lower frequency than Loyal."),
    ("Occasional", "Repeat buyers that match none of the rules above."),
)
PROFILES = tuple(name for name, _ in PROFILE_RULES)
PROFILE_DESCRIPTIONS = dict(PROFILE_RULES)


# ------------------------------------------------------------------ RFM segments
# Scores are quintiles 1-5 over the scored customers (recency reversed: 5 = most recent).
# Customers are ranked 1..n (ties broken by customer id, so every quintile fills even when
# most customers share a value) and the rank is cut as pandas.qcut cuts it: score =
# ceil(5 (rank - 1) / (n - 1)), at least 1; a lone customer scores 3. The segment comes from
# the recency (R) and frequency (F) scores; first match wins.
RFM_SCORE_RULE = ("Scores 1-5 are quintiles of the customers' ranks (ties broken by customer id); "
                  "recency is reversed, so R = 5 is the most recent fifth.")
RFM_SEGMENT_MAP: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...] = (
    ("Champions", (5,), (4, 5)),
    ("Loyal Customers", (3, 4), (4, 5)),
    ("Potential Loyalists", (4, 5), (2, 3)),
    ("New Customers", (5,), (1,)),
    ("Promising", (4,), (1,)),
    ("Need Attention", (3,), (3,)),
    ("About to Sleep", (3,), (1, 2)),
    ("Can't Lose Them", (1, 2), (5,)),
    ("At Risk", (1, 2), (3, 4)),
    ("Hibernating", (2,), (1, 2)),
    ("Lost", (1,), (1, 2)),
)
RFM_SEGMENTS = tuple(name for name, _, _ in RFM_SEGMENT_MAP)
RFM_SEGMENT_DESCRIPTIONS: dict[str, str] = {
    "Champions": "Bought recently and often: reward them, ask for reviews, offer early access.",
    "Loyal Customers": "Buy often, fairly recently: upsell and invite to the loyalty programme.",
    "Potential Loyalists": "Recent customers with a few orders: offer membership or bundles.",
    "New Customers": "Bought very recently, for the first time or so: onboard them well.",
    "Promising": "Recent but rare buyers: build the habit with a timely second offer.",
    "Need Attention": "Average recency and frequency: a personal, limited-time offer.",
    "About to Sleep": "Slipping away after few orders: reactivate with something relevant.",
    "Can't Lose Them": "Used to buy very often, not lately: win them back personally.",
    "At Risk": "Frequent buyers who have not bought for a while: a win-back campaign.",
    "Hibernating": "Rare buyers, long ago: a low-cost reminder at most.",
    "Lost": "Lowest recency and frequency: only revive them if it is cheap.",
}


def rfm_segment(r: int, f: int) -> str:
    """The segment for a pair of scores (the same map the refresh compiles to SQL)."""
    for name, r_scores, f_scores in RFM_SEGMENT_MAP:
        if r in r_scores and f in f_scores:
            return name
    raise ValueError(f"scores out of range: R={r}, F={f}")


def rfm_score(rank: int, n: int) -> int:
    """The 1-5 score of the customer ranked `rank` (1 = lowest) of `n` (the rule above)."""
    if n == 1:
        return 3
    return max(1, -(-(rank - 1) * 5 // (n - 1)))


def age_bracket(age: int | None) -> str:
    if age is None:
        return UNKNOWN
    for label, low, high in AGE_BRACKETS:
        if low <= age <= high:
            return label
    return UNKNOWN
