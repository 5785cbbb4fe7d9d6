"""Does the treatment effect differ between segments? The OLS F-test of treatment × segment, and Cochran's Q.

With categorical regressors the row-level OLS fit only depends on the cells: the full model
y ~ treatment * segment fits every (segment, variant) cell its own mean, so its residual sum of
squares is the within-cell one; the additive model y ~ treatment + segment is the weighted (by n)
least-squares fit to the cell means, and its residual adds the weighted squared deviations of the
cell means from that fit. The interaction F compares the two, exactly as statsmodels' anova_lm.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.stats import chi2
from scipy.stats import f as f_dist

from services.experiments.sufficient import MeanStats

VARIANTS = ("control", "treatment")


@dataclass(frozen=True)
class Interaction:
    f: float
    df1: float
    df2: float
    p_value: float
    segments: int  # segments the test used


def _usable(cells: Mapping[tuple[str, str], MeanStats]) -> list:
    """Segments with both variants and at least 2 customers in each, in first-seen order."""
    unknown = {variant for _, variant in cells} - set(VARIANTS)
    if unknown:
        raise ValueError(f"variants must be 'control' or 'treatment', got {sorted(map(str, unknown))}")
    segments = dict.fromkeys(segment for segment, _ in cells)
    return [s for s in segments if all(cells.get((s, v)) is not None and cells[(s, v)].n >= 2 for v in VARIANTS)]


def _additive_rss(means: np.ndarray, weights: np.ndarray, treated: np.ndarray, segment: np.ndarray) -> float:
    """Weighted residual sum of squares of the cell means around the additive fit."""
    k = int(segment.max()) + 1
    design = np.column_stack([np.ones_like(means), treated, np.eye(k)[segment][:, 1:]])
    root = np.sqrt(weights)
    coef, *_ = np.linalg.lstsq(design * root[:, None], means * root, rcond=None)
    return float((weights * (means - design @ coef) ** 2).sum())


def interaction_test(cells: Mapping[tuple[str, str], MeanStats]) -> Interaction:
    """F-test of the interaction from (segment, variant) cell statistics; NaN when under 2 segments qualify."""
    segments = _usable(cells)
    if len(segments) < 2:
        return Interaction(math.nan, math.nan, math.nan, math.nan, len(segments))
    used = [cells[(s, v)] for s in segments for v in VARIANTS]
    n = np.array([c.n for c in used], float)
    means = np.array([c.total for c in used]) / n
    within = float(sum(max(c.sum_squares - c.total ** 2 / c.n, 0.0) for c in used))
    treated = np.tile([0.0, 1.0], len(segments))
    segment = np.repeat(np.arange(len(segments)), 2)
    df1, df2 = len(segments) - 1, n.sum() - 2 * len(segments)
    between = max(_additive_rss(means, n, treated, segment), 0.0)  # the interaction's sum of squares
    if not within > 0:
        return Interaction(math.nan, float(df1), float(df2), math.nan, len(segments))
    f = (between / df1) / (within / df2)
    return Interaction(float(f), float(df1), float(df2), float(f_dist.sf(f, df1, df2)), len(segments))


@dataclass(frozen=True)
class Heterogeneity:
    """Cochran's Q test that several estimates (segment lifts) share one value."""

    q: float
    df: int
    p_value: float
    segments: int


def heterogeneity(estimates, variances) -> Heterogeneity:
    """Q = Σ w (θ - θ̄)² with inverse-variance weights w, against chi-square with k - 1 df.

    On relative lifts this is the interaction test on the relative scale: a segment that buys
    more gains more orders from the same relative lift, which the OLS test (additive scale) flags.
    Estimates without a finite, positive variance are left out.
    """
    theta, variance = np.asarray(estimates, float), np.asarray(variances, float)
    keep = np.isfinite(theta) & np.isfinite(variance) & (variance > 0)
    theta, weights = theta[keep], 1.0 / variance[keep]
    k = len(theta)
    if k < 2:
        return Heterogeneity(math.nan, max(k - 1, 0), math.nan, k)
    pooled = float((weights * theta).sum() / weights.sum())
    q = float((weights * (theta - pooled) ** 2).sum())
    return Heterogeneity(q, k - 1, float(chi2.sf(q, k - 1)), k)
