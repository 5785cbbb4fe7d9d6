"""The Value & churn section on a real database: what training costs, stage by stage, and what the views cost.

    python3 -m benchmarks.value_bench --database-url sqlite:////tmp/bench20k/app.db \
        --instance-dir /tmp/bench20k [--repeat 5] [--train] [--json docs/value-bench-20k.json]

With `--train`, the models are trained once as the refresh trains them (on a reading connection, nothing
written), and each stage is timed from the progress reports between stages. The views run on the
instance's analytics snapshot (DuckDB at 128MB and 2 threads, as the app opens it), for no filter and
the largest country, each repeat on a fresh warehouse and without the app's cache; the table shows the
median per view and of their sum.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from benchmarks.harness import _machine
from benchmarks.stats import peak_rss_mb, write_json
from dashapp.cache import code_fingerprint
from services.analytics.snapshot import ensure_snapshot, open_snapshot
from services.analytics.warehouse import Warehouse
from services.db import make_engine
from services.filters import Filters
from services.refresh import reference_date
from services.value import views
from services.value.records import stored_settings
from services.value.training import train

THRESHOLD = 0.5


def view_steps(warehouse: Warehouse, filters: Filters) -> dict:
    """name -> work, for one load of the section."""
    return {
        "overview": lambda: views.overview(warehouse, filters),
        "histogram": lambda: views.clv_histogram(warehouse, filters),
        **{f"by_{name}": (lambda name=name: views.clv_by(warehouse, filters, name)) for name in views.DIMENSIONS},
        "alive_matrix": lambda: views.alive_matrix(warehouse, filters),
        "top_value": lambda: views.top_value(warehouse, filters, 25),
        "at_risk_summary": lambda: views.at_risk_summary(warehouse, filters, THRESHOLD),
        "at_risk_list": lambda: views.at_risk_customers(warehouse, filters, THRESHOLD, 100),
    }


def run_views(database, engine, filters: Filters, repeat: int) -> dict:
    seconds: dict[str, list[float]] = {}
    for _ in range(repeat):
        warehouse = Warehouse(database.cursor(), engine)
        for name, work in view_steps(warehouse, filters).items():
            started = time.perf_counter()
            work()
            seconds.setdefault(name, []).append(time.perf_counter() - started)
        warehouse.snapshot.close()
    totals = [sum(values[i] for values in seconds.values()) for i in range(repeat)]
    return {"median_ms": {name: 1000 * statistics.median(values) for name, values in seconds.items()},
            "total_median_ms": 1000 * statistics.median(totals)}


def run_training(engine) -> dict:
    """One training as the refresh runs it: seconds per stage (from one progress report to the next)."""
    marks: list[tuple[str, float]] = []
    with engine.connect() as connection:
        reference, settings = reference_date(connection), stored_settings(connection)
        started = time.perf_counter()
        trained = train(connection, reference, settings, lambda _done, text: marks.append((text, time.perf_counter())))
    ended = time.perf_counter()
    stages = {text: round(later - at, 3) for (text, at), (_, later) in zip(marks, [*marks[1:], ("end", ended)])}
    return {"seconds": round(ended - started, 3), "stages": stages, "scored": len(trained.scores),
            "value": {key: trained.value_report.get(key) for key in ("status", "customers", "sample")},
            "churn": {key: trained.churn_report.get(key) for key in ("status", "model", "auc", "training_customers",
                                                                     "test_customers")}}


def main(argv: list[str] | None = None) -> dict:
    args = _arguments(argv)
    engine = make_engine(args.database_url)
    report = {"machine": _machine(), "database": make_url(args.database_url).get_backend_name(),
              "repeats": args.repeat, "code_fingerprint": code_fingerprint()}
    if args.train:
        report["training"] = run_training(engine)
        training = report["training"]
        print(f"training: {training['seconds']:,.1f} s for {training['scored']:,} customers")
        for stage, seconds in training["stages"].items():
            print(f"  {seconds:8.1f} s  {stage}")
    database = open_snapshot(ensure_snapshot(engine, Path(args.instance_dir) / "analytics"), "128MB", 2)
    (customers,) = database.execute("SELECT count(*) FROM customers").fetchone()
    (country,) = database.execute("SELECT country FROM customers WHERE country IS NOT NULL GROUP BY 1 "
                                  "ORDER BY count(*) DESC, 1 LIMIT 1").fetchone()
    cases = {"all": Filters(), "country": Filters(countries=(country,))}
    report["cases"] = {key: run_views(database, engine, filters, args.repeat) for key, filters in cases.items()}
    database.close()
    report.update(customers=int(customers), country=country, peak_rss_mb=peak_rss_mb())
    for key, result in report["cases"].items():
        parts = ", ".join(f"{name} {ms:,.0f} ms" for name, ms in result["median_ms"].items())
        print(f"{key}: total {result['total_median_ms']:,.0f} ms ({parts})")
    write_json(report, args.json)
    engine.dispose()
    return report


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        required="DATABASE_URL" not in os.environ)
    parser.add_argument("--instance-dir", default=os.environ.get("INSTANCE_DIR", "instance"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--train", action="store_true", help="also time one training of the models")
    parser.add_argument("--json")
    return parser.parse_args(argv)


if __name__ == "__main__":
    main()
