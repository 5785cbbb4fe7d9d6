"""The tab through real HTTP: gunicorn workers, a signed-in session, the Dash callback requests.

First the filter-change script with a cold cache, then again from the cache, then (optional)
a locust load test: simulated users switching tabs and filters, while the workers' memory is
sampled. Answers to the same request must be identical whichever worker served them.
"""
from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from benchmarks.dash_requests import Callbacks, sign_in
from benchmarks.servers import PROJECT_ROOT, gunicorn_server
from benchmarks.stats import summary, timed
from services import users
from services.db import make_engine, session_scope
from services.filters import Filters

USERNAME = "benchmark"


def run(url: str, work: Path, changes: list[Filters], workers: int, load_seconds: int, users_count: int) -> dict:
    password = _benchmark_user(url)
    instance = _fresh_instance(work)
    with gunicorn_server(url, instance, workers=workers, APP_ENV="development") as base:
        session = requests.Session()
        sign_in(session, base, USERNAME, password)
        callbacks = Callbacks(session.get(f"{base}/_dash-dependencies", timeout=30).json())
        searches = [filters.to_search() for filters in changes]
        result = {"workers": workers,
                  "uncached": _script(session, base, callbacks, searches),
                  "cached": _script(session, base, callbacks, searches)}
        if load_seconds:
            result["load"] = _load(base, password, searches, load_seconds, users_count, workers, work)
    return result


def _benchmark_user(url: str) -> str:
    """A signed-in admin for the benchmark, with a new password each run."""
    password = secrets.token_urlsafe(16)
    engine = make_engine(url)
    with session_scope(engine) as session:
        try:
            users.create_user(session, USERNAME, password, "admin")
        except users.UserError:
            users.set_password(session, USERNAME, password)
    engine.dispose()
    return password


def _fresh_instance(work: Path) -> Path:
    """An instance directory with an empty cache that shares the harness's analytics snapshots."""
    instance = work / f"instance-{int(time.time())}"
    instance.mkdir(parents=True)
    (instance / "analytics").symlink_to((work / "analytics").resolve(), target_is_directory=True)
    return instance


def _script(session: requests.Session, base: str, callbacks: Callbacks, searches: list[str]) -> dict:
    """Per filter change, the tab's callback requests one after the other (a browser sends them at once)."""
    seconds = []
    for search in searches:
        elapsed, responses = timed(lambda: [session.post(f"{base}/_dash-update-component", json=body, timeout=120)
                                            for body in callbacks.performance_bodies(search)])
        for response in responses:
            response.raise_for_status()
        seconds.append(elapsed)
    return summary(seconds)


def _load(base: str, password: str, searches: list[str], seconds: int, users_count: int, workers: int,
          work: Path) -> dict:
    """locust in its own process (it patches the standard library), worker memory sampled meanwhile."""
    out = work / "load"
    out.mkdir(exist_ok=True)
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "BENCH_USERNAME": USERNAME, "BENCH_PASSWORD": password,
                   "BENCH_SEARCHES": json.dumps(searches), "BENCH_ANSWERS": str(out / "answers.json")}
    sampler = _RssSampler(base)
    sampler.start()
    completed = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(PROJECT_ROOT / "benchmarks" / "locustfile.py"), "--headless",
         "-u", str(users_count), "-r", str(max(1, users_count // 5)), "-t", f"{seconds}s", "--host", base,
         "--csv", str(out / "locust"), "--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0"],
        cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, timeout=seconds + 120)
    sampler.stop()
    if completed.returncode != 0:
        raise RuntimeError(f"locust failed: {completed.stderr[-2000:]}")
    totals = _locust_totals(out / "locust_stats.csv")
    answers = json.loads((out / "answers.json").read_text())
    return {"users": users_count, "seconds": seconds, "workers": workers, **totals,
            "mismatches": sum(len(hashes) - 1 for hashes in answers.values()),
            "max_worker_rss_mb": sampler.peak_mb}


def _locust_totals(path: Path) -> dict:
    import csv

    with open(path, newline="") as handle:
        row = next(r for r in csv.DictReader(handle) if r["Name"] == "Aggregated")
    return {"requests": int(row["Request Count"]), "errors": int(row["Failure Count"]),
            "median_ms": float(row["Median Response Time"]), "p95_ms": float(row["95%"]),
            "requests_per_s": float(row["Requests/s"])}


class _RssSampler:
    """The largest resident memory of any gunicorn worker, sampled twice a second."""

    def __init__(self, base: str) -> None:
        self.port = base.rsplit(":", 1)[1]
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            for pid in _worker_pids(self.port):
                self.peak_mb = max(self.peak_mb, _rss_mb(pid))


def _worker_pids(port: str) -> list[int]:
    """Processes running `gunicorn wsgi:server` for this port whose parent is gunicorn too (the workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            status = (entry / "status").read_text()
        except OSError:
            continue
        if f"PORT={port}".encode() in environ and b"gunicorn" in (entry / "cmdline").read_bytes():
            parent = int(next(line for line in status.splitlines() if line.startswith("PPid:")).split()[1])
            if b"gunicorn" in Path(f"/proc/{parent}/cmdline").read_bytes():
                found.append(int(entry.name))
    return found


def _rss_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1]) / 1024
