"""Segment comparison statistics agree with independent computations (statsmodels, scipy, plain numpy)."""
from __future__ import annotations

import ast
import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.contingency_tables import Table
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest
from statsmodels.stats.weightstats import ttest_ind as sm_ttest_ind

from services.segmentation import statistics as seg
from services.segmentation.statistics import (
    MIN_VALUES,
    MetricComparison,
    adjust_p_values,
    compare_counts,
    compare_means,
    compare_mix,
    compare_rates,
    compare_skewed,
    comparison_frame,
)

MODULE_PATH = Path(seg.__file__)


def _samples(seed: int, n_a: int, n_b: int, shift: float = 0.3, scale_b: float = 1.5):
    rng = np.random.default_rng(seed)
    return rng.normal(10.0, 2.0, n_a), rng.normal(10.0 + shift, 2.0 * scale_b, n_b)


def _pairwise_rank_biserial(a, b) -> float:
    """Mean of sign(b_j - a_i) over all pairs (ties count 0)."""
    return float(np.mean([np.sign(y - x) for x, y in itertools.product(a, b)]))


# --- Welch t-test ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed, n_a, n_b", [(1, 40, 55), (2, 300, 120), (3, 35, 1000)])
def test_welch_p_value_matches_scipy_and_statsmodels(seed, n_a, n_b):
    a, b = _samples(seed, n_a, n_b)
    row = compare_means("Revenue per customer", a, b)
    assert row.p_value == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue, rel=1e-9)
    assert row.p_value == pytest.approx(sm_ttest_ind(a, b, usevar="unequal")[1], rel=1e-9)
    assert (row.value_a, row.value_b) == (pytest.approx(a.mean()), pytest.approx(b.mean()))
    assert row.difference == pytest.approx(b.mean() - a.mean())
    assert (row.test, row.effect_name, row.kind, row.warning) == ("Welch t-test", "Cohen's d", "mean", None)


@pytest.mark.parametrize("seed, n_a, n_b", [(4, 40, 55), (5, 200, 31)])
def test_cohens_d_matches_plain_numpy(seed, n_a, n_b):
    a, b = _samples(seed, n_a, n_b, shift=1.0)
    pooled_sd = math.sqrt(((n_a - 1) * a.var(ddof=1) + (n_b - 1) * b.var(ddof=1)) / (n_a + n_b - 2))
    row = compare_means("Orders", a, b)
    assert row.effect_size == pytest.approx((b.mean() - a.mean()) / pooled_sd, rel=1e-9)
    assert compare_means("Orders", b, a).effect_size == pytest.approx(-row.effect_size)


def test_nan_values_are_dropped_before_testing():
    a, b = _samples(6, 60, 70)
    with_nan_a = np.concatenate([a[:20], [np.nan, np.nan], a[20:]])
    with_none_b = list(b[:10]) + [None] + list(b[10:])
    row = compare_means("Income", with_nan_a, with_none_b)
    assert row.p_value == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue, rel=1e-9)
    assert row.value_a == pytest.approx(a.mean())
    assert row.warning is None


def test_pandas_series_with_missing_values_is_accepted():
    a, b = _samples(7, 50, 50)
    series_a = pd.Series(list(a) + [pd.NA], dtype="Float64")
    row = compare_skewed("Revenue", series_a, pd.Series(b))
    assert row.p_value == pytest.approx(stats.mannwhitneyu(a, b).pvalue, rel=1e-9)


# --- Mann-Whitney U ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed, n_a, n_b", [(8, 45, 60), (9, 500, 300)])
def test_mann_whitney_p_value_matches_scipy(seed, n_a, n_b):
    rng = np.random.default_rng(seed)
    a = rng.lognormal(3.0, 1.0, n_a)
    b = np.round(rng.lognormal(3.2, 1.0, n_b))  # rounded: ties in B
    row = compare_skewed("Revenue per customer", a, b)
    assert row.p_value == pytest.approx(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue, rel=1e-9)
    assert (row.value_a, row.value_b) == (pytest.approx(a.mean()), pytest.approx(b.mean()))
    assert (row.test, row.effect_name, row.kind) == ("Mann-Whitney U", "rank-biserial r", "skewed")


@pytest.mark.parametrize("seed", [10, 11, 12])
def test_rank_biserial_matches_brute_force_pairs_with_ties(seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 6, 13).astype(float)  # small integer range: many ties
    b = rng.integers(1, 8, 17).astype(float)
    assert compare_skewed("Orders", a, b).effect_size == pytest.approx(_pairwise_rank_biserial(a, b), abs=1e-12)


def test_rank_biserial_sign_follows_the_larger_group():
    rng = np.random.default_rng(13)
    low, high = rng.normal(0, 1, 40), rng.normal(2, 1, 40)
    assert compare_skewed("Revenue", low, high).effect_size > 0.5
    assert compare_skewed("Revenue", high, low).effect_size < -0.5
    assert compare_skewed("Revenue", [1.0, 2.0], [3.0, 4.0, 5.0]).effect_size == 1.0


# --- two-proportion z-test ---------------------------------------------------------------------------------


@pytest.mark.parametrize("counts", [(120, 1000, 150, 1100), (40, 90, 22, 95), (300, 2000, 300, 2000)])
def test_two_proportion_z_test_matches_statsmodels(counts):
    s_a, n_a, s_b, n_b = counts
    row = compare_rates("Coupon redemption", s_a, n_a, s_b, n_b)
    _, expected_p = proportions_ztest(np.array([s_a, s_b]), np.array([n_a, n_b]), alternative="two-sided")
    assert row.p_value == pytest.approx(expected_p, rel=1e-9)
    assert (row.value_a, row.value_b) == (pytest.approx(s_a / n_a), pytest.approx(s_b / n_b))
    assert row.difference == pytest.approx(s_b / n_b - s_a / n_a)
    assert row.effect_size == pytest.approx(
        2 * np.arcsin(np.sqrt(s_b / n_b)) - 2 * np.arcsin(np.sqrt(s_a / n_a)), abs=1e-12)
    assert (row.test, row.effect_name, row.kind, row.warning) == ("two-proportion z-test", "Cohen's h", "rate", None)


def test_rates_with_few_successes_or_failures_warn_but_still_test():
    row = compare_rates("Churn", 4, 200, 30, 210)
    assert "Segment A" in row.warning and "Segment B" not in row.warning
    assert row.p_value == pytest.approx(proportions_ztest([4, 30], [200, 210])[1], rel=1e-9)
    few_failures = compare_rates("Churn", 100, 105, 50, 100)
    assert "Segment A" in few_failures.warning and few_failures.p_value is not None


def test_rates_without_variation_or_customers_give_no_p_value():
    all_zero = compare_rates("Churn", 0, 100, 0, 120)
    assert all_zero.p_value is None and "no variation" in all_zero.warning.lower()
    assert all_zero.value_a == 0.0 and all_zero.effect_size == 0.0
    empty = compare_rates("Churn", 0, 0, 30, 120)
    assert empty.value_a is None and empty.difference is None and empty.p_value is None
    assert "Segment A has no customers" in empty.warning and empty.value_b == pytest.approx(0.25)


def test_impossible_rate_counts_are_rejected():
    with pytest.raises(ValueError):
        compare_rates("Churn", 11, 10, 5, 10)


# --- chi-square on the category mix ------------------------------------------------------------------------


def test_mix_matches_statsmodels_on_a_hand_built_table():
    counts_a = pd.Series({"Female": 420, "Male": 380, "Other": 25})
    counts_b = pd.Series({"Male": 300, "Female": 460, "Other": 12})
    table = np.array([[420, 380, 25], [460, 300, 12]])  # columns: Female, Male, Other
    reference = Table(table, shift_zeros=False).test_nominal_association()
    row = compare_mix("Gender mix", counts_a, counts_b)
    assert row.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    assert row.effect_size == pytest.approx(math.sqrt(reference.statistic / table.sum()), rel=1e-9)
    assert row.metric == "Gender mix (Female share)"
    assert row.value_a == pytest.approx(420 / 825) and row.value_b == pytest.approx(460 / 772)
    assert row.difference == pytest.approx(460 / 772 - 420 / 825)
    assert (row.test, row.effect_name, row.kind, row.warning) == ("chi-square", "Cramér's V", "mix", None)


def test_mix_uses_the_union_of_categories_and_drops_empty_ones():
    counts_a = pd.Series({"North": 50, "South": 70, "Islands": 0, "East": 40})
    counts_b = pd.Series({"North": 65, "West": 35, "South": 55})
    # columns: East, North, South, West ("Islands" is zero in both; missing categories count 0)
    table = np.array([[40, 50, 70, 0], [0, 65, 55, 35]])
    chi2, p_value, _, _ = stats.chi2_contingency(table, correction=False)
    row = compare_mix("Region mix", counts_a, counts_b)
    assert row.p_value == pytest.approx(p_value, rel=1e-9)
    assert row.effect_size == pytest.approx(math.sqrt(chi2 / table.sum()), rel=1e-9)
    assert row.metric == "Region mix (South share)"  # 125 customers, the largest combined


def test_mix_with_a_two_by_two_table_is_not_continuity_corrected():
    counts_a, counts_b = pd.Series({"yes": 30, "no": 70}), pd.Series({"yes": 45, "no": 55})
    expected = Table(np.array([[30, 70], [45, 55]]), shift_zeros=False).test_nominal_association().pvalue
    assert compare_mix("Married", counts_a, counts_b).p_value == pytest.approx(expected, rel=1e-9)


def test_mix_with_small_expected_counts_warns_but_still_tests():
    row = compare_mix("Channel mix", pd.Series({"web": 40, "store": 3, "phone": 1}),
                      pd.Series({"web": 35, "store": 2, "phone": 2}))
    assert row.p_value is not None and "expected" in row.warning


def test_mix_with_a_single_category_or_an_empty_segment_gives_no_p_value():
    single = compare_mix("Country mix", pd.Series({"DE": 80, "FR": 0}), pd.Series({"DE": 95}))
    assert single.p_value is None and single.warning and single.effect_size is None
    assert single.value_a == 1.0 and single.value_b == 1.0
    empty = compare_mix("Country mix", pd.Series(dtype=float), pd.Series({"DE": 10, "FR": 5}))
    assert empty.p_value is None and empty.value_a is None and "Segment A" in empty.warning
    assert empty.value_b == pytest.approx(10 / 15)
    nothing = compare_mix("Country mix", pd.Series(dtype=float), pd.Series(dtype=float))
    assert nothing.p_value is None and "Segment A" in nothing.warning and "Segment B" in nothing.warning


# --- sizes, warnings, degenerate input ---------------------------------------------------------------------


def test_counts_show_sizes_and_difference_only():
    row = compare_counts("Customers", 1200, 950)
    assert (row.value_a, row.value_b, row.difference) == (1200, 950, -250)
    assert (row.p_value, row.test, row.effect_size, row.kind) == (None, None, None, "count")
    assert "Segment B" in compare_counts("Customers", 10, 0).warning


@pytest.mark.parametrize("compare", [compare_means, compare_skewed])
def test_small_groups_warn_but_still_test(compare):
    a, b = _samples(14, 12, 200)
    row = compare("Orders", a, b)
    assert row.warning == f"Segment A has 12 customers: too few to judge (at least {MIN_VALUES})."
    assert row.p_value is not None
    assert compare("Orders", *_samples(15, MIN_VALUES, MIN_VALUES)).warning is None
    assert "Segment B" in compare("Orders", *_samples(16, 200, MIN_VALUES - 1)).warning


@pytest.mark.parametrize("compare", [compare_means, compare_skewed])
@pytest.mark.parametrize("a, b, empty", [
    ([], [1.0, 2.0, 3.0], "Segment A"),
    ([1.0, 2.0], [np.nan, np.nan], "Segment B"),
    ([], [], "Segment A"),
])
def test_empty_groups_give_no_value_and_say_which_segment(compare, a, b, empty):
    row = compare("Revenue", a, b)
    assert row.p_value is None and row.effect_size is None and row.difference is None
    assert empty in row.warning
    if empty == "Segment A":
        assert row.value_a is None
    else:
        assert row.value_b is None and row.value_a == 1.5


@pytest.mark.parametrize("compare", [compare_means, compare_skewed])
def test_no_variation_gives_no_p_value(compare):
    row = compare("Children", [2.0] * 40, [2.0] * 50)
    assert row.p_value is None and "no variation" in row.warning.lower()
    assert row.difference == 0.0


def test_constant_but_different_groups_have_no_t_test():
    row = compare_means("Children", [1.0] * 40, [3.0] * 40)
    assert row.p_value is None and "no variation" in row.warning.lower()
    assert row.difference == 2.0


def test_single_values_do_not_raise():
    row = compare_means("Income", [5.0], [6.0, 7.0])
    assert row.p_value is None and "Segment A has 1 customers" in row.warning
    assert compare_skewed("Income", [5.0], [6.0]).warning is not None


# --- planted differences -----------------------------------------------------------------------------------


def test_planted_shift_is_found_and_no_shift_is_not():
    rng = np.random.default_rng(2024)
    a, shifted = rng.normal(0, 1, 2000), rng.normal(0.5, 1, 2000)
    same = rng.normal(0, 1, 2000)
    assert compare_means("Score", a, shifted).p_value < 1e-6
    assert compare_skewed("Score", a, shifted).p_value < 1e-6
    assert compare_means("Score", a, same).p_value > 0.001
    assert compare_skewed("Score", a, same).p_value > 0.001
    assert compare_means("Score", a, shifted).effect_size == pytest.approx(0.5, abs=0.1)


# --- multiple testing and export ---------------------------------------------------------------------------


def _table_rows() -> list[MetricComparison]:
    a, b = _samples(17, 80, 90, shift=0.6)
    return [
        compare_counts("Customers", 80, 90),
        compare_means("Revenue per customer", a, b),
        compare_skewed("Orders", a, b),
        compare_rates("Coupon redemption", 30, 80, 40, 90),
        compare_means("Children", [1.0] * 40, [1.0] * 40),  # no p-value
        compare_mix("Gender mix", pd.Series({"F": 40, "M": 40}), pd.Series({"F": 50, "M": 40})),
        compare_rates("Churn", 10, 80, 11, 90),
    ]


def test_benjamini_hochberg_matches_statsmodels_and_skips_rows_without_p():
    rows = _table_rows()
    adjusted = adjust_p_values(rows)
    assert [row.metric for row in adjusted] == [row.metric for row in rows]
    tested = [i for i, row in enumerate(rows) if row.p_value is not None]
    assert len(tested) == 5
    expected = multipletests([rows[i].p_value for i in tested], method="fdr_bh")[1]
    assert [adjusted[i].p_adjusted for i in tested] == pytest.approx(list(expected), rel=1e-12)
    assert all(adjusted[i].p_adjusted is None for i in range(len(rows)) if i not in tested)
    assert all(row.p_adjusted is None for row in adjust_p_values([compare_counts("Customers", 1, 2)]))
    assert adjust_p_values([]) == []


def test_comparison_frame_has_one_row_per_metric_and_every_field():
    rows = adjust_p_values(_table_rows())
    frame = comparison_frame(rows)
    assert list(frame.columns) == ["metric", "value_a", "value_b", "difference", "effect_size", "effect_name",
                                   "test", "p_value", "p_adjusted", "warning", "kind"]
    assert list(frame["metric"]) == [row.metric for row in rows]
    assert frame["p_adjusted"].iloc[1] == pytest.approx(rows[1].p_adjusted)
    assert comparison_frame([]).empty
    assert "metric,value_a" in frame.to_csv(index=False)


def test_module_does_not_import_web_or_database_layers():
    tree = ast.parse(MODULE_PATH.read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert imported.isdisjoint({"dash", "flask", "sqlalchemy"})
