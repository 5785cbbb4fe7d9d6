"""Saved segments and clusterings: written whole or not at all, names checked, members frozen,
and a saved segment as a filter selects exactly its members within the user's country scope.

Every test runs on SQLite and PostgreSQL (the `engine` fixture) and reads back what was
written with plain SQL, not with the module under test.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from services.analytics.snapshot import build_snapshot, open_snapshot
from services.analytics.warehouse import Warehouse
from services.demo import DemoConfig, generate_demo_data
from services.filters import Filters, filter_options
from services.models import SavedSegment, SavedSegmentMember
from services.refresh import refresh
from services.segmentation.clustering import ClusteringSpec, assign, fit_clustering
from services.segmentation.defaults import DEFAULT_FEATURES, DEFAULT_SCALING
from services.segmentation.features import feature_frame
from services.segmentation.rfm import customer_scores
from services.segmentation.saved import (
    NAME_LENGTH,
    SegmentError,
    SegmentInfo,
    clean_name,
    delete_segment,
    is_name_clash,
    list_clusterings,
    list_segments,
    load_pipeline,
    save_clustering,
    save_segment,
    segment_info,
)
from tests.sample_data import load_sample

try:  # psycopg's COPY raises the driver's own errors
    import psycopg

    DATABASE_ERRORS: tuple[type[BaseException], ...] = (DBAPIError, psycopg.Error)
except ImportError:  # pragma: no cover
    DATABASE_ERRORS = (DBAPIError,)


# ------------------------------------------------------------------ helpers
@pytest.fixture
def sample(engine) -> Engine:
    """The five hand-made customers (ids 1-5: two in the United States, two in Australia, one in Canada)."""
    load_sample(engine)
    refresh(engine)
    return engine


def _segments(engine: Engine) -> pd.DataFrame:
    return pd.read_sql("SELECT id, name, kind, customers, description FROM saved_segments ORDER BY id", engine)


def _members(engine: Engine, segment_id: int | None = None) -> list[int] | pd.DataFrame:
    frame = pd.read_sql("SELECT segment_id, customer_id FROM saved_segment_members ORDER BY segment_id, customer_id",
                        engine)
    if segment_id is None:
        return frame
    return frame.loc[frame["segment_id"] == segment_id, "customer_id"].tolist()


def _nothing_saved(engine: Engine) -> bool:
    return _segments(engine).empty and _members(engine).empty


def _save(engine: Engine, name: str, ids, kind: str = "filters", **extra) -> int:
    with engine.begin() as connection:
        return save_segment(connection, name, kind, ids, **extra)


# ------------------------------------------------------------------ saving
def test_a_segment_and_its_members_are_saved_together(sample):
    segment_id = _save(sample, "  High   value\tbuyers ", [4, 1, 3, 1, 4], kind="rfm",
                       description="R5 and F4-5", definition={"segment": "Champions", "from": "2023-01-01"},
                       data_version=1)
    saved = _segments(sample)
    assert saved[["id", "name", "kind", "customers", "description"]].values.tolist() == [
        [segment_id, "High value buyers", "rfm", 3, "R5 and F4-5"]]  # spaces collapsed, duplicates once
    assert _members(sample, segment_id) == [1, 3, 4]
    with sample.connect() as connection:
        definition, version = connection.execute(
            select(SavedSegment.definition, SavedSegment.data_version).where(SavedSegment.id == segment_id)).one()
        assert segment_info(connection, segment_id) == SegmentInfo(segment_id, "High value buyers", "rfm", 3,
                                                                   "R5 and F4-5", None)
        assert segment_info(connection, segment_id + 1) is None
    assert definition == {"segment": "Champions", "from": "2023-01-01"} and version == 1


def test_numpy_and_pandas_ids_are_accepted(sample):
    first = _save(sample, "From numpy", np.array([5, 2], dtype=np.int32))
    second = _save(sample, "From pandas", pd.Series([3, 3, 1], dtype="int64"))
    assert _members(sample, first) == [2, 5] and _members(sample, second) == [1, 3]


def test_the_save_is_one_transaction_of_the_callers(sample):
    """Nothing is visible before the caller commits, and a rollback leaves nothing behind."""
    with sample.connect() as connection:
        transaction = connection.begin()
        segment_id = save_segment(connection, "Uncommitted", "filters", [1, 2, 3])
        assert connection.scalar(select(func.count()).select_from(SavedSegmentMember)) == 3
        with sample.connect() as other:  # another session sees neither the segment nor its members
            assert other.scalar(select(func.count()).select_from(SavedSegment)) == 0
            assert other.scalar(select(func.count()).select_from(SavedSegmentMember)) == 0
        transaction.rollback()
    assert segment_id is not None and _nothing_saved(sample)


def test_a_failure_while_writing_members_leaves_nothing(sample):
    """The segment row is written first; an unknown customer then fails the members and takes it along."""
    with pytest.raises(DATABASE_ERRORS):
        _save(sample, "Ghosts", [1, 2, 999_999])
    assert _nothing_saved(sample)
    _save(sample, "Ghosts", [1, 2])  # the name is free again
    assert _segments(sample)["name"].tolist() == ["Ghosts"]


@pytest.mark.parametrize("ids", [[], (), np.array([], dtype=int), pd.Series([], dtype="int64")])
def test_an_empty_segment_is_refused(sample, ids):
    with pytest.raises(SegmentError, match="no customers"):
        _save(sample, "Nobody", ids)
    assert _nothing_saved(sample)


@pytest.mark.parametrize("name", [None, "", "   ", "\t\n", "x" * (NAME_LENGTH + 1), " y" * (NAME_LENGTH // 2 + 1)])
def test_blank_or_too_long_names_are_refused(sample, name):
    with pytest.raises(SegmentError, match="name|characters"):
        _save(sample, name, [1])
    assert _nothing_saved(sample)


def test_a_name_of_the_maximum_length_is_kept_whole(sample):
    name = "a" + " " * 30 + "b" * (NAME_LENGTH - 2)  # collapses to exactly NAME_LENGTH characters
    segment_id = _save(sample, name, [1])
    assert _segments(sample).set_index("id").loc[segment_id, "name"] == "a " + "b" * (NAME_LENGTH - 2)
    assert len(clean_name(name)) == NAME_LENGTH


@pytest.mark.parametrize("clash", ["VIP buyers", "vip BUYERS", "  VIP   buyers ", "Vip\tBuyers"])
def test_a_taken_name_is_refused_whatever_its_case_or_spacing(sample, clash):
    first = _save(sample, "VIP buyers", [1, 2])
    with pytest.raises(SegmentError, match="taken"):
        _save(sample, clash, [3, 4])
    assert _segments(sample)["id"].tolist() == [first]
    assert _members(sample)["customer_id"].tolist() == [1, 2]  # nothing of the refused save


def test_the_database_refuses_a_racing_duplicate_too(sample):
    """Two saves racing past the name check: the unique constraint stops the second."""
    _save(sample, "Race", [1])
    with pytest.raises(IntegrityError) as caught, sample.begin() as connection:
        connection.execute(insert(SavedSegment).values(name="Race", kind="filters", customers=1))
    assert is_name_clash(caught.value)
    assert len(_segments(sample)) == 1


def test_an_unknown_kind_is_refused_by_the_database(sample):
    with pytest.raises(DATABASE_ERRORS):
        _save(sample, "Odd", [1], kind="magic")
    assert _nothing_saved(sample)


# ------------------------------------------------------------------ listing and deleting
def test_segments_are_listed_alphabetically_ignoring_case(sample):
    for name, ids in (("beta", [1]), ("Delta", [1, 2]), ("alpha", [1, 2, 3]), ("Gamma", [4]), ("Charlie", [5])):
        _save(sample, name, ids)
    with sample.connect() as connection:
        listed = list_segments(connection)
    assert [info.name for info in listed] == ["alpha", "beta", "Charlie", "Delta", "Gamma"]
    assert {info.name: info.customers for info in listed} == {"alpha": 3, "beta": 1, "Charlie": 1, "Delta": 2,
                                                              "Gamma": 1}


def test_delete_removes_the_segment_and_only_its_members(sample):
    keep = _save(sample, "Keep", [1, 2, 3])
    drop = _save(sample, "Drop", [2, 3, 4])
    with sample.begin() as connection:
        delete_segment(connection, drop)
    assert _segments(sample)["id"].tolist() == [keep]
    assert _members(sample)[["segment_id", "customer_id"]].values.tolist() == [[keep, 1], [keep, 2], [keep, 3]]
    with sample.connect() as connection:
        assert segment_info(connection, drop) is None
        assert [info.id for info in list_segments(connection)] == [keep]
    again = _save(sample, "Drop", [4])  # the name is free; the id is never given out again
    assert again > drop


def test_deleting_an_unknown_segment_changes_nothing(sample):
    keep = _save(sample, "Keep", [1, 2])
    with sample.begin() as connection:
        delete_segment(connection, keep + 100)
    assert _segments(sample)["id"].tolist() == [keep] and _members(sample, keep) == [1, 2]


# ------------------------------------------------------------------ demo data with a snapshot
class Demo:
    def __init__(self, engine: Engine, directory) -> None:
        self.engine = engine
        generate_demo_data(engine, DemoConfig(customers=300, seed=5))
        refresh(engine)
        path = directory / "analytics.duckdb"
        build_snapshot(engine, path)
        self.snapshot = open_snapshot(path)
        self.customers = pd.read_sql("SELECT id, country FROM customers ORDER BY id", engine).set_index("id")
        self.buyers = set(pd.read_sql("SELECT DISTINCT customer_id FROM transactions", engine)["customer_id"])

    def warehouse(self) -> Warehouse:
        return Warehouse(self.snapshot.cursor(), self.engine)

    def options(self, scope):
        with self.engine.connect() as connection:
            return filter_options(connection, scope)


@pytest.fixture
def demo(engine, tmp_path) -> Iterator[Demo]:
    loaded = Demo(engine, tmp_path)
    yield loaded
    loaded.snapshot.close()


def test_a_saved_clustering_round_trips_with_its_fitted_pipeline(demo):
    warehouse = demo.warehouse()
    features = feature_frame(warehouse, Filters(), demo.options(None), DEFAULT_FEATURES)
    features.iloc[::9, 0] = np.nan  # unknown ages: the fitted imputer is part of what is saved
    features.iloc[::13, 1] = np.nan
    spec = ClusteringSpec(features=DEFAULT_FEATURES, scaling=DEFAULT_SCALING, k=4, random_state=3)
    result = fit_clustering(spec, features)
    spec_json = {**dataclasses.asdict(spec), "features": list(spec.features)}
    clusters = [{"cluster": int(c), "name": f"Cluster {c}", "customers": int((result.labels == c).sum())}
                for c in range(result.n_clusters)]
    metrics = {"silhouette": result.silhouette, "fitted_rows": result.fitted_rows}
    with demo.engine.begin() as connection:
        clustering_id = save_clustering(connection, "Four kinds", spec=spec_json, clusters=clusters,
                                        metrics=metrics, pipeline=result.pipeline, data_version=1, owner_id=None)
        segment_id = save_segment(connection, "Four kinds: cluster 0", "cluster",
                                  result.customer_ids[result.labels == 0], clustering_id=clustering_id, cluster=0)
    with demo.engine.connect() as connection:
        loaded = load_pipeline(connection, clustering_id)
        assert load_pipeline(connection, clustering_id + 1) is None
        (info,) = list_clusterings(connection)
        stored = connection.execute(select(SavedSegment.clustering_id, SavedSegment.cluster)
                                    .where(SavedSegment.id == segment_id)).one()
    assigned = assign(loaded, features)
    assert assigned.index.equals(features.index)
    np.testing.assert_array_equal(assigned["cluster"].to_numpy(), result.labels)
    np.testing.assert_allclose(assigned["distance"].to_numpy(), result.distances, rtol=1e-12)
    # a new customer resembling an existing one lands in that customer's cluster
    twin = features.iloc[[7]].set_axis([10_000_001])
    assert assign(loaded, twin)["cluster"].iloc[0] == result.labels[7]
    assert (info.id, info.name, info.spec, info.clusters, info.metrics) == (
        clustering_id, "Four kinds", spec_json, clusters, metrics)
    assert tuple(stored) == (clustering_id, 0)
    assert _members(demo.engine, segment_id) == sorted(result.customer_ids[result.labels == 0].tolist())


def test_a_clustering_name_is_checked_like_a_segment_name(demo):
    features = feature_frame(demo.warehouse(), Filters(), demo.options(None), ("age", "income"))
    result = fit_clustering(ClusteringSpec(features=("age", "income"), k=2), features)

    def save(name: str) -> int:
        with demo.engine.begin() as connection:
            return save_clustering(connection, name, spec={}, clusters=[], metrics=None, pipeline=result.pipeline,
                                   data_version=1, owner_id=None)

    save("Ages and incomes")
    for refused, message in (("AGES and  incomes", "taken"), ("  ", "name"), ("z" * (NAME_LENGTH + 1), "characters")):
        with pytest.raises(SegmentError, match=message):
            save(refused)
    assert pd.read_sql("SELECT name FROM saved_clusterings", demo.engine)["name"].tolist() == ["Ages and incomes"]
    save("about churn")
    with demo.engine.connect() as connection:
        assert [info.name for info in list_clusterings(connection)] == ["about churn", "Ages and incomes"]


SCOPES = [None, ("Australia",), ("United States", "Germany"), ("Atlantis",)]


@pytest.mark.parametrize("scope", SCOPES, ids=lambda s: "all" if s is None else "+".join(s))
def test_a_saved_segment_filter_selects_its_members_within_the_scope(demo, scope):
    """Members are drawn over the whole id range (buyers and prospects, every country); the segment is saved
    after the snapshot was built, as in the app."""
    rng = np.random.default_rng(17)
    members = np.sort(rng.choice(demo.customers.index.to_numpy(), size=90, replace=False))
    other = _save(demo.engine, "Another segment", members[::2] + 1)  # not to be mixed in
    segment_id = _save(demo.engine, "Ninety", members)
    visible = demo.customers.loc[members]
    if scope is not None:
        visible = visible[visible["country"].isin(scope)]
    expected = visible.index.tolist()
    assert other != segment_id

    warehouse = demo.warehouse()
    filters = Filters(segment_id=segment_id, scope=scope)
    selection = warehouse.selection(filters)
    in_snapshot = warehouse.frame(f"SELECT customer_id FROM customers WHERE {selection.where()} ORDER BY 1")
    assert in_snapshot["customer_id"].tolist() == expected
    ordering = warehouse.frame(f"SELECT DISTINCT customer_id FROM orders WHERE {selection.where()} ORDER BY 1")
    assert ordering["customer_id"].tolist() == [c for c in expected if c in demo.buyers]
    scored = customer_scores(warehouse, filters, demo.options(scope))  # a service, through the same filter
    assert scored["customer_id"].tolist() == [c for c in expected if c in demo.buyers]
    if scope is None:
        assert set(expected) - demo.buyers  # prospects are members too: in the customers, not in the orders
    if scope == ("Australia",):
        assert 0 < len(expected) < len(members)  # the scope really cut the segment


def test_a_chosen_country_outside_the_scope_selects_nobody_even_in_a_segment(demo):
    members = demo.customers.index[demo.customers["country"].isin(["Canada", "Australia"])][:40].tolist()
    segment_id = _save(demo.engine, "Canadians and Australians", members)
    warehouse = demo.warehouse()
    canada = demo.customers.loc[members].query("country == 'Canada'").index.tolist()
    assert canada
    for filters, expected in ((Filters(countries=("Canada",), segment_id=segment_id), canada),
                              (Filters(countries=("Canada",), segment_id=segment_id, scope=("Australia",)), [])):
        selection = warehouse.selection(filters)
        frame = warehouse.frame(f"SELECT customer_id FROM customers WHERE {selection.where()} ORDER BY 1")
        assert frame["customer_id"].tolist() == expected


def test_a_deleted_segment_filters_to_nobody(demo):
    segment_id = _save(demo.engine, "Short-lived", demo.customers.index[:25].tolist())
    with demo.engine.begin() as connection:
        delete_segment(connection, segment_id)
    warehouse = demo.warehouse()
    selection = warehouse.selection(Filters(segment_id=segment_id))
    assert warehouse.frame(f"SELECT count(*) AS n FROM customers WHERE {selection.where()}")["n"].item() == 0


def test_segment_members_are_frozen_at_saving(demo):
    """A refresh after new orders changes the summary, not who is in a saved segment."""
    members = demo.customers.index[:30].tolist()
    segment_id = _save(demo.engine, "Frozen", members)
    with demo.engine.begin() as connection:
        connection.execute(text("INSERT INTO transactions (customer_id, ordered_at, amount, discount, cost, quantity) "
                                "VALUES (:c, :at, 10.0, 0.0, 5.0, 1)"),
                           {"c": int(demo.customers.index[-1]), "at": dt.datetime(2024, 1, 2, 12)})
    refresh(demo.engine)
    assert _members(demo.engine, segment_id) == members
