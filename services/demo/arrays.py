"""Array helpers shared by the generators: weighted draws per row and nullable columns."""
from __future__ import annotations

import numpy as np


def weighted_choice(rng: np.random.Generator, probabilities: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per row, an index drawn from the probability row `probabilities[rows]`."""
    cumulative = np.cumsum(probabilities, axis=1)
    cumulative /= cumulative[:, -1:]
    u = rng.random(len(rows))
    if len(probabilities) <= 64:  # few distinct rows: one search per row kind, little memory
        out = np.zeros(len(rows), dtype=np.int64)
        for v in np.unique(rows):
            mask = rows == v
            out[mask] = np.searchsorted(cumulative[v], u[mask], side="right")
    else:
        out = (u[:, None] >= cumulative[rows]).sum(axis=1)
    return out.clip(0, probabilities.shape[1] - 1)


def truncated_normal(rng: np.random.Generator, n: int, mean: float, sd: float, low: float,
                     high: float) -> np.ndarray:
    """Normal draws in [low, high): the ones outside are drawn again."""
    values = rng.normal(mean, sd, n)
    bad = (values < low) | (values >= high)
    while bad.any():
        values[bad] = rng.normal(mean, sd, int(bad.sum()))
        bad = (values < low) | (values >= high)
    return values


def nullable(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """The values with None (NULL when written) where not present."""
    out = values.astype(object)
    out[~present] = None
    return out
