"""The coupon funnel of one batch: issued -> claimed -> burned, or claimed and expired, or never claimed."""
from __future__ import annotations

from types import MappingProxyType

import numpy as np

from services.demo.arrays import nullable
from services.demo.calendar import Calendar, sample_days
from services.demo.customers import Batch
from services.demo.groups import per_group
from services.demo.plan import DAY_SECONDS, PERIOD_START

EVENTS = ("issued", "claimed", "burned", "expired")  # also the order of events at the same moment
_RANK = MappingProxyType({event: i for i, event in enumerate(EVENTS)})

Part = tuple[np.ndarray, np.ndarray, np.ndarray, str, np.ndarray | int]  # customer, coupon, seconds, event, tx


def coupon_event_rows(rng: np.random.Generator, cal: Calendar, b: Batch, orders: dict[str, np.ndarray],
                      branch_rates: dict[int, tuple[float, float]]) -> dict[str, np.ndarray]:
    """`coupon_events` rows (without ids) in time order, for every coupon order and the coupons not used."""
    parts = _burned(rng, b, orders, cal) + _unused(rng, cal, b, orders, branch_rates)
    who = np.concatenate([p[0] for p in parts])
    code = np.concatenate([p[1] for p in parts])
    when = np.concatenate([p[2] for p in parts]).astype(np.int64)
    event = np.concatenate([np.full(len(p[0]), _RANK[p[3]]) for p in parts])
    tx = np.concatenate([np.broadcast_to(p[4], len(p[0])) for p in parts])
    order = np.lexsort((event, b.ids[who], when))
    return {
        "coupon_id": code[order] + 1,
        "customer_id": b.ids[who[order]],
        "branch_id": b.home_branch[who[order]],
        "event": np.array(EVENTS)[event[order]],
        "occurred_at": np.datetime64(PERIOD_START.isoformat(), "s") + when[order].astype("timedelta64[s]"),
        "transaction_id": nullable(tx[order], tx[order] >= 0),
    }


def _burned(rng: np.random.Generator, b: Batch, orders: dict[str, np.ndarray], cal: Calendar) -> list[Part]:
    """Every coupon order: issued and claimed before the order, burned on it."""
    cust, seconds, coupon = orders["_cust"], orders["_seconds"], orders["_coupon"]
    used = np.flatnonzero(coupon >= 0)
    c_used = coupon[used]
    t_burn = seconds[used]
    lo = np.maximum.reduce([cal.coupons["valid_from"][c_used] * DAY_SECONDS, t_burn - 30 * DAY_SECONDS,
                            b.signup[cust[used]] * DAY_SECONDS])
    t_issue = lo + np.floor(rng.random(len(used)) * 0.7 * (t_burn - lo)).astype(np.int64)
    t_claim = t_issue + 1 + np.floor(rng.random(len(used)) * (t_burn - t_issue - 2)).astype(np.int64)
    return [
        (cust[used], c_used, t_issue, "issued", -1),
        (cust[used], c_used, t_claim, "claimed", -1),
        (cust[used], c_used, t_burn, "burned", orders["id"][used]),
    ]


def _unused(rng: np.random.Generator, cal: Calendar, b: Batch, orders: dict[str, np.ndarray],
            branch_rates: dict[int, tuple[float, float]]) -> list[Part]:
    """Coupons claimed and not used (expiring), or issued and never claimed, at branch-specific rates."""
    specs, end = cal.coupons, cal.days - 1
    cust, seconds = orders["_cust"], orders["_seconds"]
    n = len(b.ids)
    counts = np.bincount(cust, minlength=n)
    first_index = np.searchsorted(cust, np.arange(n))
    buyers = np.flatnonzero(counts > 0)
    first_day = seconds[first_index[buyers]] // DAY_SECONDS
    last_day = seconds[first_index[buyers] + counts[buyers] - 1] // DAY_SECONDS
    home = b.home_branch[buyers]
    claim_rate = np.array([branch_rates[h][0] for h in range(1, len(branch_rates) + 1)])[home - 1]
    burn_rate = np.array([branch_rates[h][1] for h in range(1, len(branch_rates) + 1)])[home - 1]
    usage = per_group("coupon_use")[b.group[buyers]] * (b.top[buyers] < 0)
    burns = counts[buyers] * usage
    unused = rng.poisson(burns * (1 - burn_rate) / burn_rate)
    unclaimed = rng.poisson(burns / burn_rate * (1 - claim_rate) / claim_rate)

    def instances(k):
        who = np.repeat(np.arange(len(buyers)), k)
        day = sample_days(rng, cal, first_day[who], np.minimum(last_day[who] + 30, end))
        code = cal.quarter[day] * 2 + (rng.random(len(who)) < 0.4)
        t = day * DAY_SECONDS + 8 * 3600 + rng.integers(0, 12 * 3600, len(who))
        return buyers[who], code, t

    u_cust, u_code, u_issue = instances(unused)
    valid_end = (specs["valid_to"][u_code] + 1) * DAY_SECONDS - 1
    claim_span = np.minimum(14 * DAY_SECONDS, valid_end - u_issue - 120)
    u_claim = u_issue + 60 + np.floor(rng.random(len(u_cust)) * claim_span).astype(np.int64)
    expires = specs["valid_to"][u_code] < end
    n_cust, n_code, n_issue = instances(unclaimed)
    return [
        (u_cust, u_code, u_issue, "issued", -1),
        (u_cust, u_code, u_claim, "claimed", -1),
        (u_cust[expires], u_code[expires], valid_end[expires], "expired", -1),
        (n_cust, n_code, n_issue, "issued", -1),
    ]
