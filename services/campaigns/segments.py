"""Who responded: a metric's lift per segment, adjusted p-values, and whether the lift differs between segments.

Two interaction tests ask whether the lift differs between segments at all:
- on the relative scale, Cochran's Q of the segments' relative lifts (with their delta-method
  variances): the question "do women respond more to promotions?" is about relative lifts;
- on the absolute scale, the OLS F-test of treatment x segment on the per-customer values
  (unadjusted by CUPED). A segment that buys more gains more orders from the same relative lift,
  so this test can flag a difference the relative scale does not have. Ratio metrics have no
  per-customer value, so they get only the relative test.
The per-segment p-values are adjusted across the segments of the dimension.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from services.analytics.warehouse import Warehouse
from services.campaigns.facts import TOTAL, Design, stats_of, variant_sums
from services.campaigns.metrics import Metric
from services.campaigns.readout import Settings, effects, significant
from services.experiments import multiple
from services.experiments.interaction import Heterogeneity, Interaction, heterogeneity, interaction_test
from services.experiments.sufficient import MeanStats

_CUSTOMERS = "LEFT JOIN customers c USING (customer_id)"


@dataclass(frozen=True)
class Dimension:
    key: str
    label: str
    sql: str  # the segment of a value row `v`, over the joins
    joins: str = _CUSTOMERS
    after_campaign: bool = False  # judged on the data's last day: the treatment itself can move customers


DIMENSIONS = (
    Dimension("rfm_segment", "RFM segment", "c.rfm_segment", after_campaign=True),
    Dimension("profile", "Profile", "c.profile", after_campaign=True),
    Dimension("gender", "Gender", "c.gender"),
    Dimension("age_bracket", "Age bracket", "cells.age_bracket",
              f"{_CUSTOMERS} LEFT JOIN cells ON cells.cell = c.cell"),
    Dimension("country", "Country", "c.country"),
)
SEGMENT_PREFIX = "segment:"  # a saved segment's dimension key: members against everyone else
MEMBERS, OTHERS = "In the segment", "Not in the segment"


def saved_segment_dimension(warehouse: Warehouse, segment_id: int, name: str) -> Dimension:
    view = warehouse.segment_members(segment_id)
    return Dimension(f"{SEGMENT_PREFIX}{segment_id}", f"Saved segment: {name}",
                     f"CASE WHEN v.customer_id IN (SELECT customer_id FROM {view}) THEN '{MEMBERS}' ELSE '{OTHERS}' END",
                     "")


@dataclass(frozen=True)
class Breakdown:
    dimension: Dimension
    metric: Metric
    table: pd.DataFrame  # segment, counts, control, treatment, relative(_low/_high), se_relative, p_value, p_adjusted, significant
    interaction: Interaction | None  # absolute scale; None for ratio metrics
    relative_test: Heterogeneity  # relative scale
    correction: str


def breakdown(warehouse: Warehouse, design: Design, dimension: Dimension, metric: Metric, control: str,
              treatment: str, settings: Settings) -> Breakdown:
    sums = variant_sums(warehouse, design, dimension.sql, dimension.joins)
    sums = sums[sums["segment"] != TOTAL]
    rows, found = [], []
    for segment, group in sums.groupby("segment", sort=True):
        by_variant = group.set_index("variant")
        if control not in by_variant.index or treatment not in by_variant.index:
            continue
        (_, effect, _), = effects(by_variant.loc[control], by_variant.loc[treatment], (metric,), settings)
        found.append(effect)
        rows.append({"segment": segment, "control_n": int(by_variant.loc[control, "n"]),
                     "treatment_n": int(by_variant.loc[treatment, "n"]), "control": effect.control,
                     "treatment": effect.treatment, "relative": effect.relative, "relative_low": effect.relative_low,
                     "relative_high": effect.relative_high, "se_relative": effect.se_relative,
                     "p_value": effect.p_value})
    table = pd.DataFrame(rows, columns=["segment", "control_n", "treatment_n", "control", "treatment", "relative",
                                        "relative_low", "relative_high", "se_relative", "p_value"])
    table["p_adjusted"] = multiple.adjust(table["p_value"].tolist(), settings.correction) if len(table) else []
    table["significant"] = [significant(e, p, settings.alpha) for e, p in zip(found, table["p_adjusted"])]
    return Breakdown(dimension, metric, table, _interaction(sums, metric, control, treatment),
                     heterogeneity(table["relative"], table["se_relative"] ** 2), settings.correction)


def _interaction(sums: pd.DataFrame, metric: Metric, control: str, treatment: str) -> Interaction | None:
    if metric.kind == "ratio":
        return None
    cells = {}
    for _, row in sums[sums["variant"].isin([control, treatment])].iterrows():
        stats = stats_of(row, metric)
        variant = "control" if row["variant"] == control else "treatment"
        cells[(row["segment"], variant)] = MeanStats(stats.n, stats.total, stats.sum_squares)
    return interaction_test(cells)
