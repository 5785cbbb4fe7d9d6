"""Survey answers of one batch: NPS scores follow behaviour (loyal customers score higher than one-time buyers)."""
from __future__ import annotations

import numpy as np

from services.demo.calendar import Calendar
from services.demo.catalog import COMMENTS
from services.demo.customers import Batch
from services.demo.plan import DAY_SECONDS, PERIOD_START, SURVEY_SHARE


def survey_rows(rng: np.random.Generator, cal: Calendar, b: Batch,
                orders: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """`survey_responses` rows (without ids): NPS answers from a share of buyers."""
    cust, seconds = orders["_cust"], orders["_seconds"]
    n, end = len(b.ids), cal.days - 1
    counts = np.bincount(cust, minlength=n)
    first_index = np.searchsorted(cust, np.arange(n))
    rows = np.flatnonzero((counts > 0) & (rng.random(n) < SURVEY_SHARE))
    first = seconds[first_index[rows]]  # answers come after the first order, at most 60 days after the last
    last = np.minimum(seconds[first_index[rows] + counts[rows] - 1] + 60 * DAY_SECONDS, (end + 1) * DAY_SECONDS - 1)
    when = first + 60 + np.floor(rng.random(len(rows)) * np.maximum(last - first - 60, 0)).astype(np.int64)
    base = np.array([5.0, 5.6, 7.6, 6.4, 7.5, 8.4])[b.pattern[rows]]
    base += np.array([0.0, 0.1, 0.4, -0.5, 0.3])[b.group[rows]]
    score = np.clip(np.round(base + rng.normal(0.0, 1.7, len(rows))), 0, 10).astype(int)
    return {
        "customer_id": b.ids[rows],
        "answered_at": np.datetime64(PERIOD_START.isoformat(), "s") + when.astype("timedelta64[s]"),
        "nps_score": score,
        "comment": _comments(rng, score),
    }


def _comments(rng: np.random.Generator, score: np.ndarray) -> np.ndarray:
    """A comment matching the score's band (promoter, passive, detractor), or none for about a third."""
    band = np.where(score >= 9, "promoter", np.where(score >= 7, "passive", "detractor"))
    comment = np.empty(len(score), dtype=object)
    for name, texts in COMMENTS.items():
        pick = np.flatnonzero(band == name)
        comment[pick] = np.array(texts, dtype=object)[rng.integers(0, len(texts), len(pick))]
    comment[rng.random(len(score)) < 0.35] = None
    return comment
