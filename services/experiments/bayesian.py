"""Bayesian summaries of a relative lift: chance to win and expected loss.

As GrowthBook's "proper prior" option: the relative lift gets a Gaussian prior N(mean, sd²)
(by default centred on no effect, with a 30% sd, so implausibly large lifts from small samples
are shrunk towards zero); the frequentist estimate is read as a likelihood N(lift, se²); the
posterior is their conjugate normal product. With `proper=False` the prior is flat and the
posterior equals the likelihood. Every summary is a closed form of the normal distribution.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri  # the standard normal cdf and quantile, without scipy.stats' overhead

CREDIBLE_LEVEL = 0.95
_Q = float(ndtri(0.5 + CREDIBLE_LEVEL / 2))


@dataclass(frozen=True)
class Prior:
    """A normal prior on the relative lift; proper=False means a flat (improper) prior."""

    mean: float = 0.0
    sd: float = 0.3
    proper: bool = True

    def __post_init__(self) -> None:
        if self.proper and not self.sd > 0:
            raise ValueError("a proper prior needs a positive sd")


DEFAULT_PRIOR = Prior()


@dataclass(frozen=True)
class Posterior:
    mean: float
    sd: float
    chance_to_win: float  # P(lift > 0)
    expected_loss: float  # E[max(0, -lift)]: what shipping the treatment costs on average, relative units
    credible_low: float
    credible_high: float


NAN_POSTERIOR = Posterior(*(math.nan,) * 6)


def update(relative: float, se_relative: float, prior: Prior = DEFAULT_PRIOR) -> tuple[float, float]:
    """Posterior mean and sd of the lift by the conjugate normal update."""
    if not prior.proper:
        return float(relative), float(se_relative)
    data_precision, prior_precision = 1.0 / se_relative ** 2, 1.0 / prior.sd ** 2
    precision = data_precision + prior_precision
    mean = (relative * data_precision + prior.mean * prior_precision) / precision
    return float(mean), float(math.sqrt(1.0 / precision))


def posterior(relative: float, se_relative: float, prior: Prior = DEFAULT_PRIOR) -> Posterior:
    """The posterior of the relative lift; all NaN when the estimate or its (positive) se is unknown."""
    if not (np.isfinite(relative) and np.isfinite(se_relative) and se_relative > 0):
        return NAN_POSTERIOR
    mean, sd = update(relative, se_relative, prior)
    z = mean / sd
    density = math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    loss = sd * density - mean * float(ndtr(-z))  # E[max(0, -L)] for L ~ N(mean, sd²)
    return Posterior(mean, sd, float(ndtr(z)), max(loss, 0.0), mean - _Q * sd, mean + _Q * sd)
