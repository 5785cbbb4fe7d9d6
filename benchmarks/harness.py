"""The benchmark harness: one command measures the Customer performance tab at a chosen scale.

    python3 -m benchmarks.harness --customers 1000000 --database-url sqlite:///instance/bench-1m.db

Steps (each can be skipped): demo data into the database if it is empty (timed: generation,
refresh, snapshot); the fixed script of filter changes through the services without cache,
side by side with the naive pandas peer and hand-written DuckDB SQL over the raw tables,
checking that all three agree; the same script from the cache; real HTTP callback requests
to gunicorn; a load test with locust; the first page in headless Chromium. Results go to a
JSON file and to the results section of docs/PERFORMANCE.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import tempfile
from pathlib import Path

from flask_caching.backends import FileSystemCache
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from benchmarks import answers, levers, report
from benchmarks.duckdb_reference import DuckDBReference, build_raw_copy
from benchmarks.filter_changes import filter_changes
from benchmarks.pandas_peer import PandasPeer
from benchmarks.stats import ratio, summary, timed
from services.analytics.snapshot import ensure_snapshot, open_snapshot
from services.analytics.warehouse import Warehouse
from services.db import make_engine, upgrade_schema
from services.demo import DemoConfig, generate_demo_data
from services.filters import Filters, filter_options
from services.models import Customer, Transaction
from services.performance.kpis import DEFAULT_CHURN_DAYS
from services.performance.customers import TOP_SIZES
from services.refresh import refresh

ROOT = Path(__file__).resolve().parent.parent
UNFILTERED_REPEATS = 5


def main() -> None:
    args = _arguments()
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="customerscope-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite:///{work / 'bench.db'}"
    results = {"machine": _machine(), "database": make_url(url).get_backend_name()}
    engine = make_engine(url)
    results["load"] = _prepare_data(engine, url, args.customers, work / "analytics")
    snapshot_path = ensure_snapshot(engine, work / "analytics")
    with engine.connect() as connection:
        options = filter_options(connection, None)
        results["scale"] = {table.__tablename__: connection.scalar(select(func.count()).select_from(table))
                            for table in (Customer, Transaction)}
    changes = filter_changes(options, args.changes)
    database = open_snapshot(snapshot_path, args.memory_limit, args.threads)
    results["tab"] = _side_by_side(engine, database, options, changes, work, args)
    results["levers"] = levers.run(engine, database, options.first_date, options.last_date)
    if not args.skip_import:
        from benchmarks import import_bench
        results["import"] = import_bench.run(engine, work)
    if not args.skip_http:
        from benchmarks import http_bench
        results["http"] = http_bench.run(url, work, changes, workers=args.workers,
                                         load_seconds=0 if args.skip_load else args.load_seconds,
                                         users_count=args.users)
    if not args.skip_browser:
        from benchmarks import browser_bench
        results["browser"] = browser_bench.run(url, work, results["scale"]["customers"], args.workers)
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    _write(results, args)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000, help="demo customers to generate if the database is empty")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="default: DATABASE_URL, else a new SQLite file in the work directory")
    parser.add_argument("--work-dir", help="where snapshots, copies and caches go (default: a new temporary directory)")
    parser.add_argument("--changes", type=int, default=20, help="filter changes in the script")
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads per query")
    parser.add_argument("--memory-limit", default="128MB", help="DuckDB memory limit per process (as in the app)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers for the HTTP steps")
    parser.add_argument("--users", type=int, default=50, help="simulated users in the load test")
    parser.add_argument("--load-seconds", type=int, default=120)
    parser.add_argument("--skip-peer", action="store_true", help="skip the pandas peer (it needs the tables in memory)")
    parser.add_argument("--skip-import", action="store_true", help="skip the CSV export and re-import")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--json", help="default: docs/performance-DATABASE-CUSTOMERS.json")
    parser.add_argument("--markdown", default=str(ROOT / "docs" / "PERFORMANCE.md"))
    return parser.parse_args()


def _machine() -> dict:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def _prepare_data(engine, url: str, customers: int, analytics_dir: Path) -> dict:
    """Demo data, refresh and snapshot, each timed, when the database holds no customers yet."""
    upgrade_schema(url)
    with engine.connect() as connection:
        existing = connection.scalar(select(func.count()).select_from(Customer))
    if existing:
        return {"reused": True, "customers": existing}
    seconds = {}
    seconds["generate_s"], _ = timed(lambda: generate_demo_data(engine, DemoConfig(customers=customers, seed=42,
                                                                                   batch_size=100_000)))
    seconds["refresh_s"], _ = timed(lambda: refresh(engine))
    seconds["snapshot_s"], _ = timed(lambda: ensure_snapshot(engine, analytics_dir))
    return {"reused": False, **seconds}


def _side_by_side(engine, database, options, changes: list[Filters], work: Path, args) -> dict:
    """The filter-change script through the services, the pandas peer and raw DuckDB, in the same run.

    Each engine runs the whole script in turn (interleaving them would leave each one's caches
    to the others); the answers are compared change by change.
    """
    times = {"services": [], "cache_hit": [], "peer": [], "duckdb": []}
    expected = []
    cache = FileSystemCache(str(work / "cache"), threshold=0, default_timeout=0)
    cache.clear()
    for index, filters in enumerate(changes):
        seconds, ours = timed(lambda: answers.services_tab(Warehouse(database.cursor(), engine), filters, options))
        times["services"].append(seconds)
        keys = [f"{name}|{filters.cache_key()}|{index}" for name in ours]
        for key, value in zip(keys, ours.values()):
            cache.set(key, value)
        times["cache_hit"].append(timed(lambda: [cache.get(key) for key in keys])[0])
        expected.append(answers.comparable(ours))
        print(f"  change {index + 1:2d}: services {1000 * seconds:7.1f} ms  {filters.to_search() or '(no filter)'}",
              flush=True)
    # The references load after the services ran, so their memory does not weigh on them.
    load, peer = {}, None
    if not args.skip_peer:
        load["peer_load_s"], peer = timed(lambda: PandasPeer(engine))
    load["duckdb_copy_s"], _ = timed(lambda: build_raw_copy(engine, work / "raw.duckdb"))
    reference = DuckDBReference(work / "raw.duckdb", args.threads)
    disagreements = []
    for name, run in (("peer", peer), ("duckdb", reference)):
        if run is None:
            continue
        for filters, mine in zip(changes, expected):
            seconds, theirs = timed(lambda: run.tab(filters, options, DEFAULT_CHURN_DAYS, TOP_SIZES[0]))
            times[name].append(seconds)
            problems = answers.differences(mine, theirs)
            disagreements += [f"{name}, {filters.to_search() or 'no filter'}: {problem}" for problem in problems]
            print(f"  {name} {1000 * seconds:8.1f} ms  {filters.to_search() or '(no filter)'}"
                  + (f"  disagrees: {problems}" if problems else ""), flush=True)
    unfiltered = _unfiltered(engine, database, options, peer, reference)
    stats = {name: summary(values) for name, values in times.items()}
    return {
        **load, "script": stats, "unfiltered": unfiltered, "disagreements": disagreements,
        "ratios": {
            "peer_over_services_script": ratio(stats["peer"], stats["services"]) if peer else None,
            "duckdb_over_services_script": ratio(stats["duckdb"], stats["services"]),
            "peer_over_services_unfiltered": ratio(unfiltered["peer"], unfiltered["services"]) if peer else None,
            "duckdb_over_services_unfiltered": ratio(unfiltered["duckdb"], unfiltered["services"]),
        },
    }


def _unfiltered(engine, database, options, peer, reference) -> dict:
    """The default view (no filter), each engine repeated in turn."""
    runs = {"services": lambda: answers.services_tab(Warehouse(database.cursor(), engine), Filters(), options)}
    for name, engine_run in (("peer", peer), ("duckdb", reference)):
        if engine_run is not None:
            runs[name] = lambda run=engine_run: run.tab(Filters(), options, DEFAULT_CHURN_DAYS, TOP_SIZES[0])
    return {name: summary([timed(work)[0] for _ in range(UNFILTERED_REPEATS)]) for name, work in runs.items()}


def _write(results: dict, args) -> None:
    customers = results["scale"]["customers"]
    path = Path(args.json or ROOT / "docs" / f"performance-{results['database']}-{customers}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    report.write_markdown(results, Path(args.markdown))
    print(report.table(results))


if __name__ == "__main__":
    main()
