"""Customers, orders and revenue of the period split by a customer attribute."""
from __future__ import annotations

import datetime as dt
from enum import Enum

import pandas as pd

from services.analytics.measures import sales_query
from services.analytics.warehouse import Warehouse
from services.filters import FilterOptions, Filters
from services.performance.cube import period_cube
from services.rules import AGE_BRACKET_LABELS, FAMILY_STATUSES, PROFILES, UNKNOWN
from services.selection import Period, period_of

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
    def column(self) -> str:
        return self.value[0]

    @property
    def order(self) -> tuple[str, ...] | None:
        return self.value[1]


def breakdown(warehouse: Warehouse, filters: Filters, options: FilterOptions, dimension: Dimension) -> pd.DataFrame:
    """One row per value of `dimension` with buyers: customers, orders, revenue, revenue share.

    Dimensions with a natural order keep it; the others are sorted by revenue, largest first.
    """
    cube = _cube(warehouse, filters, options)
    if cube is None:
        return _empty(dimension.column)
    keys = cube[dimension.column].fillna(UNKNOWN)
    frame = cube.groupby(keys, sort=False)[COLUMNS].sum().rename_axis("key").reset_index()
    if dimension.order is not None:
        rank = {key: position for position, key in enumerate(dimension.order)}
        frame = frame.sort_values("key", key=lambda values: values.map(lambda k: rank.get(k, len(rank))))
    else:
        frame = frame.sort_values(["revenue", "key"], ascending=[False, True])
    return _with_shares(frame.reset_index(drop=True)).rename(columns={"key": dimension.column})


def top_cities(warehouse: Warehouse, filters: Filters, options: FilterOptions, limit: int = 10) -> pd.DataFrame:
    """The cities with the most revenue in the period: city, country, customers, orders, revenue, share."""
    cube = _cube(warehouse, filters, options)
    if cube is None:
        return _empty("city", "country")
    frame = _with_shares(cube.groupby(["city", "country"], dropna=False)[COLUMNS].sum().reset_index())
    frame = frame.dropna(subset=["city"]).sort_values(["revenue", "city"], ascending=[False, True])
    return frame.head(limit).reset_index(drop=True)


def leading_countries(warehouse: Warehouse, filters: Filters, options: FilterOptions, limit: int = 3) -> pd.DataFrame:
    """Per family status, the countries with the most revenue: family_status, country (Unknown
    when missing), revenue, share within the group."""
    cube = _cube(warehouse, filters, options)
    if cube is None:
        return pd.DataFrame(columns=["family_status", "country", "revenue", "share"])
    frame = cube.assign(country=cube["country"].fillna(UNKNOWN)).groupby(["family_status", "country"])["revenue"]
    frame = frame.sum().reset_index()
    frame["share"] = frame["revenue"] / frame.groupby("family_status")["revenue"].transform("sum")
    frame = frame.sort_values(["family_status", "revenue"], ascending=[True, False])
    return frame.groupby("family_status").head(limit).reset_index(drop=True)


def _cube(warehouse: Warehouse, filters: Filters, options: FilterOptions) -> pd.DataFrame | None:
    """The period's cube, or None when there is no data or nobody bought."""
    period = period_of(filters, options)
    if period is None:
        return None
    cube = period_cube(warehouse, filters, period)
    return cube if len(cube) else None


def _with_shares(frame: pd.DataFrame) -> pd.DataFrame:
    total_customers, total_revenue = frame["customers"].sum(), frame["revenue"].sum()
    frame["customer_share"] = frame["customers"] / total_customers if total_customers else 0.0
    frame["revenue_share"] = frame["revenue"] / total_revenue if total_revenue else 0.0
    return frame


def _empty(*names: str) -> pd.DataFrame:
    return pd.DataFrame(columns=[*names, *COLUMNS, "customer_share", "revenue_share"])


def country_growth(warehouse: Warehouse, filters: Filters, options: FilterOptions) -> pd.DataFrame:
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
    selection = warehouse.selection(filters)
    windows = [sales_query(selection, window, ("cell",), name) for window, name in ((recent, "recent"),
                                                                                      (earlier, "earlier"))]
    frame = warehouse.frame(
        f"SELECT country, coalesce(sum(revenue) FILTER (recent), 0.0) AS revenue, "
        f"coalesce(sum(revenue) FILTER (NOT recent), 0.0) AS previous FROM "
        f"(SELECT cell, revenue, TRUE AS recent FROM ({windows[0][0]}) "
        f"UNION ALL SELECT cell, revenue, FALSE AS recent FROM ({windows[1][0]})) JOIN cells USING (cell) "
        f"WHERE country IS NOT NULL GROUP BY country", {**windows[0][1], **windows[1][1]})
    frame = frame[frame["previous"] > 0].assign(change=lambda f: f["revenue"] / f["previous"] - 1.0)
    return frame.sort_values(["change", "country"], ascending=[False, True]).reset_index(drop=True)[columns]
