"""Headline KPIs of a period, and the same KPIs for the previous period of equal length."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, case, func, select

from services.filters import FilterOptions, Filters
from services.models import CustomerSummary, SurveyResponse
from services.selection import S, T, Period, customer_conditions, customer_totals, orders_of, period_of, with_totals

DEFAULT_CHURN_DAYS = 180
CHURN_DAYS_RANGE = (7, 730)
PROMOTER_MIN, DETRACTOR_MAX = 9, 6  # NPS: 9-10 promoters, 0-6 detractors


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


def kpi_report(connection: Connection, filters: Filters, options: FilterOptions,
               churn_days: int = DEFAULT_CHURN_DAYS) -> KpiReport | None:
    """The KPIs of the selected period and of the one before it; None without any data."""
    period = period_of(filters, options)
    if period is None:
        return None
    previous = period.previous()
    before = period_kpis(connection, filters, previous, churn_days, options) if previous.covered_by(options) else None
    return KpiReport(period, previous, period_kpis(connection, filters, period, churn_days, options), before,
                     churn_days)


def period_kpis(connection: Connection, filters: Filters, period: Period, churn_days: int,
                options: FilterOptions) -> PeriodKpis:
    buyers = _buyers(connection, filters, period)
    churn_base, churned = _churn(connection, filters, period, churn_days, options)
    responses, promoters, detractors = _nps(connection, filters, period)
    return PeriodKpis(
        customers=int(buyers.customers or 0),
        average_age=float(buyers.average_age) if buyers.average_age is not None else None,
        revenue=float(buyers.revenue or 0.0),
        orders=int(buyers.orders or 0),
        repeat_customers=int(buyers.repeaters or 0),
        churn_base=churn_base, churned=churned,
        nps_responses=responses, promoters=promoters, detractors=detractors,
    )


def _buyers(connection: Connection, filters: Filters, period: Period):
    totals = customer_totals(filters, period)
    return connection.execute(with_totals(
        totals,
        func.count().label("customers"),
        func.avg(S.age).label("average_age"),
        func.sum(totals.c.revenue).label("revenue"),
        func.sum(totals.c.orders).label("orders"),
        func.sum(case((totals.c.orders >= 2, 1), else_=0)).label("repeaters"),
    )).one()


def _churn(connection: Connection, filters: Filters, period: Period, churn_days: int,
           options: FilterOptions) -> tuple[int, int]:
    """Customers who had bought by the period's end, and those of them silent for `churn_days`."""
    cutoff = dt.datetime.combine(period.end - dt.timedelta(days=churn_days - 1), dt.time())
    if period.open_end:
        # Every order lies on or before the end: the summary already holds each last order.
        last = (select(S.last_order_at.label("last_order"))
                .where(S.last_order_at.is_not(None), *customer_conditions(filters)).subquery())
    else:
        history = Period(period.start, period.end, open_start=True)
        last = orders_of(filters, history, func.max(T.ordered_at).label("last_order")).group_by(T.customer_id).subquery()
    row = connection.execute(select(
        func.count(), func.sum(case((last.c.last_order < cutoff, 1), else_=0)),
    )).one()
    return int(row[0] or 0), int(row[1] or 0)


def _nps(connection: Connection, filters: Filters, period: Period) -> tuple[int, int, int]:
    R = SurveyResponse.__table__.c
    row = connection.execute(
        select(func.count(), func.sum(case((R.nps_score >= PROMOTER_MIN, 1), else_=0)),
               func.sum(case((R.nps_score <= DETRACTOR_MAX, 1), else_=0)))
        .select_from(SurveyResponse.__table__.join(CustomerSummary.__table__, S.customer_id == R.customer_id))
        # Answers are not orders: the period's open ends (the edges of the order data) do not bound them.
        .where(Period(period.start, period.end).contains(R.answered_at), *customer_conditions(filters))
    ).one()
    return int(row[0] or 0), int(row[1] or 0), int(row[2] or 0)
