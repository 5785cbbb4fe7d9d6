"""CUPED: variance reduction with a pre-period covariate (Deng, Xu, Kohavi and Walker, 2013).

Each customer's metric y becomes y' = y - θ(x - x̄), with θ = cov(x, y) / var(x) and x̄ taken on
both variants pooled, so θ does not depend on the treatment and the adjustment removes no effect:
the mean difference stays unbiased while its variance shrinks by the share of var(y) that x explains.
Everything is computed from sufficient statistics; the result is exactly what the row-level
adjustment would give.
"""
from __future__ import annotations

import math

import numpy as np

from services.experiments.sufficient import MeanStats

_FLAT = 1e-12  # a covariate whose variance is this small relative to its mean square counts as constant


def _pooled(control: MeanStats, treatment: MeanStats) -> MeanStats:
    """Both variants' rows as one sample."""
    return MeanStats(control.n + treatment.n, control.total + treatment.total,
                     control.sum_squares + treatment.sum_squares, control.x_total + treatment.x_total,
                     control.x_sum_squares + treatment.x_sum_squares, control.xy + treatment.xy)


def theta(control: MeanStats, treatment: MeanStats) -> float:
    """The pooled regression slope of y on x; 0 when x does not vary (nothing to adjust with)."""
    p = _pooled(control, treatment)
    if p.n < 2:
        return 0.0
    sxx = p.x_sum_squares - p.x_total ** 2 / p.n  # the n - 1 of var and cov cancel
    sxy = p.xy - p.x_total * p.total / p.n
    if not sxx > _FLAT * p.x_sum_squares:
        return 0.0
    return sxy / sxx


def _shifted(stats: MeanStats, slope: float, centre: float) -> MeanStats:
    """Sufficient statistics of y - slope·(x - centre) for one variant."""
    x_dev_total = stats.x_total - stats.n * centre
    x_dev_squares = stats.x_sum_squares - 2.0 * centre * stats.x_total + stats.n * centre ** 2
    xy_dev = stats.xy - centre * stats.total
    total = stats.total - slope * x_dev_total
    squares = stats.sum_squares - 2.0 * slope * xy_dev + slope ** 2 * x_dev_squares
    return MeanStats(stats.n, total, max(squares, 0.0))


def adjust(control: MeanStats, treatment: MeanStats) -> tuple[MeanStats, MeanStats]:
    """Both variants' statistics of the adjusted metric (covariate fields zero: it is used up)."""
    slope = theta(control, treatment)
    n = control.n + treatment.n
    centre = (control.x_total + treatment.x_total) / n if n > 0 else 0.0
    return _shifted(control, slope, centre), _shifted(treatment, slope, centre)


def _variance(stats: MeanStats) -> float:
    return stats.variance if stats.n >= 2 else math.nan


def variance_reduction(control: MeanStats, treatment: MeanStats) -> float:
    """1 - var(y') / var(y) on the pooled rows: the share of variance CUPED removes; NaN if y does not vary."""
    before = _variance(_pooled(control, treatment))
    after = _variance(_pooled(*adjust(control, treatment)))
    with np.errstate(all="ignore"):
        reduction = 1.0 - np.float64(after) / np.float64(before)
    return float(reduction) if np.isfinite(reduction) else math.nan
