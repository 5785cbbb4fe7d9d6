"""Multiple-testing adjustment of a family of p-values (several metrics or segments)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from statsmodels.stats.multitest import multipletests

METHODS = {"holm": "Holm", "bh": "Benjamini-Hochberg", "none": "None"}
_STATSMODELS = {"holm": "holm", "bh": "fdr_bh"}


def adjust(p_values: Sequence[float], method: str) -> list[float]:
    """Adjusted p-values in the input order; NaN (or None) entries stay NaN and are not part of the family."""
    if method not in METHODS:
        raise ValueError(f"unknown multiple-testing method {method!r}; expected one of {sorted(METHODS)}")
    p = np.asarray(p_values, dtype=float).reshape(-1)
    out = p.copy()
    known = ~np.isnan(p)
    if method != "none" and known.any():
        out[known] = multipletests(p[known], method=_STATSMODELS[method])[1]
    return [float(v) for v in out]
