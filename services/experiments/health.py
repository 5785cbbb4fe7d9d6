"""Experiment health checks: sample ratio mismatch and too-small variants."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import chisquare

SRM_ALPHA = 0.001  # strict, as the check runs on every experiment and a false alarm stops a readout
MIN_CUSTOMERS_PER_VARIANT = 100


@dataclass(frozen=True)
class Srm:
    chi2: float
    p_value: float
    expected: tuple[float, ...]  # customers expected per variant under the plan
    warn: bool


def srm(counts: Sequence[int], planned_shares: Sequence[float]) -> Srm:
    """Chi-square goodness of fit of the observed counts to the planned shares (normalised to sum to 1)."""
    observed = np.asarray(counts, dtype=float)
    shares = np.asarray(planned_shares, dtype=float)
    if observed.shape != shares.shape or observed.ndim != 1:
        raise ValueError("counts and planned_shares need the same length")
    if (shares < 0).any() or (observed < 0).any() or not shares.sum() > 0:
        raise ValueError("counts and planned shares must be non-negative, with some share planned")
    expected = shares / shares.sum() * observed.sum()
    if len(observed) < 2 or not observed.sum() > 0:
        return Srm(math.nan, math.nan, tuple(float(e) for e in expected), False)
    if (observed[expected == 0] > 0).any():  # customers in a variant planned to get none
        return Srm(math.inf, 0.0, tuple(float(e) for e in expected), True)
    planned = expected > 0  # a variant planned empty and found empty says nothing
    chi2, p = chisquare(observed[planned], expected[planned]) if planned.sum() > 1 else (0.0, 1.0)
    return Srm(float(chi2), float(p), tuple(float(e) for e in expected), bool(p < SRM_ALPHA))


def too_small(counts: Sequence[int]) -> bool:
    """Whether any variant has fewer customers than a readout needs (or there are none)."""
    return len(counts) == 0 or min(counts) < MIN_CUSTOMERS_PER_VARIANT
