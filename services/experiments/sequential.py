"""Asymptotic confidence sequences: intervals that stay valid however often one looks.

Waudby-Smith, Arbour, Sinha, Kennedy and Ramdas, "Time-uniform central limit theory and
asymptotic confidence sequences" (2023), as used by GrowthBook's sequential testing. A fixed-horizon
95% interval checked every day excludes zero in far more than 5% of A/A tests; a confidence
sequence keeps the chance that it ever (at any look, however many) misses the true effect at
about alpha. The price is wider intervals. `n_star` tunes where the sequence is tightest (the
total sample size one expects); the intervals are valid for any choice.
"""
from __future__ import annotations

import math

DEFAULT_N_STAR = 5000  # total customers at which the sequence is tightest


def rho(alpha: float, n_star: float) -> float:
    """The mixture parameter that makes the boundary tightest at n_star customers."""
    log_term = -2.0 * math.log(alpha)
    return math.sqrt((log_term + math.log(log_term + 1.0)) / n_star)


def halfwidth(variance_of_estimate: float, n_total: float, alpha: float, n_star: float) -> float:
    """Half-width of the confidence sequence of an estimate with this variance after n_total customers."""
    if not (n_total > 0 and variance_of_estimate >= 0):  # also catches NaN
        return math.nan
    r2 = rho(alpha, n_star) ** 2
    unit_sd = math.sqrt(n_total * variance_of_estimate)  # the per-customer sd the estimate implies
    n_r2 = n_total * r2
    return unit_sd * math.sqrt(2.0 * (n_r2 + 1.0) / (n_total * n_r2) * math.log(math.sqrt(n_r2 + 1.0) / alpha))
