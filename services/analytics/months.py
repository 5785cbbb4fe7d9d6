"""Calendar months as numbers, and a day range split into whole months and the days around them.

Whole months are read from the monthly roll-ups; the partial months at either end from the
order facts. Months are numbered `year * 12 + month - 1`, as in the snapshot.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

DAY = dt.timedelta(days=1)


def month_number(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def month_start(number: int) -> dt.date:
    return dt.date(number // 12, number % 12 + 1, 1)


def month_end(number: int) -> dt.date:
    return month_start(number + 1) - DAY


@dataclass(frozen=True)
class MonthSplit:
    """`first_month`..`last_month` (None: no whole month) and the partial day ranges outside them."""

    first_month: int | None
    last_month: int | None
    partial_days: tuple[tuple[dt.date, dt.date], ...]

    @property
    def has_months(self) -> bool:
        return self.first_month is not None


def split_months(start: dt.date, end: dt.date, whole_months: bool = True) -> MonthSplit:
    """Days `start`..`end` as whole calendar months plus partial ranges (all partial unless `whole_months`)."""
    if end < start:
        return MonthSplit(None, None, ())
    first = month_number(start) + (start.day != 1)
    last = month_number(end) if (end + DAY).day == 1 else month_number(end) - 1
    if not whole_months or first > last:
        return MonthSplit(None, None, ((start, end),))
    partial = []
    if start < month_start(first):
        partial.append((start, month_start(first) - DAY))
    if end > month_end(last):
        partial.append((month_end(last) + DAY, end))
    return MonthSplit(first, last, tuple(partial))
