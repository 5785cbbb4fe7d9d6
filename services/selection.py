"""The filters turned into SQL: which customers, which period, which orders.

Customer filters (countries, genders, age brackets, saved segment, data scope) select rows
of `customer_summary`; the date range selects orders. Every tab builds on these pieces.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, Subquery, and_, func, select, true

from services.filters import FilterOptions, Filters
from services.models import CustomerSummary, SavedSegmentMember, Transaction

S = CustomerSummary.__table__.c
T = Transaction.__table__.c


@dataclass(frozen=True)
class Period:
    """Whole days from `start` to `end`, both included.

    `open_start`/`open_end` mark ends that lie at the edge of the data, where no condition
    is needed: a scan without a date condition is much faster than one through the date index.
    """

    start: dt.date
    end: dt.date
    open_start: bool = False
    open_end: bool = False

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> "Period":
        """The period of equal length that ends the day before this one starts."""
        end = self.start - dt.timedelta(days=1)
        return Period(end - dt.timedelta(days=self.days - 1), end)

    def covered_by(self, options: FilterOptions) -> bool:
        """Whether the data spans the whole period (so a comparison with it is fair)."""
        return (options.first_date is not None and options.last_date is not None
                and options.first_date <= self.start and self.end <= options.last_date)

    def contains(self, column) -> ColumnElement[bool]:
        """The condition that a timestamp column lies in the period (true for open ends)."""
        conditions = []
        if not self.open_start:
            conditions.append(column >= dt.datetime.combine(self.start, dt.time()))
        if not self.open_end:
            conditions.append(column < dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time()))
        return and_(true(), *conditions)

    def label(self) -> str:
        return f"{self.start:%d %b %Y} – {self.end:%d %b %Y}"


def period_of(filters: Filters, options: FilterOptions) -> Period | None:
    """The selected order dates, open ends filled from the data; None when there is no data."""
    if options.first_date is None or options.last_date is None:
        return None
    start = filters.start or options.first_date
    end = max(filters.end or options.last_date, start)  # a start after the data: an empty period, not a reversed one
    return Period(start, end, open_start=start <= options.first_date, open_end=end >= options.last_date)


def customer_conditions(filters: Filters) -> list[ColumnElement[bool]]:
    """WHERE clauses on `customer_summary` for the customer filters and the data scope."""
    conditions = []
    if filters.scope is not None:
        conditions.append(S.country.in_(filters.scope))
    if filters.countries:
        conditions.append(S.country.in_(filters.countries))
    if filters.genders:
        conditions.append(S.gender.in_(filters.genders))
    if filters.age_brackets:
        conditions.append(S.age_bracket.in_(filters.age_brackets))
    if filters.segment_id is not None:
        members = select(SavedSegmentMember.customer_id).where(SavedSegmentMember.segment_id == filters.segment_id)
        conditions.append(S.customer_id.in_(members))
    return conditions


def orders_of(filters: Filters, period: Period, *columns, with_summary: bool = False) -> Select:
    """SELECT `columns` FROM the orders of the selected customers in the period.

    `customer_summary` is joined when a customer filter needs it or the caller's columns
    name it (`with_summary`); a join per order row costs more than the rest of the scan.
    """
    conditions = customer_conditions(filters)
    query = select(*columns).where(period.contains(T.ordered_at), *conditions)
    if conditions or with_summary:
        query = query.select_from(Transaction.__table__.join(CustomerSummary.__table__, S.customer_id == T.customer_id))
    return query


def customer_totals(filters: Filters, period: Period) -> Subquery:
    """One row per selected customer with orders in the period: customer_id, orders, revenue, last_order.

    Over the whole data the summary already holds these totals, which saves scanning the orders.
    """
    if period.open_start and period.open_end:
        return (select(S.customer_id, S.orders, S.revenue, S.last_order_at.label("last_order"))
                .where(S.orders > 0, *customer_conditions(filters)).subquery("totals"))
    return (orders_of(filters, period, T.customer_id, func.count().label("orders"), func.sum(T.amount).label("revenue"),
                      func.max(T.ordered_at).label("last_order"))
            .group_by(T.customer_id).subquery("totals"))


def with_totals(totals: Subquery, *columns) -> Select:
    """SELECT `columns` FROM the customer totals joined with their summary rows."""
    return select(*columns).join_from(totals, CustomerSummary.__table__, S.customer_id == totals.c.customer_id)
