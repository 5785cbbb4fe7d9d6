"""Coupon events and money per branch and per city, with the branches that burn few of their claims flagged."""
from __future__ import annotations

import pandas as pd

from services.analytics.warehouse import Warehouse
from services.coupons.funnel import by_burns, event_counts_sql, money_sql
from services.coupons.view import EVENTS, CouponView

# A branch is flagged when it burns under this share of the network's burn rate, on enough claims to tell.
LOW_BURN_RATIO = 0.75
MIN_CLAIMS = 30
MONEY = ["coupon_orders", "revenue", "discount", "margin"]
COLUMNS = ["branch_id", "branch", "city", "country", *EVENTS, "claim_rate", "burn_rate", *MONEY, "low_burn"]


def branch_table(warehouse: Warehouse, view: CouponView) -> pd.DataFrame:
    """One row per branch with coupon activity in the period, most burns first (events without a branch are left out)."""
    frame = warehouse.frame(
        f"SELECT b.branch_id, b.branch, b.city, b.country, {', '.join(f'coalesce(e.{c}, 0) AS {c}' for c in EVENTS)}, "
        f"{', '.join(f'coalesce(m.{c}, 0) AS {c}' for c in MONEY)} "
        f"FROM ({event_counts_sql(view.where, 'branch_id')}) e "
        f"FULL JOIN ({money_sql(view.where, 'branch_id')}) m USING (branch_id) "
        f"JOIN branches b USING (branch_id)", view.params)
    return _finished(frame, ["branch", "city"])


def city_table(branches: pd.DataFrame) -> pd.DataFrame:
    """The branch table summed per city (city, country, counts, money, rates, low_burn)."""
    if branches.empty:
        return pd.DataFrame(columns=[c for c in COLUMNS if c not in ("branch_id", "branch")])
    frame = branches.groupby(["city", "country"], as_index=False, dropna=False)[[*EVENTS, *MONEY]].sum()
    return _finished(frame, ["city"])


def _finished(frame: pd.DataFrame, ties: list[str]) -> pd.DataFrame:
    """Rates and the low-burn flag added, most burns first."""
    frame = by_burns(frame, ties)
    frame["claim_rate"] = frame["claimed"] / frame["issued"].where(frame["issued"] > 0)
    claimed = frame["claimed"].sum()
    network = frame["burned"].sum() / claimed if claimed else float("nan")
    frame["low_burn"] = (frame["claimed"] >= MIN_CLAIMS) & (frame["burn_rate"] < LOW_BURN_RATIO * network)
    return frame[[column for column in COLUMNS if column in frame.columns]]


def branch_list(warehouse: Warehouse) -> pd.DataFrame:
    """Every branch: branch_id, branch, city, country."""
    return warehouse.frame("SELECT branch_id, branch, city, country FROM branches ORDER BY branch_id")
