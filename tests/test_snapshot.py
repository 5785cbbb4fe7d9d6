"""The analytics snapshot: one file per data version, built once, replaced after a refresh,
never left half-written, read-only for the app, and followed by the app after a refresh."""
from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from sqlalchemy import insert, text

from services import users
from services.analytics.snapshot import build_snapshot, ensure_snapshot, open_snapshot, snapshot_path
from services.models import Transaction
from services.refresh import refresh
from services.db import session_scope
from services.formatting import money
from tests.conftest import ADMIN_PASSWORD, AuthActions, make_app
from tests.dash_client import call
from tests.sample_data import ORDERS, load_sample


@pytest.fixture
def sample(engine):
    load_sample(engine)
    refresh(engine)
    return engine


def test_one_file_per_data_version_built_once(sample, tmp_path):
    first = ensure_snapshot(sample, tmp_path)
    assert first == snapshot_path(tmp_path, 1)
    built_at = first.stat().st_mtime_ns
    assert ensure_snapshot(sample, tmp_path) == first and first.stat().st_mtime_ns == built_at
    refresh(sample)
    second = ensure_snapshot(sample, tmp_path)
    assert second == snapshot_path(tmp_path, 2) and first.exists()  # the previous one may still be open
    refresh(sample)
    ensure_snapshot(sample, tmp_path)
    assert not first.exists() and second.exists()
    assert sorted(path.name for path in tmp_path.iterdir() if not path.name.startswith(".")) == [
        snapshot_path(tmp_path, 2).name, snapshot_path(tmp_path, 3).name]


def test_a_snapshot_of_another_layout_is_not_read_and_goes_away(sample, tmp_path):
    """A release that changes the schema must not read the files the previous release laid out."""
    stale = tmp_path / "analytics-v1.duckdb"  # the same data version, laid out by older code
    duckdb.connect(str(stale)).close()
    current = ensure_snapshot(sample, tmp_path)
    assert current != stale and current == snapshot_path(tmp_path, 1)
    assert open_snapshot(current).execute("SELECT count(*) FROM orders").fetchone()[0] == len(ORDERS)
    assert not stale.exists()


def test_the_snapshot_holds_every_order_and_refuses_writes(sample, tmp_path):
    database = open_snapshot(ensure_snapshot(sample, tmp_path))
    orders, revenue = database.execute("SELECT count(*), sum(amount) FROM orders").fetchone()
    assert orders == len(ORDERS) and revenue == pytest.approx(sum(order[2] for order in ORDERS))
    with pytest.raises(duckdb.Error):
        database.execute("DELETE FROM orders")
    database.close()


def test_a_failed_build_leaves_no_file(sample, tmp_path):
    with sample.begin() as connection:
        connection.execute(text("ALTER TABLE survey_responses RENAME TO survey_answers_elsewhere"))
    try:
        with pytest.raises(Exception):
            build_snapshot(sample, tmp_path / "analytics.duckdb")
    finally:
        with sample.begin() as connection:
            connection.execute(text("ALTER TABLE survey_answers_elsewhere RENAME TO survey_responses"))
    assert list(tmp_path.iterdir()) == []


def test_the_app_follows_a_refresh(database_url, sample, tmp_path):
    """A new order plus a refresh: the next request reads the new snapshot (and no stale cache)."""
    with session_scope(sample) as session:
        users.create_user(session, "admin", ADMIN_PASSWORD, "admin")
    client = make_app(database_url, tmp_path).test_client()
    AuthActions(client).login()

    def revenue() -> str:
        response = call(client, "kpi-total-revenue.children", {"filters-store.data": "", "performance-churn-days.value": 180})
        return str(response.get_json()["response"]["kpi-total-revenue"]["children"])

    before = revenue()
    with sample.begin() as connection:
        connection.execute(insert(Transaction).values(customer_id=1, ordered_at=dt.datetime(2023, 6, 1), amount=1000.0,
                                                      cost=1.0, discount=0.0, quantity=1))
    assert revenue() == before  # same data version: the cached answer
    refresh(sample)
    after = revenue()
    total = sum(order[2] for order in ORDERS) + 1000.0
    assert after != before and money(total) in after and money(total - 1000.0) in before
    assert snapshot_path(tmp_path / "analytics", 2).exists()
