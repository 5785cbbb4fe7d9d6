"""A campaign's experiment readout: exposure and health, then every metric's effect, adjusted for multiple tests."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from services.analytics.warehouse import Warehouse
from services.campaigns.catalog import CampaignInfo
from services.campaigns.facts import TOTAL, Design, assignment_health, stats_of, variant_sums
from services.campaigns.metrics import METRICS, Metric
from services.campaigns.window import Window
from services.experiments import cuped, health, multiple
from services.experiments.frequentist import Effect, compare
from services.experiments.health import Srm
from services.experiments.sequential import DEFAULT_N_STAR

CONTROL_NAMES = ("control", "holdout")
CAPS = (0.9, 0.95, 0.99, 0.999)  # the percentiles outlier capping offers


@dataclass(frozen=True)
class Settings:
    """The analyst's choices: each is shown in the readout and is part of its cache key."""

    cuped: bool = False
    cap: float | None = None  # a percentile of CAPS; None: no capping
    correction: str = "holm"  # a key of multiple.METHODS
    sequential: bool = False
    alpha: float = 0.05

    def key(self) -> str:
        return f"cuped={self.cuped}|cap={self.cap}|corr={self.correction}|seq={self.sequential}|a={self.alpha}"

    @property
    def n_star(self) -> float | None:
        return DEFAULT_N_STAR if self.sequential else None


@dataclass(frozen=True)
class Health:
    counts: pd.DataFrame  # variant, customers, planned_share, share
    srm: Srm
    several_variants: int  # customers assigned to more than one variant: excluded
    duplicated: int  # customers assigned twice to the same variant: kept once
    too_small: bool
    other_variants: tuple[str, ...]  # variants beyond the compared two


def significant(effect: Effect, p_adjusted: float, alpha: float) -> bool:
    """The adjusted p-value below alpha; with sequential intervals, which the fixed-horizon p-value does not
    know about, the interval must exclude zero too."""
    if not p_adjusted < alpha:
        return False
    return not effect.sequential or effect.absolute_low > 0 or effect.absolute_high < 0


@dataclass(frozen=True)
class Result:
    metric: Metric
    effect: Effect
    p_adjusted: float
    cuped: bool  # CUPED adjusted this metric

    def significant(self, alpha: float) -> bool:
        return significant(self.effect, self.p_adjusted, alpha)


@dataclass(frozen=True)
class Readout:
    campaign: CampaignInfo
    window: Window
    control: str
    treatment: str
    health: Health
    results: tuple[Result, ...]
    settings: Settings
    variance_reduction: dict[str, float]  # by metric key, when CUPED is on
    stats: dict  # by metric key: (control, treatment) sufficient statistics, for planning and the timeline

    def result(self, key: str) -> Result:
        return next(result for result in self.results if result.metric.key == key)

    def customers(self, variant: str) -> int:
        counts = self.health.counts
        return int(counts.loc[counts["variant"] == variant, "customers"].sum())


def control_and_treatment(variants: list[str]) -> tuple[str, str, tuple[str, ...]] | None:
    """The control (named so, else the first by name), the first other variant, and the rest; None below two."""
    ordered = sorted(variants)
    if len(ordered) < 2:
        return None
    control = next((v for v in ordered if v.lower() in CONTROL_NAMES), ordered[0])
    others = [v for v in ordered if v != control]
    return control, others[0], tuple(others[1:])


def readout(warehouse: Warehouse, info: CampaignInfo, window: Window, customers: str,
            settings: Settings) -> Readout | None:
    """The readout of the filtered customers of a campaign; None when fewer than two variants have any."""
    counts, several, duplicated = assignment_health(warehouse, info.campaign_id, customers)
    pair = control_and_treatment(counts["variant"].tolist())
    if pair is None:
        return None
    control, treatment, others = pair
    sums = variant_sums(warehouse, Design(info.campaign_id, window, customers, settings.cap))
    rows = sums[sums["segment"] == TOTAL].set_index("variant")
    results, reduction = _results(rows.loc[control], rows.loc[treatment], settings)
    stats = {metric.key: (stats_of(rows.loc[control], metric), stats_of(rows.loc[treatment], metric))
             for metric in METRICS}
    return Readout(info, window, control, treatment, _health(counts, info, control, treatment, several, duplicated,
                                                             others), results, settings, reduction, stats)


def effects(control: pd.Series, treatment: pd.Series, metrics: tuple[Metric, ...],
            settings: Settings) -> list[tuple[Metric, Effect, bool]]:
    """Each metric's effect from two rows of sufficient statistics; CUPED only where it applies."""
    out = []
    for metric in metrics:
        adjusted = settings.cuped and metric.covariate is not None
        out.append((metric, compare(metric.kind, stats_of(control, metric), stats_of(treatment, metric),
                                    alpha=settings.alpha, cuped=adjusted, sequential_n_star=settings.n_star), adjusted))
    return out


def _results(control: pd.Series, treatment: pd.Series, settings: Settings) -> tuple[tuple[Result, ...], dict]:
    found = effects(control, treatment, METRICS, settings)
    adjusted_p = multiple.adjust([effect.p_value for _, effect, _ in found], settings.correction)
    results = tuple(Result(metric, effect, p, adjusted) for (metric, effect, adjusted), p in zip(found, adjusted_p))
    reduction = {metric.key: cuped.variance_reduction(stats_of(control, metric), stats_of(treatment, metric))
                 for metric, _, adjusted in found if adjusted}
    return results, reduction


def _health(counts: pd.DataFrame, info: CampaignInfo, control: str, treatment: str, several: int,
            duplicated: int, others: tuple[str, ...]) -> Health:
    """Sample ratio of the compared variants against the plan (an even split unless the campaign says otherwise)."""
    share = info.planned_treatment_share if info.planned_treatment_share is not None else 0.5
    compared = counts.set_index("variant").loc[[control, treatment], "customers"].astype(int)
    planned = np.array([1.0 - share, share])
    table = pd.DataFrame({"variant": [control, treatment], "customers": compared.to_numpy(),
                          "planned_share": planned, "share": compared.to_numpy() / max(int(compared.sum()), 1)})
    srm = health.srm(compared.tolist(), planned.tolist())
    return Health(table, srm, several, duplicated, health.too_small(compared.tolist()), others)


TABLE_COLUMNS = ["metric", "kind", "control", "treatment", "absolute_lift", "absolute_low", "absolute_high",
                 "relative_lift", "relative_low", "relative_high", "p_value", "p_adjusted", "chance_to_win",
                 "expected_loss", "cuped", "significant"]


def readout_table(result: Readout | None) -> pd.DataFrame:
    """The readout as one row per metric: what the page's table shows and the CSV export writes."""
    rows = []
    for item in result.results if result is not None else ():
        e = item.effect
        rows.append({
            "metric": item.metric.label, "kind": item.metric.kind, "control": e.control, "treatment": e.treatment,
            "absolute_lift": e.absolute, "absolute_low": e.absolute_low, "absolute_high": e.absolute_high,
            "relative_lift": e.relative, "relative_low": e.relative_low, "relative_high": e.relative_high,
            "p_value": e.p_value, "p_adjusted": item.p_adjusted, "chance_to_win": e.chance_to_win,
            "expected_loss": e.expected_loss, "cuped": item.cuped,
            "significant": item.significant(result.settings.alpha),
        })
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)
