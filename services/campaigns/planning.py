"""The next test's size: customers needed for a minimum detectable effect, or the effect a sample can detect.

Both start from the campaign's own control group: its mean and variance of the metric (for a
rate, p(1 - p)), and its planned treatment share.
"""
from __future__ import annotations

from dataclasses import dataclass

from services.experiments import power
from services.experiments.sufficient import MeanStats


@dataclass(frozen=True)
class Plan:
    baseline: float
    variance: float
    treatment_share: float
    alpha: float
    power: float
    mde: float  # relative minimum detectable effect asked for
    customers_needed: int  # in total, both variants
    customers: int  # in total, this campaign (filtered)
    detectable: float  # the relative effect this campaign's sample could detect


def plan(control: MeanStats, customers: int, *, kind: str, mde: float, treatment_share: float = 0.5,
         alpha: float = 0.05, power_wanted: float = 0.8) -> Plan | None:
    """None when the baseline is zero or unknown (no effect is relative to it)."""
    if control.n < 2 or not control.mean > 0:
        return None
    variance = control.mean * (1 - control.mean) if kind == "proportion" else control.variance
    needed = power.sample_size(control.mean, variance, mde, alpha=alpha, power=power_wanted,
                               treatment_share=treatment_share)
    detectable = power.detectable_effect(control.mean, variance, customers, alpha=alpha, power=power_wanted,
                                         treatment_share=treatment_share)
    return Plan(control.mean, variance, treatment_share, alpha, power_wanted, mde, needed, customers, detectable)
