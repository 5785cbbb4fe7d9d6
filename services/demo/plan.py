"""The story the demo data plants: its period, campaigns, coupon funnel rates and markers."""
from __future__ import annotations

import datetime as dt

PERIOD_START = dt.date(2020, 1, 1)
PERIOD_END = dt.date(2023, 12, 31)  # the last order day, hence the reference date of the refresh
DAY_SECONDS = 86_400

GROUP_ATTRIBUTE = "demo_group"  # key in customers.attributes naming the behavioural group
TOP_BUYER_ATTRIBUTE = "demo_top_buyer"
MAINSTREAM = "mainstream"  # the group of customers outside the planted ones
TOP_BUYERS = 5

AB_TEST = "20% discount A/B test"
AB_WINDOW = (dt.date(2023, 3, 1), dt.date(2023, 6, 30))
AB_DISCOUNT_PCT = 20.0
AB_LIFT = 0.15
AB_SAMPLE = 0.8  # share of eligible (active, loyal-rhythm) customers in the test
EMAIL = "Holiday email 2022"
EMAIL_WINDOW = (dt.date(2022, 11, 14), dt.date(2022, 12, 31))
EMAIL_LIFT = 0.06
EMAIL_TREATMENT_SHARE = 0.9
LOYALTY = "Loyalty rewards 2023"
LOYALTY_WINDOW = (dt.date(2023, 7, 1), dt.date(2023, 12, 31))

CLAIM_RATE = 0.60
BURN_RATE = 0.55
LOW_BURN_BRANCHES = 2
SURVEY_SHARE = 0.18


def day_index(date: dt.date) -> int:
    """Days since PERIOD_START: the generators work on day numbers."""
    return (date - PERIOD_START).days
