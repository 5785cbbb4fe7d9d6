"""The Value & churn views agree with an independent pandas computation over `customer_summary`.

One demo data set per backend (SQLite and PostgreSQL), generated and refreshed once for the
module (the refresh trains the value and churn models and stores the scores), plus one buyer
whose every attribute is unknown and one saved segment with buyers and non-buyers. The views
aggregate in the DuckDB snapshot; every expected number here is recomputed with plain pandas from
`customer_summary` (and `customers` for the external id and name), read with SQLAlchemy.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass

import duckdb
import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Connection, Engine, insert, select

from services.analytics.warehouse import Warehouse
from services.db import make_engine
from services.demo import DemoConfig, generate_demo_data
from services.filters import Filters, filter_options
from services.models import Customer, CustomerSummary, SavedSegmentMember, Transaction
from services.refresh import refresh
from services.rules import UNKNOWN
from services.segmentation.features import available_features, feature_frame
from services.segmentation.saved import save_segment
from services.value import views
from tests.conftest import clear_tables, opened_snapshot

CUSTOMERS = 1500
SEED = 23
RTOL = 1e-9
THRESHOLDS = (0.0, 0.3, 0.7, 1.01)
SCORES = ["clv_12m", "purchases_12m", "p_alive", "churn_risk", "revenue_at_risk"]


# ------------------------------------------------------------------ the data
@dataclass(frozen=True, eq=False)
class Data:
    engine: Engine
    summary: pd.DataFrame  # customer_summary with external_id and name, indexed by customer_id
    members: pd.DataFrame  # saved_segment_members
    segment_id: int
    unknown_id: int  # the buyer with every attribute unknown


def _add_unknown_customer(connection: Connection) -> int:
    """A buyer without country, city, gender or age, with a few orders in the data's last year."""
    last = connection.scalar(select(Transaction.ordered_at).order_by(Transaction.ordered_at.desc()).limit(1))
    customer_id = connection.execute(insert(Customer).values(
        external_id="UNKNOWN-VALUE", name="Ann Onymous", gender=UNKNOWN, country=None, city=None,
        birth_date=None, age=None, children=None)).inserted_primary_key[0]
    connection.execute(insert(Transaction), [
        {"customer_id": customer_id, "ordered_at": last - dt.timedelta(days=days), "amount": amount,
         "category": "Home"}
        for days, amount in ((300, 80.25), (170, 123.5), (40, 45.75), (9, 60.0))])
    return customer_id


def _add_segment(connection: Connection, unknown_id: int) -> int:
    """Every ninth customer (buyers and non-buyers), a few customers without orders, and the unknown buyer."""
    S = CustomerSummary.__table__.c
    everyone = sorted(connection.scalars(select(S.customer_id)))
    never = sorted(connection.scalars(select(S.customer_id).where(S.orders == 0)))[:5]
    chosen = sorted(set(everyone[::9]) | set(never) | {unknown_id})
    return save_segment(connection, "Value views test segment", "filters", chosen)


def _summary(connection: Connection) -> pd.DataFrame:
    S, C = CustomerSummary.__table__.c, Customer.__table__.c
    frame = pd.read_sql(select(
        S.customer_id, C.external_id, C.name, S.gender, S.country, S.age_bracket, S.profile, S.rfm_segment,
        S.orders, S.revenue, S.last_order_at, S.recency_days, *(S[score] for score in SCORES))
        .join(Customer, C.id == S.customer_id), connection)
    frame["last_order_at"] = pd.to_datetime(frame["last_order_at"])
    for column in ["revenue", "recency_days", *SCORES]:
        frame[column] = frame[column].astype("float64")
    return frame.set_index("customer_id", drop=False).rename_axis(None)


@pytest.fixture(scope="module")
def data(database_url) -> Iterator[Data]:
    """The demo data set on each backend, loaded and refreshed once; the tables are emptied before and after."""
    engine = make_engine(database_url)
    clear_tables(engine)
    try:
        generate_demo_data(engine, DemoConfig(customers=CUSTOMERS, seed=SEED))
        with engine.begin() as connection:
            unknown_id = _add_unknown_customer(connection)
        refresh(engine)
        with engine.begin() as connection:
            segment_id = _add_segment(connection, unknown_id)
        with engine.connect() as connection:
            summary = _summary(connection)
            members = pd.read_sql(select(SavedSegmentMember), connection)
        yield Data(engine, summary, members, segment_id, unknown_id)
    finally:
        clear_tables(engine)
        engine.dispose()


@pytest.fixture(scope="module")
def snapshot(data, tmp_path_factory) -> Iterator[duckdb.DuckDBPyConnection]:
    with opened_snapshot(data.engine, tmp_path_factory.mktemp("value-views")) as database:
        yield database


@pytest.fixture
def warehouse(snapshot, data) -> Warehouse:
    return Warehouse(snapshot.cursor(), data.engine)


# ------------------------------------------------------------------ filter combinations
CASES: dict[str, Callable[[Data], Filters]] = {
    "everything": lambda d: Filters(),
    "dates do not apply": lambda d: Filters(dt.date(2019, 1, 1), dt.date(2019, 1, 31)),
    "one country": lambda d: Filters(countries=("Germany",)),
    "women 31-40": lambda d: Filters(genders=("Female",), age_brackets=("31-40",)),
    "men 41-60": lambda d: Filters(genders=("Male",), age_brackets=("41-50", "51-60")),
    "unknown gender (one buyer)": lambda d: Filters(genders=(UNKNOWN,)),
    "scope of two countries": lambda d: Filters().with_scope(("Australia", "Canada")),
    "scope, one chosen country inside and one outside": lambda d: Filters(
        countries=("Canada", "Germany")).with_scope(("Australia", "Canada")),
    "chosen country outside the scope": lambda d: Filters(countries=("Germany",)).with_scope(("Australia", "Canada")),
    "saved segment": lambda d: Filters(segment_id=d.segment_id),
    "saved segment, one country": lambda d: Filters(countries=("United States",), segment_id=d.segment_id),
}
EMPTY_CASES = ("chosen country outside the scope",)


@pytest.fixture(params=list(CASES))
def case(request, data) -> tuple[str, Filters]:
    return request.param, CASES[request.param](data)


@pytest.fixture
def filters(case) -> Filters:
    return case[1]


# ------------------------------------------------------------------ the pandas reference
def _selected(data: Data, filters: Filters) -> pd.DataFrame:
    """The customers the customer filters and the scope let through (dates are ignored)."""
    summary = data.summary
    keep = pd.Series(True, index=summary.index)
    for column, allowed in (("country", filters.scope), ("country", filters.countries or None),
                            ("gender", filters.genders or None), ("age_bracket", filters.age_brackets or None)):
        if allowed is not None:
            keep &= summary[column].isin(allowed)
    if filters.segment_id is not None:
        members = data.members.loc[data.members["segment_id"] == filters.segment_id, "customer_id"]
        keep &= summary.index.isin(members)
    return summary[keep]


def _scored(data: Data, filters: Filters, column: str = "clv_12m") -> pd.DataFrame:
    selected = _selected(data, filters)
    return selected[selected[column].notna()]


def _close(actual, expected) -> bool:
    if pd.isna(expected):
        return pd.isna(actual)
    return actual == pytest.approx(expected, rel=RTOL, abs=1e-9)


def _customer_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """The pandas version of the views' customer lists."""
    frame = rows.rename(columns={"last_order_at": "last_order"}).reset_index(drop=True)
    frame["last_order"] = frame["last_order"].dt.normalize()
    return frame[views.CUSTOMER_COLUMNS]


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.reset_index(drop=True).copy()
    for column in ["country", "profile", "rfm_segment", "external_id", "name"]:
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    for column in ["revenue", *SCORES]:
        frame[column] = frame[column].astype("float64")
    frame["last_order"] = pd.to_datetime(frame["last_order"]).astype("datetime64[ns]")
    return frame.astype({"customer_id": "int64", "orders": "int64"})


def _assert_customers(actual: pd.DataFrame, expected_rows: pd.DataFrame) -> None:
    assert list(actual.columns) == views.CUSTOMER_COLUMNS
    assert actual["customer_id"].tolist() == expected_rows["customer_id"].tolist()
    pd.testing.assert_frame_equal(_comparable(actual), _comparable(_customer_frame(expected_rows)),
                                  check_exact=False, rtol=RTOL)


# ------------------------------------------------------------------ the data set itself
def test_the_data_set_exercises_the_edge_cases(data):
    """Without these the tests below could pass vacuously."""
    summary = data.summary
    scored = summary[summary["clv_12m"].notna()]
    assert (summary["orders"] == 0).sum() >= 5 and summary.loc[summary["orders"] == 0, SCORES].isna().all().all()
    assert len(scored) > 1000
    assert scored.loc[data.unknown_id, "country"] is None or pd.isna(scored.loc[data.unknown_id, "country"])
    assert scored["churn_risk"].between(0.3, 0.7).any() and (scored["churn_risk"] >= 0.7).any()
    assert (scored["revenue_at_risk"] == 0).sum() > 1  # ties the list order breaks by customer id
    assert (scored["clv_12m"] > scored["clv_12m"].quantile(views.TAIL_QUANTILE)).sum() > 1  # an open-ended tail
    segment = data.members.loc[data.members["segment_id"] == data.segment_id, "customer_id"]
    assert summary.loc[segment, "clv_12m"].isna().any() and summary.loc[segment, "clv_12m"].notna().sum() > 50
    for name, make in CASES.items():
        assert (len(_scored(data, make(data))) == 0) == (name in EMPTY_CASES), name


# ------------------------------------------------------------------ overview
def test_overview(warehouse, data, filters):
    selected = _selected(data, filters)
    buyers = selected[selected["orders"] > 0]
    clv = buyers["clv_12m"].dropna()
    expected = {
        "customers": len(clv), "clv_total": clv.sum(), "clv_mean": clv.mean(), "clv_median": clv.median(),
        "purchases": buyers["purchases_12m"].sum(), "alive": buyers["p_alive"].sum(),
        "churn_scored": int(buyers["churn_risk"].notna().sum()), "churn_risk_mean": buyers["churn_risk"].mean(),
        "revenue_at_risk": buyers["revenue_at_risk"].sum(),
    }
    actual = asdict(views.overview(warehouse, filters))
    assert actual.keys() == expected.keys()
    for key, value in expected.items():
        assert _close(actual[key], value), (key, actual[key], value)
    assert actual["customers"] == expected["customers"] and actual["churn_scored"] == expected["churn_scored"]


# ------------------------------------------------------------------ histogram
def test_clv_histogram(warehouse, data, filters):
    clv = _scored(data, filters)["clv_12m"]
    frame = views.clv_histogram(warehouse, filters)
    assert list(frame.columns) == ["lower", "upper", "customers", "clv"]
    if clv.empty:
        assert frame.empty
        return
    bins = views.HISTOGRAM_BINS
    cap = max(float(clv.quantile(views.TAIL_QUANTILE, interpolation="linear")), 0.0)
    low = min(float(clv.min()), 0.0)
    width = (cap - low) / bins or 1.0
    index = np.minimum(np.floor((clv - low) / width), bins - 1).astype(int)
    expected = clv.groupby(index).agg(["size", "sum"])

    assert frame["customers"].sum() == len(clv)
    assert frame["customers"].tolist() == expected["size"].tolist()
    np.testing.assert_allclose(frame["clv"], expected["sum"], rtol=RTOL)
    # Equal-width bins on the grid from min(0, min CLV) to the 99th percentile, in order.
    np.testing.assert_allclose(frame["lower"], low + expected.index.to_numpy() * width, rtol=RTOL, atol=1e-9)
    closed = frame.iloc[:-1]
    np.testing.assert_allclose(closed["upper"] - closed["lower"], width, rtol=1e-6)
    assert frame["lower"].is_monotonic_increasing and frame["lower"].iloc[0] >= low - 1e-9
    # The last bin starts one width below the cap, is open-ended and holds everyone at or above its lower edge.
    last = frame.iloc[-1]
    assert pd.isna(last["upper"]) and closed["upper"].notna().all()
    assert last["lower"] == pytest.approx(cap - width, rel=1e-6, abs=1e-9)
    assert last["customers"] == (clv >= last["lower"]).sum()
    assert last["customers"] >= np.ceil(len(clv) * (1 - views.TAIL_QUANTILE)) - 1


# ------------------------------------------------------------------ value by group
@pytest.mark.parametrize("dimension", list(views.DIMENSIONS))
def test_clv_by(warehouse, data, filters, dimension):
    scored = _scored(data, filters)
    groups = scored.assign(group=scored[dimension].fillna("Unknown")).groupby("group")
    expected = pd.DataFrame({
        "customers": groups.size(), "clv_total": groups["clv_12m"].sum(), "clv_mean": groups["clv_12m"].mean(),
        "p_alive": groups["p_alive"].mean(), "churn_risk": groups["churn_risk"].mean(),
        "revenue_at_risk": groups["revenue_at_risk"].sum(),
    }).rename_axis("group").reset_index()
    expected = expected.sort_values(["clv_total", "group"], ascending=[False, True], kind="stable")

    frame = views.clv_by(warehouse, filters, dimension)
    assert list(frame.columns) == ["group", "customers", "clv_total", "clv_mean", "p_alive", "churn_risk",
                                   "revenue_at_risk"]
    assert frame["group"].tolist() == expected["group"].tolist()
    assert frame["clv_total"].is_monotonic_decreasing
    assert frame["customers"].sum() == len(scored)
    pd.testing.assert_frame_equal(frame.reset_index(drop=True).astype({"group": object}),
                                  expected.reset_index(drop=True).astype({"group": object, "customers": "int64"}),
                                  check_exact=False, rtol=RTOL)


def test_the_unknown_buyer_is_grouped_as_unknown(warehouse, data):
    frame = views.clv_by(warehouse, Filters(genders=(UNKNOWN,)), "country")
    assert frame["group"].tolist() == ["Unknown"]
    assert frame["clv_total"].iloc[0] == pytest.approx(data.summary.loc[data.unknown_id, "clv_12m"], rel=RTOL)


@pytest.mark.parametrize("dimension", ["gender", "city", "country; DROP TABLE customers", ""])
def test_clv_by_refuses_unknown_dimensions(warehouse, dimension):
    with pytest.raises(ValueError):
        views.clv_by(warehouse, Filters(), dimension)


# ------------------------------------------------------------------ probability alive
def _band(values: pd.Series, bands) -> pd.Series:
    """The index of the band each value falls in (the first that holds it), NaN outside all of them."""
    result = pd.Series(np.nan, index=values.index)
    for number, (low, high, _label) in enumerate(bands):
        inside = (values >= low) & ((values <= high) if high is not None else True) & result.isna()
        result[inside] = number
    return result


def test_alive_matrix(warehouse, data, filters):
    scored = _scored(data, filters, "p_alive")
    banded = scored.assign(r=_band(scored["recency_days"], views.RECENCY_BANDS),
                           f=_band(scored["orders"], views.ORDER_BANDS))
    assert banded[["r", "f"]].notna().all().all()  # every scored customer falls in one cell
    cells = banded.groupby(["r", "f"])["p_alive"].agg(["size", "mean"])

    frame = views.alive_matrix(warehouse, filters)
    assert list(frame.columns) == ["recency", "orders", "customers", "p_alive"]
    pairs = [(r[2], f[2]) for r in views.RECENCY_BANDS for f in views.ORDER_BANDS]
    assert sorted(zip(frame["recency"], frame["orders"])) == sorted(pairs)
    assert len(frame) == len(pairs)
    assert frame["customers"].sum() == len(scored)
    labels = {(r[2], f[2]): (float(i), float(j)) for i, r in enumerate(views.RECENCY_BANDS)
              for j, f in enumerate(views.ORDER_BANDS)}
    for row in frame.itertuples():
        key = labels[(row.recency, row.orders)]
        if key in cells.index:
            assert row.customers == cells.loc[key, "size"], (row.recency, row.orders)
            assert row.p_alive == pytest.approx(cells.loc[key, "mean"], rel=RTOL), (row.recency, row.orders)
        else:
            assert row.customers == 0 and pd.isna(row.p_alive), (row.recency, row.orders)


# ------------------------------------------------------------------ top customers
def test_top_value(warehouse, data, filters):
    scored = _scored(data, filters)
    ranked = scored.sort_values(["clv_12m", "customer_id"], ascending=[False, True], kind="stable")
    for limit in (1, 25, 10_000):  # the largest lists everyone: the ties on clv_12m go by customer id
        frame = views.top_value(warehouse, filters, limit=limit)
        assert len(frame) == min(limit, len(scored)), limit
        _assert_customers(frame, ranked.head(limit))


def test_top_value_default_limit(warehouse, data):
    scored = _scored(data, Filters())
    expected = scored.sort_values(["clv_12m", "customer_id"], ascending=[False, True], kind="stable").head(25)
    assert views.top_value(warehouse, Filters())["customer_id"].tolist() == expected["customer_id"].tolist()


# ------------------------------------------------------------------ at risk
def _at_risk(data: Data, filters: Filters, threshold: float) -> pd.DataFrame:
    selected = _selected(data, filters)
    return selected[selected["churn_risk"] >= threshold]


@pytest.mark.parametrize("threshold", THRESHOLDS)
def test_at_risk_summary(warehouse, data, filters, threshold):
    at_risk = _at_risk(data, filters, threshold)
    customers, revenue = views.at_risk_summary(warehouse, filters, threshold)
    assert isinstance(customers, int) and isinstance(revenue, float)
    assert customers == len(at_risk)
    assert revenue == pytest.approx(at_risk["revenue_at_risk"].sum(), rel=RTOL, abs=1e-9)
    if threshold == 0.0:
        assert customers == _selected(data, filters)["churn_risk"].notna().sum()
    if threshold > 1:
        assert (customers, revenue) == (0, 0.0)


@pytest.mark.parametrize("threshold", THRESHOLDS)
def test_at_risk_customers(warehouse, data, filters, threshold):
    at_risk = _at_risk(data, filters, threshold)
    ranked = at_risk.sort_values(["revenue_at_risk", "customer_id"], ascending=[False, True], kind="stable")
    frame = views.at_risk_customers(warehouse, filters, threshold)  # everyone: the ties at 0 go by customer id
    assert len(frame) == len(at_risk)
    assert (frame["churn_risk"] >= threshold).all()
    _assert_customers(frame, ranked)
    for limit in (1, 10):
        frame = views.at_risk_customers(warehouse, filters, threshold, limit=limit)
        assert len(frame) == min(limit, len(at_risk)), limit
        _assert_customers(frame, ranked.head(limit))


def test_a_threshold_equal_to_a_score_includes_that_customer(warehouse, data):
    """At or above: the customer whose churn risk is the threshold counts."""
    scores = data.summary["churn_risk"].dropna().sort_values()
    threshold = float(scores.iloc[len(scores) // 2])
    expected = data.summary[data.summary["churn_risk"] >= threshold]
    assert views.at_risk_summary(warehouse, Filters(), threshold)[0] == len(expected)
    listed = views.at_risk_customers(warehouse, Filters(), threshold)
    assert set(listed["customer_id"]) == set(expected["customer_id"])
    assert threshold in set(listed["churn_risk"])


def test_at_risk_list_and_summary_agree(warehouse, data):
    filters = Filters().with_scope(("Australia", "Canada"))
    customers, revenue = views.at_risk_summary(warehouse, filters, 0.5)
    frame = views.at_risk_customers(warehouse, filters, 0.5)
    assert customers == len(frame) > 0
    assert revenue == pytest.approx(frame["revenue_at_risk"].sum(), rel=RTOL)


# ------------------------------------------------------------------ nobody selected
def test_an_empty_selection_gives_zeros_and_empty_frames(warehouse, data):
    filters = CASES["chosen country outside the scope"](data)
    overview = views.overview(warehouse, filters)
    assert (overview.customers, overview.clv_total, overview.purchases, overview.alive, overview.churn_scored,
            overview.revenue_at_risk) == (0, 0, 0, 0, 0, 0)
    assert all(np.isnan(value) for value in (overview.clv_mean, overview.clv_median, overview.churn_risk_mean))
    assert views.clv_histogram(warehouse, filters).empty
    for dimension in views.DIMENSIONS:
        assert views.clv_by(warehouse, filters, dimension).empty
    matrix = views.alive_matrix(warehouse, filters)
    assert len(matrix) == len(views.RECENCY_BANDS) * len(views.ORDER_BANDS)
    assert (matrix["customers"] == 0).all() and matrix["p_alive"].isna().all()
    top = views.top_value(warehouse, filters)
    assert top.empty and list(top.columns) == views.CUSTOMER_COLUMNS
    for threshold in THRESHOLDS:
        assert views.at_risk_summary(warehouse, filters, threshold) == (0, 0.0)
        listed = views.at_risk_customers(warehouse, filters, threshold, limit=5)
        assert listed.empty and list(listed.columns) == views.CUSTOMER_COLUMNS


def test_the_clustering_lab_offers_the_scores_as_features(data, warehouse):
    with data.engine.connect() as connection:
        options = filter_options(connection, None)
    names = ("clv_12m", "p_alive", "churn_risk")
    assert set(names) <= set(available_features(warehouse))
    found = feature_frame(warehouse, Filters(), options, names)
    buyers = data.summary[data.summary["orders"] > 0].sort_index()
    assert found.index.tolist() == buyers.index.tolist()
    pd.testing.assert_frame_equal(found, buyers[list(names)], check_names=False, check_index_type=False)
