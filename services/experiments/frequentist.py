"""Frequentist comparison of treatment against control for one metric, from sufficient statistics.

Three kinds of metric: "mean" (a per-customer value: Welch t-test, Welch-df t intervals),
"proportion" (a 0/1 per customer: pooled z-test, unpooled Wald interval) and "ratio" (a ratio of
sums such as revenue per order, whose unit is not the randomised customer: delta method, z).
Relative lifts get delta-method intervals. With `sequential_n_star` both intervals become
confidence sequences (`sequential`); the p-value stays the fixed-horizon one, so judge a peeked-at
test by its interval. Whatever cannot be computed (too few customers, no variance, a zero
control) comes back as NaN; nothing raises and no warning leaks.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy.special import ndtr, ndtri, stdtrit  # normal cdf, normal and t quantiles: scipy.stats minus overhead
from scipy.stats import ttest_ind_from_stats

from services.experiments import sequential
from services.experiments.bayesian import DEFAULT_PRIOR, Prior, posterior
from services.experiments.cuped import adjust as cuped_adjust
from services.experiments.sufficient import MeanStats, RatioStats

KINDS = ("proportion", "mean", "ratio")


@dataclass(frozen=True)
class Effect:
    kind: str
    control: float  # control value (mean, rate or ratio), after CUPED adjustment when on
    treatment: float
    absolute: float  # treatment - control
    absolute_low: float
    absolute_high: float
    relative: float  # treatment / control - 1
    relative_low: float
    relative_high: float
    p_value: float  # fixed-horizon, also when the intervals are sequential
    se_absolute: float
    se_relative: float
    df: float | None  # Welch-Satterthwaite df for means; None where a normal (z) reference is used
    chance_to_win: float  # Bayesian, from bayesian.py
    expected_loss: float  # Bayesian, relative units, of shipping treatment
    sequential: bool  # intervals are confidence sequences (always valid)


@dataclass(frozen=True)
class _Estimate:
    """What each kind's path computes; compare turns it into intervals and Bayesian summaries."""

    control: float
    treatment: float
    se_absolute: float
    se_relative: float
    p_value: float
    df: float | None


def _clean(value) -> float:
    """A plain float, NaN instead of ±inf (a division by zero is 'cannot be computed')."""
    value = float(value)
    return value if math.isfinite(value) else math.nan


def _moments(stats: MeanStats) -> tuple[np.float64, np.float64, np.float64]:
    """n, mean and sample variance, NaN where n is too small (numpy floats, so division never raises)."""
    n = np.float64(stats.n)
    mean = np.float64(stats.total) / n
    variance = np.maximum(np.float64(stats.sum_squares) - np.float64(stats.total) * mean, 0.0) / (n - 1)
    return n, mean, (variance if n >= 2 else np.float64(np.nan))


def _relative_se(treatment: float, var_treatment: float, control: float, var_control: float) -> np.float64:
    """Delta-method se of treatment / control - 1 from the two estimates and their variances."""
    c = np.float64(control)
    return np.sqrt(var_treatment / c ** 2 + treatment ** 2 * var_control / c ** 4)


def _mean(control: MeanStats, treatment: MeanStats) -> _Estimate:
    """Welch: unequal variances, Satterthwaite df."""
    n_c, m_c, v_c = _moments(control)
    n_t, m_t, v_t = _moments(treatment)
    a, b = v_t / n_t, v_c / n_c  # variances of the two means
    se = np.sqrt(a + b)
    df = (a + b) ** 2 / (a ** 2 / (n_t - 1) + b ** 2 / (n_c - 1))
    p = math.nan
    if se > 0:  # also False for NaN: no p-value without variance
        p = ttest_ind_from_stats(m_t, np.sqrt(v_t), n_t, m_c, np.sqrt(v_c), n_c, equal_var=False).pvalue
    return _Estimate(m_c, m_t, se, _relative_se(m_t, a, m_c, b), p, _clean(df))


def _proportion(control: MeanStats, treatment: MeanStats) -> _Estimate:
    """Pooled z-test for the p-value (the null says the rates are equal), unpooled Wald se for intervals."""
    n_c, n_t = np.float64(control.n), np.float64(treatment.n)
    p_c, p_t = control.total / n_c, treatment.total / n_t
    pooled = (control.total + treatment.total) / (n_c + n_t)
    se_null = np.sqrt(pooled * (1 - pooled) * (1 / n_c + 1 / n_t))
    p = 2 * ndtr(-abs(p_t - p_c) / se_null) if se_null > 0 else math.nan
    a, b = p_t * (1 - p_t) / n_t, p_c * (1 - p_c) / n_c
    return _Estimate(p_c, p_t, np.sqrt(a + b), _relative_se(p_t, a, p_c, b), p, None)


def _ratio_moments(stats: RatioStats) -> tuple[np.float64, np.float64]:
    """The ratio of sums and its delta-method variance (sample variances and covariance, n - 1)."""
    n = np.float64(stats.n)
    m, d = stats.m_total / n, stats.d_total / n
    var_m = (stats.m_sum_squares - stats.m_total * m) / (n - 1)
    var_d = (stats.d_sum_squares - stats.d_total * d) / (n - 1)
    cov = (stats.md - stats.m_total * d) / (n - 1)
    variance = (var_m / d ** 2 - 2 * m * cov / d ** 3 + m ** 2 * var_d / d ** 4) / n
    return m / d, (np.maximum(variance, 0.0) if n >= 2 else np.float64(np.nan))


def _ratio(control: RatioStats, treatment: RatioStats) -> _Estimate:
    """Delta method on each variant's ratio, z-test on the difference."""
    r_c, v_c = _ratio_moments(control)
    r_t, v_t = _ratio_moments(treatment)
    se = np.sqrt(v_t + v_c)
    p = 2 * ndtr(-abs(r_t - r_c) / se) if se > 0 else math.nan
    return _Estimate(r_c, r_t, se, _relative_se(r_t, v_t, r_c, v_c), p, None)


_PATHS = {"mean": _mean, "proportion": _proportion, "ratio": _ratio}


def _halfwidths(est: _Estimate, n_total: float, alpha: float, n_star: float | None) -> tuple[float, float]:
    """Absolute and relative half-widths: fixed-horizon quantile × se, or the confidence sequence's; NaN if se is 0."""
    if not est.se_absolute > 0:  # no variance, no uncertainty estimate: no interval either
        return math.nan, math.nan
    if n_star is not None:
        return (sequential.halfwidth(est.se_absolute ** 2, n_total, alpha, n_star),
                sequential.halfwidth(est.se_relative ** 2, n_total, alpha, n_star))
    if est.df is None:
        q = ndtri(1 - alpha / 2)
    else:
        q = stdtrit(est.df, 1 - alpha / 2) if est.df > 0 else math.nan
    return q * est.se_absolute, q * est.se_relative


def compare(kind: str, control: MeanStats | RatioStats, treatment: MeanStats | RatioStats, *,
            alpha: float = 0.05, cuped: bool = False, sequential_n_star: float | None = None,
            prior: Prior = DEFAULT_PRIOR) -> Effect:
    """Treatment against control: lifts, intervals, fixed-horizon p-value and Bayesian summaries."""
    if kind not in KINDS:
        raise ValueError(f"unknown metric kind {kind!r}; expected one of {KINDS}")
    if cuped and kind == "ratio":
        raise ValueError("CUPED applies to mean and proportion metrics, not ratios")
    path = kind
    if cuped:  # adjusted values are no longer 0/1, so proportions go the Welch way too
        control, treatment = cuped_adjust(control, treatment)
        path = "mean"
    with np.errstate(all="ignore"):
        return _effect(kind, _PATHS[path](control, treatment), float(control.n + treatment.n), alpha,
                       sequential_n_star, prior)


def _effect(kind: str, est: _Estimate, n_total: float, alpha: float, n_star: float | None,
            prior: Prior) -> Effect:
    """Lifts, intervals and Bayesian summaries from one path's estimate; call under np.errstate."""
    absolute = _clean(est.treatment - est.control)
    relative = _clean(np.float64(est.treatment) / np.float64(est.control) - 1)
    est = replace(est, se_absolute=_clean(est.se_absolute),  # no relative lift, no relative se
                  se_relative=_clean(est.se_relative) if math.isfinite(relative) else math.nan)
    half_abs, half_rel = _halfwidths(est, n_total, alpha, n_star)
    belief = posterior(relative, est.se_relative, prior)
    return Effect(kind, _clean(est.control), _clean(est.treatment), absolute, _clean(absolute - half_abs),
                  _clean(absolute + half_abs), relative, _clean(relative - half_rel), _clean(relative + half_rel),
                  _clean(est.p_value), est.se_absolute, est.se_relative, est.df, _clean(belief.chance_to_win),
                  _clean(belief.expected_loss), n_star is not None)
