"""Seeded simulations: the engine's error rates and coverage are what it claims.

Sufficient statistics are computed straight from simulated rows with vectorised numpy, so thousands
of experiments take a few seconds. Every bound is a binomial 99.9% band around the nominal rate
(seeded, so each test is deterministic; a wrong standard error moves the rate far outside it).
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from services.experiments.frequentist import compare
from services.experiments.sequential import DEFAULT_N_STAR
from services.experiments.sufficient import MeanStats, RatioStats

ALPHA = 0.05
SIMS = 2000
N = 400  # customers per variant


def _band(sims: int, rate: float) -> tuple[float, float]:
    """The range a binomial count of sims trials at this rate falls in 99.9% of the time."""
    return stats.binom.interval(0.999, sims, rate)


def _mean_stats(y: np.ndarray, x: np.ndarray | None = None) -> list[tuple[MeanStats, MeanStats]]:
    """(control, treatment) statistics per simulation from rows shaped (sims, 2, n)."""
    x = np.zeros_like(y) if x is None else x
    sums = [a.sum(axis=-1) for a in (y, y * y, x, x * x, x * y)]
    n = y.shape[-1]
    return [tuple(MeanStats(n, *(float(s[i, v]) for s in sums)) for v in (0, 1)) for i in range(len(y))]


def _ratio_stats(m: np.ndarray, d: np.ndarray) -> list[tuple[RatioStats, RatioStats]]:
    sums = [a.sum(axis=-1) for a in (m, m * m, d, d * d, m * d)]
    n = m.shape[-1]
    return [tuple(RatioStats(n, *(float(s[i, v]) for s in sums)) for v in (0, 1)) for i in range(len(m))]


def _revenue(rng, shape, lift: float = 0.0) -> np.ndarray:
    """Skewed per-customer revenue; the treatment (index 1 of axis 1) scaled by 1 + lift."""
    y = rng.lognormal(3.0, 1.0, shape)
    y[:, 1] *= 1 + lift
    return y


def _orders_and_revenue(rng, shape, lift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Orders per customer and revenue that grows with them; revenue per order lifted by lift."""
    d = rng.poisson(1.5, shape) + 1.0
    m = d * rng.gamma(2.0, 20.0, shape) + rng.normal(0, 10, shape)
    m[:, 1] *= 1 + lift
    return m, d


def _a_a(kind: str, rng) -> tuple[str, list, bool]:
    """Simulated A/A experiments of one kind: (metric kind, statistics per simulation, CUPED)."""
    shape = (SIMS, 2, N)
    if kind == "mean":
        return "mean", _mean_stats(_revenue(rng, shape)), False
    if kind == "proportion":
        converted = rng.binomial(N, 0.08, (SIMS, 2)).astype(float)  # a 0/1 sum is its own sum of squares
        return "proportion", [tuple(MeanStats(N, k, k) for k in row) for row in converted], False
    if kind == "ratio":
        return "ratio", _ratio_stats(*_orders_and_revenue(rng, shape)), False
    x = rng.lognormal(3.0, 1.0, shape)  # "mean+cuped": a pre-period covariate correlated with y
    return "mean", _mean_stats(x * rng.lognormal(0.0, 0.3, shape), x), True


@pytest.mark.parametrize("kind, seed", [("mean", 1), ("proportion", 2), ("ratio", 3), ("mean+cuped", 4)])
def test_a_a_false_positive_rate_is_alpha(kind, seed):
    metric, experiments, cuped = _a_a(kind, np.random.default_rng(seed))
    p = np.array([compare(metric, c, t, alpha=ALPHA, cuped=cuped).p_value for c, t in experiments])
    low, high = _band(SIMS, ALPHA)
    assert low <= (p < ALPHA).sum() <= high
    assert np.isfinite(p).all()


def test_a_a_p_values_are_uniform():
    """Not just the 5% tail: the whole distribution of A/A p-values is flat (Kolmogorov-Smirnov)."""
    metric, experiments, _ = _a_a("mean", np.random.default_rng(5))
    p = [compare(metric, c, t).p_value for c, t in experiments]
    assert stats.kstest(p, "uniform").pvalue > 0.001


LOOKS, BATCH, PEEK_SIMS = 20, 100, 1000  # per variant per look: 2000 customers each at the last look


def _peeking_runs(seed: int) -> np.ndarray:
    """Per A/A simulation and look, (fixed-horizon rejects, confidence sequence rejects)."""
    rng = np.random.default_rng(seed)
    y = rng.lognormal(3.0, 1.0, (PEEK_SIMS, 2, LOOKS, BATCH))
    totals, squares = y.sum(axis=-1).cumsum(axis=-1), (y * y).sum(axis=-1).cumsum(axis=-1)
    out = np.zeros((PEEK_SIMS, LOOKS, 2), bool)
    for i in range(PEEK_SIMS):
        for look in range(LOOKS):
            n = BATCH * (look + 1)
            control, treatment = (MeanStats(n, totals[i, v, look], squares[i, v, look]) for v in (0, 1))
            e = compare("mean", control, treatment, alpha=ALPHA, sequential_n_star=DEFAULT_N_STAR)
            # the fixed-horizon interval excludes 0 exactly when its p-value is below alpha
            out[i, look] = e.p_value < ALPHA, not e.absolute_low <= 0 <= e.absolute_high
    return out


def test_peeking_inflates_the_fixed_interval_but_not_the_sequence():
    runs = _peeking_runs(6)
    ever = runs.any(axis=1).mean(axis=0)  # share of A/A tests that reject at some look
    naive, sequential = ever
    assert naive > 3 * ALPHA  # twenty looks at a fixed-horizon test: far more false alarms than alpha
    assert sequential <= ALPHA + 0.01
    last_look = runs[:, -1, 0].sum()
    assert _band(PEEK_SIMS, ALPHA)[0] <= last_look <= _band(PEEK_SIMS, ALPHA)[1]  # one look is still fine


def _planted(kind: str, rng, lift: float) -> list:
    shape = (SIMS, 2, 1000)
    if kind == "mean":
        return _mean_stats(_revenue(rng, shape, lift))
    if kind == "proportion":
        rates = np.array([0.2, 0.2 * (1 + lift)])
        converted = rng.binomial(1000, rates, (SIMS, 2)).astype(float)
        return [tuple(MeanStats(1000, k, k) for k in row) for row in converted]
    return _ratio_stats(*_orders_and_revenue(rng, shape, lift))


@pytest.mark.parametrize("kind, seed", [("mean", 7), ("proportion", 8), ("ratio", 9)])
def test_relative_interval_covers_a_planted_lift(kind, seed):
    lift = 0.15
    effects = [compare(kind, c, t) for c, t in _planted(kind, np.random.default_rng(seed), lift)]
    covered = sum(e.relative_low <= lift <= e.relative_high for e in effects)
    low, high = _band(SIMS, 0.95)
    assert low <= covered <= high
    assert np.mean([e.relative for e in effects]) == pytest.approx(lift, abs=0.01)
