"""The days a readout measures: the campaign window (up to the data's last day) and the pre-campaign window.

The snapshot computes the same windows (`campaign_windows` in schema.sql) for its campaign tables.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services.campaigns.catalog import CampaignInfo


@dataclass(frozen=True)
class Window:
    start: dt.date
    end: dt.date
    pre_start: dt.date  # the pre-campaign window: as many days, right before the start (CUPED's covariate)
    running: bool  # the campaign ends after the data does: the readout is interim

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def pre_end(self) -> dt.date:
        return self.start - dt.timedelta(days=1)

    def label(self) -> str:
        return f"{self.start:%d %b %Y} – {self.end:%d %b %Y}"


def window_of(info: CampaignInfo, data_end: dt.date | None) -> Window | None:
    """None when the campaign starts after the last order day (nothing to measure yet)."""
    if data_end is None or info.starts_on > data_end:
        return None
    end = min(info.ends_on, data_end)
    days = (end - info.starts_on).days + 1
    return Window(info.starts_on, end, info.starts_on - dt.timedelta(days=days), running=info.ends_on > data_end)
