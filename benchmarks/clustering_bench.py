"""The clustering lab on a real database: what one run with the defaults costs, and how well it finds the demo's groups.

    python3 -m benchmarks.clustering_bench --database-url sqlite:////tmp/bench20k/app.db \
        --instance-dir /tmp/bench20k [--repeats 3] [--json docs/clustering-sqlite-20000.json]

Each repeat runs what the lab does for one K-means run (k = 5, default features and scaling, seed 42, no
filter) on a warehouse of its own over the database's analytics snapshot, opened as the lab's background
job opens it: the feature query, the fit, the k scan with its suggestion, the 2D and 3D projections, and
the cluster profiles with their names. Every step is timed by wall clock; the table shows medians over
the repeats. The adjusted Rand index compares the clusters of the buyers with the groups the demo generator
planted (`customers.attributes`), so it is only meaningful on demo data. The DuckDB memory limit defaults to
the app's own (128MB).
"""
from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score
from sqlalchemy.engine import make_url

from benchmarks.harness import _machine
from dashapp.cache import code_fingerprint
from benchmarks.report import _ms
from benchmarks.stats import peak_rss_mb, summary, timed, write_json
from services.analytics.snapshot import ensure_snapshot, open_snapshot
from services.analytics.warehouse import Warehouse
from services.db import make_engine
from services.demo import planted_groups
from services.filters import Filters, filter_options
from services.segmentation.cluster_profiles import describe_clusters, profile_table
from services.segmentation.clustering import ClusteringSpec, fit_clustering, k_scan, projection, suggest_k
from services.segmentation.defaults import DEFAULT_FEATURES, DEFAULT_SCALING
from services.segmentation.features import feature_frame, profile_attributes

K = 5
SEED = 42
STEPS = (  # key in the results, label in the table
    ("features", "Feature query (feature_frame)"),
    ("fit", "Fit (fit_clustering, k = 5)"),
    ("k_scan", "k scan (k_scan + suggest_k)"),
    ("projection", "2D + 3D projection"),
    ("profiles", "Profiles + descriptions"),
    ("total", "End to end"),
)


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, print its table, write the JSON if asked; return the results."""
    args = _arguments(argv)
    baseline_rss_mb, load_before = peak_rss_mb(), os.getloadavg()[0]
    spec = ClusteringSpec(DEFAULT_FEATURES, scaling=DEFAULT_SCALING, k=K, random_state=SEED)
    engine = make_engine(args.database_url)
    database = open_snapshot(ensure_snapshot(engine, Path(args.instance_dir) / "analytics"), args.memory_limit,
                             args.threads)
    try:
        with engine.connect() as connection:
            options = filter_options(connection, None)
        runs = []
        for repeat in range(args.repeats):  # a warehouse per run, as each lab job opens its own
            runs.append(run_once(Warehouse(database.cursor(), engine), spec, options))
            print(f"  repeat {repeat + 1}: " + ", ".join(f"{key} {run_seconds:.2f} s"
                                                          for key, run_seconds in runs[-1]["seconds"].items()),
                  flush=True)
        shared = Warehouse(database.cursor(), engine)
        customers = int(shared.row("SELECT count(*) FROM customers")[0])
        planted = planted_labels(shared)
    finally:
        database.close()
        engine.dispose()
    results = {
        "machine": {**_machine(), "load_1min_before": load_before, "load_1min_after": os.getloadavg()[0]},
        "database": make_url(args.database_url).get_backend_name(),
        "customers": customers, "repeats": args.repeats,
        "duckdb": {"memory_limit": args.memory_limit, "threads": args.threads},
        "code_fingerprint": code_fingerprint(),
        "spec": {"features": list(spec.features), "scaling": spec.scaling, "algorithm": spec.algorithm,
                 "k": spec.k, "random_state": spec.random_state},
        **quality(runs, planted),
        "steps": {key: {**summary([run["seconds"][key] for run in runs]),
                        "seconds": [run["seconds"][key] for run in runs]} for key, _ in STEPS},
        "baseline_rss_mb": baseline_rss_mb, "peak_rss_mb": peak_rss_mb(),
    }
    print(table(results))
    write_json(results, args.json)
    return results


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        required="DATABASE_URL" not in os.environ, help="default: DATABASE_URL")
    parser.add_argument("--instance-dir", default=os.environ.get("INSTANCE_DIR", "instance"),
                        help="the app's instance directory (its analytics/ holds the snapshots)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads per query (as in the app)")
    parser.add_argument("--memory-limit", default="128MB", help="DuckDB memory limit (as in the app)")
    parser.add_argument("--json", help="write the results here")
    return parser.parse_args(argv)




def run_once(warehouse: Warehouse, spec: ClusteringSpec, options) -> dict:
    """One lab run, step by step: the seconds of each step and what the steps produced."""
    seconds: dict[str, float] = {}

    def step(key: str, work: Callable):
        seconds[key], result = timed(work)
        return result

    total, (result, scan, suggestion, profiles) = timed(lambda: _lab_run(step, warehouse, spec, options))
    seconds["total"] = total
    return {"seconds": seconds, "result": result, "scan": scan, "suggestion": suggestion, "profiles": profiles}


def _lab_run(step: Callable, warehouse: Warehouse, spec: ClusteringSpec, options) -> tuple:
    features = step("features", lambda: feature_frame(warehouse, Filters(), options, spec.features))
    result = step("fit", lambda: fit_clustering(spec, features))
    scan, suggestion = step("k_scan", lambda: _scan(spec, features))
    step("projection", lambda: [projection(result, features, dims) for dims in (2, 3)])
    profiles = step("profiles", lambda: _profiles(warehouse, features, result.labels))
    return result, scan, suggestion, profiles


def _scan(spec: ClusteringSpec, features: pd.DataFrame) -> tuple[pd.DataFrame, tuple[int, str]]:
    scan = k_scan(spec, features)
    return scan, suggest_k(scan)


def _profiles(warehouse: Warehouse, features: pd.DataFrame, labels: np.ndarray) -> pd.DataFrame:
    """The profile table with each cluster's name, description and action, as the lab shows it."""
    profiles = profile_table(features, labels, profile_attributes(warehouse, features.index))
    return profiles.merge(describe_clusters(profiles, features.mean()), on="cluster")


def planted_labels(warehouse: Warehouse) -> pd.Series:
    """The demo group the generator planted for each customer, by customer_id."""
    group_of = {external_id: group for group, ids in planted_groups(warehouse.sql).items() for external_id in ids}
    ids = warehouse.frame("SELECT customer_id, external_id FROM customers").set_index("customer_id")["external_id"]
    return ids.map(group_of)


def quality(runs: list[dict], planted: pd.Series) -> dict:
    """What the last run found, and whether every repeat found the same."""
    last = runs[-1]
    result, scan = last["result"], last["scan"]
    truth = planted.reindex(result.customer_ids)
    known = truth.notna().to_numpy()
    return {
        "rows": len(result.labels), "estimator": result.estimator_name, "fitted_rows": result.fitted_rows,
        "silhouette": result.silhouette,
        "ari": float(adjusted_rand_score(truth[known], result.labels[known])) if known.any() else None,
        "ari_rows": int(known.sum()), "planted_groups": int(truth.nunique()),
        "suggested_k": last["suggestion"][0], "suggested_reason": last["suggestion"][1],
        "scan": scan.to_dict(orient="records"),
        "clusters": last["profiles"][["cluster", "name", "customers"]].to_dict(orient="records"),
        "same_labels_every_repeat": all(np.array_equal(run["result"].labels, result.labels) for run in runs),
    }


def table(results: dict) -> str:
    """The medians per step and what the clustering found, as Markdown."""
    steps = results["steps"]
    lines = [f"{results['customers']:,} customers ({results['rows']:,} buyers clustered), {results['database']}, "
             f"{results['machine']['cpus']} cores (load {results['machine']['load_1min_before']:.1f} before, "
             f"{results['machine']['load_1min_after']:.1f} after), DuckDB {results['duckdb']['memory_limit']} / "
             f"{results['duckdb']['threads']} threads, {results['repeats']} repeat(s).", "",
             "| step | median | each repeat |", "|---|---|---|"]
    lines += [f"| {label} | {_ms(steps[key]['median_ms'])} | "
              f"{', '.join(_ms(1000 * value) for value in steps[key]['seconds'])} |" for key, label in STEPS]
    silhouette, ari = results["silhouette"], results["ari"]
    lines += ["",
              f"- Algorithm: {results['estimator']} (fitted on {results['fitted_rows']:,} rows)",
              f"- Silhouette (sampled): {'–' if silhouette is None else f'{silhouette:.3f}'}",
              f"- ARI vs planted groups ({results['planted_groups']} groups, {results['ari_rows']:,} buyers): "
              f"{'–' if ari is None else f'{ari:.3f}'}",
              f"- Suggested k: {results['suggested_k']} — {results['suggested_reason']}",
              f"- Same labels in every repeat: {'yes' if results['same_labels_every_repeat'] else '**no**'}",
              f"- Peak memory (RSS): {results['peak_rss_mb']:,.0f} MB (after imports: "
              f"{results['baseline_rss_mb']:,.0f} MB)"]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
