"""Per coupon and per campaign: claims, burns, burn rate, revenue, discount cost and the margin left."""
from __future__ import annotations

import pandas as pd

from services.analytics.warehouse import Warehouse
from services.coupons.funnel import by_burns, event_counts_sql, money_sql
from services.coupons.view import EVENTS, CouponView

NO_CAMPAIGN = "No campaign"
MONEY = ["coupon_orders", "revenue", "discount", "margin"]
RATES = ["burn_rate", "margin_rate"]
COUPON_COLUMNS = ["coupon_id", "code", "campaign", "offer", "valid_from", "valid_to", *EVENTS, *RATES[:1], *MONEY,
                  *RATES[1:]]
CAMPAIGN_COLUMNS = ["campaign", "coupons", *EVENTS, *RATES[:1], *MONEY, *RATES[1:]]


def coupon_table(warehouse: Warehouse, view: CouponView) -> pd.DataFrame:
    """One row per coupon with events or orders in the period, most burns first.

    margin = revenue - cost of the coupon orders (revenue is already net of the discount);
    margin_rate = margin / revenue.
    """
    frame = warehouse.frame(
        f"SELECT k.coupon_id, k.code, coalesce(k.campaign, '{NO_CAMPAIGN}') AS campaign, k.discount_pct, "
        f"k.discount_amount, k.valid_from, k.valid_to, "
        f"{', '.join(f'coalesce(e.{c}, 0) AS {c}' for c in EVENTS)}, {', '.join(f'coalesce(m.{c}, 0) AS {c}' for c in MONEY)} "
        f"FROM ({event_counts_sql(view.where, 'coupon_id')}) e "
        f"FULL JOIN ({money_sql(view.where, 'coupon_id')}) m USING (coupon_id) JOIN coupons k USING (coupon_id)",
        view.params)
    frame["offer"] = [_offer(pct, amount) for pct, amount in zip(frame["discount_pct"], frame["discount_amount"])]
    return _finished(frame, ["code"])[COUPON_COLUMNS]


def campaign_table(coupons: pd.DataFrame) -> pd.DataFrame:
    """The coupon table summed per campaign (coupons without one under "No campaign")."""
    if coupons.empty:
        return pd.DataFrame(columns=CAMPAIGN_COLUMNS)
    frame = coupons.groupby("campaign", as_index=False).agg(coupons=("coupon_id", "count"),
                                                            **{c: (c, "sum") for c in [*EVENTS, *MONEY]})
    return _finished(frame, ["campaign"])[CAMPAIGN_COLUMNS]


def _offer(pct, amount) -> str:
    parts = [f"{pct:g}% off" if pd.notna(pct) else None, f"${amount:g} off" if pd.notna(amount) else None]
    return " + ".join(part for part in parts if part) or "–"


def _finished(frame: pd.DataFrame, ties: list[str]) -> pd.DataFrame:
    frame = by_burns(frame, ties)
    frame["margin_rate"] = frame["margin"] / frame["revenue"].where(frame["revenue"] != 0)
    return frame
