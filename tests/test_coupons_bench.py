"""The Coupons tab benchmark end to end at a small scale: every query of every filter case runs and is timed."""
from __future__ import annotations

import json

from benchmarks import coupons_bench
from services.analytics.snapshot import ensure_snapshot
from services.coupons.tab import QUERIES
from services.db import make_engine, upgrade_schema
from services.demo import DemoConfig, generate_demo_data
from services.refresh import refresh

CUSTOMERS = 300


def test_coupons_bench_times_every_query_of_every_case(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    upgrade_schema(url)
    engine = make_engine(url)
    generate_demo_data(engine, DemoConfig(customers=CUSTOMERS, seed=42))
    refresh(engine)
    ensure_snapshot(engine, tmp_path / "analytics")  # the app's snapshot, as a running app leaves it
    engine.dispose()

    results = coupons_bench.main(["--database-url", url, "--instance-dir", str(tmp_path), "--repeat", "2",
                                  "--json", str(tmp_path / "coupons.json")])

    assert json.loads((tmp_path / "coupons.json").read_text()) == json.loads(json.dumps(results, default=str))
    assert results["customers"] == CUSTOMERS and results["coupon_events"] > 0
    assert results["failures"] == []
    assert list(results["cases"]) == ["all", "country", "year", "city_focus"]
    for case in results["cases"].values():
        assert case["errors"] == {}
        for name in ["view", *QUERIES]:
            assert case["steps"][name]["count"] == 2 and len(case["steps"][name]["seconds"]) == 2
        assert case["tab"]["count"] == 2
        assert case["tab"]["median_ms"] >= max(case["steps"][name]["median_ms"] for name in QUERIES)
        assert case["rows"]["branches"] > 0 and case["rows"]["timeline"] > 0
    everyone, focused = results["cases"]["all"], results["cases"]["city_focus"]
    assert focused["rows"]["branches"] < everyone["rows"]["branches"]  # the focus keeps the city's branches
    assert results["peak_rss_mb"] > 0 and results["snapshot_build"]["seconds"] > 0
    assert results["snapshot_build"]["peak_rss_mb"] > 0  # measured in the build's own process
    assert results["snapshot"]["used"] == "instance" and results["snapshot"]["instance_matches_code"]
    assert results["duckdb"] == {**results["duckdb"], "memory_limit": "128MB", "threads": 2}
    out = capsys.readouterr().out
    assert "| **whole tab** |" in out and "Snapshot build" in out
    assert not list((tmp_path / "analytics").glob(".bench-build-*"))  # the timed build leaves nothing behind
