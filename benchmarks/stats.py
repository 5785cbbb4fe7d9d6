"""Small timing helpers shared by the benchmark steps."""
from __future__ import annotations

import json
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path
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


def peak_rss_mb() -> float:
    """The process's peak resident memory so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_json(results: dict, path: str | None) -> None:
    """Write the results as JSON to `path` (nothing without one)."""
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
