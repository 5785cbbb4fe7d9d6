"""Bulk loading: driver-ready values, inserts on every path, the SQLite cache and PostgreSQL sequences."""
from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert, select

from services import bulk_load
from services.db import make_engine
from services.bulk_load import advance_sequences, column_values, insert_rows, sqlite_bulk_cache
from services.models import Branch, Customer, Transaction

CUSTOMERS = Customer.__table__
TRANSACTIONS = Transaction.__table__


def test_dates_are_text_for_the_fast_paths_and_objects_for_core():
    moments = np.array(["2023-05-06T07:08:09", "NaT"], dtype="datetime64[s]")
    days = pd.Series(pd.to_datetime(["1980-02-03", None]))
    for mode in ("sqlite", "copy"):
        assert column_values(moments, TRANSACTIONS.c.ordered_at, mode) == ["2023-05-06 07:08:09.000000", None]
        assert column_values(days, CUSTOMERS.c.birth_date, mode) == ["1980-02-03", None]
    assert column_values(moments, TRANSACTIONS.c.ordered_at) == [dt.datetime(2023, 5, 6, 7, 8, 9), None]
    assert column_values(days, CUSTOMERS.c.birth_date) == [dt.date(1980, 2, 3), None]


def test_missing_values_become_none_and_numbers_python_numbers():
    ints = column_values(pd.Series([1.0, np.nan, 3.0]), TRANSACTIONS.c.quantity, "sqlite")
    assert ints == [1, None, 3] and all(type(v) is int for v in (ints[0], ints[2]))
    assert column_values(pd.Series(pd.array([4, None], dtype="Int64")), TRANSACTIONS.c.quantity) == [4, None]
    assert column_values(np.array([2, None], dtype=object), TRANSACTIONS.c.branch_id) == [2, None]
    assert column_values(np.array([1.5, None], dtype=object), TRANSACTIONS.c.amount) == [1.5, None]
    assert column_values(pd.Series(["a", None, np.nan], dtype=object), TRANSACTIONS.c.category) == ["a", None, None]


def test_json_columns_take_text():
    attributes = np.array([json.dumps({"k": 1}), None], dtype=object)
    assert column_values(attributes, CUSTOMERS.c.attributes, "sqlite") == ['{"k": 1}', None]
    assert column_values(attributes, CUSTOMERS.c.attributes, "core") == [{"k": 1}, None]


@pytest.mark.parametrize("mode", ["fast", "core"])
def test_insert_rows_in_chunks(engine, monkeypatch, mode):
    monkeypatch.setattr(bulk_load, "CHUNK_ROWS", 3)
    if mode == "core":
        monkeypatch.setattr(bulk_load, "load_mode", lambda _connection: "core")
    ids = np.arange(1, 8)
    with engine.begin() as connection:
        written = insert_rows(connection, CUSTOMERS, {
            "id": ids,
            "external_id": np.strings.add("C", ids.astype("U")),
            "gender": np.array(["Female"] * 7),
            "birth_date": np.datetime64("1990-01-01", "D") + ids.astype("timedelta64[D]"),
            "income": pd.Series([1000.0, None, 3000.0, None, 5000.0, 6000.0, 7000.0]),
            "attributes": np.array([json.dumps({"n": int(i)}) for i in ids], dtype=object),
        })
        assert insert_rows(connection, CUSTOMERS, pd.DataFrame({"external_id": []})) == 0
    assert written == 7
    with engine.connect() as connection:
        rows = connection.execute(select(CUSTOMERS.c.id, CUSTOMERS.c.birth_date, CUSTOMERS.c.income,
                                         CUSTOMERS.c.attributes).order_by(CUSTOMERS.c.id)).all()
    assert [r.id for r in rows] == list(range(1, 8))
    assert rows[0].birth_date == dt.date(1990, 1, 2) and rows[6].birth_date == dt.date(1990, 1, 8)
    assert [r.income for r in rows[:3]] == [1000.0, None, 3000.0]
    assert rows[4].attributes == {"n": 5}


def test_sqlite_cache_is_restored_even_after_an_error(sqlite_url):
    with make_engine(sqlite_url).connect() as connection:
        before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
        with pytest.raises(RuntimeError), sqlite_bulk_cache(connection, 1024):
            assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == -1024
            raise RuntimeError("stop")
        assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == before


def test_ids_continue_after_explicit_keys(engine):
    with engine.begin() as connection:
        insert_rows(connection, Branch.__table__, {
            "id": np.array([1, 2, 5]), "name": np.array(["A", "B", "C"]),
            "city": np.array(["x", "x", "x"]), "country": np.array(["y", "y", "y"]),
        })
        advance_sequences(connection, [Branch.__table__])
        new_id = connection.execute(insert(Branch.__table__).values(name="D", city="x", country="y")
                                    .returning(Branch.__table__.c.id)).scalar()
    assert new_id == 6
