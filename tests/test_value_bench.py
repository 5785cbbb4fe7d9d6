"""The Value & churn benchmark end to end at a small scale: the training stages and every view are timed."""
from __future__ import annotations

import json

from benchmarks import value_bench
from services.analytics.snapshot import ensure_snapshot
from services.db import make_engine, upgrade_schema
from services.demo import DemoConfig, generate_demo_data
from services.refresh import refresh

CUSTOMERS = 300


def test_value_bench_times_the_training_and_every_view(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    upgrade_schema(url)
    engine = make_engine(url)
    generate_demo_data(engine, DemoConfig(customers=CUSTOMERS, seed=42))
    refresh(engine)
    ensure_snapshot(engine, tmp_path / "analytics")
    engine.dispose()

    results = value_bench.main(["--database-url", url, "--instance-dir", str(tmp_path), "--repeat", "2",
                                "--train", "--json", str(tmp_path / "value.json")])

    assert json.loads((tmp_path / "value.json").read_text()) == json.loads(json.dumps(results, default=str))
    assert results["customers"] == CUSTOMERS
    training = results["training"]
    assert training["value"]["status"] == "trained" and training["churn"]["status"] == "trained"
    assert 0 < training["scored"] <= CUSTOMERS
    assert len(training["stages"]) >= 6 and abs(sum(training["stages"].values()) - training["seconds"]) < 0.05
    expected = {"overview", "histogram", "alive_matrix", "top_value", "at_risk_summary", "at_risk_list",
                *(f"by_{name}" for name in value_bench.views.DIMENSIONS)}
    for case in results["cases"].values():
        assert set(case["median_ms"]) == expected
        assert case["total_median_ms"] >= max(case["median_ms"].values()) > 0
    out = capsys.readouterr().out
    assert "training:" in out and "all: total" in out and "country: total" in out
