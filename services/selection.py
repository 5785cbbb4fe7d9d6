"""The period the filters select: whole days, with open ends standing for the edges of the data."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services.filters import FilterOptions, Filters


@dataclass(frozen=True)
class Period:
    """Whole days from `start` to `end`, both included.

    `open_start`/`open_end` mark ends at or beyond the edge of the data: the per-customer
    milestones then answer what would otherwise take a scan of the period's orders.
    """

    start: dt.date
    end: dt.date
    open_start: bool = False
    open_end: bool = False

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> "Period":
        """The period of equal length that ends the day before this one starts."""
        end = self.start - dt.timedelta(days=1)
        return Period(end - dt.timedelta(days=self.days - 1), end)

    def covered_by(self, options: FilterOptions) -> bool:
        """Whether the data spans the whole period (so a comparison with it is fair)."""
        return (options.first_date is not None and options.last_date is not None
                and options.first_date <= self.start and self.end <= options.last_date)

    def label(self) -> str:
        return f"{self.start:%d %b %Y} – {self.end:%d %b %Y}"


def period_of(filters: Filters, options: FilterOptions) -> Period | None:
    """The selected order dates, open ends filled from the data; None when there is no data."""
    if options.first_date is None or options.last_date is None:
        return None
    end = filters.end or options.last_date
    start = filters.start or min(options.first_date, end)  # an end before the data: an empty period there
    end = max(end, start)  # a start after the data: an empty period, not a reversed one
    return Period(start, end, open_start=start <= options.first_date, open_end=end >= options.last_date)
