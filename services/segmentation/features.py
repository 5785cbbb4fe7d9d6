"""The customer features the clustering lab offers, and the frame of them for the selected customers.

Every feature is one number per buyer (customers with at least one order), taken from the
derived customer summary as of the reference date (the latest order in the data):

| name | meaning |
|---|---|
| age | age in years (missing when unknown) |
| income | yearly income (missing when unknown) |
| recency_days | days from the last order to the reference date |
| frequency | number of orders |
| monetary | revenue (net of discounts) |
| avg_order_value | revenue / orders |
| orders_per_year | orders / max(tenure_days, 365) * 365 |
| tenure_days | days from the first order to the reference date |
| coupon_usage | share of orders paid with a coupon |
| discount_share | discount / (revenue + discount) |
| burn_rate | coupons burned / coupons claimed (0 for customers who never claimed one) |
| female | 1 for women, 0 for everyone else |
| clv_12m, p_alive, churn_risk | the value and churn models' scores (see services/value/) |
| share_<category> | the category's share of the customer's revenue (one per category, e.g. share_electronics) |
| city_<city> | 1 for customers living in the city, else 0 (one per city, e.g. city_new_york) |
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from services.analytics.warehouse import Warehouse
from services.filters import FilterOptions, Filters
from services.selection import period_of


@dataclass(frozen=True)
class Feature:
    name: str
    label: str
    sql: str  # a DuckDB expression over the snapshot's `customers` table


BASE_FEATURES: tuple[Feature, ...] = (
    Feature("age", "Age", "CAST(age AS DOUBLE)"),
    Feature("income", "Income", "income"),
    Feature("recency_days", "Recency (days)", "CAST(recency_days AS DOUBLE)"),
    Feature("frequency", "Orders", "CAST(orders AS DOUBLE)"),
    Feature("monetary", "Revenue", "revenue"),
    Feature("avg_order_value", "Average order value", "revenue / orders"),
    Feature("orders_per_year", "Orders per year", "orders / greatest(tenure_days, 365) * 365.0"),
    Feature("tenure_days", "Tenure (days)", "CAST(tenure_days AS DOUBLE)"),
    Feature("coupon_usage", "Coupon usage", "coupon_orders / orders"),
    Feature("discount_share", "Discount share", "CASE WHEN revenue + discount > 0 THEN discount / (revenue + discount) "
                                                "ELSE 0.0 END"),
    Feature("burn_rate", "Coupon burn rate", "CASE WHEN coupons_claimed > 0 THEN least(coupons_burned / coupons_claimed, "
                                             "1.0) ELSE 0.0 END"),
    Feature("female", "Female (1) or not (0)", "CASE WHEN gender = 'Female' THEN 1.0 ELSE 0.0 END"),
    Feature("clv_12m", "CLV, 12 months", "clv_12m"),
    Feature("p_alive", "Probability alive", "p_alive"),
    Feature("churn_risk", "Churn risk", "churn_risk"),
)
CATEGORY_PREFIX = "share_"
CITY_PREFIX = "city_"
# The coupons tab's shortcut into the lab: frequency, coupon habits and gender, plus its leading cities.
COUPON_FEATURES: tuple[str, ...] = ("frequency", "coupon_usage", "burn_rate", "female")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def category_feature_name(category: str) -> str:
    """`share_home_garden` for "Home & Garden": lower case, runs of other characters as one underscore."""
    return CATEGORY_PREFIX + _slug(category)


def city_feature_name(city: str) -> str:
    return CITY_PREFIX + _slug(city)


def category_features(warehouse: Warehouse) -> dict[str, str]:
    """Feature name -> category, for the categories in the snapshot."""
    rows = warehouse.memo("categories", lambda: warehouse.frame("SELECT category FROM categories ORDER BY 1"))
    return {category_feature_name(category): category for category in rows["category"]}


def city_features(warehouse: Warehouse) -> dict[str, str]:
    """Feature name -> city, for the customers' cities in the snapshot (the first city of a repeated slug)."""
    rows = warehouse.memo("cities", lambda: warehouse.frame(
        "SELECT DISTINCT city FROM cities WHERE city IS NOT NULL ORDER BY 1"))
    features: dict[str, str] = {}
    for city in rows["city"]:
        features.setdefault(city_feature_name(city), city)
    return features


def available_features(warehouse: Warehouse) -> dict[str, str]:
    """Every feature the lab offers: name -> label."""
    labels = {feature.name: feature.label for feature in BASE_FEATURES}
    labels.update({name: f"{category} share" for name, category in category_features(warehouse).items()})
    labels.update({name: f"Lives in {city}" for name, city in city_features(warehouse).items()})
    return labels


def selected_buyers(warehouse: Warehouse, filters: Filters, options: FilterOptions) -> tuple[str, dict]:
    """SQL condition on `customers` for the buyers the filters select (a date range: buyers in it)."""
    selection = warehouse.selection(filters)
    condition, params = f"orders > 0 AND {selection.where()}", {}
    period = period_of(filters, options)
    if period is not None and not (period.open_start and period.open_end):
        condition += (" AND customer_id IN (SELECT customer_id FROM orders WHERE day BETWEEN $start AND $end "
                      f"AND {selection.where()})")
        params = {"start": period.start, "end": period.end}
    return condition, params


def feature_frame(warehouse: Warehouse, filters: Filters, options: FilterOptions,
                  names: tuple[str, ...]) -> pd.DataFrame:
    """One row per selected buyer (index customer_id, ascending), one float column per feature."""
    base = {feature.name: feature.sql for feature in BASE_FEATURES}
    categories, cities = category_features(warehouse), city_features(warehouse)
    unknown = [name for name in names if name not in base and name not in categories and name not in cities]
    if unknown:
        raise ValueError(f"Unknown features: {', '.join(unknown)}.")
    condition, params = selected_buyers(warehouse, filters, options)
    columns = [f"{base[name]} AS {name}" for name in names if name in base]
    for index, name in enumerate(name for name in names if name in cities):
        params[f"city{index}"] = cities[name]
        columns.append(f"CASE WHEN city = $city{index} THEN 1.0 ELSE 0.0 END AS {name}")
    sums = ["NULL AS none"]
    for index, name in enumerate(name for name in names if name in categories):
        params[f"category{index}"] = categories[name]
        sums.append(f"sum(revenue) FILTER (WHERE category = $category{index}) AS {name}")
        columns.append(f"coalesce(mix.{name}, 0.0) / nullif(revenue, 0) AS {name}")
    frame = warehouse.frame(
        f"SELECT customer_id, {', '.join(columns)} FROM customers "
        f"LEFT JOIN (SELECT customer_id, {', '.join(sums)} FROM customer_categories GROUP BY customer_id) mix "
        f"USING (customer_id) WHERE {condition}", params)
    # Sorted here, not in SQL: at a million buyers DuckDB's sort would not fit a worker's memory limit.
    return frame.set_index("customer_id").sort_index()[list(names)].astype(float)


def profile_attributes(warehouse: Warehouse, customer_ids: pd.Index) -> pd.DataFrame:
    """gender, country, top_category and revenue of these customers (for the cluster profiles)."""
    warehouse.snapshot.register("wanted_customers", pd.DataFrame({"customer_id": customer_ids.astype("int64")}))
    try:
        frame = warehouse.frame("SELECT customer_id, gender, country, top_category, revenue FROM customers "
                                "WHERE customer_id IN (SELECT customer_id FROM wanted_customers) ORDER BY customer_id")
    finally:
        warehouse.snapshot.unregister("wanted_customers")
    return frame.set_index("customer_id").reindex(customer_ids)


def selected_buyer_ids(warehouse: Warehouse, filters: Filters, options: FilterOptions) -> list[int]:
    """The ids of the buyers the filters select (to save them as a segment)."""
    condition, params = selected_buyers(warehouse, filters, options)
    frame = warehouse.frame(f"SELECT customer_id FROM customers WHERE {condition} ORDER BY customer_id", params)
    return frame["customer_id"].astype(int).tolist()
