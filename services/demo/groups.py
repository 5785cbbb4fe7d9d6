"""The planted behavioural groups: who is in them and how they buy.

The groups are planted for the clustering lab to find again, so each has a signature that
stays strong even for a customer with few orders: two or three features far from everyone
else (age and a category, income and basket size, the coupon share). Mainstream customers
are the middle: ages across the range, average incomes and baskets, orders spread over the
everyday categories, rarely a coupon. Most of the one-off and irregular buyers (the New,
One-time, Occasional and Periodic profiles) are mainstream; planted members mostly buy on a
regular rhythm, so their averages settle on the signature.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.demo.plan import MAINSTREAM


@dataclass(frozen=True)
class Group:
    name: str
    description: str
    ages: tuple[float, float]  # members are drawn from customers aged [low, high)
    take_up: float  # share of the customers in that age band who belong to the group
    patterns: tuple[float, ...]  # probability of each of PATTERNS
    loyal_rate: float  # mean orders per year of a loyal member
    spend: float  # basket size multiplier
    categories: tuple[float, ...]
    channels: tuple[float, ...]
    coupon_use: float  # share of orders paid with a coupon
    income: float  # income multiplier


EVERY_AGE = (0.0, 200.0)  # an age band without limits

# Field order of `categories`: CATEGORIES (Electronics, Clothing, Home, Beauty, Sports, Grocery,
# Toys); of `channels`: CHANNELS (store, online, mobile). Where age bands overlap, the take-ups
# add up to less than 1: the rest of each age is mainstream.
GROUPS: tuple[Group, ...] = (
    Group(MAINSTREAM, "Customers outside the planted behavioural groups.",
          EVERY_AGE, 0.0,  # everyone the planted groups leave
          (0.03, 0.13, 0.06, 0.24, 0.22, 0.32), 6.0, 1.0,
          (0.03, 0.27, 0.24, 0.16, 0.17, 0.03, 0.10), (0.45, 0.38, 0.17), 0.02, 1.0),
    Group("young_tech_enthusiasts", "Aged 18-34, frequent mid-size Electronics orders, mostly on mobile.",
          (18.0, 35.0), 0.65,
          (0.01, 0.02, 0.04, 0.05, 0.02, 0.86), 10.0, 0.65,
          (0.85, 0.05, 0.01, 0.02, 0.04, 0.02, 0.01), (0.08, 0.32, 0.60), 0.02, 0.9),
    Group("affluent_big_basket", "Aged 40-62, high income, a few large Home and Electronics orders a year.",
          (40.0, 63.0), 0.22,
          (0.01, 0.03, 0.02, 0.20, 0.44, 0.30), 4.5, 3.6,
          (0.28, 0.12, 0.50, 0.03, 0.05, 0.0, 0.02), (0.50, 0.45, 0.05), 0.01, 2.8),
    Group("bargain_hunters", "Coupon-driven: about two thirds of their small orders use a coupon.",
          (22.0, 56.0), 0.20,
          (0.01, 0.01, 0.02, 0.10, 0.08, 0.78), 6.0, 0.6,
          (0.05, 0.28, 0.14, 0.18, 0.08, 0.15, 0.12), (0.55, 0.30, 0.15), 0.70, 0.75),
    Group("older_grocery_regulars", "Aged 56 and over, small Grocery baskets in store every few weeks.",
          (56.0, EVERY_AGE[1]), 0.60,
          (0.01, 0.01, 0.01, 0.02, 0.02, 0.93), 14.0, 0.7,
          (0.01, 0.03, 0.04, 0.03, 0.01, 0.86, 0.02), (0.85, 0.10, 0.05), 0.02, 0.8),
)


def per_group(field: str) -> np.ndarray:
    """One of the Group fields for every group, indexed by group number."""
    return np.array([getattr(g, field) for g in GROUPS])
