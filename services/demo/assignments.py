"""Campaign assignments: who is in the A/B test and the e-mail campaign, in which variant."""
from __future__ import annotations

import datetime as dt

import numpy as np

from services.demo.catalog import PATTERN
from services.demo.customers import Batch
from services.demo.plan import (
    AB_SAMPLE,
    AB_TEST,
    AB_WINDOW,
    DAY_SECONDS,
    EMAIL,
    EMAIL_TREATMENT_SHARE,
    EMAIL_WINDOW,
    day_index,
)


def assign_variants(rng: np.random.Generator, b: Batch) -> None:
    """Campaign variants: the A/B test pairs customers of similar purchase rates, one of each pair treated."""
    loyal = (b.pattern == PATTERN["loyal"]) & (b.top < 0)
    eligible = loyal & (b.active_from < day_index(AB_WINDOW[0]) - 30) & (rng.random(len(b.ids)) < AB_SAMPLE)
    chosen = np.flatnonzero(eligible)
    chosen = chosen[np.argsort(b.rate[chosen], kind="stable")]
    flip = rng.random((len(chosen) + 1) // 2) < 0.5
    treated = np.zeros(len(chosen), bool)
    treated[0::2] = flip
    treated[1::2] = ~flip[: len(chosen) // 2]
    b.ab_variant[chosen] = np.where(treated, 2, 1)

    eligible = loyal & (b.active_from < day_index(EMAIL_WINDOW[0]) - 30) & (rng.random(len(b.ids)) < 0.5)
    chosen = np.flatnonzero(eligible)
    b.email_variant[chosen] = np.where(rng.random(len(chosen)) < EMAIL_TREATMENT_SHARE, 2, 1)


def assignment_rows(rng: np.random.Generator, b: Batch, campaign_ids: dict[str, int]) -> dict[str, np.ndarray]:
    """`campaign_assignments` rows (without ids), assigned on the day before each campaign starts."""
    frames = []
    for name, variant, window in ((AB_TEST, b.ab_variant, AB_WINDOW), (EMAIL, b.email_variant, EMAIL_WINDOW)):
        rows = np.flatnonzero(variant > 0)
        day_before = np.datetime64((window[0] - dt.timedelta(days=1)).isoformat(), "s")
        frames.append({
            "campaign_id": np.full(len(rows), campaign_ids[name]),
            "customer_id": b.ids[rows],
            "variant": np.array(["", "control", "treatment"])[variant[rows]],
            "assigned_at": day_before + rng.integers(0, DAY_SECONDS, len(rows)).astype("timedelta64[s]"),
        })
    return {k: np.concatenate([f[k] for f in frames]) for k in frames[0]}
