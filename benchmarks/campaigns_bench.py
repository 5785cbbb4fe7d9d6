"""The Campaigns tab on a real database: what one refresh of a readout costs in the services, step by step.

    python3 -m benchmarks.campaigns_bench --database-url sqlite:////tmp/bench20k/app.db \
        --instance-dir /tmp/bench20k [--repeat 5] [--json docs/campaigns-bench-20k.json]

The campaign is the latest randomised one (the demo's 20% discount A/B test). For each filter case (no
filter; the largest country), every repeat opens a fresh warehouse on the instance's analytics snapshot (read
only, DuckDB at 128MB and 2 threads, as the app opens it) and runs in turn: the readout with default settings,
the readout with CUPED and 99th-percentile capping, the breakdown by RFM segment, the cumulative lift of orders
per customer day by day, and the seasonality section (weekly revenue and its STL decomposition, month of year,
weekday x hour). Each step is timed by wall clock; the table shows the median per step and of their sum. The
services are measured without the app's result cache: a cold refresh, the upper bound of what a user waits for.
It also prints the orders-per-customer lift the readout measures against the lift the demo data planted.
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
from services import seasonality
from services.analytics.snapshot import ensure_snapshot, open_snapshot
from services.analytics.warehouse import Warehouse
from services.campaigns import catalog
from services.campaigns.facts import Design
from services.campaigns.metrics import BY_KEY
from services.campaigns.readout import Settings, readout
from services.campaigns.segments import DIMENSIONS, breakdown
from services.campaigns.timeline import cumulative_lift
from services.campaigns.window import window_of
from services.db import make_engine
from services.demo.plan import AB_LIFT
from services.filters import Filters, filter_options

TUNED = Settings(cuped=True, cap=0.99)


def steps(warehouse: Warehouse, info, window, filters: Filters, options) -> dict:
    """name -> work, for one refresh of the tab."""
    customers = warehouse.selection(filters).where()
    design = Design(info.campaign_id, window, customers)
    plain = Settings()
    return {
        "readout": lambda: readout(warehouse, info, window, customers, plain),
        "readout_cuped_capped": lambda: readout(warehouse, info, window, customers, TUNED),
        "segments_rfm": lambda: breakdown(warehouse, design, DIMENSIONS[0], BY_KEY["orders"], "control",
                                          "treatment", plain),
        "timeline_orders": lambda: cumulative_lift(warehouse, design, BY_KEY["orders"], "control", "treatment",
                                                   plain),
        "seasonality": lambda: (seasonality.decompose(seasonality.weekly_revenue(warehouse, filters, options)),
                                seasonality.by_month_of_year(warehouse, filters, options),
                                seasonality.by_weekday_hour(warehouse, filters, options)),
    }


def run_case(database, engine, filters: Filters, options, repeat: int) -> dict:
    seconds: dict[str, list[float]] = {}
    for _ in range(repeat):
        warehouse = Warehouse(database.cursor(), engine)
        info = next(c for c in catalog.campaigns(warehouse) if c.randomised)
        window = window_of(info, options.last_date)
        for name, work in steps(warehouse, info, window, filters, options).items():
            started = time.perf_counter()
            work()
            seconds.setdefault(name, []).append(time.perf_counter() - started)
        warehouse.snapshot.close()
    medians = {name: 1000 * statistics.median(values) for name, values in seconds.items()}
    totals = [sum(values[i] for values in seconds.values()) for i in range(repeat)]
    return {"median_ms": medians, "total_median_ms": 1000 * statistics.median(totals)}


def planted_vs_measured(database, engine, options) -> dict:
    warehouse = Warehouse(database.cursor(), engine)
    info = next(c for c in catalog.campaigns(warehouse) if c.randomised)
    result = readout(warehouse, info, window_of(info, options.last_date), "TRUE", Settings())
    effect = result.result("orders").effect
    per_sale = result.result("profit_per_sale").effect
    return {"campaign": info.name, "planted_orders_lift": AB_LIFT, "measured_orders_lift": effect.relative,
            "low": effect.relative_low, "high": effect.relative_high,
            "profit_per_sale_lift": per_sale.relative, "profit_per_sale_high": per_sale.relative_high,
            "customers": int(result.health.counts["customers"].sum())}


def main(argv: list[str] | None = None) -> dict:
    args = _arguments(argv)
    engine = make_engine(args.database_url)
    with engine.connect() as connection:
        options = filter_options(connection, None)
    database = open_snapshot(ensure_snapshot(engine, Path(args.instance_dir) / "analytics"), "128MB", 2)
    (customers,) = database.execute("SELECT count(*) FROM customers").fetchone()
    (country,) = database.execute("SELECT country FROM customers WHERE country IS NOT NULL GROUP BY 1 "
                                  "ORDER BY count(*) DESC, 1 LIMIT 1").fetchone()
    cases = {"all": Filters(), "country": Filters(countries=(country,))}
    results = {key: run_case(database, engine, filters, options, args.repeat) for key, filters in cases.items()}
    lift = planted_vs_measured(database, engine, options)
    database.close()
    report = {"machine": _machine(), "database": make_url(args.database_url).get_backend_name(),
              "customers": int(customers), "country": country, "repeats": args.repeat,
              "code_fingerprint": code_fingerprint(), "cases": results, "lift": lift, "peak_rss_mb": peak_rss_mb()}
    for key, result in results.items():
        parts = ", ".join(f"{name} {ms:,.0f} ms" for name, ms in result["median_ms"].items())
        print(f"{key}: total {result['total_median_ms']:,.0f} ms ({parts})")
    print(f"orders per customer: planted {lift['planted_orders_lift']:+.1%}, measured {lift['measured_orders_lift']:+.1%} "
          f"(95% CI {lift['low']:+.1%} to {lift['high']:+.1%}); profit per sale {lift['profit_per_sale_lift']:+.1%}")
    write_json(report, args.json)
    return report


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        required="DATABASE_URL" not in os.environ)
    parser.add_argument("--instance-dir", default=os.environ.get("INSTANCE_DIR", "instance"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json")
    return parser.parse_args(argv)


if __name__ == "__main__":
    main()
