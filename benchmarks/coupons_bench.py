"""The Coupons tab on a real database: what one refresh of the tab costs in the services, per query and in all.

    python3 -m benchmarks.coupons_bench --database-url sqlite:////tmp/bench20k/app.db \
        --instance-dir /tmp/bench20k [--repeat 5] [--json docs/coupons-bench-20k.json]

For each filter case (no filter; the largest country; the last full calendar year of the data; the tab focused
on the city with the most burns), every repeat opens a fresh warehouse on the database's analytics snapshot
(warehouses memoise, so a shared one would flatter later repeats), builds the view (`coupon_view`) and runs
every query of `services.coupons.tab.QUERIES` in turn, the timeline by week as the tab opens. Each step is
timed by wall clock; the table shows the median per query over the repeats and the median of the whole tab (the
sum of one repeat, view included). The snapshot is opened as the app opens it: read-only, DuckDB memory limit
128MB and 2 threads unless told otherwise. A query that fails (DuckDB out of memory, say) is reported with its
error and the run goes on.

Before the queries, the snapshot build is timed once, into a temporary file, in a child process (so its memory,
with the build's own 2GB DuckDB limit, stays out of the queries' peak RSS). The queries read the instance's
snapshot (`ensure_snapshot`, as the app does) unless its tables differ from the fresh build's: a snapshot is named
by data version only, so one left by an older schema.sql is reused by the app; the benchmark says so, and reads
the fresh build instead (`--snapshot` chooses).

The services are measured without the app's result cache, the Dash callbacks and their figures: this is the
cost of a cold refresh, the upper bound of what a user waits for when a filter changes.
"""
from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
from sqlalchemy.engine import make_url

from benchmarks.harness import _machine
from dashapp.cache import code_fingerprint
from benchmarks.report import _ms
from benchmarks.stats import peak_rss_mb, summary, write_json
from services.analytics.snapshot import build_snapshot, ensure_snapshot, open_snapshot, snapshot_path
from services.analytics.warehouse import Warehouse
from services.coupons.tab import QUERIES
from services.coupons.view import Focus, coupon_view
from services.db import make_engine
from services.filters import FilterOptions, Filters, filter_options
from services.refresh import current_version

GRAIN = "week"  # the timeline's grain when the tab opens
SETTINGS: dict[str, tuple] = {"timeline": (GRAIN,)}  # the extra arguments of a query, by name
VIEW, TOTAL = "view", "total"  # the view's own step, and the whole tab


@dataclass(frozen=True)
class Case:
    key: str
    label: str
    filters: Filters
    focus: Focus = Focus()


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, print its table, write the JSON if asked; return the results."""
    args = _arguments(argv)
    baseline_rss_mb, load_before = peak_rss_mb(), os.getloadavg()[0]
    engine = make_engine(args.database_url)
    analytics = Path(args.instance_dir) / "analytics"
    analytics.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=analytics, prefix=".bench-build-") as scratch:
        try:
            with engine.connect() as connection:
                options = filter_options(connection, None)
            with engine.connect() as connection:
                instance = snapshot_path(analytics, current_version(connection))
            fresh = Path(scratch) / "analytics-bench.duckdb"
            build = None if args.skip_build else build_time(args.database_url, fresh)
            if not instance.exists() and (build is None or args.snapshot == "instance"):
                instance = ensure_snapshot(engine, analytics)  # built here: the peak RSS then includes a build
            snapshot, source = choose_snapshot(instance, fresh if build else None, args.snapshot)
            database = open_snapshot(snapshot, args.memory_limit, args.threads)
            try:
                facts = data_facts(Warehouse(database.cursor(), engine))
                cases = filter_cases(options, facts)
                results_by_case = {}
                for case in cases:
                    runs = [run_once(Warehouse(database.cursor(), engine), case, options)
                            for _ in range(args.repeat)]
                    result = results_by_case[case.key] = case_result(case, runs)
                    print(f"  {case.label}: tab {_ms(result['tab'].get('median_ms'))} (median of {args.repeat})"
                          + (f", FAILED: {', '.join(result['errors'])}" if result["errors"] else ""), flush=True)
            finally:
                database.close()
            snapshot_mb = snapshot.stat().st_size / 2**20
        finally:
            engine.dispose()
    results = {
        "machine": {**_machine(), "load_1min_before": load_before, "load_1min_after": os.getloadavg()[0]},
        "database": make_url(args.database_url).get_backend_name(),
        "customers": facts["customers"], "coupon_events": facts["coupon_events"],
        "coupon_orders": facts["coupon_orders"],
        "repeats": args.repeat, "duckdb": {"memory_limit": args.memory_limit, "threads": args.threads,
                                           "version": duckdb.__version__},
        "code_fingerprint": code_fingerprint(),
        "snapshot": {**source, "mb": snapshot_mb},
        "data_period": {"first": options.first_date, "last": options.last_date},
        "queries": [VIEW, *QUERIES], "timeline_grain": GRAIN,
        "cases": results_by_case,
        "failures": [{"case": key, "query": name, "error": error} for key, case in results_by_case.items()
                     for name, error in case["errors"].items()],
        "baseline_rss_mb": baseline_rss_mb, "peak_rss_mb": peak_rss_mb(),
        "snapshot_build": build,
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
    parser.add_argument("--repeat", "--repeats", dest="repeat", type=int, default=5,
                        help="repeats per filter case (a fresh warehouse each)")
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads per query (as in the app)")
    parser.add_argument("--memory-limit", default="128MB", help="DuckDB memory limit (as in the app)")
    parser.add_argument("--skip-build", action="store_true",
                        help="do not time a snapshot build (the queries then read the instance's snapshot)")
    parser.add_argument("--snapshot", choices=("auto", "instance", "fresh"), default="auto",
                        help="which snapshot the queries read: the instance's (ensure_snapshot), the timed fresh "
                             "build, or (auto) the instance's unless its tables differ from the fresh build's "
                             "(a snapshot left by an older schema.sql)")
    parser.add_argument("--json", help="write the results here")
    return parser.parse_args(argv)



def data_facts(warehouse: Warehouse) -> dict:
    """The sizes of the data, the largest country and the city with the most burns (for the filter cases)."""
    (customers,) = warehouse.row("SELECT count(*) FROM customers")
    (events,) = warehouse.row("SELECT count(*) FROM coupon_events")
    (orders,) = warehouse.row("SELECT count(*) FROM coupon_orders")
    country = warehouse.row("SELECT country FROM customers WHERE country IS NOT NULL GROUP BY 1 "
                            "ORDER BY count(*) DESC, 1 LIMIT 1")
    city = warehouse.row("SELECT b.city FROM coupon_events e JOIN branches b USING (branch_id) "
                         "WHERE e.event = 'burned' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
    warehouse.snapshot.close()
    return {"customers": int(customers), "coupon_events": int(events), "coupon_orders": int(orders),
            "country": country[0] if country else None, "city": city[0] if city else None}


def filter_cases(options: FilterOptions, facts: dict) -> list[Case]:
    """No filter; one country; the last full calendar year; the city with the most burns in focus."""
    cases = [Case("all", "No filter", Filters())]
    if facts["country"]:
        cases.append(Case("country", f"Country: {facts['country']}", Filters(countries=(facts["country"],))))
    if options.last_date is not None:
        last = options.last_date
        year = last.year if last == dt.date(last.year, 12, 31) else last.year - 1
        cases.append(Case("year", f"Year {year}", Filters(start=dt.date(year, 1, 1), end=dt.date(year, 12, 31))))
    if facts["city"]:
        cases.append(Case("city_focus", f"Focus: {facts['city']}", Filters(), Focus(city=facts["city"])))
    return cases


def run_once(warehouse: Warehouse, case: Case, options: FilterOptions) -> dict:
    """One refresh of the tab on `warehouse`: seconds per step (None when it failed), errors, result sizes."""
    seconds: dict[str, float | None] = {}
    errors: dict[str, str] = {}
    sizes: dict[str, int | None] = {}

    def step(name: str, work: Callable):
        started = time.perf_counter()
        try:
            result = work()
        except Exception as error:  # noqa: BLE001 — the benchmark reports what failed and goes on
            seconds[name], errors[name] = None, f"{type(error).__name__}: {error}"
            return None
        seconds[name] = time.perf_counter() - started
        sizes[name] = _size(result)
        return result

    try:
        view = step(VIEW, lambda: coupon_view(warehouse, case.filters, options, case.focus))
        for name, service in QUERIES.items():
            if view is None:  # no data at all, or the view failed
                seconds[name], errors[name] = None, errors.get(VIEW, "no data: coupon_view returned None")
                continue
            step(name, lambda service=service, name=name: service(warehouse, view, *SETTINGS.get(name, ())))
    finally:
        warehouse.snapshot.close()
    done = [value for value in seconds.values() if value is not None]
    seconds[TOTAL] = sum(done) if not errors else None
    return {"seconds": seconds, "errors": errors, "sizes": sizes}


def _size(result) -> int | None:
    """Rows of a frame; None for other results."""
    return len(result) if hasattr(result, "__len__") and hasattr(result, "columns") else None


def case_result(case: Case, runs: list[dict]) -> dict:
    names = [VIEW, *QUERIES]
    steps = {}
    for name in names:
        values = [run["seconds"].get(name) for run in runs]
        ok = [value for value in values if value is not None]
        steps[name] = {**summary(ok), "seconds": values}
    totals = [run["seconds"][TOTAL] for run in runs if run["seconds"][TOTAL] is not None]
    errors = {name: error for run in runs for name, error in run["errors"].items()}
    return {
        "label": case.label,
        "filters": case.filters.to_search() or "(none)",
        "focus": {"city": case.focus.city, "branch_id": case.focus.branch_id},
        "steps": steps,
        "tab": {**summary(totals), "seconds": [run["seconds"][TOTAL] for run in runs]},
        "rows": runs[-1]["sizes"],
        "errors": errors,
    }


def build_time(database_url: str, path: Path) -> dict:
    """Seconds to build the snapshot once, into `path`, in a child process of its own (so that the build's
    memory, DuckDB's 2GB limit, does not count in the queries' peak RSS); the child's peak RSS."""
    context = multiprocessing.get_context("spawn")
    answers = context.Queue()
    child = context.Process(target=_build_child, args=(database_url, str(path), answers))
    child.start()
    answer = answers.get()
    child.join()
    if "error" in answer:
        raise RuntimeError(f"the snapshot build failed: {answer['error']}")
    return {"seconds": answer["seconds"], "snapshot_mb": path.stat().st_size / 2**20,
            "peak_rss_mb": answer["peak_rss_mb"], "memory_limit": "2GB (build_snapshot's default)"}


def _build_child(database_url: str, path: str, answers) -> None:
    engine = make_engine(database_url)
    try:
        started = time.perf_counter()
        build_snapshot(engine, Path(path))
        answers.put({"seconds": time.perf_counter() - started, "peak_rss_mb": peak_rss_mb()})
    except Exception as error:  # noqa: BLE001 — reported by the parent
        answers.put({"error": f"{type(error).__name__}: {error}"})
    finally:
        engine.dispose()


def catalog(path: Path) -> list[tuple[str, str, str]]:
    """(table, column, type) of every column of a snapshot."""
    database = duckdb.connect(str(path), read_only=True)
    try:
        return [tuple(row) for row in database.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position").fetchall()]
    finally:
        database.close()


def choose_snapshot(instance: Path, fresh: Path | None, wanted: str) -> tuple[Path, dict]:
    """The snapshot the queries read, and what to report about it (a stale instance snapshot above all)."""
    info: dict = {"instance": str(instance)}
    if not instance.exists():  # none for this data version yet: the fresh build is what the app would build
        info.update(instance_matches_code=None, used="fresh build (the instance had no snapshot)")
        return fresh, info
    if fresh is not None:
        old, new = catalog(instance), catalog(fresh)
        info["instance_matches_code"] = old == new
        if old != new:
            info["instance_missing_columns"] = sorted(f"{t}.{c}" for t, c, _ in set(new) - set(old))
            info["instance_extra_columns"] = sorted(f"{t}.{c}" for t, c, _ in set(old) - set(new))
            print(f"  the instance's snapshot {instance} was built by another schema.sql (missing "
                  f"{', '.join(info['instance_missing_columns']) or 'nothing'}; extra "
                  f"{', '.join(info['instance_extra_columns']) or 'nothing'})", flush=True)
    if wanted == "fresh" and fresh is None:
        raise SystemExit("--snapshot fresh needs the timed build (drop --skip-build)")
    use_fresh = wanted == "fresh" or (wanted == "auto" and fresh is not None and not info["instance_matches_code"])
    info["used"] = "fresh build" if use_fresh else "instance"
    return (fresh if use_fresh else instance), info



def table(results: dict) -> str:
    """The median per query (rows) and filter case (columns), and the whole tab, as Markdown."""
    cases = results["cases"]
    machine = results["machine"]
    lines = [f"{results['customers']:,} customers, {results['coupon_events']:,} coupon events, "
             f"{results['coupon_orders']:,} coupon orders, {results['database']}, {machine['cpus']} cores (load "
             f"{machine['load_1min_before']:.1f} before, {machine['load_1min_after']:.1f} after), DuckDB "
             f"{results['duckdb']['memory_limit']} / {results['duckdb']['threads']} threads, "
             f"{results['repeats']} repeat(s), medians.", "",
             "| query | " + " | ".join(case["label"] for case in cases.values()) + " |",
             "|---|" + "---|" * len(cases)]

    def cell(case: dict, name: str) -> str:
        if name in case["errors"]:
            return "**failed**"
        return _ms(case["steps"][name].get("median_ms"))

    for name in results["queries"]:
        lines.append(f"| {name} | " + " | ".join(cell(case, name) for case in cases.values()) + " |")
    lines.append("| **whole tab** | " + " | ".join(
        "**failed**" if case["errors"] else f"**{_ms(case['tab'].get('median_ms'))}**" for case in cases.values())
        + " |")
    snapshot = results["snapshot"]
    lines += ["", f"- Peak memory (RSS): {results['peak_rss_mb']:,.0f} MB (after imports: "
                  f"{results['baseline_rss_mb']:,.0f} MB); snapshot read: {snapshot['used']} ({snapshot['mb']:,.0f} MB)"]
    if snapshot.get("instance_matches_code") is False:
        lines.append(f"- **The instance's snapshot is stale** (built by another schema.sql): missing "
                     f"{', '.join(snapshot['instance_missing_columns']) or 'nothing'}")
    build = results["snapshot_build"]
    if build:
        lines.append(f"- Snapshot build (a child process): {build['seconds']:,.1f} s ({build['snapshot_mb']:,.0f} MB; "
                     f"peak RSS {build['peak_rss_mb']:,.0f} MB)")
    for failure in results["failures"]:
        lines.append(f"- **{failure['query']} failed** ({cases[failure['case']]['label']}): {failure['error']}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
