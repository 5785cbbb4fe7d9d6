"""CSV import of business data: customers, transactions, coupon events, campaign
assignments and survey responses.

Usage::

    result = import_csv(engine, "transactions", "orders.csv", username="alice")
    if not result.ok:
        for error in result.errors:
            print(error)          # "Row 500, column 'Order Date' (value '2024-13-01'): ..."

Rules (the column tables and aliases live in `services.csv_schema`; `describe_kinds()`
lists them):

- Files are UTF-8 (a byte-order mark is fine). Any other encoding, UTF-16 or a binary
  file is rejected as a whole before any row is read. The delimiter is the one of
  `,` `;` tab `|` that occurs most in the header row.
- Headers are matched by name; case, spaces, underscores, hyphens and punctuation are
  ignored and each column has documented aliases. Unknown columns are ignored and
  listed in `ignored_columns`. A missing required column, or two columns meaning the same
  field, is an error naming them.
- Values: numbers with a decimal point (`1234.50`); dates and times in ISO 8601
  (`2024-03-15`, `2024-03-15 14:30[:00]`, offsets converted to UTC); money rounded to
  cents; surrounding spaces trimmed; ids compared exactly otherwise. Enumerations accept
  any case and documented spellings (gender `F`/`female`/`w` -> Female, ...).
- Every row is validated, vectorised per chunk. Errors name the row as a spreadsheet
  shows it (header = row 1), the column as written in the file, the value and the
  reason. After `MAX_ERRORS` errors the import stops looking (`errors_truncated`).
- All or nothing: the data is written in one database transaction, chunk by chunk while
  no error has been seen, and rolled back if any row of the file is bad. A file with a
  header but no data rows is an error too.
- References use external ids: customers by `customer_id` (customers.external_id),
  coupons by code, campaigns and branches by name. Unknown customers are created with
  unknown demographics (gender 'Unknown', everything else empty), so a transactions-only
  file works. Unknown branches, campaigns and coupons are created as well, because no
  import kind provides them: a branch gets the file's `branch_city`/`branch_country` or
  'Unknown'; a campaign gets kind 'imported', cost 0 and dates spanning the rows that use
  it; a coupon gets a validity spanning the rows that use it and the campaign named on
  those rows. Rows of this import widen these spans; rows stored before are never
  changed. Coupon events naming an order (`order_id`) need that order to be imported
  already; otherwise the row is an error.
- Re-imports are idempotent. Customers are upserted by `customer_id`: columns in the file
  overwrite stored values (an empty cell clears the field; gender becomes 'Unknown'),
  columns absent from the file keep them. Transactions with an `order_id` update the
  stored order with that id; without `order_id` every row is added. Coupon events update
  the stored event with the same coupon, customer, event and time; survey responses the
  stored answer with the same customer and time; an identical campaign assignment is
  kept once. Within one file these keys must be unique.
- Every call records an `import_jobs` row (running, then succeeded or failed, with the
  first errors), written in its own transactions so it stays when the data rolls back.
  After a successful import the derived data is refreshed and the new data version is
  returned in the result.

User mistakes never raise; they come back in `ImportResult.errors`. `ValueError` is raised
only for programmer errors such as an unknown kind.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd
from sqlalchemy import Connection, Engine, insert, update

from services.bulk_load import sqlite_bulk_cache
from services.csv_schema import KindSpec, describe_kinds, kind_spec
from services.csv_source import CsvFileError, RowError, check_encoding, iter_chunks, open_source, read_layout
from services.csv_validation import ColumnMapping, KeyIndex, key_duplicates, map_header, validate_chunk
from services.import_writers import WRITERS, WriteState, check_references, start_state
from services.models import ImportJob

__all__ = ["ImportResult", "RowError", "describe_kinds", "import_csv", "KINDS"]

DEFAULT_CHUNK_SIZE = 50_000
MAX_ERRORS = 1000
JOB_ERRORS_KEPT = 100
KINDS = tuple(describe_kinds())

Progress = Callable[[int, int | None], object]
Refresh = Callable[[Engine], object]


@dataclass(frozen=True)
class ImportResult:
    """The outcome of one import; `rows` is 0 unless it succeeded."""

    kind: str
    rows: int
    created_customers: int
    errors: tuple[RowError, ...]
    ignored_columns: tuple[str, ...]
    inserted: int = 0
    updated: int = 0  # stored rows replaced or confirmed by a row of the file
    errors_truncated: bool = False
    job_id: int | None = None
    data_version: int | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        """One sentence for the page or the command line."""
        if self.ok:
            created = f", {self.created_customers} new customers" if self.created_customers else ""
            return (f"Imported {self.rows} {self.kind.replace('_', ' ')} rows "
                    f"({self.inserted} added, {self.updated} updated{created}).")
        more = f" (stopped after {len(self.errors)})" if self.errors_truncated else ""
        return f"Nothing imported: {len(self.errors)} errors{more}. First: {self.errors[0]}"


@dataclass
class _Outcome:
    errors: list[RowError]
    ignored: tuple[str, ...] = ()
    state: WriteState | None = None
    rows: int = 0
    rows_read: int = 0  # data rows of the file read so far, blank ones included
    truncated: bool = False


def import_csv(engine: Engine, kind: str, source: str | Path | bytes | BinaryIO, *,
               filename: str | None = None, username: str | None = None,
               progress: Progress | None = None, refresh: Refresh | None = None,
               chunk_size: int = DEFAULT_CHUNK_SIZE, max_errors: int = MAX_ERRORS) -> ImportResult:
    """Import one CSV file of `kind` (see `describe_kinds()`); all rows or none.

    `source` is a path, the file's bytes or a binary stream. `progress(rows_done,
    total_rows)` is called after every chunk (total is estimated from the line count).
    `refresh` rebuilds the derived data after a successful import; by default
    `services.refresh.refresh`.
    """
    spec = kind_spec(kind)
    if chunk_size < 1 or max_errors < 1:
        raise ValueError("chunk_size and max_errors must be positive")
    name = _display_name(source, filename)
    job_id = _start_job(engine, spec.name, name, username)
    try:
        outcome = _import(engine, spec, source, name, progress, chunk_size, max_errors)
    except BaseException as exc:
        internal = RowError(None, None, None, f"Internal error: {type(exc).__name__}")
        _finish_job(engine, job_id, "failed", 0, [internal])
        raise
    state = outcome.state
    if outcome.errors or state is None:
        _finish_job(engine, job_id, "failed", 0, outcome.errors)
        return ImportResult(kind=spec.name, rows=0, created_customers=0, errors=tuple(outcome.errors),
                            ignored_columns=outcome.ignored, errors_truncated=outcome.truncated, job_id=job_id)
    _finish_job(engine, job_id, "succeeded", outcome.rows, [])
    version = (refresh or _default_refresh())(engine)
    return ImportResult(
        kind=spec.name, rows=outcome.rows, created_customers=state.created_customers, errors=(),
        ignored_columns=outcome.ignored, inserted=state.inserted, updated=state.updated + state.unchanged,
        job_id=job_id, data_version=version if isinstance(version, int) else None,
    )


def _default_refresh() -> Refresh:
    from services.refresh import refresh  # imported late: the refresh pulls in the whole SQL layer

    return refresh


def _display_name(source: object, filename: str | None) -> str:
    if filename:
        return filename[:255]
    if isinstance(source, (str, Path)):
        return Path(source).name[:255]
    name = getattr(source, "name", None)
    return Path(name).name[:255] if isinstance(name, str) and name else "upload.csv"


# ------------------------------------------------------------------ the import itself
def _import(engine: Engine, spec: KindSpec, source: str | Path | bytes | BinaryIO, filename: str,
            progress: Progress | None, chunk_size: int, max_errors: int) -> _Outcome:
    try:
        with open_source(source) as stream:
            line_count = check_encoding(stream)
            layout = read_layout(stream, line_count)
            mapping = map_header(spec, layout.names)
            if mapping.errors:
                return _Outcome(errors=list(mapping.errors), ignored=mapping.ignored)
            with engine.connect() as connection, closing(iter_chunks(stream, layout, chunk_size)) as chunks:
                return _load(connection, spec, mapping, chunks, filename, layout.estimated_rows, progress, max_errors)
    except CsvFileError as exc:
        return _Outcome(errors=[exc.error])


def _load(connection: Connection, spec: KindSpec, mapping: ColumnMapping, chunks: Iterator[pd.DataFrame],
          filename: str, total: int | None, progress: Progress | None, max_errors: int) -> _Outcome:
    """Validate and write every chunk in one transaction; roll it back on any error."""
    transaction = connection.begin()
    try:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")  # take the write lock now, not halfway
        with sqlite_bulk_cache(connection):
            outcome = _write_chunks(connection, spec, mapping, chunks, filename, total, progress, max_errors)
            if outcome.errors:
                transaction.rollback()
            else:
                transaction.commit()
                if progress:
                    progress(outcome.rows_read, outcome.rows_read)
            return outcome
    finally:
        if transaction.is_active:
            transaction.rollback()


def _write_chunks(connection: Connection, spec: KindSpec, mapping: ColumnMapping, chunks: Iterator[pd.DataFrame],
                  filename: str, total: int | None, progress: Progress | None, max_errors: int) -> _Outcome:
    """Validate every chunk and write it while no error has been seen; the caller commits or rolls back."""
    outcome = _Outcome(errors=[], ignored=mapping.ignored)
    state = start_state(connection, filename)
    seen = KeyIndex()
    writer = WRITERS[spec.name]
    if progress:
        progress(0, total)
    try:
        for chunk in chunks:
            room = max_errors - len(outcome.errors)
            validated = validate_chunk(spec, mapping, chunk, room)
            errors = validated.errors + key_duplicates(spec, mapping, validated, seen, room)
            errors += check_references(connection, spec.name, validated.frame, mapping, room)
            outcome.errors.extend(sorted(errors, key=lambda e: e.row or 0)[:room])
            outcome.rows += validated.rows
            if not outcome.errors:
                writer(connection, validated.frame, state)
            outcome.rows_read += len(chunk)
            if progress:
                progress(outcome.rows_read, total)
            if len(outcome.errors) >= max_errors:
                outcome.truncated = True
                break
    except CsvFileError as exc:
        outcome.errors.append(exc.error)
    if not outcome.errors and outcome.rows == 0:
        outcome.errors.append(RowError(None, None, None, "The file has a header but no data rows."))
    if not outcome.errors:
        outcome.state = state
    return outcome


# ------------------------------------------------------------------ the job record
def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _start_job(engine: Engine, kind: str, filename: str, username: str | None) -> int:
    with engine.begin() as connection:
        result = connection.execute(insert(ImportJob).values(
            kind=kind, filename=filename, username=username, status="running", rows=0, errors=None,
            started_at=_utcnow()))
        return int(result.inserted_primary_key[0])


def _finish_job(engine: Engine, job_id: int, status: str, rows: int, errors: list[RowError]) -> None:
    kept: list[dict[str, Any]] = [error.to_dict() for error in errors[:JOB_ERRORS_KEPT]]
    if len(errors) > JOB_ERRORS_KEPT:
        kept.append(RowError(None, None, None, f"... and {len(errors) - JOB_ERRORS_KEPT} more errors.").to_dict())
    with engine.begin() as connection:
        connection.execute(update(ImportJob).where(ImportJob.id == job_id).values(
            status=status, rows=rows, errors=kept, finished_at=_utcnow()))
