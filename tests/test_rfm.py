"""RFM over the snapshot agrees with an independent pandas computation from the raw SQL tables.

The reference reads `transactions` and `customers` straight from SQLite or PostgreSQL and
computes, per customer with orders in the period up to the "as of" day: recency (days from
the last such order to that day), frequency (orders) and monetary (revenue). Scores are the
documented quintiles (rank 1..n with ties broken by customer id, cut like `pandas.qcut`,
recency reversed), checked against ceil(5 (rank - 1) / (n - 1)) on the way; segments come
from the R x F grid written out below from the README. Nothing here calls the RFM service's
own helpers or the refresh's scores.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, insert

from services.analytics.snapshot import build_snapshot, open_snapshot
from services.analytics.warehouse import Warehouse
from services.db import make_engine
from services.demo import DemoConfig, generate_demo_data
from services.filters import FilterOptions, Filters, filter_options
from services.models import Customer, Transaction
from services.refresh import refresh
from services.rules import RFM_SEGMENTS, rfm_score, rfm_segment
from services.segmentation.rfm import (
    NOT_YET_ACTIVE,
    customer_scores,
    rfm_members,
    rfm_migration,
    rfm_overview,
)
from tests.conftest import fresh_database

CUSTOMERS = 1_500
SEED = 23
RTOL = 1e-9
NO_DATA = FilterOptions((), None, None)

# The README's segment table as a grid: GRID[R][F] (first matching rule already applied).
GRID: dict[int, dict[int, str]] = {
    5: {1: "New Customers", 2: "Potential Loyalists", 3: "Potential Loyalists", 4: "Champions", 5: "Champions"},
    4: {1: "Promising", 2: "Potential Loyalists", 3: "Potential Loyalists", 4: "Loyal Customers",
        5: "Loyal Customers"},
    3: {1: "About to Sleep", 2: "About to Sleep", 3: "Need Attention", 4: "Loyal Customers", 5: "Loyal Customers"},
    2: {1: "Hibernating", 2: "Hibernating", 3: "At Risk", 4: "At Risk", 5: "Can't Lose Them"},
    1: {1: "Lost", 2: "Lost", 3: "At Risk", 4: "At Risk", 5: "Can't Lose Them"},
}


# ------------------------------------------------------------------ the data
@dataclass(eq=False)
class Data:
    engine: Engine
    warehouse_db: object  # the read-only DuckDB connection
    orders: pd.DataFrame  # customer_id, day, amount (raw transactions)
    customers: pd.DataFrame  # index id: country, gender (raw customers)

    @cached_property
    def first_day(self) -> pd.Timestamp:
        return self.orders["day"].min()

    @cached_property
    def last_day(self) -> pd.Timestamp:
        return self.orders["day"].max()

    def warehouse(self) -> Warehouse:
        return Warehouse(self.warehouse_db.cursor(), self.engine)

    def options(self, filters: Filters) -> FilterOptions:
        with self.engine.connect() as connection:
            return filter_options(connection, filters.scope)


def _raw_frames(engine: Engine) -> tuple[pd.DataFrame, pd.DataFrame]:
    orders = pd.read_sql("SELECT customer_id, ordered_at, amount FROM transactions", engine)
    orders["day"] = pd.to_datetime(orders["ordered_at"]).dt.normalize()
    customers = pd.read_sql("SELECT id, country, gender FROM customers", engine).set_index("id")
    customers["gender"] = customers["gender"].fillna("Unknown")
    return orders[["customer_id", "day", "amount"]], customers


def _open(engine: Engine, directory) -> Data:
    path = directory / "analytics.duckdb"
    build_snapshot(engine, path)
    orders, customers = _raw_frames(engine)
    return Data(engine, open_snapshot(path), orders, customers)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def data(request, tmp_path_factory) -> Iterator[Data]:
    """Demo data in a fresh database of each backend, refreshed, with its snapshot."""
    for url in fresh_database(request.param, tmp_path_factory, "rfm"):
        engine = make_engine(url)
        generate_demo_data(engine, DemoConfig(customers=CUSTOMERS, seed=SEED))
        refresh(engine)
        loaded = _open(engine, tmp_path_factory.mktemp("rfm-snapshot"))
        try:
            yield loaded
        finally:
            loaded.warehouse_db.close()
            engine.dispose()


# ------------------------------------------------------------------ the pandas reference
def quintiles(values: pd.Series, ascending: bool = True) -> pd.Series:
    """1-5 scores of `values` (indexed by customer id): rank with ties by id, then qcut into five."""
    n = len(values)
    if n == 0:
        return pd.Series([], dtype=int, index=values.index)
    if n == 1:  # the rule's lone customer
        return pd.Series(3, index=values.index)
    key = values.sort_index() if ascending else -values.sort_index()
    rank = key.rank(method="first").astype(int)  # equal values: the lower id first
    scores = pd.qcut(rank, 5, labels=False).astype(int) + 1
    documented = np.maximum(1, -(-(rank - 1) * 5 // (n - 1)))  # ceil(5 (rank - 1) / (n - 1)), at least 1
    assert (scores == documented).all(), "qcut of the ranks must be the documented rule"
    return scores.reindex(values.index)


def _period(data: Data, filters: Filters) -> tuple[pd.Timestamp, pd.Timestamp]:
    start = pd.Timestamp(filters.start) if filters.start else data.first_day
    end = pd.Timestamp(filters.end) if filters.end else data.last_day
    return start, max(start, end)


def _selected_ids(customers: pd.DataFrame, filters: Filters) -> pd.Index:
    keep = pd.Series(True, index=customers.index)
    for column, allowed in (("country", filters.countries or None), ("country", filters.scope),
                            ("gender", filters.genders or None)):
        if allowed is not None:
            keep &= customers[column].isin(allowed)
    assert not filters.age_brackets and filters.segment_id is None, "the reference does not know these filters"
    return customers.index[keep]


def reference_scores(data: Data, filters: Filters, as_of: pd.Timestamp | None = None) -> pd.DataFrame:
    """recency, frequency, monetary, r, f, m, segment per scored customer (index customer_id, ascending)."""
    start, end = _period(data, filters)
    as_of = end if as_of is None else as_of
    orders = data.orders[data.orders["customer_id"].isin(_selected_ids(data.customers, filters))]
    orders = orders[(orders["day"] >= start) & (orders["day"] <= as_of)]
    groups = orders.groupby("customer_id")
    frame = pd.DataFrame({
        "recency": (as_of - groups["day"].max()).dt.days,
        "frequency": groups.size(),
        "monetary": groups["amount"].sum(),
    }).sort_index()
    frame["r"] = quintiles(frame["recency"], ascending=False)  # 5 = the most recent
    frame["f"] = quintiles(frame["frequency"])
    frame["m"] = quintiles(frame["monetary"].round(6))  # cents: equal revenues are ties, not rounding noise
    frame["segment"] = [GRID[r][f] for r, f in zip(frame["r"], frame["f"])]
    return frame


def reference_migration(data: Data, filters: Filters, step_days: int) -> pd.DataFrame:
    _, end = _period(data, filters)
    now = reference_scores(data, filters)
    before = reference_scores(data, filters, end - pd.Timedelta(days=step_days))
    source = before["segment"].astype(object).reindex(now.index).fillna(NOT_YET_ACTIVE)
    moves = pd.DataFrame({"source": source, "target": now["segment"]})
    return moves.groupby(["source", "target"]).size().rename("customers").reset_index()


# ------------------------------------------------------------------ the cases
CASES = {
    "whole data": lambda d: Filters(),
    "date range": lambda d: Filters(dt.date(2022, 3, 15), dt.date(2023, 6, 30)),
    "open start, up to mid-year": lambda d: Filters(end=dt.date(2022, 7, 14)),
    "one country": lambda d: Filters(countries=("Germany",)),
    "two countries from a date, women": lambda d: Filters(start=dt.date(2023, 1, 1),
                                                          countries=("Australia", "Canada"), genders=("Female",)),
    "scope": lambda d: Filters().with_scope(("United Kingdom",)),
    "one week": lambda d: Filters(dt.date(2023, 5, 8), dt.date(2023, 5, 14)),
}
EMPTY_CASES = {
    "country outside the scope": lambda d: Filters(countries=("Canada",)).with_scope(("Australia",)),
    "before the data": lambda d: Filters(dt.date(2019, 1, 1), dt.date(2019, 6, 30)),
    "after the data": lambda d: Filters(start=dt.date(2024, 3, 1)),
    "a country nobody lives in": lambda d: Filters(countries=("Atlantis",)),
}


@pytest.fixture(params=list(CASES))
def filters(request, data) -> Filters:
    return CASES[request.param](data)


def test_grid_is_the_documented_segment_map():
    assert {(r, f): rfm_segment(r, f) for r in range(1, 6) for f in range(1, 6)} == {
        (r, f): GRID[r][f] for r in range(1, 6) for f in range(1, 6)}
    assert set(RFM_SEGMENTS) == {name for row in GRID.values() for name in row.values()}


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6, 7, 11, 99, 100, 1001])
def test_reference_quintiles_are_the_documented_scores(n):
    values = pd.Series(np.arange(n, dtype=float), index=np.arange(1, n + 1))
    assert quintiles(values).tolist() == [rfm_score(rank, n) for rank in range(1, n + 1)]


def test_cases_are_not_trivial(data):
    """The cases exercise what they claim: several countries, partial periods, every segment."""
    whole = reference_scores(data, Filters())
    assert len(whole) > 1000 and set(whole["segment"]) == set(RFM_SEGMENTS)
    assert 50 < len(reference_scores(data, CASES["one week"](data))) < len(whole)
    assert 0 < len(reference_scores(data, CASES["one country"](data))) < len(whole) / 3


def test_customer_scores_match_pandas(data, filters):
    expected = reference_scores(data, filters)
    actual = customer_scores(data.warehouse(), filters, data.options(filters)).set_index("customer_id")
    assert len(expected) > 0
    assert actual.index.tolist() == expected.index.tolist()
    for column in ("recency", "frequency", "r", "f", "m"):
        assert actual[column].astype(int).tolist() == expected[column].tolist(), column
    np.testing.assert_allclose(actual["monetary"], expected["monetary"], rtol=RTOL)
    assert actual["segment"].tolist() == expected["segment"].tolist()


def test_every_quintile_fills(data, filters):
    """Ties are broken by id, so each score takes each value for a fifth of the customers (± one)."""
    actual = customer_scores(data.warehouse(), filters, data.options(filters))
    n = len(actual)
    for score in ("r", "f", "m"):
        counts = actual[score].value_counts().reindex(range(1, 6), fill_value=0)
        assert counts.between(np.floor(n / 5) - 1, np.ceil(n / 5) + 1).all(), (score, counts.to_dict())


def test_overview_cells_and_segments_match_pandas(data, filters):
    expected = reference_scores(data, filters)
    overview = rfm_overview(data.warehouse(), filters, data.options(filters))
    start, end = _period(data, filters)
    assert (pd.Timestamp(overview.period.start), pd.Timestamp(overview.period.end)) == (start, end)
    assert overview.customers == len(expected)

    cells = expected.groupby(["r", "f"]).agg(customers=("monetary", "size"), revenue=("monetary", "sum"))
    actual_cells = overview.cells.set_index(["r", "f"]).sort_index()
    assert actual_cells.index.tolist() == cells.index.tolist()
    assert actual_cells["customers"].tolist() == cells["customers"].tolist()
    np.testing.assert_allclose(actual_cells["revenue"], cells["revenue"], rtol=RTOL)
    assert actual_cells["segment"].tolist() == [GRID[r][f] for r, f in cells.index]
    np.testing.assert_allclose(actual_cells["avg_monetary"], cells["revenue"] / cells["customers"], rtol=RTOL)

    by_segment = expected.groupby("segment")["monetary"].agg(["size", "sum"]).reindex(list(RFM_SEGMENTS))
    segments = overview.segments.set_index("segment")
    assert segments.index.tolist() == list(RFM_SEGMENTS)
    assert segments["customers"].tolist() == by_segment["size"].fillna(0).astype(int).tolist()
    np.testing.assert_allclose(segments["revenue"], by_segment["sum"].fillna(0.0), rtol=RTOL, atol=1e-9)
    np.testing.assert_allclose(segments["customer_share"], by_segment["size"].fillna(0) / len(expected), rtol=RTOL)
    np.testing.assert_allclose(segments["revenue_share"], by_segment["sum"].fillna(0) / expected["monetary"].sum(),
                               rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(segments["avg_monetary"], by_segment["sum"] / by_segment["size"], rtol=RTOL)


def test_members_of_each_segment_match_pandas(data, filters):
    expected = reference_scores(data, filters)
    warehouse, options = data.warehouse(), data.options(filters)
    for segment in RFM_SEGMENTS:
        wanted = expected.index[expected["segment"] == segment].tolist()
        assert rfm_members(warehouse, filters, options, segment) == wanted, segment
    assert rfm_members(warehouse, filters, options, "Not a segment") == []


@pytest.mark.parametrize("step_days", [30, 90, 365])
def test_migration_matches_pandas(data, filters, step_days):
    start, end = _period(data, filters)
    actual = rfm_migration(data.warehouse(), filters, data.options(filters), step_days)
    if end - pd.Timedelta(days=step_days) < start:  # the earlier picture would lie before the period
        assert actual.empty and list(actual.columns) == ["source", "target", "customers"]
        return
    expected = reference_migration(data, filters, step_days)
    key = ["source", "target"]
    assert (actual.sort_values(key).reset_index(drop=True).astype({"customers": int})
            .equals(expected.sort_values(key).reset_index(drop=True).astype({"customers": int})))
    assert actual["customers"].is_monotonic_decreasing
    assert actual["customers"].sum() == len(reference_scores(data, filters))


def test_migration_of_the_whole_data_has_newcomers_and_movers(data):
    """A sanity check that the migration case is not trivial: some customers came, some moved."""
    moves = reference_migration(data, Filters(), 90)
    assert (moves["source"] == NOT_YET_ACTIVE).any()
    assert ((moves["source"] != moves["target"]) & (moves["source"] != NOT_YET_ACTIVE)).any()


@pytest.mark.parametrize("case", list(EMPTY_CASES))
def test_a_selection_without_buyers_gives_empty_answers(data, case):
    filters = EMPTY_CASES[case](data)
    warehouse, options = data.warehouse(), data.options(filters)
    assert reference_scores(data, filters).empty
    overview = rfm_overview(warehouse, filters, options)
    assert overview is not None and overview.customers == 0 and overview.cells.empty
    assert overview.segments["segment"].tolist() == list(RFM_SEGMENTS)
    assert (overview.segments["customers"] == 0).all() and (overview.segments["revenue"] == 0).all()
    assert (overview.segments[["customer_share", "revenue_share"]] == 0).all().all()
    assert customer_scores(warehouse, filters, options).empty
    assert all(rfm_members(warehouse, filters, options, segment) == [] for segment in RFM_SEGMENTS)
    assert rfm_migration(warehouse, filters, options, 30).empty


def test_without_any_data_there_is_no_overview(data):
    warehouse = data.warehouse()
    assert rfm_overview(warehouse, Filters(), NO_DATA) is None
    assert customer_scores(warehouse, Filters(), NO_DATA).empty
    assert rfm_members(warehouse, Filters(), NO_DATA, "Champions") == []
    assert rfm_migration(warehouse, Filters(), NO_DATA).empty


# ------------------------------------------------------------------ tiny, hand-made selections
LAST_DAY = dt.datetime(2023, 12, 31, 18)
TINY_CUSTOMERS = [
    # id, country, orders as (day, amount)
    (1, "Iceland", [(dt.datetime(2023, 6, 1, 10), 40.0)]),  # a lone customer
    (2, "Malta", [(dt.datetime(2023, 3, 1, 9), 25.0)]),  # two customers
    (3, "Malta", [(dt.datetime(2023, 8, 1, 9), 10.0), (dt.datetime(2023, 9, 1, 9), 30.0)]),
    *((i, "Chile", [(dt.datetime(2023, 11, 11, 11), 50.0)]) for i in range(4, 10)),  # six identical customers
    (10, "Peru", [(LAST_DAY, 5.0)]),  # the last order in the data
]


@pytest.fixture
def tiny(engine, tmp_path) -> Data:
    with engine.begin() as connection:
        connection.execute(insert(Customer), [
            {"id": i, "external_id": f"T{i:03d}", "name": f"Tiny {i}", "gender": "Female", "country": country}
            for i, country, _ in TINY_CUSTOMERS])
        connection.execute(insert(Transaction), [
            {"customer_id": i, "ordered_at": at, "amount": amount, "cost": 0.0, "discount": 0.0, "quantity": 1}
            for i, _, orders in TINY_CUSTOMERS for at, amount in orders])
    refresh(engine)
    loaded = _open(engine, tmp_path)
    yield loaded
    loaded.warehouse_db.close()


def _scores(data: Data, filters: Filters) -> pd.DataFrame:
    return customer_scores(data.warehouse(), filters, data.options(filters)).set_index("customer_id")


def test_a_lone_customer_scores_three_everywhere(tiny):
    filters = Filters(countries=("Iceland",))
    scores = _scores(tiny, filters)
    assert scores.index.tolist() == [1]
    assert scores.loc[1, ["recency", "frequency", "r", "f", "m"]].astype(int).tolist() == [
        (LAST_DAY.date() - dt.date(2023, 6, 1)).days, 1, 3, 3, 3]
    assert scores.loc[1, "segment"] == GRID[3][3] == "Need Attention"
    overview = rfm_overview(tiny.warehouse(), filters, tiny.options(filters))
    assert overview.customers == 1
    assert overview.segments.set_index("segment").loc["Need Attention", ["customers", "revenue"]].tolist() == [1, 40.0]
    assert rfm_members(tiny.warehouse(), filters, tiny.options(filters), "Need Attention") == [1]


def test_two_customers_take_the_lowest_and_highest_scores(tiny):
    filters = Filters(countries=("Malta",))
    scores = _scores(tiny, filters)
    # customer 2: older, one order, 25.0; customer 3: recent, two orders, 40.0
    assert scores[["r", "f", "m"]].astype(int).to_dict("index") == {2: {"r": 1, "f": 1, "m": 1},
                                                                     3: {"r": 5, "f": 5, "m": 5}}
    assert scores["segment"].to_dict() == {2: "Lost", 3: "Champions"}
    expected = reference_scores(tiny, filters)
    assert scores[["recency", "frequency", "r", "f", "m"]].astype(int).equals(
        expected[["recency", "frequency", "r", "f", "m"]].astype(int))


def test_identical_customers_are_spread_over_the_quintiles_by_id(tiny):
    filters = Filters(countries=("Chile",))
    scores = _scores(tiny, filters)
    assert scores.index.tolist() == list(range(4, 10))
    # six equal values, ranked by id: ceil(5 (rank - 1) / 5) = 1, 1, 2, 3, 4, 5
    assert scores["f"].tolist() == scores["m"].tolist() == [1, 1, 2, 3, 4, 5]
    assert scores["r"].tolist() == [1, 1, 2, 3, 4, 5]  # equal recency: the lower id is taken as the older
    expected = reference_scores(tiny, filters)
    assert scores["segment"].tolist() == expected["segment"].tolist()
    overview = rfm_overview(tiny.warehouse(), filters, tiny.options(filters))
    assert overview.customers == 6 and overview.cells["customers"].sum() == 6
    assert overview.cells["revenue"].sum() == pytest.approx(300.0)


def test_tiny_selections_agree_with_pandas_in_every_view(tiny):
    for filters in (Filters(), Filters(countries=("Iceland",)), Filters(countries=("Malta",)),
                    Filters(countries=("Chile", "Peru")), Filters(dt.date(2023, 12, 31), dt.date(2023, 12, 31))):
        expected = reference_scores(tiny, filters)
        actual = _scores(tiny, filters)
        assert actual[["r", "f", "m"]].astype(int).equals(expected[["r", "f", "m"]]), filters
        warehouse, options = tiny.warehouse(), tiny.options(filters)
        overview = rfm_overview(warehouse, filters, options)
        assert overview.customers == len(expected)
        for segment in set(expected["segment"]):
            assert rfm_members(warehouse, filters, options, segment) == expected.index[
                expected["segment"] == segment].tolist()
        for step in (30, 300):
            migration = rfm_migration(warehouse, filters, options, step)
            start, end = _period(tiny, filters)
            if end - pd.Timedelta(days=step) < start:
                assert migration.empty
            else:
                key = ["source", "target"]
                assert (migration.sort_values(key).reset_index(drop=True).astype({"customers": int}).equals(
                    reference_migration(tiny, filters, step).sort_values(key).reset_index(drop=True)
                    .astype({"customers": int})))


def test_an_empty_database_gives_no_overview(engine, tmp_path):
    refresh(engine)
    empty = _open(engine, tmp_path)
    try:
        options = empty.options(Filters())
        assert options.first_date is None
        assert rfm_overview(empty.warehouse(), Filters(), options) is None
        assert customer_scores(empty.warehouse(), Filters(), options).empty
        assert rfm_migration(empty.warehouse(), Filters(), options).empty
    finally:
        empty.warehouse_db.close()
