"""The same data and seed give the same segments whichever database holds the data.

The same demo data (same seed) is generated into a fresh SQLite database and a fresh
PostgreSQL database (created for this module; under CI=true an unreachable PostgreSQL fails
instead of skipping, as in conftest). Each gets its own refresh and analytics snapshot; the
clustering lab's default features are read from each and clustered with the same spec. The
feature frames must agree up to float rounding and the labels exactly, customer by customer.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from services.analytics.snapshot import build_snapshot, open_snapshot
from services.analytics.warehouse import Warehouse
from services.db import make_engine, upgrade_schema
from services.demo import DemoConfig, generate_demo_data
from services.filters import Filters, filter_options
from services.refresh import refresh
from services.segmentation.clustering import ClusteringResult, ClusteringSpec, fit_clustering
from services.segmentation.defaults import DEFAULT_FEATURES, DEFAULT_SCALING
from services.segmentation.features import feature_frame
from tests.conftest import _postgres_database

CUSTOMERS = 2_000
SEED = 42
K = 5
FILTERS = Filters()


@dataclass(eq=False)
class Backend:
    name: str
    engine: Engine
    features: pd.DataFrame  # the default features of every buyer, from this backend's snapshot
    external_ids: pd.Series  # customer id -> external id, from the SQL tables


def _load(name: str, url: str, directory) -> Backend:
    upgrade_schema(url)
    engine = make_engine(url)
    generate_demo_data(engine, DemoConfig(customers=CUSTOMERS, seed=SEED))
    refresh(engine)
    path = directory / "analytics.duckdb"
    build_snapshot(engine, path)
    snapshot = open_snapshot(path)
    try:
        with engine.connect() as connection:
            options = filter_options(connection, None)
        features = feature_frame(Warehouse(snapshot.cursor(), engine), FILTERS, options, DEFAULT_FEATURES)
    finally:
        snapshot.close()
    external_ids = pd.read_sql("SELECT id, external_id FROM customers ORDER BY id", engine).set_index("id")[
        "external_id"]
    return Backend(name, engine, features, external_ids)


@pytest.fixture(scope="module")
def sqlite(tmp_path_factory) -> Iterator[Backend]:
    backend = _load("sqlite", f"sqlite:///{tmp_path_factory.mktemp('backends') / 'demo.db'}",
                    tmp_path_factory.mktemp("sqlite-snapshot"))
    yield backend
    backend.engine.dispose()


@pytest.fixture(scope="module")
def postgresql(tmp_path_factory) -> Iterator[Backend]:
    for url in _postgres_database():  # a fresh database, dropped afterwards; fails (not skips) under CI
        backend = _load("postgresql", url, tmp_path_factory.mktemp("postgresql-snapshot"))
        try:
            yield backend
        finally:
            backend.engine.dispose()


def _fit(backend: Backend, random_state: int = 42) -> ClusteringResult:
    spec = ClusteringSpec(features=DEFAULT_FEATURES, scaling=DEFAULT_SCALING, k=K, random_state=random_state)
    return fit_clustering(spec, backend.features)


def _labels(result: ClusteringResult) -> pd.Series:
    return pd.Series(result.labels, index=result.customer_ids, name="cluster")


# ------------------------------------------------------------------ the data is the same
def test_both_backends_hold_the_same_customers(sqlite, postgresql):
    assert len(sqlite.external_ids) == CUSTOMERS
    pd.testing.assert_series_equal(sqlite.external_ids, postgresql.external_ids)  # same ids, same people


def test_the_feature_frames_agree_up_to_float_rounding(sqlite, postgresql):
    a, b = sqlite.features, postgresql.features
    assert list(a.columns) == list(b.columns) == list(DEFAULT_FEATURES)
    assert a.index.equals(b.index) and a.index.is_monotonic_increasing
    assert len(a) > 0.9 * CUSTOMERS  # buyers only, but most customers buy
    assert a.isna().equals(b.isna())
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-9, atol=1e-12, equal_nan=True)


# ------------------------------------------------------------------ the segments are the same
@pytest.mark.parametrize("random_state", [42, 7])
def test_the_same_seed_gives_the_same_segments_on_both_backends(sqlite, postgresql, random_state):
    on_sqlite, on_postgresql = _fit(sqlite, random_state), _fit(postgresql, random_state)
    pd.testing.assert_series_equal(_labels(on_sqlite), _labels(on_postgresql))
    assert on_sqlite.n_clusters == on_postgresql.n_clusters == K
    pd.testing.assert_frame_equal(on_sqlite.centres, on_postgresql.centres, rtol=1e-9)
    np.testing.assert_allclose(on_sqlite.distances, on_postgresql.distances, rtol=1e-7, atol=1e-9)
    assert on_sqlite.silhouette == pytest.approx(on_postgresql.silhouette, rel=1e-7)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_fits_on_one_backend_are_identical(request, backend):
    data = request.getfixturevalue(backend)
    first, second = _fit(data), _fit(data)
    np.testing.assert_array_equal(first.labels, second.labels)
    np.testing.assert_array_equal(first.customer_ids, second.customer_ids)
    pd.testing.assert_frame_equal(first.centres, second.centres, check_exact=True)
    np.testing.assert_array_equal(first.distances, second.distances)
    assert first.silhouette == second.silhouette


def test_another_seed_is_used_and_still_gives_a_valid_clustering(sqlite):
    """What a different seed guarantees: it reaches the estimator, and the result is a proper clustering of
    the same customers (numbered by descending size). Whether the partition differs is not guaranteed."""
    default, other = _fit(sqlite, 42), _fit(sqlite, 7)
    assert default.pipeline[-1].model_.random_state == 42 and other.pipeline[-1].model_.random_state == 7
    for result in (default, other):
        np.testing.assert_array_equal(result.customer_ids, sqlite.features.index.to_numpy())
        sizes = np.bincount(result.labels, minlength=K)
        assert set(np.unique(result.labels)) == set(range(K))
        assert (np.diff(sizes) <= 0).all()  # cluster 0 is the largest
        assert sizes.sum() == len(sqlite.features)
