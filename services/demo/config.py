"""What a demo run is asked for, and what it reports having planted."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

MIN_CUSTOMERS = 100


@dataclass(frozen=True)
class DemoConfig:
    customers: int = 20_000
    seed: int = 42
    batch_size: int = 50_000  # customers generated and written per batch

    def check(self) -> None:
        """Raise ValueError for sizes too small to carry the planted stories."""
        if self.customers < MIN_CUSTOMERS:
            raise ValueError(f"The demo data needs at least {MIN_CUSTOMERS} customers, not {self.customers}.")
        if self.batch_size < MIN_CUSTOMERS:
            raise ValueError(f"The batch size must be at least {MIN_CUSTOMERS} customers, not {self.batch_size}.")


@dataclass(frozen=True)
class PlantedTruths:
    """What the generator planted; the analytics should find these again."""

    seed: int
    customers: int
    transactions: int
    period_start: dt.date
    period_end: dt.date  # the last order day, hence the reference date of the refresh
    ab_test_campaign: str
    ab_test_window: tuple[dt.date, dt.date]
    ab_test_discount_pct: float
    ab_test_planned_purchase_lift: float  # treatment vs control purchases per customer
    ab_test_assigned: dict[str, int]  # variant -> customers
    other_campaigns: tuple[str, ...]
    group_attribute: str  # key in customers.attributes naming the behavioural group
    groups: dict[str, int]  # behavioural group -> customers (MAINSTREAM = none of them)
    group_descriptions: dict[str, str]
    top_buyers: tuple[tuple[str, str], ...]  # (external_id, name), highest planned spend first
    low_burn_branches: tuple[str, ...]  # many claims, few burns
    planned_claim_rate: float  # claimed / issued
    planned_burn_rate: float  # burned / claimed
    coupon_funnel: dict[str, int]  # event -> rows written
    survey_responses: int
