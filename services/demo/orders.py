"""Transactions of one batch: days, categories, channels, coupons, branches and amounts."""
from __future__ import annotations

import numpy as np

from services.demo.arrays import nullable, weighted_choice
from services.demo.calendar import Calendar, sample_days
from services.demo.catalog import CATEGORIES, CHANNELS, COUNTRIES, HOURS, PATTERN, TOYS
from services.demo.customers import Batch
from services.demo.groups import per_group
from services.demo.plan import (
    AB_DISCOUNT_PCT,
    AB_TEST,
    AB_WINDOW,
    DAY_SECONDS,
    EMAIL,
    EMAIL_WINDOW,
    LOYALTY,
    PERIOD_START,
    day_index,
)
from services.demo.segments import order_segments


def order_rows(rng: np.random.Generator, cal: Calendar, b: Batch, first_tx: int, campaign_ids: dict[str, int],
               branch_rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """`transactions` rows ordered by customer and time, plus helper columns (named `_...`) not written."""
    seg_cust, seg_lo, seg_hi, seg_n = order_segments(rng, cal, b)
    cust = np.repeat(seg_cust, seg_n)
    day = sample_days(rng, cal, np.repeat(seg_lo, seg_n), np.repeat(seg_hi, seg_n))
    m = len(cust)
    group = b.group[cust]

    category = weighted_choice(rng, per_group("categories"), group)
    holiday = (cal.month[day] >= 11) & (rng.random(m) < 0.12)
    category[holiday] = TOYS
    channel = weighted_choice(rng, per_group("channels"), group)

    in_ab = (day >= day_index(AB_WINDOW[0])) & (day <= day_index(AB_WINDOW[1])) & (b.ab_variant[cust] == 2)
    in_email = ((day >= day_index(EMAIL_WINDOW[0])) & (day <= day_index(EMAIL_WINDOW[1]))
                & (b.email_variant[cust] == 2))
    uses, coupon, take_loyal = _coupons(rng, cal, b, cust, day, in_ab)
    channel[uses] = 0  # coupons are redeemed at the home branch
    seconds = _seconds(rng, day, channel)
    branch = _branches(rng, b, cust, uses, branch_rows)
    amount, discount, cost, quantity = _money(rng, cal, b.spend[cust], category, uses, coupon, in_ab)

    campaign = np.full(m, -1)
    campaign[in_email] = campaign_ids[EMAIL]
    campaign[in_ab] = campaign_ids[AB_TEST]
    campaign[take_loyal & uses] = campaign_ids[LOYALTY]

    order = np.lexsort((seconds, cust))
    ids = first_tx + np.arange(m)
    store = channel == 0
    return {
        "id": ids,
        "external_id": np.strings.add("T", np.strings.zfill(ids.astype("U"), 9)),
        "customer_id": b.ids[cust[order]],
        "ordered_at": np.datetime64(PERIOD_START.isoformat(), "s") + seconds[order].astype("timedelta64[s]"),
        "amount": amount[order],
        "discount": discount[order],
        "cost": cost[order],
        "quantity": quantity[order],
        "category": np.array([c[0] for c in CATEGORIES])[category[order]],
        "channel": np.array(CHANNELS)[channel[order]],
        "branch_id": nullable(branch[order], store[order]),
        "campaign_id": nullable(campaign[order], campaign[order] >= 0),
        "coupon_id": nullable(coupon[order] + 1, coupon[order] >= 0),
        # helpers for the coupon events and surveys, not written
        "_cust": cust[order],
        "_seconds": seconds[order],
        "_coupon": coupon[order],
    }


def _coupons(rng: np.random.Generator, cal: Calendar, b: Batch, cust: np.ndarray, day: np.ndarray,
             in_ab: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which orders use a coupon, which coupon (index, -1 for none; one valid on the day), which the loyalty one."""
    m = len(cust)
    coupon_use = per_group("coupon_use")[b.group[cust]]
    coupon_use[b.top[cust] >= 0] = 0.0
    uses = (rng.random(m) < coupon_use) & ~in_ab
    specs = cal.coupons
    n_quarter_coupons = 2 * (int(cal.quarter.max()) + 1)
    coupon = cal.quarter[day] * 2 + (rng.random(m) < 0.4)  # SAVE10 or TAKE15 of the quarter
    bf = cal.black_friday[day]
    take_bf = (bf >= 0) & (rng.random(m) < 0.7)
    coupon = np.where(take_bf, n_quarter_coupons + bf, coupon)
    loyalty_code = len(specs["code"]) - 1
    take_loyal = ((day >= specs["valid_from"][loyalty_code]) & (b.pattern[cust] == PATTERN["loyal"])
                  & ~take_bf & (rng.random(m) < 0.5))
    coupon = np.where(take_loyal, loyalty_code, coupon)
    return uses, np.where(uses, coupon, -1), take_loyal


def _seconds(rng: np.random.Generator, day: np.ndarray, channel: np.ndarray) -> np.ndarray:
    """Seconds since the start of the period, at hours typical of each channel."""
    hour = np.zeros(len(day), int)
    for ci, ch in enumerate(CHANNELS):
        rows = np.flatnonzero(channel == ci)
        w = np.array(HOURS[ch], float)
        hour[rows] = rng.choice(24, len(rows), p=w / w.sum())
    return day.astype(np.int64) * DAY_SECONDS + hour * 3600 + rng.integers(0, 3600, len(day))


def _branches(rng: np.random.Generator, b: Batch, cust: np.ndarray, uses: np.ndarray,
              branch_rows: dict[str, np.ndarray]) -> np.ndarray:
    """Mostly the home branch, sometimes another in the country; always the home branch with a coupon."""
    in_country = (branch_rows["country_index"][None, :] == np.arange(len(COUNTRIES))[:, None]).astype(float)
    elsewhere = branch_rows["id"][weighted_choice(rng, in_country, b.country[cust])]
    branch = np.where(rng.random(len(cust)) < 0.85, b.home_branch[cust], elsewhere)
    return np.where(uses, b.home_branch[cust], branch)


def _money(rng: np.random.Generator, cal: Calendar, spend: np.ndarray, category: np.ndarray, uses: np.ndarray,
           coupon: np.ndarray, in_ab: np.ndarray) -> tuple[np.ndarray, ...]:
    """Net amount, discount, cost and quantity of each order."""
    m = len(category)
    specs = cal.coupons
    price = np.array([c[1] for c in CATEGORIES])[category]
    margin = np.array([c[2] for c in CATEGORIES])[category] * rng.uniform(0.8, 1.2, m)
    gross = np.clip(price * spend * rng.lognormal(0.0, 0.45, m), 3.0, 5000.0)
    cost = np.round(gross * (1.0 - margin), 2)
    gross = np.round(gross, 2)
    pct = np.where(uses, np.nan_to_num(specs["pct"][coupon]), 0.0)
    fixed = np.where(uses, np.nan_to_num(specs["amount"][coupon]), 0.0)
    discount = np.where(uses, np.minimum(gross * pct / 100.0 + fixed, gross * 0.5), 0.0)
    discount = np.where(in_ab, gross * AB_DISCOUNT_PCT / 100.0, discount)
    discount = np.round(discount, 2)
    quantity = 1 + rng.poisson(np.array([c[3] for c in CATEGORIES])[category])
    return np.round(gross - discount, 2), discount, cost, quantity
