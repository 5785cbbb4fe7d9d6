"""Small timing helpers shared by the benchmark steps."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import TypeVar

Result = TypeVar("Result")


def timed(work: Callable[[], Result]) -> tuple[float, Result]:
    """Seconds `work()` took, and its result."""
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def summary(seconds: list[float]) -> dict:
    """Median, 95th percentile and maximum, in milliseconds."""
    if not seconds:
        return {"count": 0}
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"count": len(seconds), "median_ms": 1000 * statistics.median(ordered), "p95_ms": 1000 * p95,
            "max_ms": 1000 * ordered[-1]}


def ratio(slower: dict, faster: dict, key: str = "median_ms") -> float | None:
    return slower[key] / faster[key] if faster.get(key) else None
