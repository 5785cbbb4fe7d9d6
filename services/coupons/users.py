"""Who uses coupons: the period's coupon users against the other buyers, by customer attribute.

Coupon users burned at least one coupon in the period (at the focus branches); other buyers
ordered in the period and burned none there.
"""
from __future__ import annotations

import pandas as pd

from services.analytics.warehouse import Warehouse
from services.coupons.view import CouponView, first_orders_in
from services.rules import AGE_BRACKET_LABELS, PROFILES, UNKNOWN

COUPON_USERS, OTHERS = "Coupon users", "Other buyers"
ATTRIBUTES = ("gender", "age_bracket", "profile", "rfm_segment", "city")
ORDERS = {"age_bracket": AGE_BRACKET_LABELS, "profile": PROFILES}
COLUMNS = ["group", "value", "customers", "share"]


def user_attributes(warehouse: Warehouse, view: CouponView) -> pd.DataFrame:
    """group, gender, age_bracket, profile, rfm_segment, city, country, customers: one row per combination.

    Counted by attribute cell and city code, named after: far fewer groups to hash than names."""
    return warehouse.frame(
        f"WITH users AS (SELECT DISTINCT customer_id FROM coupon_events WHERE event = 'burned' AND {view.where}), "
        f"buyers AS (SELECT customer_id FROM orders WHERE {first_orders_in(view, 'start', 'end')} "
        f"UNION SELECT customer_id FROM users), "
        f"counted AS (SELECT u.customer_id IS NOT NULL AS coupon_user, c.cell, c.city_id, c.rfm_segment, "
        f"count(*) AS customers FROM buyers JOIN customers c USING (customer_id) "
        f"LEFT JOIN users u USING (customer_id) GROUP BY ALL) "
        f"SELECT CASE WHEN coupon_user THEN '{COUPON_USERS}' ELSE '{OTHERS}' END AS \"group\", cells.gender, "
        f"cells.age_bracket, cells.profile, counted.rfm_segment, cities.city, cities.country, "
        f"CAST(sum(customers) AS BIGINT) AS customers FROM counted JOIN cells USING (cell) JOIN cities USING (city_id) GROUP BY ALL",
        view.params)


def split_by(attributes: pd.DataFrame, attribute: str, limit: int | None = None) -> pd.DataFrame:
    """group, value, customers, share (within the group) for one attribute; both groups get every value.

    Values with a natural order keep it, the others go by coupon users, most first; `limit`
    keeps the values with the most coupon users.
    """
    if attribute not in ATTRIBUTES:
        raise ValueError(f"Unknown attribute {attribute!r}.")
    if attributes.empty:
        return pd.DataFrame(columns=COLUMNS)
    values = attributes[attribute].fillna(UNKNOWN)
    table = (attributes.groupby([attributes["group"], values])["customers"].sum()
             .unstack("group", fill_value=0).reindex(columns=[COUPON_USERS, OTHERS], fill_value=0))
    table = table.sort_values(COUPON_USERS, ascending=False, kind="stable")
    if limit is not None:
        table = table.head(limit)
    order = ORDERS.get(attribute)
    if order is not None:
        table = table.reindex([v for v in order if v in table.index] + [v for v in table.index if v not in order])
    totals = attributes.groupby("group")["customers"].sum()
    frame = table.rename_axis("value").reset_index().melt(id_vars="value", var_name="group", value_name="customers")
    frame["share"] = frame["customers"] / frame["group"].map(totals).where(lambda t: t > 0)
    return frame[COLUMNS].astype({"customers": "int64"})


def group_sizes(attributes: pd.DataFrame) -> dict[str, int]:
    sizes = attributes.groupby("group")["customers"].sum() if not attributes.empty else pd.Series(dtype="int64")
    return {group: int(sizes.get(group, 0)) for group in (COUPON_USERS, OTHERS)}
