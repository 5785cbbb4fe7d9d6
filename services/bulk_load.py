"""Fast writes of many rows: COPY on PostgreSQL (psycopg), executemany on SQLite, Core elsewhere.

Callers hand over whole columns (numpy arrays or pandas Series); each column is turned
into driver-ready values by the type of its table column, chunk by chunk, so memory stays
bounded by the chunk size. Missing values (None, NaN, NaT, NA) become NULL. JSON columns
take JSON text.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd
from sqlalchemy import JSON, Column, Connection, Date, DateTime, Float, Integer, Table, text

Mode = Literal["sqlite", "copy", "core"]
Values = np.ndarray | pd.Series

CHUNK_ROWS = 50_000
SQLITE_BULK_CACHE_KIB = 64 * 1024


def load_mode(connection: Connection) -> Mode:
    """How rows reach the database: the two fast paths need their own drivers."""
    dialect = connection.dialect
    if dialect.name == "sqlite" and dialect.driver == "pysqlite":
        return "sqlite"
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        return "copy"
    return "core"


def insert_rows(connection: Connection, table: Table, columns: Mapping[str, Values] | pd.DataFrame) -> int:
    """Insert rows given column by column (name -> values); returns how many were written."""
    names = list(columns)
    total = len(columns[names[0]]) if names else 0
    mode = load_mode(connection)
    for start in range(0, total, CHUNK_ROWS):
        values = [column_values(_rows(columns[name], start), table.c[name], mode) for name in names]
        _WRITERS[mode](connection, table, names, zip(*values))
    return total


def _rows(values: Values, start: int) -> Values:
    stop = start + CHUNK_ROWS
    return values.iloc[start:stop] if isinstance(values, pd.Series) else values[start:stop]


# ------------------------------------------------------------------ values
def column_values(values: Values, column: Column, mode: Mode = "core") -> list[Any]:
    """Driver-ready values of one column; SQLite and COPY take dates as text, Core as objects."""
    kind = column.type
    if isinstance(kind, DateTime):
        return _moments(values, "us", mode)
    if isinstance(kind, Date):
        return _moments(values, "D", mode)
    if isinstance(kind, JSON) and mode == "core":
        return [None if v is None else json.loads(v) for v in values]
    if isinstance(kind, Integer):
        return _integers(values)
    if isinstance(kind, Float):
        return _floats(values)
    return _objects(values)


def _moments(values: Values, unit: str, mode: Mode) -> list[Any]:
    """Dates or times; the text matches what SQLAlchemy's SQLite types store."""
    stamps = np.asarray(pd.to_datetime(values)).astype(f"datetime64[{unit}]")
    if mode == "core":
        return stamps.astype(object).tolist()  # NaT becomes None
    rendered = np.datetime_as_string(stamps, unit=unit)  # "YYYY-MM-DDThh:mm:ss.ffffff"
    if unit != "D" and len(rendered):
        separator = rendered.view("U1").reshape(len(rendered), -1)[:, 10]
        separator[separator == "T"] = " "  # in place: much faster than np.strings.replace
    return _with_none(rendered, np.isnat(stamps))


def _integers(values: Values) -> list[Any]:
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "iu":  # nothing missing: the fast path
        return values.tolist()
    return pd.Series(values).astype("Int64").to_numpy(dtype=object, na_value=None).tolist()


def _floats(values: Values) -> list[Any]:
    floats = np.asarray(pd.Series(values).astype("float64"))
    return _with_none(floats, np.isnan(floats))


def _objects(values: Values) -> list[Any]:
    if isinstance(values, np.ndarray) and values.dtype.kind == "U":  # no missing values possible
        return values.tolist()
    objects = np.asarray(values, dtype=object)
    return _with_none(objects, pd.isna(objects))


def _with_none(values: np.ndarray, missing: np.ndarray) -> list[Any]:
    if not missing.any():
        return values.tolist()
    out = values.astype(object)
    out[missing] = None
    return out.tolist()


# ------------------------------------------------------------------ writers
def _quoted(connection: Connection, table: Table, names: Sequence[str]) -> tuple[str, str]:
    quote = connection.dialect.identifier_preparer.quote
    return quote(table.name), ", ".join(quote(name) for name in names)


def _executemany(connection: Connection, table: Table, names: Sequence[str], rows: Iterable[tuple]) -> None:
    target, column_list = _quoted(connection, table, names)
    marks = ", ".join("?" for _ in names)
    connection.exec_driver_sql(f"INSERT INTO {target} ({column_list}) VALUES ({marks})", list(rows))


def _copy(connection: Connection, table: Table, names: Sequence[str], rows: Iterable[tuple]) -> None:
    target, column_list = _quoted(connection, table, names)
    driver = connection.connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(f"COPY {target} ({column_list}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _core(connection: Connection, table: Table, names: Sequence[str], rows: Iterable[tuple]) -> None:
    connection.execute(table.insert(), [dict(zip(names, row)) for row in rows])


_WRITERS = MappingProxyType({"sqlite": _executemany, "copy": _copy, "core": _core})


# ------------------------------------------------------------------ around a load
@contextmanager
def sqlite_bulk_cache(connection: Connection, kib: int = SQLITE_BULK_CACHE_KIB) -> Iterator[None]:
    """SQLite: a large page cache while loading keeps the index updates in memory; restored after."""
    if connection.dialect.name != "sqlite":
        yield
        return
    previous = int(connection.exec_driver_sql("PRAGMA cache_size").scalar())
    connection.exec_driver_sql(f"PRAGMA cache_size = -{int(kib)}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {previous}")


def advance_sequences(connection: Connection, tables: Iterable[Table]) -> None:
    """PostgreSQL: id sequences continue after the keys a load wrote explicitly."""
    if connection.dialect.name != "postgresql":
        return
    for table in tables:
        connection.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
            f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table.name}), false)"
        ))
