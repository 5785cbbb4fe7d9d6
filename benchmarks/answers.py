"""The tab's answers from the services, and where two sets of answers disagree."""
from __future__ import annotations

import math
from dataclasses import asdict

import pandas as pd

from services.analytics.warehouse import Warehouse
from services.filters import FilterOptions, Filters
from services.performance.tab import QUERIES

RTOL = 1e-9
DIMENSIONS = ["family_status", "age_bracket", "profile", "gender", "country"]


def services_tab(warehouse: Warehouse, filters: Filters, options: FilterOptions) -> dict:
    """Every query of the tab with its default settings, by name."""
    return {name: service(warehouse, filters, options, *params) for name, (service, params) in QUERIES.items()}


def comparable(answers: dict) -> dict:
    """The services' answers in the references' shape."""
    report = answers["kpis"]
    if report is None:
        return {}
    cohorts = answers["cohorts"]
    return {
        "kpis": asdict(report.current),
        "previous_kpis": asdict(report.previous) if report.previous is not None else None,
        "monthly": answers["monthly"],
        "cohorts": cohorts[cohorts["customers"] > 0][["cohort", "months_since", "customers"]],
        "growth": answers["growth"][["country", "revenue", "previous"]],
        "top": answers["top"][["customer_id", "orders", "revenue"]],
        "cities": answers["cities"][["city", "country", "customers", "orders", "revenue"]],
        **{dimension: answers[dimension][[dimension, "customers", "orders", "revenue"]] for dimension in DIMENSIONS},
    }


def differences(ours: dict, theirs: dict, limit_cities: int = 10) -> list[str]:
    """What differs between two comparable answer sets (an empty list when they agree)."""
    if ours.keys() != theirs.keys():
        return [f"answered {sorted(ours)} against {sorted(theirs)}"]
    found = []
    for name in ours:
        mine, other = ours[name], theirs[name]
        if isinstance(mine, pd.DataFrame):
            other = _top_cities(other, limit_cities) if name == "cities" else other
            if not _frames_agree(mine, other, keep_order=name == "top"):
                found.append(f"{name}: {len(mine)} rows against {len(other)}")
        elif not _values_agree(mine, other):
            found.append(f"{name}: {mine} against {other}")
    return found


def _top_cities(frame: pd.DataFrame, limit: int) -> pd.DataFrame:
    return frame.sort_values(["revenue", "city"], ascending=[False, True]).head(limit)


def _values_agree(mine, other) -> bool:
    if isinstance(mine, dict) and isinstance(other, dict):
        return mine.keys() == other.keys() and all(_values_agree(mine[key], other[key]) for key in mine)
    if mine is None or other is None:
        return mine is None and other is None
    return math.isclose(float(mine), float(other), rel_tol=RTOL, abs_tol=1e-9)


def _frames_agree(mine: pd.DataFrame, other: pd.DataFrame, keep_order: bool) -> bool:
    if len(mine) != len(other):
        return False
    if len(mine) == 0:
        return True
    columns = list(mine.columns)
    left, right = mine.reset_index(drop=True), other[columns].reset_index(drop=True)
    if not keep_order:
        keys = [column for column in columns if not pd.api.types.is_numeric_dtype(mine[column])
                or column in ("months_since", "customer_id")]
        left = left.sort_values(keys).reset_index(drop=True)
        right = right.sort_values(keys).reset_index(drop=True)
    try:
        pd.testing.assert_frame_equal(left, right, check_dtype=False, rtol=RTOL, check_index_type=False,
                                      check_column_type=False, check_datetimelike_compat=True)
    except AssertionError:
        return False
    return True
