"""Server time of the Customer performance tab after each filter change, without cache.

    python3 -m benchmarks.performance_tab --database-url sqlite:///instance/customerscope.db
"""
from __future__ import annotations

import argparse
import statistics
import time

from benchmarks.filter_changes import filter_changes
from services.db import make_engine
from services.filters import filter_options
from services.performance.tab import QUERIES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--changes", type=int, default=20)
    args = parser.parse_args()
    engine = make_engine(args.database_url)
    totals, per_query = [], {name: [] for name in QUERIES}
    with engine.connect() as connection:
        options = filter_options(connection, None)
        for filters in filter_changes(options, args.changes):
            started = time.perf_counter()
            for name, (service, params) in QUERIES.items():
                query_started = time.perf_counter()
                service(connection, filters, options, *params)
                per_query[name].append(time.perf_counter() - query_started)
            totals.append(time.perf_counter() - started)
            print(f"  change {len(totals):2d}: {totals[-1]:7.3f} s  {filters.to_search() or '(no filter)'}", flush=True)
    print(f"{len(totals)} filter changes: median {statistics.median(totals):.3f} s, "
          f"p95 {sorted(totals)[int(0.95 * (len(totals) - 1))]:.3f} s, max {max(totals):.3f} s")
    for name, times in sorted(per_query.items(), key=lambda item: -statistics.median(item[1])):
        print(f"  {name:20s} median {statistics.median(times):.3f} s")


if __name__ == "__main__":
    main()
