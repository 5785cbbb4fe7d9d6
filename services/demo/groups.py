"""The planted behavioural groups: who is in them and how they buy."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.demo.plan import MAINSTREAM


@dataclass(frozen=True)
class Group:
    name: str
    description: str
    patterns: tuple[float, ...]  # probability of each of PATTERNS
    loyal_rate: float  # mean orders per year of a loyal member
    spend: float  # basket size multiplier
    categories: tuple[float, ...]
    channels: tuple[float, ...]
    coupon_use: float  # share of orders paid with a coupon
    income: float  # income multiplier


GROUPS: tuple[Group, ...] = (
    Group(MAINSTREAM, "Customers outside the planted behavioural groups.",
          (0.03, 0.17, 0.05, 0.22, 0.17, 0.36), 6.0, 1.0,
          (0.12, 0.22, 0.16, 0.12, 0.10, 0.18, 0.10), (0.45, 0.38, 0.17), 0.05, 1.0),
    Group("young_tech_enthusiasts", "Aged 20-34, very frequent mid-size Electronics orders, mostly on mobile.",
          (0.01, 0.04, 0.07, 0.08, 0.02, 0.78), 15.0, 0.65,
          (0.55, 0.15, 0.03, 0.07, 0.12, 0.05, 0.03), (0.08, 0.32, 0.60), 0.05, 0.9),
    Group("affluent_big_basket", "Aged 40-62, high income, a few large Home and Electronics orders a year.",
          (0.01, 0.08, 0.03, 0.25, 0.48, 0.15), 4.5, 3.2,
          (0.25, 0.15, 0.35, 0.10, 0.10, 0.0, 0.05), (0.50, 0.45, 0.05), 0.01, 2.3),
    Group("bargain_hunters", "Coupon-driven: about half of their small orders use a coupon.",
          (0.01, 0.06, 0.04, 0.28, 0.16, 0.45), 7.0, 0.6,
          (0.05, 0.28, 0.14, 0.18, 0.08, 0.15, 0.12), (0.55, 0.30, 0.15), 0.5, 0.75),
    Group("older_grocery_regulars", "Aged 58 and over, weekly small Grocery baskets in store.",
          (0.01, 0.03, 0.02, 0.05, 0.04, 0.85), 20.0, 0.7,
          (0.02, 0.06, 0.10, 0.07, 0.02, 0.70, 0.03), (0.85, 0.10, 0.05), 0.08, 0.8),
)



def per_group(field: str) -> np.ndarray:
    """One of the Group fields for every group, indexed by group number."""
    return np.array([getattr(g, field) for g in GROUPS])
