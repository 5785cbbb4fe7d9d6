"""The benchmark harness end to end at a small scale: every step runs and the three engines agree."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.browser
def test_harness_runs_every_step_at_small_scale(tmp_path):
    command = [sys.executable, "-m", "benchmarks.harness", "--customers", "1500", "--changes", "4",
               "--workers", "2", "--users", "4", "--load-seconds", "5", "--work-dir", str(tmp_path / "work"),
               "--json", str(tmp_path / "performance.json"), "--markdown", str(tmp_path / "PERFORMANCE.md")]
    completed = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    results = json.loads((tmp_path / "performance.json").read_text())
    assert results["scale"]["customers"] == 1500 and results["scale"]["transactions"] > 10_000
    assert results["tab"]["disagreements"] == []
    assert results["tab"]["script"]["services"]["count"] == 4
    assert results["http"]["uncached"]["count"] == 4
    load = results["http"]["load"]
    assert load["requests"] > 0 and load["errors"] == 0 and load["mismatches"] == 0
    assert 0 < load["max_worker_rss_mb"] < 1000
    browser = results["browser"]
    assert len(browser["first_visit"]["drawn_ms"]) == len(browser["returning"]["kpis_ms"]) == 3
    assert all(shown <= drawn for shown, drawn in zip(browser["first_visit"]["kpis_ms"],
                                                      browser["first_visit"]["drawn_ms"]))
    table = (tmp_path / "PERFORMANCE.md").read_text()
    assert "| Filter change, whole tab, no cache" in table and "0 disagreements" in table
