"""The clustering benchmark end to end at a small scale: every step runs and the scores are in range."""
from __future__ import annotations

import json

from benchmarks import clustering_bench
from services.db import make_engine, upgrade_schema
from services.demo import DemoConfig, generate_demo_data
from services.refresh import refresh

CUSTOMERS = 1_500


def test_clustering_bench_measures_every_step(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    upgrade_schema(url)
    engine = make_engine(url)
    generate_demo_data(engine, DemoConfig(customers=CUSTOMERS, seed=42))
    refresh(engine)
    engine.dispose()

    results = clustering_bench.main(["--database-url", url, "--instance-dir", str(tmp_path), "--repeats", "1",
                                     "--json", str(tmp_path / "clustering.json")])

    assert json.loads((tmp_path / "clustering.json").read_text()) == json.loads(json.dumps(results, default=str))
    assert results["customers"] == CUSTOMERS and 0 < results["rows"] <= CUSTOMERS
    assert results["estimator"] == "KMeans" and results["fitted_rows"] == results["rows"]
    for key, _ in clustering_bench.STEPS:
        assert results["steps"][key]["count"] == 1 and results["steps"][key]["median_ms"] > 0
    assert results["steps"]["total"]["median_ms"] >= results["steps"]["fit"]["median_ms"]
    assert -1 <= results["silhouette"] <= 1
    assert -1 <= results["ari"] <= 1 and results["ari_rows"] == results["rows"]
    assert results["planted_groups"] == 5
    assert 2 <= results["suggested_k"] <= 10 and results["suggested_reason"]
    assert [row["k"] for row in results["scan"]] == list(range(2, 11))
    assert sum(cluster["customers"] for cluster in results["clusters"]) == results["rows"]
    assert results["same_labels_every_repeat"] and results["peak_rss_mb"] > 0
    assert "| End to end |" in capsys.readouterr().out
