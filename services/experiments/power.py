"""Sample size and minimum detectable effect: the two-sample normal approximation.

Total customers N, a share p of them treated, per-customer variance σ², an absolute effect Δ:
N = (z_{1-α/2} + z_{power})² σ² (1/p + 1/(1-p)) / Δ². For a proportion pass σ² = p₀(1 - p₀).
"""
from __future__ import annotations

import math

from scipy.stats import norm


def _check(alpha: float, power: float, treatment_share: float, variance: float) -> None:
    if not (0 < alpha < 1 and 0 < power < 1 and 0 < treatment_share < 1):
        raise ValueError("alpha, power and treatment_share must lie strictly between 0 and 1")
    if not variance >= 0:
        raise ValueError("variance must be non-negative")


def _z_sum(alpha: float, power: float) -> float:
    return float(norm.ppf(1 - alpha / 2) + norm.ppf(power))


def _allocation(treatment_share: float) -> float:
    """1/p + 1/(1-p): how much an uneven split inflates the variance of the difference."""
    return 1 / treatment_share + 1 / (1 - treatment_share)


def sample_size(baseline_mean: float, variance: float, mde_relative: float, *, alpha: float = 0.05,
                power: float = 0.8, treatment_share: float = 0.5) -> int:
    """Total customers (both variants) needed to detect a relative change mde_relative of the baseline."""
    _check(alpha, power, treatment_share, variance)
    delta = mde_relative * baseline_mean
    if not (math.isfinite(delta) and delta != 0):
        raise ValueError("the effect to detect (mde_relative × baseline_mean) must be non-zero")
    n = _z_sum(alpha, power) ** 2 * variance * _allocation(treatment_share) / delta ** 2
    return math.ceil(n * (1 - 1e-12))  # a hair below so float noise on an exact integer does not add one


def detectable_effect(baseline_mean: float, variance: float, n_total: float, *, alpha: float = 0.05,
                      power: float = 0.8, treatment_share: float = 0.5) -> float:
    """The relative change of the baseline that n_total customers detect with this power; NaN if none."""
    _check(alpha, power, treatment_share, variance)
    if not (n_total > 0 and baseline_mean != 0 and math.isfinite(baseline_mean)):
        return math.nan
    delta = _z_sum(alpha, power) * math.sqrt(variance * _allocation(treatment_share) / n_total)
    return delta / abs(baseline_mean)
