"""Gamma-Gamma model of the mean spend per purchase (Fader & Hardie 2013), fitted on repeat buyers.

A customer's purchases are gamma(p, ν) with ν gamma(q, γ) across customers; assumed independent of
how often they buy. x: repeat purchases (> 0); m: their mean value.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

from services.value.bgnbd import minimised


@dataclass(frozen=True)
class SpendParams:
    p: float
    q: float
    gamma: float


def log_likelihood(params: SpendParams, x, m) -> np.ndarray:
    """Each repeat buyer's log-density of their mean spend m over x purchases."""
    p, q, g = params.p, params.q, params.gamma
    x, m = np.asarray(x, float), np.asarray(m, float)
    return (gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(g) + (p * x - 1) * np.log(m)
            + p * x * np.log(x) - (p * x + q) * np.log(g + m * x))


def fit(x, m) -> SpendParams:
    """Maximum-likelihood parameters from the customers with at least one repeat purchase."""
    x, m = np.asarray(x, float), np.asarray(m, float)
    keep = (x > 0) & (m > 0)
    x, m = x[keep], m[keep]

    def negative(log_params: np.ndarray) -> float:
        return -float(log_likelihood(SpendParams(*np.exp(log_params)), x, m).sum())

    return SpendParams(*map(float, np.exp(minimised(negative, np.log([1.0, 1.0, max(float(m.mean()), 1e-3)])))))


def expected_spend(params: SpendParams, x, m) -> np.ndarray:
    """E[spend per purchase | x, m]: a weighted mean of the population's and the customer's own (eq. 5)."""
    p, q, g = params.p, params.q, params.gamma
    x, m = np.asarray(x, float), np.asarray(m, float)
    return p * (g + x * m) / (p * x + q - 1)
