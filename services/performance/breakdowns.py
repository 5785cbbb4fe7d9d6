"""Customers, orders and revenue of the period split by a customer attribute."""
from __future__ import annotations

import datetime as dt
from enum import Enum

import pandas as pd
from sqlalchemy import Connection, case, func

from services.filters import FilterOptions, Filters
from services.rules import AGE_BRACKET_LABELS, FAMILY_STATUSES, PROFILES, UNKNOWN
from services.selection import S, T, Period, customer_totals, orders_of, period_of, with_totals

COLUMNS = ["customers", "orders", "revenue"]
GROWTH_DAYS = 365


class Dimension(Enum):
    """Customer attributes a breakdown can split by, with their natural order (if any)."""

    FAMILY_STATUS = ("family_status", FAMILY_STATUSES)
    AGE_BRACKET = ("age_bracket", AGE_BRACKET_LABELS)
    PROFILE = ("profile", PROFILES)
    GENDER = ("gender", None)
    COUNTRY = ("country", None)

    @property
    def column(self):
        return S[self.value[0]]

    @property
    def order(self) -> tuple[str, ...] | None:
        return self.value[1]


def breakdown(connection: Connection, filters: Filters, options: FilterOptions, dimension: Dimension) -> pd.DataFrame:
    """One row per value of `dimension` with buyers: customers, orders, revenue, revenue share.

    Dimensions with a natural order keep it; the others are sorted by revenue, largest first.
    """
    period = period_of(filters, options)
    if period is None:
        return _empty(dimension.value[0])
    frame = _aggregate(connection, filters, period, dimension.column)
    frame["key"] = frame["key"].fillna(UNKNOWN)
    frame = frame.groupby("key", as_index=False, sort=False)[COLUMNS].sum()
    if dimension.order is not None:
        rank = {key: position for position, key in enumerate(dimension.order)}
        frame = frame.sort_values("key", key=lambda keys: keys.map(lambda k: rank.get(k, len(rank))))
    else:
        frame = frame.sort_values(["revenue", "key"], ascending=[False, True])
    return _with_shares(frame.reset_index(drop=True)).rename(columns={"key": dimension.value[0]})


def top_cities(connection: Connection, filters: Filters, options: FilterOptions, limit: int = 10) -> pd.DataFrame:
    """The cities with the most revenue in the period: city, country, customers, orders, revenue, share."""
    period = period_of(filters, options)
    if period is None:
        return _empty("city", "country")
    totals = _aggregate(connection, filters, period, S.city, S.country)
    frame = _with_shares(totals.rename(columns={"key": "city", "key2": "country"}))
    return frame.dropna(subset=["city"]).sort_values(["revenue", "city"], ascending=[False, True]).head(limit).reset_index(drop=True)


def leading_countries(connection: Connection, filters: Filters, options: FilterOptions, limit: int = 3) -> pd.DataFrame:
    """Per family status, the countries with the most revenue: family_status, country, revenue, share within the group."""
    period = period_of(filters, options)
    if period is None:
        return pd.DataFrame(columns=["family_status", "country", "revenue", "share"])
    frame = _aggregate(connection, filters, period, S.family_status, S.country).rename(
        columns={"key": "family_status", "key2": "country"})
    frame["share"] = frame["revenue"] / frame.groupby("family_status")["revenue"].transform("sum")
    frame = frame.sort_values(["family_status", "revenue"], ascending=[True, False])
    return frame.groupby("family_status").head(limit)[["family_status", "country", "revenue", "share"]].reset_index(drop=True)


def _aggregate(connection: Connection, filters: Filters, period: Period, *keys) -> pd.DataFrame:
    labels = ["key", "key2"][: len(keys)]
    totals = customer_totals(filters, period)
    query = with_totals(
        totals, *(key.label(label) for key, label in zip(keys, labels)),
        func.count().label("customers"), func.sum(totals.c.orders).label("orders"),
        func.sum(totals.c.revenue).label("revenue"),
    ).group_by(*keys)
    frame = pd.DataFrame(connection.execute(query).all(), columns=[*labels, *COLUMNS])
    return frame.astype({"customers": "int64", "orders": "int64", "revenue": "float64"})


def _with_shares(frame: pd.DataFrame) -> pd.DataFrame:
    total_customers, total_revenue = frame["customers"].sum(), frame["revenue"].sum()
    frame["customer_share"] = frame["customers"] / total_customers if total_customers else 0.0
    frame["revenue_share"] = frame["revenue"] / total_revenue if total_revenue else 0.0
    return frame


def _empty(*names: str) -> pd.DataFrame:
    return pd.DataFrame(columns=[*names, *COLUMNS, "customer_share", "revenue_share"])


def country_growth(connection: Connection, filters: Filters, options: FilterOptions) -> pd.DataFrame:
    """Revenue per country in the last 12 months of the period against the 12 months before.

    Columns: country, revenue, previous, change (fraction); empty when the data does not
    reach back two years from the period's end.
    """
    period = period_of(filters, options)
    columns = ["country", "revenue", "previous", "change"]
    if period is None:
        return pd.DataFrame(columns=columns)
    recent = Period(period.end - dt.timedelta(days=GROWTH_DAYS - 1), period.end, open_end=period.open_end)
    earlier = recent.previous()
    if not earlier.covered_by(options):
        return pd.DataFrame(columns=columns)
    window = Period(earlier.start, recent.end, open_end=period.open_end)
    query = orders_of(
        filters, window, S.country,
        func.sum(case((recent.contains(T.ordered_at), T.amount), else_=0.0)),
        func.sum(case((earlier.contains(T.ordered_at), T.amount), else_=0.0)),
        with_summary=True,
    ).group_by(S.country)
    frame = pd.DataFrame(connection.execute(query).all(), columns=columns[:3]).dropna(subset=["country"])
    frame = frame.astype({"revenue": "float64", "previous": "float64"})
    frame = frame[frame["previous"] > 0].assign(change=lambda f: f["revenue"] / f["previous"] - 1.0)
    return frame.sort_values(["change", "country"], ascending=[False, True]).reset_index(drop=True)
