"""A day range split into whole months and partial ranges covers every day exactly once."""
from __future__ import annotations

import datetime as dt
import random

import pytest

from services.analytics.months import month_end, month_number, month_start, split_months

DAY = dt.timedelta(days=1)


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + DAY * offset for offset in range((end - start).days + 1)]


def _covered(split) -> list[dt.date]:
    days = []
    if split.has_months:
        for number in range(split.first_month, split.last_month + 1):
            days += _days(month_start(number), month_end(number))
    for first, last in split.partial_days:
        days += _days(first, last)
    return sorted(days)


def test_random_ranges_are_covered_exactly_once():
    rng = random.Random(3)
    for _ in range(500):
        start = dt.date(2019, 12, 1) + DAY * rng.randrange(1600)
        end = start + DAY * rng.randrange(800)
        split = split_months(start, end)
        assert _covered(split) == _days(start, end)
        assert len(split.partial_days) <= 2
        if split.has_months:  # then the partial ranges are the ends of the neighbouring months
            assert all(month_number(first) == month_number(last) for first, last in split.partial_days)


@pytest.mark.parametrize("start, end, months, partial", [
    (dt.date(2023, 1, 1), dt.date(2023, 12, 31), (2023 * 12, 2023 * 12 + 11), ()),
    (dt.date(2023, 3, 17), dt.date(2023, 5, 9), (2023 * 12 + 3, 2023 * 12 + 3),
     ((dt.date(2023, 3, 17), dt.date(2023, 3, 31)), (dt.date(2023, 5, 1), dt.date(2023, 5, 9)))),
    (dt.date(2023, 5, 11), dt.date(2023, 5, 20), (None, None), ((dt.date(2023, 5, 11), dt.date(2023, 5, 20)),)),
    (dt.date(2024, 2, 1), dt.date(2024, 2, 29), (2024 * 12 + 1, 2024 * 12 + 1), ()),
])
def test_examples(start, end, months, partial):
    split = split_months(start, end)
    assert (split.first_month, split.last_month) == months and split.partial_days == partial


def test_without_whole_months_everything_is_partial_and_empty_ranges_are_empty():
    assert split_months(dt.date(2023, 1, 1), dt.date(2023, 12, 31), whole_months=False).partial_days == (
        (dt.date(2023, 1, 1), dt.date(2023, 12, 31)),)
    assert split_months(dt.date(2023, 2, 1), dt.date(2023, 1, 31)).partial_days == ()
