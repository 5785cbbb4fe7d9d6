"""Side-by-side comparison of two customer segments: per-metric tests, effect sizes and BH-adjusted p-values.

Every comparison returns one `MetricComparison` row; differences and effect sizes are oriented B relative
to A (positive: B is larger). Degenerate inputs (an empty segment, no variation, a single category) give a
row with `p_value=None` and a warning instead of an exception or a NaN, so the table can always be drawn.

| kind | values shown | test | effect size |
|---|---|---|---|
| mean | means | Welch t-test | Cohen's d (pooled SD) |
| skewed | means | Mann-Whitney U | rank-biserial r |
| rate | rates | two-proportion z-test (pooled) | Cohen's h |
| mix | share of the largest category | chi-square test of independence | Cramér's V |
| count | segment sizes | none | none |
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace

import numpy as np
import pandas as pd
from scipy import stats

MIN_VALUES = 30  # per segment, for means and skewed metrics
MIN_SUCCESSES = 10  # per segment, successes and failures alike, for rates
MIN_EXPECTED = 5  # expected count per cell of the chi-square table
MAX_SMALL_EXPECTED_SHARE = 0.2  # Cochran's rule: at most 20% of cells may expect fewer than MIN_EXPECTED

SEGMENT_NAMES = ("Segment A", "Segment B")

Values = Sequence[float] | np.ndarray | pd.Series


@dataclass(frozen=True)
class MetricComparison:
    metric: str
    value_a: float | None
    value_b: float | None
    difference: float | None  # value_b - value_a
    effect_size: float | None
    effect_name: str | None
    test: str | None
    p_value: float | None
    p_adjusted: float | None = None
    warning: str | None = None
    kind: str = "mean"  # "mean" | "skewed" | "rate" | "mix" | "count"


# --- helpers -------------------------------------------------------------------------------------------


def _clean(values: Values) -> np.ndarray:
    """The values as a float array without missing or infinite entries."""
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype=object).ravel())
    array = pd.to_numeric(series).to_numpy(dtype=float, na_value=np.nan)
    return array[np.isfinite(array)]


def _join(*warnings: str | None) -> str | None:
    text = " ".join(w for w in warnings if w)
    return text or None


def _empty_warning(sizes: Sequence[float], noun: str) -> str | None:
    """One "<segment> has no <noun>." sentence per segment of size zero."""
    return _join(*(f"{name} has no {noun}." for name, n in zip(SEGMENT_NAMES, sizes, strict=True) if n == 0))


def _small_warning(sizes: Sequence[int], noun: str, minimum: int) -> str | None:
    return _join(*(
        f"{name} has {n} {noun}: too few to judge (at least {minimum})."
        for name, n in zip(SEGMENT_NAMES, sizes, strict=True) if 0 < n < minimum
    ))


def _mean_or_none(values: np.ndarray) -> float | None:
    return float(values.mean()) if values.size else None


def _difference(value_a: float | None, value_b: float | None) -> float | None:
    return None if value_a is None or value_b is None else value_b - value_a


def _finite_or_none(value: float) -> float | None:
    # scipy signals an undefined statistic with NaN; the table must show "no result", not a number
    return float(value) if math.isfinite(value) else None


def _is_constant(values: np.ndarray) -> bool:
    return values.size > 0 and bool(np.all(values == values[0]))


# --- continuous metrics --------------------------------------------------------------------------------


def cohens_d(a: np.ndarray, b: np.ndarray) -> float | None:
    """(mean B - mean A) / pooled SD; None when the pooled SD is zero or undefined."""
    dof = a.size + b.size - 2
    if a.size == 0 or b.size == 0 or dof <= 0:
        return None
    ss_a = ((a - a.mean()) ** 2).sum()
    ss_b = ((b - b.mean()) ** 2).sum()
    pooled_sd = math.sqrt((ss_a + ss_b) / dof)
    return float((b.mean() - a.mean()) / pooled_sd) if pooled_sd > 0 else None


def rank_biserial(u_b: float, n_a: int, n_b: int) -> float:
    """2 * U_B / (n_A * n_B) - 1: the share of pairs where B is larger minus the share where A is larger."""
    return float(2 * u_b / (n_a * n_b) - 1)


def _continuous_row(metric: str, a: np.ndarray, b: np.ndarray, kind: str, effect_name: str,
                    test: str) -> MetricComparison:
    """The row with values, difference and size warnings; effect size, test and p-value left empty."""
    value_a, value_b = _mean_or_none(a), _mean_or_none(b)
    warning = _join(_empty_warning((a.size, b.size), "customers with a value"),
                    _small_warning((a.size, b.size), "customers", MIN_VALUES))
    return MetricComparison(metric, value_a, value_b, _difference(value_a, value_b), None, effect_name, test,
                            None, warning=warning, kind=kind)


def compare_means(metric: str, a: Values, b: Values) -> MetricComparison:
    """Means of two segments, compared with Welch's t-test; effect size Cohen's d."""
    a, b = _clean(a), _clean(b)
    row = _continuous_row(metric, a, b, "mean", "Cohen's d", "Welch t-test")
    if a.size == 0 or b.size == 0:
        return row
    effect = cohens_d(a, b)
    if a.size < 2 or b.size < 2:  # a sample variance needs two values per segment
        return replace(row, effect_size=effect)
    if _is_constant(a) and _is_constant(b):  # the standard error is zero: t is undefined
        note = f"No variation in {metric} within either segment: the t-test is undefined."
        return replace(row, effect_size=effect, warning=_join(row.warning, note))
    p_value = stats.ttest_ind(a, b, equal_var=False).pvalue
    return replace(row, effect_size=effect, p_value=_finite_or_none(p_value))


def compare_skewed(metric: str, a: Values, b: Values) -> MetricComparison:
    """Means of two segments (money is shown as means), compared with the Mann-Whitney U test."""
    a, b = _clean(a), _clean(b)
    row = _continuous_row(metric, a, b, "skewed", "rank-biserial r", "Mann-Whitney U")
    if a.size == 0 or b.size == 0:
        return row
    result = stats.mannwhitneyu(b, a, alternative="two-sided")  # U of B, so that r > 0 means B tends to be larger
    effect = rank_biserial(result.statistic, a.size, b.size)
    if _is_constant(np.concatenate([a, b])):  # every pair is a tie: there is nothing to rank
        note = f"No variation in {metric} across both segments: the Mann-Whitney test is undefined."
        return replace(row, effect_size=effect, warning=_join(row.warning, note))
    return replace(row, effect_size=effect, p_value=_finite_or_none(result.pvalue))


# --- rates ---------------------------------------------------------------------------------------------


def _check_rate_inputs(successes: int, n: int, segment: str) -> None:
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"{segment}: successes must be between 0 and n, got {successes} of {n}")


def two_proportion_z_test(successes_a: int, n_a: int, successes_b: int, n_b: int) -> float | None:
    """Two-sided p-value of the pooled two-proportion z-test; None when it is undefined."""
    pooled = (successes_a + successes_b) / (n_a + n_b)
    standard_error = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if standard_error == 0:  # all successes or all failures: no variation to test
        return None
    z = (successes_b / n_b - successes_a / n_a) / standard_error
    return float(2 * stats.norm.sf(abs(z)))


def cohens_h(rate_a: float, rate_b: float) -> float:
    """2 arcsin(sqrt(rate B)) - 2 arcsin(sqrt(rate A))."""
    return 2 * math.asin(math.sqrt(rate_b)) - 2 * math.asin(math.sqrt(rate_a))


def _rate_small_warning(successes: Sequence[int], sizes: Sequence[int]) -> str | None:
    return _join(*(
        f"{name} has {s} successes and {n - s} failures: too few to judge "
        f"(at least {MIN_SUCCESSES} of each)."
        for name, s, n in zip(SEGMENT_NAMES, successes, sizes, strict=True)
        if n > 0 and min(s, n - s) < MIN_SUCCESSES
    ))


def compare_rates(metric: str, successes_a: int, n_a: int, successes_b: int, n_b: int) -> MetricComparison:
    """Rates of two segments, compared with the two-proportion z-test; effect size Cohen's h."""
    _check_rate_inputs(successes_a, n_a, SEGMENT_NAMES[0])
    _check_rate_inputs(successes_b, n_b, SEGMENT_NAMES[1])
    rate_a = successes_a / n_a if n_a else None
    rate_b = successes_b / n_b if n_b else None
    warning = _join(_empty_warning((n_a, n_b), "customers"),
                    _rate_small_warning((successes_a, successes_b), (n_a, n_b)))
    row = MetricComparison(metric, rate_a, rate_b, _difference(rate_a, rate_b), None, "Cohen's h",
                           "two-proportion z-test", None, warning=warning, kind="rate")
    if rate_a is None or rate_b is None:
        return row
    p_value = two_proportion_z_test(successes_a, n_a, successes_b, n_b)
    if p_value is None:
        note = f"No variation in {metric}: every customer in both segments has the same outcome."
        warning = _join(warning, note)
    return replace(row, effect_size=cohens_h(rate_a, rate_b), p_value=p_value, warning=warning)


# --- category mix --------------------------------------------------------------------------------------


def mix_table(counts_a: pd.Series, counts_b: pd.Series) -> pd.DataFrame:
    """2 x categories table over the union of both indexes; missing counts are 0, all-zero categories dropped."""
    table = pd.concat([counts_a.rename("A"), counts_b.rename("B")], axis=1).fillna(0).T.astype(float)
    if (table.to_numpy() < 0).any():
        raise ValueError("category counts must not be negative")
    return table.loc[:, table.sum(axis=0) > 0]


def cramers_v(chi2: float, total: float, shape: tuple[int, int]) -> float:
    """sqrt(chi2 / (n * (min(rows, columns) - 1)))."""
    return math.sqrt(chi2 / (total * (min(shape) - 1)))


def _expected_warning(expected: np.ndarray) -> str | None:
    small = int((expected < MIN_EXPECTED).sum())
    if small <= MAX_SMALL_EXPECTED_SHARE * expected.size:
        return None
    return (f"{small} of {expected.size} expected counts are below {MIN_EXPECTED}: "
            f"too few to judge (at most {MAX_SMALL_EXPECTED_SHARE:.0%}).")


def compare_mix(metric: str, counts_a: pd.Series, counts_b: pd.Series) -> MetricComparison:
    """Category mix of two segments, compared with the chi-square test of independence; effect Cramér's V."""
    table = mix_table(counts_a, counts_b)
    totals = table.sum(axis=1).to_numpy()
    row = MetricComparison(metric, None, None, None, None, "Cramér's V", "chi-square", None,
                           warning=_empty_warning(totals, "customers"), kind="mix")
    if table.shape[1] == 0:
        return row
    top = table.sum(axis=0).idxmax()  # the share shown is that of the largest category in A+B combined
    shares = [table.loc[s, top] / total if total else None for s, total in zip(("A", "B"), totals, strict=True)]
    row = replace(row, metric=f"{metric} ({top} share)", value_a=shares[0], value_b=shares[1],
                  difference=_difference(*shares))
    if 0 in totals:
        return row
    if table.shape[1] == 1:
        note = f"Only one category ({top}) in both segments: there is no mix to compare."
        return replace(row, warning=_join(row.warning, note))
    chi2, p_value, _, expected = stats.chi2_contingency(table.to_numpy(), correction=False)
    return replace(row, effect_size=cramers_v(chi2, totals.sum(), table.shape),
                   p_value=_finite_or_none(p_value), warning=_join(row.warning, _expected_warning(expected)))


# --- sizes, multiple testing, export -------------------------------------------------------------------


def compare_counts(metric: str, n_a: int, n_b: int) -> MetricComparison:
    """Segment sizes side by side: values and difference only, no test."""
    return MetricComparison(metric, float(n_a), float(n_b), float(n_b - n_a), None, None, None, None,
                            warning=_empty_warning((n_a, n_b), "customers"), kind="count")


def adjust_p_values(rows: Sequence[MetricComparison]) -> list[MetricComparison]:
    """Benjamini-Hochberg adjusted p-values across the rows that have one; order preserved."""
    tested = [i for i, row in enumerate(rows) if row.p_value is not None]
    adjusted = [replace(row, p_adjusted=None) for row in rows]
    if tested:
        p_values = stats.false_discovery_control([rows[i].p_value for i in tested], method="bh")
        for i, p_adjusted in zip(tested, p_values, strict=True):
            adjusted[i] = replace(rows[i], p_adjusted=float(p_adjusted))
    return adjusted


def comparison_frame(rows: Sequence[MetricComparison]) -> pd.DataFrame:
    """One row per metric, the dataclass fields as columns (for the table and the CSV export)."""
    return pd.DataFrame([asdict(row) for row in rows], columns=[field.name for field in fields(MetricComparison)])
