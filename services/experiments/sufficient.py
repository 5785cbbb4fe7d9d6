"""Sufficient statistics of one variant: what SQL hands to the statistics engine."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MeanStats:
    """A per-customer metric y over n customers, with an optional pre-period covariate x (for CUPED)."""

    n: int
    total: float  # sum of y
    sum_squares: float  # sum of y^2
    x_total: float = 0.0  # sum of x
    x_sum_squares: float = 0.0  # sum of x^2
    xy: float = 0.0  # sum of x*y

    @property
    def mean(self) -> float:
        return self.total / self.n

    @property
    def variance(self) -> float:
        """Sample variance of y (n - 1 in the denominator)."""
        return max(self.sum_squares - self.total ** 2 / self.n, 0.0) / (self.n - 1)

    @staticmethod
    def of(y, x=None) -> "MeanStats":
        """From row-level values (tests and small data)."""
        y = np.asarray(y, float)
        x = np.zeros_like(y) if x is None else np.asarray(x, float)
        return MeanStats(len(y), float(y.sum()), float((y * y).sum()), float(x.sum()), float((x * x).sum()),
                         float((x * y).sum()))


@dataclass(frozen=True)
class RatioStats:
    """A ratio of sums over n customers, numerator m and denominator d per customer (e.g. revenue / orders)."""

    n: int
    m_total: float
    m_sum_squares: float
    d_total: float
    d_sum_squares: float
    md: float  # sum of m*d

    @property
    def ratio(self) -> float:
        return self.m_total / self.d_total

    @staticmethod
    def of(m, d) -> "RatioStats":
        m, d = np.asarray(m, float), np.asarray(d, float)
        return RatioStats(len(m), float(m.sum()), float((m * m).sum()), float(d.sum()), float((d * d).sum()),
                          float((m * d).sum()))
