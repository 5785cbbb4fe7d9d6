"""A period's buyers and sales per attribute cell and city: what the KPIs and breakdowns add up."""
from __future__ import annotations

import pandas as pd

from services.analytics.measures import BUYER_COLUMNS, buyers, sales
from services.analytics.warehouse import Warehouse
from services.filters import Filters
from services.selection import Period

KEYS = ("cell", "city_id")
ATTRIBUTES = ["country", "gender", "age_bracket", "family_status", "profile", "city"]


def period_cube(warehouse: Warehouse, filters: Filters, period: Period) -> pd.DataFrame:
    """One row per cell and city with buyers in the period: the attributes, customers, age_sum,
    age_n, repeaters, orders and revenue. Distinct customers add up across rows: every customer
    lies in exactly one cell and city. Computed once per warehouse."""
    return warehouse.memo(("period-cube", filters, period), lambda: _cube(warehouse, filters, period))


def _cube(warehouse: Warehouse, filters: Filters, period: Period) -> pd.DataFrame:
    selection = warehouse.selection(filters)
    counts = buyers(warehouse, selection, period, KEYS)
    money = sales(warehouse, selection, period, KEYS)[[*KEYS, "orders", "revenue"]]
    cube = counts.merge(money, on=list(KEYS), how="outer").fillna(
        {**{column: 0 for column in BUYER_COLUMNS}, "orders": 0, "revenue": 0.0})
    cube = cube[cube["customers"] > 0].astype({column: "int64" for column in ["customers", "age_n", "repeaters", "orders"]})
    return cube.merge(cells(warehouse), on="cell", how="left").merge(
        warehouse.memo("cities", lambda: warehouse.frame("SELECT city_id, city FROM cities")), on="city_id", how="left")


def period_totals(warehouse: Warehouse, filters: Filters, period: Period) -> pd.Series:
    """The cube's sums without the split by cell: customers, age_sum, age_n, repeaters, orders, revenue."""
    selection = warehouse.selection(filters)
    counts = buyers(warehouse, selection, period, ())
    money = sales(warehouse, selection, period, ())
    return pd.concat([counts.iloc[0], money.iloc[0][["orders", "revenue"]]])


def cells(warehouse: Warehouse) -> pd.DataFrame:
    """Every attribute cell with its attribute values."""
    return warehouse.memo("cells", lambda: warehouse.frame(
        "SELECT cell, country, gender, age_bracket, family_status, profile FROM cells"))
