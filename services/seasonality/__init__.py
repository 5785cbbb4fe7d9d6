"""Seasonality and timing: when in the year, the week and the day the selected customers buy.

- `timing`: revenue by calendar month of the year, by weekday × hour, and a peak weekday/hour summary;
- `weekly`: revenue per complete ISO week and its STL decomposition (trend, seasonal, residual);
- `peaks`: the named peak periods of the year, read from the seasonal component.

Every service reads the filters' period clipped to the days of the data (`data_span`): days
beyond the first and last order are not observed, so they are neither counted nor filled with zeros.
"""
from services.seasonality.peaks import PEAK_SHARE, Peak, peak_periods
from services.seasonality.timing import (
    WEEKDAYS,
    TimingSummary,
    by_month_of_year,
    by_weekday_hour,
    data_span,
    timing_summary,
)
from services.seasonality.weekly import MIN_CYCLES, Decomposition, decompose, weekly_revenue

__all__ = [
    "MIN_CYCLES",
    "PEAK_SHARE",
    "WEEKDAYS",
    "Decomposition",
    "Peak",
    "TimingSummary",
    "by_month_of_year",
    "by_weekday_hour",
    "data_span",
    "decompose",
    "peak_periods",
    "timing_summary",
    "weekly_revenue",
]
