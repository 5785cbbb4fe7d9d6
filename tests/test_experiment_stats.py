"""The experiment engine agrees with independent row-level computations (scipy, statsmodels, plain numpy)."""
from __future__ import annotations

import ast
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats
from statsmodels.formula.api import ols
from statsmodels.stats.anova import anova_lm
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW
from statsmodels.stats.weightstats import ttest_ind as sm_ttest_ind

import services.experiments as experiments
from services.experiments import bayesian, cuped, health, multiple, power, sequential
from services.experiments.bayesian import Prior
from services.experiments.frequentist import KINDS, compare
from services.experiments.interaction import interaction_test
from services.experiments.sufficient import MeanStats, RatioStats

TOL = 1e-6


def _skewed(seed: int, n_c: int, n_t: int, lift: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Revenue-like rows: lognormal, treatment scaled by 1 + lift and noisier."""
    rng = np.random.default_rng(seed)
    return rng.lognormal(3.0, 0.8, n_c), (1 + lift) * rng.lognormal(3.0, 0.9, n_t)


def _gradient(f, point: np.ndarray) -> np.ndarray:
    """Central-difference gradient: an independent route to the delta method."""
    point = np.asarray(point, float)
    grad = np.empty_like(point)
    for i in range(len(point)):
        h = 1e-6 * max(abs(point[i]), 1.0)
        up, down = point.copy(), point.copy()
        up[i] += h
        down[i] -= h
        grad[i] = (f(up) - f(down)) / (2 * h)
    return grad


def _delta_se(f, point, covariance) -> float:
    g = _gradient(f, point)
    return float(np.sqrt(g @ covariance @ g))


def _lift(v: np.ndarray) -> float:
    return v[0] / v[1] - 1


# --- means: Welch ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed, n_c, n_t, alpha", [(1, 40, 55, 0.05), (2, 800, 300, 0.05), (3, 35, 2000, 0.1)])
def test_mean_matches_welch_in_scipy_and_statsmodels(seed, n_c, n_t, alpha):
    c, t = _skewed(seed, n_c, n_t)
    effect = compare("mean", MeanStats.of(c), MeanStats.of(t), alpha=alpha)
    assert effect.p_value == pytest.approx(stats.ttest_ind(t, c, equal_var=False).pvalue, rel=TOL)
    low, high = CompareMeans(DescrStatsW(t), DescrStatsW(c)).tconfint_diff(alpha=alpha, usevar="unequal")
    assert (effect.absolute_low, effect.absolute_high) == (pytest.approx(low, rel=TOL), pytest.approx(high, rel=TOL))
    assert effect.df == pytest.approx(sm_ttest_ind(t, c, usevar="unequal")[2], rel=TOL)
    assert (effect.control, effect.treatment) == (pytest.approx(c.mean()), pytest.approx(t.mean()))
    assert effect.absolute == pytest.approx(t.mean() - c.mean())
    assert effect.sequential is False


@pytest.mark.parametrize("seed, n_c, n_t, alpha", [(4, 60, 45, 0.05), (5, 500, 1500, 0.1)])
def test_mean_relative_interval_is_the_delta_method(seed, n_c, n_t, alpha):
    c, t = _skewed(seed, n_c, n_t)
    effect = compare("mean", MeanStats.of(c), MeanStats.of(t), alpha=alpha)
    covariance = np.diag([np.cov(t) / n_t, np.cov(c) / n_c])  # the two means are independent
    se = _delta_se(_lift, [t.mean(), c.mean()], covariance)
    q = stats.t.ppf(1 - alpha / 2, sm_ttest_ind(t, c, usevar="unequal")[2])
    assert effect.relative == pytest.approx(t.mean() / c.mean() - 1, rel=TOL)
    assert effect.se_relative == pytest.approx(se, rel=TOL)
    assert effect.relative_low == pytest.approx(effect.relative - q * se, rel=TOL)
    assert effect.relative_high == pytest.approx(effect.relative + q * se, rel=TOL)


# --- proportions -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed, n_c, n_t, p_c, p_t, alpha", [(6, 400, 380, 0.2, 0.25, 0.05),
                                                             (7, 5000, 2000, 0.03, 0.035, 0.1)])
def test_proportion_matches_statsmodels(seed, n_c, n_t, p_c, p_t, alpha):
    rng = np.random.default_rng(seed)
    c, t = (rng.random(n_c) < p_c).astype(float), (rng.random(n_t) < p_t).astype(float)
    effect = compare("proportion", MeanStats.of(c), MeanStats.of(t), alpha=alpha)
    _, p = proportions_ztest([t.sum(), c.sum()], [n_t, n_c])
    assert effect.p_value == pytest.approx(p, rel=TOL)
    low, high = confint_proportions_2indep(t.sum(), n_t, c.sum(), n_c, method="wald", compare="diff", alpha=alpha)
    assert (effect.absolute_low, effect.absolute_high) == (pytest.approx(low, rel=TOL), pytest.approx(high, rel=TOL))
    rate_t, rate_c = t.mean(), c.mean()
    covariance = np.diag([rate_t * (1 - rate_t) / n_t, rate_c * (1 - rate_c) / n_c])
    half = stats.norm.ppf(1 - alpha / 2) * _delta_se(_lift, [rate_t, rate_c], covariance)
    assert effect.relative_low == pytest.approx(rate_t / rate_c - 1 - half, rel=TOL)
    assert effect.relative_high == pytest.approx(rate_t / rate_c - 1 + half, rel=TOL)
    assert effect.df is None


# --- ratio metrics ---------------------------------------------------------------------------------------


def _ratio_rows(rng, n: int, value: float) -> tuple[np.ndarray, np.ndarray]:
    """Orders per customer (d) and revenue (m) that grows with them: correlated numerator and denominator."""
    d = rng.poisson(1.5, n) + 1.0
    return d * rng.gamma(2.0, value / 2.0, n) + rng.normal(0, 5, n), d


def _ratio_variance(m: np.ndarray, d: np.ndarray) -> float:
    """Delta-method variance of sum(m)/sum(d), from np.cov of the rows and a numerical gradient."""
    return _delta_se(lambda v: v[0] / v[1], [m.mean(), d.mean()], np.cov(np.vstack([m, d])) / len(m)) ** 2


@pytest.mark.parametrize("seed, n_c, n_t, alpha", [(8, 300, 250, 0.05), (9, 3000, 1000, 0.1)])
def test_ratio_matches_a_numpy_delta_method(seed, n_c, n_t, alpha):
    rng = np.random.default_rng(seed)
    (m_c, d_c), (m_t, d_t) = _ratio_rows(rng, n_c, 40.0), _ratio_rows(rng, n_t, 44.0)
    effect = compare("ratio", RatioStats.of(m_c, d_c), RatioStats.of(m_t, d_t), alpha=alpha)
    r_c, r_t = m_c.sum() / d_c.sum(), m_t.sum() / d_t.sum()
    var_c, var_t = _ratio_variance(m_c, d_c), _ratio_variance(m_t, d_t)
    se = math.sqrt(var_c + var_t)
    z = stats.norm.ppf(1 - alpha / 2)
    assert (effect.control, effect.treatment) == (pytest.approx(r_c), pytest.approx(r_t))
    assert effect.se_absolute == pytest.approx(se, rel=TOL)
    assert effect.p_value == pytest.approx(2 * stats.norm.sf(abs(r_t - r_c) / se), rel=TOL)
    assert effect.absolute_low == pytest.approx(r_t - r_c - z * se, rel=TOL)
    assert effect.absolute_high == pytest.approx(r_t - r_c + z * se, rel=TOL)
    # relative: the gradient of R_T / R_C - 1 over all four means, with each variant's own covariance
    covariance = np.zeros((4, 4))
    covariance[:2, :2] = np.cov(np.vstack([m_t, d_t])) / n_t
    covariance[2:, 2:] = np.cov(np.vstack([m_c, d_c])) / n_c
    se_rel = _delta_se(lambda v: (v[0] / v[1]) / (v[2] / v[3]) - 1,
                       [m_t.mean(), d_t.mean(), m_c.mean(), d_c.mean()], covariance)
    assert effect.relative == pytest.approx(r_t / r_c - 1, rel=TOL)
    assert effect.se_relative == pytest.approx(se_rel, rel=TOL)
    assert effect.relative_low == pytest.approx(effect.relative - z * se_rel, rel=TOL)
    assert effect.df is None


# --- CUPED -----------------------------------------------------------------------------------------------


def _with_covariate(seed: int, n_c: int, n_t: int, binary: bool, lift: float = 0.05):
    """Pre-period x and outcome y correlated through a customer's latent value."""
    rng = np.random.default_rng(seed)
    rows = []
    for n, scale in ((n_c, 1.0), (n_t, 1.0 + lift)):
        latent = rng.gamma(2.0, 20.0, n)
        x = latent + rng.normal(0, 10, n)
        y = scale * (latent + rng.normal(0, 10, n))
        rows.append((x, (y > 45).astype(float) if binary else y))
    return rows


@pytest.mark.parametrize("kind, seed", [("mean", 10), ("mean", 11), ("proportion", 12)])
def test_cuped_equals_welch_on_row_level_adjusted_values(kind, seed):
    (x_c, y_c), (x_t, y_t) = _with_covariate(seed, 700, 650, binary=kind == "proportion")
    x, y = np.concatenate([x_c, x_t]), np.concatenate([y_c, y_t])
    theta = np.cov(x, y)[0, 1] / np.var(x, ddof=1)
    adj_c, adj_t = y_c - theta * (x_c - x.mean()), y_t - theta * (x_t - x.mean())
    control, treatment = MeanStats.of(y_c, x_c), MeanStats.of(y_t, x_t)
    effect = compare(kind, control, treatment, cuped=True)
    assert cuped.theta(control, treatment) == pytest.approx(theta, rel=TOL)
    assert effect.p_value == pytest.approx(stats.ttest_ind(adj_t, adj_c, equal_var=False).pvalue, rel=TOL)
    low, high = CompareMeans(DescrStatsW(adj_t), DescrStatsW(adj_c)).tconfint_diff(usevar="unequal")
    assert (effect.absolute_low, effect.absolute_high) == (pytest.approx(low, rel=TOL), pytest.approx(high, rel=TOL))
    assert (effect.control, effect.treatment) == (pytest.approx(adj_c.mean()), pytest.approx(adj_t.mean()))
    assert effect.kind == kind and effect.df is not None
    reduction = 1 - np.var(np.concatenate([adj_c, adj_t]), ddof=1) / np.var(y, ddof=1)
    assert cuped.variance_reduction(control, treatment) == pytest.approx(reduction, rel=TOL)


def test_cuped_adjusted_statistics_are_exact_and_drop_the_covariate():
    (x_c, y_c), (x_t, y_t) = _with_covariate(13, 200, 220, binary=False)
    x = np.concatenate([x_c, x_t])
    control, treatment = MeanStats.of(y_c, x_c), MeanStats.of(y_t, x_t)
    theta = cuped.theta(control, treatment)
    for stats_, (xs, ys) in zip(cuped.adjust(control, treatment), ((x_c, y_c), (x_t, y_t))):
        expected = MeanStats.of(ys - theta * (xs - x.mean()))
        assert stats_.n == expected.n
        assert stats_.total == pytest.approx(expected.total, rel=TOL)
        assert stats_.sum_squares == pytest.approx(expected.sum_squares, rel=TOL)
        assert (stats_.x_total, stats_.x_sum_squares, stats_.xy) == (0.0, 0.0, 0.0)


def test_cuped_narrows_the_interval_on_correlated_data():
    (x_c, y_c), (x_t, y_t) = _with_covariate(14, 2000, 2000, binary=False, lift=0.05)
    control, treatment = MeanStats.of(y_c, x_c), MeanStats.of(y_t, x_t)
    plain, adjusted = compare("mean", control, treatment), compare("mean", control, treatment, cuped=True)
    assert cuped.variance_reduction(control, treatment) > 0.5
    assert adjusted.absolute_high - adjusted.absolute_low < 0.7 * (plain.absolute_high - plain.absolute_low)
    assert adjusted.relative_high - adjusted.relative_low < 0.7 * (plain.relative_high - plain.relative_low)
    assert adjusted.relative_low < 0.05 < adjusted.relative_high  # still centred on the planted lift
    assert adjusted.p_value < plain.p_value


@pytest.mark.parametrize("x_value", [0.0, 7.5])
def test_cuped_without_a_varying_covariate_changes_nothing(x_value):
    c, t = _skewed(15, 300, 320)
    control, treatment = MeanStats.of(c, np.full_like(c, x_value)), MeanStats.of(t, np.full_like(t, x_value))
    assert cuped.theta(control, treatment) == 0.0
    plain, adjusted = compare("mean", control, treatment), compare("mean", control, treatment, cuped=True)
    assert adjusted.p_value == pytest.approx(plain.p_value, rel=TOL)
    assert adjusted.absolute_low == pytest.approx(plain.absolute_low, rel=TOL)
    assert cuped.variance_reduction(control, treatment) == pytest.approx(0.0, abs=TOL)


def test_cuped_on_a_ratio_is_refused():
    rng = np.random.default_rng(16)
    stats_ = RatioStats.of(*_ratio_rows(rng, 50, 40.0))
    with pytest.raises(ValueError, match="CUPED"):
        compare("ratio", stats_, stats_, cuped=True)


# --- sequential ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_sequential_intervals_are_wider_and_keep_the_fixed_p_value(kind):
    rng = np.random.default_rng(17)
    if kind == "ratio":
        control, treatment = RatioStats.of(*_ratio_rows(rng, 800, 40.0)), RatioStats.of(*_ratio_rows(rng, 800, 42.0))
    else:
        values = [rng.lognormal(3, 0.8, 800) for _ in range(2)]
        if kind == "proportion":
            values = [(v > 25).astype(float) for v in values]
        control, treatment = MeanStats.of(values[0]), MeanStats.of(values[1])
    fixed = compare(kind, control, treatment)
    always = compare(kind, control, treatment, sequential_n_star=sequential.DEFAULT_N_STAR)
    assert always.sequential and always.p_value == fixed.p_value
    half = sequential.halfwidth(fixed.se_absolute ** 2, 1600, 0.05, sequential.DEFAULT_N_STAR)
    assert always.absolute_high - always.absolute == pytest.approx(half, rel=TOL)
    assert always.absolute - always.absolute_low == pytest.approx(half, rel=TOL)
    assert always.absolute_high - always.absolute_low > fixed.absolute_high - fixed.absolute_low
    assert always.relative_high - always.relative_low > fixed.relative_high - fixed.relative_low


@pytest.mark.parametrize("alpha, n_star", [(0.05, 5000), (0.1, 1000), (0.01, 200_000)])
def test_sequence_is_tightest_where_n_star_says(alpha, n_star):
    """rho(alpha, n_star) (nearly) minimises the boundary at N = n_star over all mixture parameters."""
    n = float(n_star)

    def width(r):
        return np.sqrt(2 * (n * r ** 2 + 1) / (n ** 2 * r ** 2) * np.log(np.sqrt(n * r ** 2 + 1) / alpha))

    best = width(np.geomspace(1e-4, 1.0, 200_001)).min()
    assert sequential.halfwidth(1.0 / n, n, alpha, n_star) == pytest.approx(best, rel=1e-3)
    assert sequential.halfwidth(1.0 / n, n, alpha, n_star) > stats.norm.ppf(1 - alpha / 2) / math.sqrt(n)


# --- health ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("counts, shares", [([5030, 4970], [0.5, 0.5]), ([2100, 7900], [1, 4]),
                                            ([310, 295, 402], [0.3, 0.3, 0.4])])
def test_srm_matches_scipy_chisquare(counts, shares):
    expected = np.asarray(shares, float) / np.sum(shares) * np.sum(counts)
    chi2, p = stats.chisquare(counts, expected)
    result = health.srm(counts, shares)
    assert (result.chi2, result.p_value) == (pytest.approx(chi2, rel=TOL), pytest.approx(p, rel=TOL))
    assert result.expected == pytest.approx(tuple(expected))


def test_srm_warns_on_a_real_mismatch_only():
    assert health.srm([5200, 4800], [0.5, 0.5]).warn  # chi2 = 16, p ≈ 6e-5
    assert not health.srm([5030, 4970], [0.5, 0.5]).warn
    assert not health.srm([3050, 6950], [0.3, 0.7]).warn
    assert health.srm([5000, 5000], [0.3, 0.7]).warn


def test_srm_edge_cases():
    empty = health.srm([0, 0], [0.5, 0.5])
    assert math.isnan(empty.p_value) and not empty.warn
    assert health.srm([10, 5], [1.0, 0.0]).warn  # customers in a variant planned to get none
    with pytest.raises(ValueError):
        health.srm([10, 20, 30], [0.5, 0.5])


def test_too_small():
    limit = health.MIN_CUSTOMERS_PER_VARIANT
    assert health.too_small([limit - 1, 5000]) and health.too_small([])
    assert not health.too_small([limit, limit])


# --- multiple testing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("method, statsmodels_name", [("holm", "holm"), ("bh", "fdr_bh")])
def test_adjustment_matches_multipletests(method, statsmodels_name):
    p = np.random.default_rng(18).uniform(0, 0.2, 9)
    assert multiple.adjust(p.tolist(), method) == pytest.approx(multipletests(p, method=statsmodels_name)[1].tolist())


@pytest.mark.parametrize("method, statsmodels_name", [("holm", "holm"), ("bh", "fdr_bh")])
def test_nan_p_values_pass_through_outside_the_family(method, statsmodels_name):
    out = multiple.adjust([0.01, math.nan, 0.04, 0.03, None], method)
    assert math.isnan(out[1]) and math.isnan(out[4])
    assert [out[0], out[2], out[3]] == pytest.approx(multipletests([0.01, 0.04, 0.03], method=statsmodels_name)[1])


def test_adjustment_none_empty_and_unknown():
    assert multiple.adjust([0.01, 0.5], "none") == [0.01, 0.5]
    assert multiple.adjust([], "holm") == []
    assert all(math.isnan(v) for v in multiple.adjust([math.nan], "bh"))
    assert set(multiple.METHODS) == {"holm", "bh", "none"}
    with pytest.raises(ValueError):
        multiple.adjust([0.1], "bonferroni")


# --- power -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("baseline, variance, mde, alpha, power_wanted, share", [
    (50.0, 900.0, 0.05, 0.05, 0.8, 0.5),
    (0.12, 0.12 * 0.88, 0.1, 0.05, 0.9, 0.3),
    (8.0, 30.0, 0.02, 0.1, 0.8, 0.8),
])
def test_power_matches_statsmodels_both_ways(baseline, variance, mde, alpha, power_wanted, share):
    ratio = (1 - share) / share  # statsmodels' nobs1 is the treatment group
    effect_size = mde * baseline / math.sqrt(variance)
    sm = NormalIndPower()
    needed = power.sample_size(baseline, variance, mde, alpha=alpha, power=power_wanted, treatment_share=share)
    # statsmodels also counts the power of the far tail (below 1e-4 here), so its sizes are a hair smaller
    nobs1 = sm.solve_power(effect_size=effect_size, alpha=alpha, power=power_wanted, ratio=ratio)
    assert needed == pytest.approx(nobs1 * (1 + ratio), rel=1e-4)
    assert power_wanted <= sm.power(effect_size, needed * share, alpha, ratio=ratio) < power_wanted + 1e-4
    n_total = 20_000
    size = sm.solve_power(nobs1=n_total * share, alpha=alpha, power=power_wanted, ratio=ratio)
    detectable = power.detectable_effect(baseline, variance, n_total, alpha=alpha, power=power_wanted,
                                         treatment_share=share)
    assert detectable == pytest.approx(size * math.sqrt(variance) / baseline, rel=1e-4)
    achieved = sm.power(detectable * baseline / math.sqrt(variance), n_total * share, alpha, ratio=ratio)
    assert power_wanted <= achieved < power_wanted + 1e-4


def _near_tail_power(effect_size: float, n_total: float, share: float, alpha: float) -> float:
    """The textbook power, ignoring the far tail: what the sample-size formula inverts."""
    return stats.norm.cdf(effect_size * math.sqrt(n_total * share * (1 - share)) - stats.norm.ppf(1 - alpha / 2))


@pytest.mark.parametrize("share", [0.5, 0.25])
def test_sample_size_is_the_smallest_that_reaches_the_power(share):
    needed = power.sample_size(30.0, 400.0, 0.04, power=0.85, treatment_share=share)
    effect_size = 0.04 * 30.0 / 20.0
    assert _near_tail_power(effect_size, needed, share, 0.05) >= 0.85 > _near_tail_power(effect_size, needed - 1,
                                                                                          share, 0.05)


def test_power_round_trip_and_bad_input():
    needed = power.sample_size(20.0, 100.0, 0.05)
    assert power.detectable_effect(20.0, 100.0, needed) <= 0.05 < power.detectable_effect(20.0, 100.0, needed - 2)
    assert math.isnan(power.detectable_effect(0.0, 100.0, 1000))
    with pytest.raises(ValueError):
        power.sample_size(20.0, 100.0, 0.0)
    with pytest.raises(ValueError):
        power.sample_size(20.0, 100.0, 0.05, treatment_share=1.0)


# --- treatment x segment interaction ---------------------------------------------------------------------


def _segment_rows(seed: int, lifts: dict[str, float], sizes: dict[str, tuple[int, int]]) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for i, (segment, lift) in enumerate(lifts.items()):
        for treated, n in enumerate(sizes[segment]):
            y = rng.gamma(2.0, 10.0 + 5 * i, n) * (1 + lift * treated)
            frames.append(pd.DataFrame({"y": y, "t": treated, "s": segment}))
    return pd.concat(frames, ignore_index=True)


def _cells(rows: pd.DataFrame) -> dict:
    return {(s, "treatment" if t else "control"): MeanStats.of(g["y"]) for (s, t), g in rows.groupby(["s", "t"])}


def _anova_interaction(rows: pd.DataFrame) -> pd.Series:
    return anova_lm(ols("y ~ C(t) * C(s)", rows).fit()).loc["C(t):C(s)"]


@pytest.mark.parametrize("seed", [19, 20])
def test_interaction_matches_anova_lm(seed):
    rows = _segment_rows(seed, {"north": 0.1, "south": 0.0, "east": 0.3, "west": 0.05},
                         {"north": (120, 90), "south": (300, 310), "east": (45, 60), "west": (80, 200)})
    result, row = interaction_test(_cells(rows)), _anova_interaction(rows)
    assert result.f == pytest.approx(row["F"], rel=TOL)
    assert result.p_value == pytest.approx(row["PR(>F)"], rel=TOL)
    assert (result.df1, result.df2, result.segments) == (row["df"], len(rows) - 8, 4)


def test_interaction_finds_a_planted_interaction_and_not_an_absent_one():
    sizes = {s: (400, 400) for s in ("a", "b", "c")}
    planted = _segment_rows(21, {"a": 0.0, "b": 0.0, "c": 0.6}, sizes)
    absent = _segment_rows(22, {"a": 0.0, "b": 0.0, "c": 0.0}, sizes)
    assert interaction_test(_cells(planted)).p_value < 0.001
    assert interaction_test(_cells(absent)).p_value > 0.05


def test_interaction_drops_unusable_segments():
    rows = _segment_rows(23, {"a": 0.1, "b": 0.0, "c": 0.2}, {"a": (50, 60), "b": (70, 40), "c": (30, 35)})
    cells = _cells(rows)
    cells[("only-control", "control")] = MeanStats.of([1.0, 2.0, 3.0])
    cells[("tiny", "control")], cells[("tiny", "treatment")] = MeanStats.of([1.0, 2.0]), MeanStats.of([5.0])
    result, row = interaction_test(cells), _anova_interaction(rows)
    assert result.segments == 3
    assert result.f == pytest.approx(row["F"], rel=TOL)
    lonely = interaction_test({k: v for k, v in cells.items() if k[0] in ("a", "tiny")})
    assert lonely.segments == 1 and math.isnan(lonely.f) and math.isnan(lonely.p_value)


# --- Bayesian --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed, lift, prior", [(24, 0.04, Prior()), (25, -0.02, Prior(0.01, 0.1)),
                                               (26, 0.1, Prior(0.0, 0.05))])
def test_bayesian_summaries_match_numerical_integration(seed, lift, prior):
    c, t = _skewed(seed, 400, 420, lift=lift)
    effect = compare("mean", MeanStats.of(c), MeanStats.of(t), prior=prior)

    def density(x):  # unnormalised posterior: likelihood × prior
        return stats.norm.pdf(x, effect.relative, effect.se_relative) * stats.norm.pdf(x, prior.mean, prior.sd)

    edges = dict(points=[0.0, effect.relative], limit=200)
    z = integrate.quad(density, -3, 3, **edges)[0]
    win = integrate.quad(density, 0, 3, limit=200)[0] / z
    loss = integrate.quad(lambda x: -x * density(x), -3, 0, limit=200)[0] / z
    assert effect.chance_to_win == pytest.approx(win, rel=TOL, abs=1e-9)
    assert effect.expected_loss == pytest.approx(loss, rel=TOL, abs=1e-9)


def test_flat_prior_posterior_is_the_likelihood():
    c, t = _skewed(27, 300, 300, lift=0.05)
    flat = Prior(proper=False)
    effect = compare("mean", MeanStats.of(c), MeanStats.of(t), prior=flat)
    post = bayesian.posterior(effect.relative, effect.se_relative, flat)
    assert (post.mean, post.sd) == (effect.relative, effect.se_relative)
    assert effect.chance_to_win == pytest.approx(stats.norm.cdf(effect.relative / effect.se_relative), rel=TOL)
    q = stats.norm.ppf(0.975)
    assert (post.credible_low, post.credible_high) == (pytest.approx(effect.relative - q * effect.se_relative),
                                                       pytest.approx(effect.relative + q * effect.se_relative))
    shrunk = bayesian.posterior(effect.relative, effect.se_relative, Prior(0.0, 0.01))
    assert abs(shrunk.mean) < abs(post.mean) and shrunk.sd < post.sd


# --- degenerate input ------------------------------------------------------------------------------------


def _nan(value) -> bool:
    return value is not None and math.isnan(value)


FIELDS = ("control", "treatment", "absolute", "absolute_low", "absolute_high", "relative", "relative_low",
          "relative_high", "p_value", "se_absolute", "se_relative", "chance_to_win", "expected_loss")
ALL_BUT_TREATMENT = set(FIELDS) - {"treatment"}
RELATIVE = {"relative", "relative_low", "relative_high", "se_relative", "chance_to_win", "expected_loss"}
NO_SPREAD = {"absolute_low", "absolute_high", "p_value", "relative_low", "relative_high", "chance_to_win",
             "expected_loss"}
DEGENERATE = {  # name: (kind, control, treatment, the fields that cannot be computed)
    "empty control": ("mean", MeanStats(0, 0.0, 0.0), MeanStats.of([1.0, 2.0, 3.0]), ALL_BUT_TREATMENT),
    "one customer": ("mean", MeanStats.of([4.0]), MeanStats.of([1.0, 2.0, 3.0]),
                     NO_SPREAD | {"se_absolute", "se_relative"}),
    "no variance": ("mean", MeanStats.of([2.0] * 10), MeanStats.of([3.0] * 12), NO_SPREAD),
    "zero control": ("mean", MeanStats.of([0.0, 0.0, 0.0]), MeanStats.of([1.0, 2.0, 3.0]), RELATIVE),
    "no conversions": ("proportion", MeanStats(500, 0.0, 0.0), MeanStats(500, 0.0, 0.0), NO_SPREAD | RELATIVE),
    "control never converts": ("proportion", MeanStats(500, 0.0, 0.0), MeanStats(500, 12.0, 12.0), RELATIVE),
    "empty proportion": ("proportion", MeanStats(0, 0.0, 0.0), MeanStats(0, 0.0, 0.0), set(FIELDS)),
    "ratio without orders": ("ratio", RatioStats(10, 0.0, 0.0, 0.0, 0.0, 0.0),
                             RatioStats.of([5.0, 6.0], [1.0, 2.0]), ALL_BUT_TREATMENT),
    "ratio one customer": ("ratio", RatioStats.of([5.0], [1.0]), RatioStats.of([5.0, 6.0], [1.0, 2.0]),
                           NO_SPREAD | {"se_absolute", "se_relative"}),
}


@pytest.mark.parametrize("name", DEGENERATE)
@pytest.mark.parametrize("sequential_on", [False, True])
def test_degenerate_input_gives_nan_without_exceptions_or_warnings(name, sequential_on):
    kind, control, treatment, missing = DEGENERATE[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        effect = compare(kind, control, treatment, sequential_n_star=5000 if sequential_on else None)
        if kind != "ratio":
            compare(kind, control, treatment, cuped=True)
            cuped.variance_reduction(control, treatment)
    assert {f for f in FIELDS if _nan(getattr(effect, f))} == missing
    assert not any(math.isinf(getattr(effect, f)) for f in FIELDS)


def test_a_zero_control_still_reports_the_absolute_difference():
    kind, control, treatment, _ = DEGENERATE["control never converts"]
    effect = compare(kind, control, treatment)
    assert effect.absolute == pytest.approx(0.024)
    assert effect.p_value == pytest.approx(proportions_ztest([12, 0], [500, 500])[1], rel=TOL)
    assert _nan(effect.relative) and _nan(effect.se_relative)


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        compare("median", MeanStats.of([1.0, 2.0]), MeanStats.of([1.0, 2.0]))


# --- purity ----------------------------------------------------------------------------------------------


def test_engine_imports_no_web_or_database_code():
    banned = {"dash", "flask", "sqlalchemy", "psycopg", "duckdb", "pandas"}
    for path in Path(experiments.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not {n.split(".")[0] for n in names} & banned, path.name
