"""CSV import at scale: the benchmark database's customers and orders written out as CSV files,
then imported into a new, empty SQLite database with `flask --app wsgi import-csv`, as an
operator would (each import refreshes the derived data and builds the snapshot)."""
from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine

from benchmarks.servers import PROJECT_ROOT
from benchmarks.stats import timed
from services.analytics.snapshot import stream_frames
from services.db import upgrade_schema

EXPORTS = {
    "customers": ("SELECT external_id AS customer_id, name, gender, birth_date, country, city, income, children, "
                  "marital_status, signup_date FROM customers ORDER BY id",
                  ["customer_id", "name", "gender", "birth_date", "country", "city", "income", "children",
                   "marital_status", "signup_date"]),
    "transactions": ("SELECT t.external_id AS order_id, c.external_id AS customer_id, t.ordered_at, t.amount, "
                     "t.discount, t.cost, t.quantity, t.category, t.channel FROM transactions t "
                     "JOIN customers c ON c.id = t.customer_id ORDER BY t.id",
                     ["order_id", "customer_id", "ordered_at", "amount", "discount", "cost", "quantity", "category",
                      "channel"]),
}


def run(source: Engine, work: Path) -> dict:
    files = {kind: work / f"{kind}.csv" for kind in EXPORTS}
    exported_s, rows = timed(lambda: {kind: _export(source, kind, path) for kind, path in files.items()})
    target = work / "imported.db"
    target.unlink(missing_ok=True)
    url = f"sqlite:///{target}"
    upgrade_schema(url)
    environment = {**os.environ, "DATABASE_URL": url, "INSTANCE_DIR": str(work / "imported-instance"),
                   "APP_ENV": "development"}
    result = {"exported_s": exported_s, "rows": rows}
    for kind, path in files.items():
        result[f"{kind}_s"], _ = timed(lambda: subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "import-csv", kind, str(path)], cwd=PROJECT_ROOT,
            env=environment, check=True, capture_output=True))
        path.unlink()
    result["total_s"] = sum(result[f"{kind}_s"] for kind in files)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    target.unlink()
    shutil.rmtree(work / "imported-instance", ignore_errors=True)
    return result


def _export(engine: Engine, kind: str, path: Path) -> int:
    query, columns = EXPORTS[kind]
    rows = 0
    with engine.connect() as connection, open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(columns) + "\n")
        for frame in stream_frames(connection, query, columns):
            frame.to_csv(handle, header=False, index=False)
            rows += len(frame)
    return rows
