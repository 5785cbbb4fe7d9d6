"""The named peak periods of the year, read from the seasonal component of weekly revenue."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from services.seasonality.weekly import Decomposition, noise_level

PEAK_SHARE = 0.5  # a week of the year is in a peak when its seasonal effect exceeds half the largest one
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


@dataclass(frozen=True)
class Peak:
    name: str  # from the typical dates, e.g. "mid-November to late December"
    weeks: tuple[int, ...]  # ISO weeks of the year, in calendar order (a run may wrap past New Year)
    start: dt.date  # a typical first day: the median, over the years, of the first week's Monday
    end: dt.date  # a typical last day: the median of the last week's Sunday
    uplift: float | None  # seasonal over trend in those weeks, in percent (None: no positive trend)
    extra_revenue: float  # what the seasonal effect adds in a year: its average per week of the year, summed


def peak_periods(decomposition: Decomposition | str, top: int = 3) -> list[Peak]:
    """The `top` peak periods by extra revenue: runs of consecutive weeks of the year whose seasonal
    effect, averaged over the years, exceeds PEAK_SHARE of the largest; none for an undecomposed or flat series."""
    if isinstance(decomposition, str):
        return []
    frame = decomposition.frame.assign(week_of_year=decomposition.frame["week"].dt.isocalendar().week.astype(int))
    profile = frame.groupby("week_of_year")["seasonal"].mean().sort_index()
    if profile.max() <= noise_level(frame["revenue"]):  # no seasonal effect beyond rounding error
        return []
    peaks = [_peak(frame, profile, run) for run in _runs(profile > PEAK_SHARE * profile.max())]
    return sorted(peaks, key=lambda peak: peak.extra_revenue, reverse=True)[:top]


def _runs(above: pd.Series) -> list[tuple[int, ...]]:
    """Consecutive weeks of the year (in `above`'s order) that are above, the last run joined to
    the first when it reaches the end of the year and the first its start."""
    runs: list[list[int]] = []
    previous = False
    for week, inside in above.items():
        if inside:
            if previous:
                runs[-1].append(int(week))
            else:
                runs.append([int(week)])
        previous = bool(inside)
    if len(runs) > 1 and above.iloc[0] and above.iloc[-1]:
        runs[0] = runs.pop() + runs[0]
    return [tuple(run) for run in runs]


def _peak(frame: pd.DataFrame, profile: pd.Series, weeks: tuple[int, ...]) -> Peak:
    inside = frame[frame["week_of_year"].isin(weeks)]
    trend = float(inside["trend"].sum())
    start = _typical(frame.loc[frame["week_of_year"] == weeks[0], "week"])
    end = _typical(frame.loc[frame["week_of_year"] == weeks[-1], "week"]) + dt.timedelta(days=6)
    return Peak(name=period_name(start, end), weeks=weeks, start=start, end=end,
                uplift=100.0 * float(inside["seasonal"].sum()) / trend if trend > 0 else None,
                extra_revenue=float(profile.loc[list(weeks)].sum()))


def _typical(mondays: pd.Series) -> dt.date:
    """The median of one ISO week's Mondays over the years, by their distance from 1 January of their ISO year
    (calendar dates drift by up to six days between years; week 1 may start in late December)."""
    days = [monday.date() for monday in mondays]
    days.sort(key=lambda day: (day - dt.date(day.isocalendar().year, 1, 1)).days)
    return days[(len(days) - 1) // 2]


def _part(day: dt.date) -> str:
    return "early" if day.day <= 10 else "mid" if day.day <= 20 else "late"


def _when(part: str, month: int) -> str:
    return f"mid-{MONTHS[month - 1]}" if part == "mid" else f"{part} {MONTHS[month - 1]}"


def period_name(start: dt.date, end: dt.date) -> str:
    """A human name for the days from `start` to `end`: "mid-November", "early to late December",
    "mid-November to late December"."""
    first, last = _part(start), _part(end)
    if start.month == end.month and first == last:
        return _when(first, start.month)
    if start.month == end.month:
        return f"{first} to {_when(last, end.month)}"
    return f"{_when(first, start.month)} to {_when(last, end.month)}"
