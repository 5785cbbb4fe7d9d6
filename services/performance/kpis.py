"""Headline KPIs of a period, and the same KPIs for the previous period of equal length."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from services.analytics import measures
from services.analytics.warehouse import Warehouse
from services.filters import FilterOptions, Filters
from services.performance.cube import period_cube, period_totals
from services.selection import Period, period_of

DEFAULT_CHURN_DAYS = 180
CHURN_DAYS_RANGE = (7, 730)
PROMOTER_MIN, DETRACTOR_MAX = 9, 6  # NPS: 9-10 promoters, 0-6 detractors
TOTALS = ["customers", "age_sum", "age_n", "repeaters", "orders", "revenue"]


@dataclass(frozen=True)
class PeriodKpis:
    customers: int  # customers with at least one order in the period
    average_age: float | None
    revenue: float
    orders: int
    repeat_customers: int  # customers with two or more orders in the period
    churn_base: int  # customers with an order on or before the period's last day
    churned: int  # ... of whom none in the last `churn_days` days of the period
    nps_responses: int
    promoters: int
    detractors: int

    @property
    def average_order_value(self) -> float | None:
        return self.revenue / self.orders if self.orders else None

    @property
    def revenue_per_customer(self) -> float | None:
        return self.revenue / self.customers if self.customers else None

    @property
    def repeat_rate(self) -> float | None:
        return self.repeat_customers / self.customers if self.customers else None

    @property
    def churn_rate(self) -> float | None:
        return self.churned / self.churn_base if self.churn_base else None

    @property
    def nps(self) -> float | None:
        """% promoters minus % detractors, from -100 to 100."""
        if not self.nps_responses:
            return None
        return 100.0 * (self.promoters - self.detractors) / self.nps_responses


@dataclass(frozen=True)
class KpiReport:
    period: Period
    previous_period: Period
    current: PeriodKpis
    previous: PeriodKpis | None  # None when the data does not cover the previous period
    churn_days: int


def kpi_report(warehouse: Warehouse, filters: Filters, options: FilterOptions,
               churn_days: int = DEFAULT_CHURN_DAYS) -> KpiReport | None:
    """The KPIs of the selected period and of the one before it; None without any data."""
    period = period_of(filters, options)
    if period is None:
        return None
    previous = period.previous()
    before = None
    if previous.covered_by(options):
        before = period_kpis(warehouse, filters, previous, churn_days, period_totals(warehouse, filters, previous))
    # The current period's cube also feeds the breakdowns; the previous period needs only totals.
    totals = period_cube(warehouse, filters, period)[TOTALS].sum()
    return KpiReport(period, previous, period_kpis(warehouse, filters, period, churn_days, totals), before, churn_days)


def period_kpis(warehouse: Warehouse, filters: Filters, period: Period, churn_days: int,
                totals: pd.Series) -> PeriodKpis:
    """`totals`: the period's customers, age_sum, age_n, repeaters, orders and revenue."""
    selection = warehouse.selection(filters)
    churn_base, churned = measures.churn(warehouse, selection, period, churn_days)
    # Answers are not orders: the period's open ends (the edges of the order data) do not bound them.
    responses, promoters, detractors = measures.nps(warehouse, selection, period.start, period.end,
                                                    PROMOTER_MIN, DETRACTOR_MAX)
    age_n = int(totals["age_n"])
    return PeriodKpis(
        customers=int(totals["customers"]),
        average_age=float(totals["age_sum"]) / age_n if age_n else None,
        revenue=float(totals["revenue"]),
        orders=int(totals["orders"]),
        repeat_customers=int(totals["repeaters"]),
        churn_base=churn_base, churned=churned,
        nps_responses=responses, promoters=promoters, detractors=detractors,
    )
