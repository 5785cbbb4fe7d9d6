"""The analytics snapshot: a read-only DuckDB file built from the SQL database after each refresh.

SQLite or PostgreSQL stay the system of record. The dashboards read a columnar copy laid
out for them, one file per data version and layout (`analytics-v{N}-{layout}.duckdb`), written to a temporary
name and renamed into place, so every worker process can open it read-only while a newer
one is being built. Tables (see `schema.sql` for the details):

- `customers`: one row per customer with its attribute cell, city, age, order milestones and
  first coupon burn (day, branch, orders before it, next later order day);
- `cells`, `cities`: the distinct attribute combinations and cities, numbered;
- `orders`: every order with its profit, hour, its customer's cell, its number in the customer's history, the
  days of the customer's previous two orders and the next later order day, sorted by day,
  which turns distinct-customer counts into sums;
- `monthly`, `cohort_months`: roll-ups of `orders` by cell and calendar month;
- `surveys`: NPS answers with the customer's cell;
- `customer_categories`, `categories`: revenue per customer and category, and the categories;
- `coupon_events`, `coupon_orders`: every coupon event (a burn with its days since the claim and
  whether it had no claim left), and every order paid with a coupon, with the customer's cell;
  `branches`, `coupons`: the branches and the coupons with their campaign;
- `campaigns`, `campaign_assignments`: the campaigns and who was assigned to which variant.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
from sqlalchemy import Connection, Engine

from services.refresh import current_version

SCHEMA = (Path(__file__).with_name("schema.sql")).read_text(encoding="utf-8")
CHUNK_ROWS = 500_000
KEEP_VERSIONS = 2  # the current snapshot and the one before, which workers may still have open

# What is copied from the SQL database, by staging table. Timestamps travel as text or
# datetimes, whichever the driver gives, and are cast by DuckDB.
SOURCES = {
    "raw_orders": ("SELECT id, customer_id, ordered_at, amount, cost FROM transactions",
                   "id BIGINT, customer_id INTEGER, ordered_at VARCHAR, amount DOUBLE, cost DOUBLE"),
    "raw_customers": (
        "SELECT s.customer_id, c.external_id, c.name, s.gender, s.country, s.city, s.age, s.age_bracket,"
        " s.family_status, s.profile, s.rfm_segment, s.income, s.recency_days, s.tenure_days, s.discount,"
        " s.coupon_orders, s.clv_12m, s.purchases_12m, s.p_alive, s.churn_risk, s.revenue_at_risk"
        " FROM customer_summary s JOIN customers c ON c.id = s.customer_id",
        "customer_id INTEGER, external_id VARCHAR, name VARCHAR, gender VARCHAR, country VARCHAR, city VARCHAR,"
        " age INTEGER, age_bracket VARCHAR, family_status VARCHAR, profile VARCHAR, rfm_segment VARCHAR,"
        " income DOUBLE, recency_days INTEGER, tenure_days INTEGER, discount DOUBLE, coupon_orders INTEGER,"
        " clv_12m DOUBLE, purchases_12m DOUBLE, p_alive DOUBLE, churn_risk DOUBLE, revenue_at_risk DOUBLE"),
    # Aggregated by the SQL database: a few rows per customer instead of a category per order.
    "raw_category_revenue": (
        "SELECT customer_id, category, sum(amount) FROM transactions WHERE category IS NOT NULL"
        " GROUP BY customer_id, category",
        "customer_id INTEGER, category VARCHAR, revenue DOUBLE"),
    "raw_coupon_events": ("SELECT id, coupon_id, customer_id, branch_id, event, occurred_at FROM coupon_events",
                          "id BIGINT, coupon_id INTEGER, customer_id INTEGER, branch_id INTEGER, event VARCHAR,"
                          " occurred_at VARCHAR"),
    "raw_coupon_orders": ("SELECT id, customer_id, ordered_at, coupon_id, branch_id, amount, discount, cost"
                          " FROM transactions WHERE coupon_id IS NOT NULL",
                          "id BIGINT, customer_id INTEGER, ordered_at VARCHAR, coupon_id INTEGER, branch_id INTEGER,"
                          " amount DOUBLE, discount DOUBLE, cost DOUBLE"),
    "raw_branches": ("SELECT id, name, city, country FROM branches",
                     "id INTEGER, name VARCHAR, city VARCHAR, country VARCHAR"),
    "raw_coupons": ("SELECT c.id, c.code, m.name, c.discount_pct, c.discount_amount, c.valid_from, c.valid_to"
                    " FROM coupons c LEFT JOIN campaigns m ON m.id = c.campaign_id",
                    "id INTEGER, code VARCHAR, campaign VARCHAR, discount_pct DOUBLE, discount_amount DOUBLE,"
                    " valid_from VARCHAR, valid_to VARCHAR"),
    "raw_campaigns": ("SELECT id, name, kind, discount_pct, starts_on, ends_on, cost, planned_treatment_share,"
                      " description FROM campaigns",
                      "id INTEGER, name VARCHAR, kind VARCHAR, discount_pct DOUBLE, starts_on VARCHAR, ends_on VARCHAR,"
                      " cost DOUBLE, planned_treatment_share DOUBLE, description VARCHAR"),
    "raw_assignments": ("SELECT campaign_id, customer_id, variant, assigned_at FROM campaign_assignments",
                        "campaign_id INTEGER, customer_id INTEGER, variant VARCHAR, assigned_at VARCHAR"),
    "raw_surveys": ("SELECT customer_id, answered_at, nps_score FROM survey_responses",
                    "customer_id INTEGER, answered_at VARCHAR, nps_score INTEGER"),
}


# The snapshot's layout: a release that changes the copied columns or the schema builds new files
# instead of reading ones laid out for the code before it.
LAYOUT = hashlib.sha256((SCHEMA + repr(SOURCES)).encode()).hexdigest()[:10]
_NAME = re.compile(r"analytics-v(\d+)(?:-([0-9a-f]+))?\.duckdb")


def snapshot_path(directory: Path, version: int) -> Path:
    return Path(directory) / f"analytics-v{version}-{LAYOUT}.duckdb"


def ensure_snapshot(engine: Engine, directory: Path) -> Path:
    """The snapshot of the database's current data version, built first if missing.

    Processes that find it missing wait for one another on a lock file, so it is built once.
    """
    with engine.connect() as connection:
        version = current_version(connection)
    path = snapshot_path(directory, version)
    if path.exists():
        return path
    with _lock(Path(directory)):
        if not path.exists():
            build_snapshot(engine, path)
            _remove_old_snapshots(Path(directory), version)
    return path


def build_snapshot(engine: Engine, path: Path, memory_limit: str = "2GB") -> None:
    """Copy the SQL data into a new DuckDB file at `path` (atomically: written aside, then renamed)."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    database = duckdb.connect(str(partial), config={"memory_limit": memory_limit, "threads": os.cpu_count() or 1})
    database.execute("SET enable_progress_bar = false")
    try:
        copy_tables(engine, database, SOURCES)
        database.execute(SCHEMA)
        database.execute("CHECKPOINT")
    except BaseException:
        database.close()
        partial.unlink(missing_ok=True)
        raise
    database.close()
    os.replace(partial, path)


def open_snapshot(path: Path, memory_limit: str = "128MB", threads: int = 2) -> duckdb.DuckDBPyConnection:
    """A read-only connection; use `.cursor()` per thread."""
    return duckdb.connect(str(path), read_only=True, config={"memory_limit": memory_limit, "threads": threads})


def copy_tables(engine: Engine, database: duckdb.DuckDBPyConnection, sources: dict[str, tuple[str, str]]) -> None:
    """Create each table (name -> (SQL query, DuckDB column definitions)) and fill it from the query."""
    with engine.connect() as connection:
        for table, (query, columns) in sources.items():
            database.execute(f"CREATE TABLE {table} ({columns})")
            for chunk in stream_frames(connection, query, [column.split()[0] for column in columns.split(",")]):
                database.execute(f"INSERT INTO {table} SELECT * FROM chunk")


def stream_frames(connection: Connection, query: str, columns: list[str]) -> Iterator[pd.DataFrame]:
    """The query's rows in frames of `CHUNK_ROWS`, through the driver's own cursor (rows as plain
    tuples are several times faster to frame than SQLAlchemy rows); server-side on PostgreSQL."""
    driver = connection.connection.driver_connection
    cursor = driver.cursor(name="analytics_snapshot") if connection.dialect.name == "postgresql" else driver.cursor()
    try:
        cursor.execute(query)
        while rows := cursor.fetchmany(CHUNK_ROWS):
            yield pd.DataFrame(rows, columns=columns)
    finally:
        cursor.close()


@contextmanager
def _lock(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".build.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_old_snapshots(directory: Path, version: int) -> None:
    """Delete snapshots older than the last `KEEP_VERSIONS`, and those of another layout (open handles keep
    their file until closed)."""
    for old in directory.glob("analytics-v*.duckdb"):
        name = _NAME.fullmatch(old.name)
        if name and (int(name.group(1)) <= version - KEEP_VERSIONS or name.group(2) != LAYOUT):
            old.unlink(missing_ok=True)
