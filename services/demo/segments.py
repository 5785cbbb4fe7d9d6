"""When customers order: spans of days with an order count, by purchase rhythm and campaign lift."""
from __future__ import annotations

import datetime as dt

import numpy as np

from services.demo.calendar import Calendar, window_weight
from services.demo.catalog import PATTERN
from services.demo.customers import Batch
from services.demo.plan import AB_LIFT, AB_WINDOW, EMAIL_LIFT, EMAIL_WINDOW, PERIOD_END, PERIOD_START, day_index


class _Spans:
    """Collects (customer, first day, last day, orders) spans; spans without orders are dropped."""

    def __init__(self) -> None:
        self.parts: tuple[list, list, list, list] = ([], [], [], [])

    def add(self, rows: np.ndarray, lo, hi, count) -> None:
        keep = count > 0
        for part, values in zip(self.parts, (rows, lo, hi, count)):
            part.append(np.asarray(values)[keep])

    def arrays(self) -> tuple[np.ndarray, ...]:
        return tuple(np.concatenate(part) for part in self.parts)


def order_segments(rng: np.random.Generator, cal: Calendar, b: Batch) -> tuple[np.ndarray, ...]:
    """(customer, first day, last day, orders) spans from which the order days are drawn."""
    spans = _Spans()
    end = cal.days - 1
    start = np.maximum(b.signup, 0)
    _one_time(rng, spans, b, start, end)
    _new(rng, spans, b, start, end)
    _occasional(rng, spans, b, start, end)
    _periodic(rng, spans, b, start, end)
    _loyal(rng, spans, cal, b, end)
    _campaign_lift(rng, spans, cal, b)
    r = np.flatnonzero(b.top == 0)  # the latest order of the data set: the reference date
    spans.add(r, np.full(len(r), end), np.full(len(r), end), np.ones(len(r), int))
    return spans.arrays()


def _one_time(rng: np.random.Generator, spans: _Spans, b: Batch, start: np.ndarray, end: int) -> None:
    rows = np.flatnonzero(b.pattern == PATTERN["one_time"])
    day = np.minimum(start[rows] + rng.exponential(45.0, len(rows)).astype(int), end - 92)
    spans.add(rows, day, day, np.ones(len(rows), int))


def _new(rng: np.random.Generator, spans: _Spans, b: Batch, start: np.ndarray, end: int) -> None:
    rows = np.flatnonzero(b.pattern == PATTERN["new"])
    spans.add(rows, np.maximum(start[rows], end - 89), np.full(len(rows), end), 1 + rng.poisson(0.6, len(rows)))


def _occasional(rng: np.random.Generator, spans: _Spans, b: Batch, start: np.ndarray, end: int) -> None:
    rows = np.flatnonzero(b.pattern == PATTERN["occasional"])
    s = start[rows] + (rng.random(len(rows)) * (end - 420 - start[rows])).astype(int)
    e = np.minimum(s + 60 + rng.integers(0, 480, len(rows)), end - 370)
    spans.add(rows, s, np.maximum(e, s), 2 + rng.poisson(1.2, len(rows)))


def _periodic(rng: np.random.Generator, spans: _Spans, b: Batch, start: np.ndarray, end: int) -> None:
    """Orders in three or four calendar years since signup, one or two a year."""
    rows = np.flatnonzero(b.pattern == PATTERN["periodic"])
    years = np.arange(PERIOD_START.year, PERIOD_END.year + 1)
    signup_year = (np.datetime64(PERIOD_START.isoformat(), "D") + b.signup[rows].astype("timedelta64[D]")
                   ).astype("datetime64[Y]").astype(int) + 1970
    priority = np.where(years[None, :] >= signup_year[:, None], rng.random((len(rows), len(years))), -1.0)
    wanted = np.where(rng.random(len(rows)) < 0.6, 3, 4)
    rank = (-priority).argsort(axis=1).argsort(axis=1)
    chosen = (rank < wanted[:, None]) & (priority >= 0)
    for j, y in enumerate(years):
        r = rows[chosen[:, j]]
        y_lo = np.maximum(day_index(dt.date(y, 1, 1)), start[r])
        y_hi = np.full(len(r), min(day_index(dt.date(y, 12, 31)), end))
        spans.add(r, y_lo, np.maximum(y_hi, y_lo), 1 + rng.poisson(0.4, len(r)))


def _loyal(rng: np.random.Generator, spans: _Spans, cal: Calendar, b: Batch, end: int) -> None:
    """Orders at the customer's own rate from the start of the loyal rhythm to the end."""
    rows = np.flatnonzero(b.pattern == PATTERN["loyal"])
    first = b.active_from[rows]
    expected = b.rate[rows] * window_weight(cal, first, np.full(len(rows), end))
    spans.add(rows, first, np.full(len(rows), end), np.maximum(1, rng.poisson(expected)))


def _campaign_lift(rng: np.random.Generator, spans: _Spans, cal: Calendar, b: Batch) -> None:
    """Extra orders of treated customers inside the campaign windows."""
    for variant, window, lift in ((b.ab_variant, AB_WINDOW, AB_LIFT), (b.email_variant, EMAIL_WINDOW, EMAIL_LIFT)):
        r = np.flatnonzero(variant == 2)
        w_lo, w_hi = day_index(window[0]), day_index(window[1])
        extra = rng.poisson(lift * b.rate[r] * window_weight(cal, w_lo, w_hi))
        spans.add(r, np.full(len(r), w_lo), np.full(len(r), w_hi), extra)
