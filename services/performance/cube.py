"""A period's buyers and sales per attribute cell and city: what the KPIs and breakdowns add up."""
from __future__ import annotations

import pandas as pd

from services.analytics.measures import buyers, buyers_query, sales, sales_query
from services.analytics.warehouse import Warehouse
from services.filters import Filters
from services.selection import Period

KEYS = ("cell", "city_id")


def period_cube(warehouse: Warehouse, filters: Filters, period: Period) -> pd.DataFrame:
    """One row per cell and city with buyers in the period: customers, age_sum, age_n, repeaters,
    orders, revenue and the attributes (country, gender, age_bracket, family_status, profile,
    city). Distinct customers add up across rows: every customer lies in exactly one cell and
    city. Computed once per warehouse."""
    return warehouse.memo(("period-cube", filters, period), lambda: _cube(warehouse, filters, period))


def _cube(warehouse: Warehouse, filters: Filters, period: Period) -> pd.DataFrame:
    selection = warehouse.selection(filters)
    counted, counted_params = buyers_query(selection, period, KEYS)
    sold, sold_params = sales_query(selection, period, KEYS)
    # Every order's customer is a buyer of the period in the same cell and city.
    return warehouse.frame(
        f"WITH b AS ({counted}), s AS ({sold}) "
        f"SELECT b.*, coalesce(s.orders, 0) AS orders, coalesce(s.revenue, 0.0) AS revenue, cells.country, "
        f"cells.gender, cells.age_bracket, cells.family_status, cells.profile, cities.city "
        f"FROM b LEFT JOIN s USING (cell, city_id) JOIN cells USING (cell) JOIN cities USING (city_id) "
        f"WHERE b.customers > 0", {**counted_params, **sold_params})


def period_totals(warehouse: Warehouse, filters: Filters, period: Period) -> pd.Series:
    """The cube's sums without the split by cell: customers, age_sum, age_n, repeaters, orders, revenue."""
    selection = warehouse.selection(filters)
    counts = buyers(warehouse, selection, period, ())
    money = sales(warehouse, selection, period, ())
    return pd.concat([counts.iloc[0], money.iloc[0][["orders", "revenue"]]])
