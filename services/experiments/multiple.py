"""Multiple-testing adjustment of a family of p-values (several metrics or segments).

Benjamini-Hochberg comes from scipy. Holm is the step-down rule written out: statsmodels'
`multipletests(method="holm")` runs a full garbage collection on every call (over 100 ms in a
web worker), and the rule is three lines.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import false_discovery_control

METHODS = {"holm": "Holm", "bh": "Benjamini-Hochberg", "none": "None"}


def holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment: the k-th smallest p times (m - k + 1), made monotone, at most 1."""
    order = np.argsort(p, kind="stable")
    stepped = np.minimum(np.maximum.accumulate(p[order] * np.arange(len(p), 0, -1)), 1.0)
    adjusted = np.empty_like(p)
    adjusted[order] = stepped
    return adjusted


def adjust(p_values: Sequence[float], method: str) -> list[float]:
    """Adjusted p-values in the input order; NaN (or None) entries stay NaN and are not part of the family."""
    if method not in METHODS:
        raise ValueError(f"unknown multiple-testing method {method!r}; expected one of {sorted(METHODS)}")
    p = np.asarray(p_values, dtype=float).reshape(-1)
    out = p.copy()
    known = ~np.isnan(p)
    if method != "none" and known.any():
        out[known] = holm(p[known]) if method == "holm" else false_discovery_control(p[known], method="bh")
    return [float(v) for v in out]
