"""Day-level facts over the demo period: seasonal order weights, Black Friday weeks, coupon validity."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from services.demo.plan import LOYALTY, LOYALTY_WINDOW, PERIOD_END, PERIOD_START, day_index


@dataclass(frozen=True)
class Calendar:
    """Day-level facts over the period; day 0 is PERIOD_START."""

    days: int
    month: np.ndarray  # 1..12
    quarter: np.ndarray  # 0.. (quarters since the start)
    year: np.ndarray  # calendar year
    cumulative: np.ndarray  # cumulative order weight, len days + 1
    year_weight: float  # average weight of one year
    black_friday: np.ndarray  # index into black-friday coupons, -1 outside
    coupons: dict[str, np.ndarray]  # per coupon: valid_from/valid_to day, pct, amount, campaign


def build_calendar() -> Calendar:
    days = day_index(PERIOD_END) + 1
    dates = np.datetime64(PERIOD_START.isoformat(), "D") + np.arange(days)
    year = dates.astype("datetime64[Y]").astype(int) + 1970
    month = dates.astype("datetime64[M]").astype(int) % 12 + 1
    dow = (dates.astype(int) + 3) % 7  # 0 = Monday
    season = np.array([0.85, 0.80, 0.90, 0.92, 0.95, 0.95, 0.97, 0.98, 0.93, 1.00, 1.45, 1.70])
    weekday = np.array([0.85, 0.85, 0.90, 0.95, 1.10, 1.35, 1.20])
    weight = season[month - 1] * weekday[dow]
    black_friday = _holidays(weight)
    cumulative = np.concatenate([[0.0], np.cumsum(weight)])
    quarter = (year - PERIOD_START.year) * 4 + (month - 1) // 3
    return Calendar(
        days=days, month=month, quarter=quarter, year=year, cumulative=cumulative,
        year_weight=float(cumulative[-1]) / (days / 365.25), black_friday=black_friday,
        coupons=_coupon_specs(black_friday, quarter),
    )


def _holidays(weight: np.ndarray) -> np.ndarray:
    """Scale the day weights around Black Friday, Christmas and New Year; returns the Black Friday weeks."""
    black_friday = np.full(len(weight), -1)
    for i, y in enumerate(range(PERIOD_START.year, PERIOD_END.year + 1)):
        november = dt.date(y, 11, 1)
        thanksgiving = november + dt.timedelta(days=(3 - november.weekday()) % 7 + 21)
        friday = day_index(thanksgiving) + 1
        weight[friday - 6:friday] *= 1.3
        weight[friday] *= 2.4
        weight[friday + 3] *= 1.9  # Cyber Monday
        black_friday[friday - 7:friday + 4] = i
        weight[day_index(dt.date(y, 12, 25))] *= 0.3
        weight[day_index(dt.date(y, 1, 1))] *= 0.5
    return black_friday


def _coupon_specs(black_friday: np.ndarray, quarter: np.ndarray) -> dict[str, np.ndarray]:
    """Two coupons per quarter (10% and 15 off), one per Black Friday, one for the loyalty campaign."""
    codes, start, end, pct, amount, campaign = [], [], [], [], [], []
    for q in range(int(quarter.max()) + 1):
        days = np.flatnonzero(quarter == q)
        y, n = PERIOD_START.year + q // 4, q % 4 + 1
        for code, p, a in ((f"SAVE10-{y}Q{n}", 10.0, np.nan), (f"TAKE15-{y}Q{n}", np.nan, 15.0)):
            codes.append(code), start.append(days[0]), end.append(days[-1])
            pct.append(p), amount.append(a), campaign.append("")
    for i in range(int(black_friday.max()) + 1):
        days = np.flatnonzero(black_friday == i)
        codes.append(f"BLACKFRIDAY{PERIOD_START.year + i}"), start.append(days[0]), end.append(days[-1])
        pct.append(25.0), amount.append(np.nan), campaign.append("")
    codes.append("LOYAL10-2023"), start.append(day_index(LOYALTY_WINDOW[0])), end.append(day_index(LOYALTY_WINDOW[1]))
    pct.append(10.0), amount.append(np.nan), campaign.append(LOYALTY)
    return {
        "code": np.array(codes), "valid_from": np.array(start), "valid_to": np.array(end),
        "pct": np.array(pct), "amount": np.array(amount), "campaign": np.array(campaign),
    }


def sample_days(rng: np.random.Generator, cal: Calendar, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """One day per row in [lo, hi] (inclusive), following the seasonal and weekly rhythm."""
    c = cal.cumulative
    target = c[lo] + rng.random(len(lo)) * (c[hi + 1] - c[lo])
    day = np.searchsorted(c, target, side="right") - 1
    return np.clip(day, lo, hi)


def window_weight(cal: Calendar, lo: np.ndarray | int, hi: np.ndarray | int) -> np.ndarray:
    """Expected orders in [lo, hi] of a customer buying once a year on average."""
    return (cal.cumulative[np.asarray(hi) + 1] - cal.cumulative[np.asarray(lo)]) / cal.year_weight
