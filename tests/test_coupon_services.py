"""The Coupons tab's services agree with an independent pandas computation from the raw tables.

One small demo data set per backend (SQLite and PostgreSQL), generated once for the module,
plus one customer whose every attribute is unknown (coupon events and a coupon order without a
branch) and one saved segment. Every number the services in `services/coupons/` return (the
funnel and its money, the data-quality check, timelines, usage frequency, branch and city
tables, coupon users against other buyers, retention, burn cohorts, coupon and campaign
tables) is recomputed here with plain pandas from `coupon_events`, `transactions`, `coupons`,
`campaigns`, `branches` and `saved_segment_members`; only the derived per-customer attributes
(age bracket, profile, RFM segment, city, gender, country) come from `customer_summary`, which
the refresh tests check on their own.

Some checks run on a copy of the snapshot built from the data with deliberately broken rows
added (burns without claims, a burn before its claim, an event after the last order, a first
burn without a branch); the rows are removed from the SQL database again right after.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import cache, cached_property

import duckdb
import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Connection, Engine, delete, insert, select

from services.analytics.snapshot import build_snapshot, open_snapshot
from services.analytics.warehouse import Warehouse
from services.coupons import activity, branches, catalog, funnel, retention, users
from services.coupons.view import EVENTS, CouponView, Focus, coupon_view
from services.db import make_engine
from services.demo import DemoConfig, PlantedTruths, generate_demo_data
from services.demo.fixed_tables import branch_rates
from services.filters import FilterOptions, Filters, filter_options
from services.models import (
    Branch,
    Campaign,
    Coupon,
    CouponEvent,
    Customer,
    CustomerSummary,
    SavedSegment,
    SavedSegmentMember,
    Transaction,
)
from services.refresh import refresh
from services.rules import AGE_BRACKET_LABELS, PROFILES, UNKNOWN
from services.selection import Period, period_of
from tests.conftest import clear_tables

DAY = pd.Timedelta(days=1)
RTOL = 1e-9
CUSTOMERS, SEED = 800, 5
NO_DATA = FilterOptions((), None, None)
MONEY = ["coupon_orders", "revenue", "discount", "margin"]
ATTRIBUTES = ["gender", "age_bracket", "profile", "rfm_segment", "city", "country"]
# The documented buckets of burns per coupon user, and of orders before the retention anchor.
BURN_BUCKETS = (("1", 1, 1), ("2", 2, 2), ("3", 3, 3), ("4–5", 4, 5), ("6–9", 6, 9), ("10+", 10, None))
HISTORIES = (("0", 0, 0), ("1", 1, 1), ("2–4", 2, 4), ("5+", 5, None))
COHORT_MONTHS = 12


# ------------------------------------------------------------------ the data
@dataclass(frozen=True, eq=False)  # hashed by identity: the reference caches per data set
class Data:
    engine: Engine
    truths: PlantedTruths
    customers: pd.DataFrame  # customer_summary attributes, by customer id
    events: pd.DataFrame  # coupon_events
    transactions: pd.DataFrame  # transactions with their coupon money
    coupons: pd.DataFrame  # coupons with their campaign's name
    branches: pd.DataFrame  # branches, by id
    members: pd.DataFrame  # saved_segment_members
    segment_id: int
    unknown_id: int

    @cached_property
    def first_day(self) -> pd.Timestamp:
        return self.transactions["ordered_at"].min().normalize()

    @cached_property
    def last_day(self) -> pd.Timestamp:
        return self.transactions["ordered_at"].max().normalize()

    @cached_property
    def options(self) -> FilterOptions:
        """What the data's date range says about any period (countries do not matter to the period)."""
        return FilterOptions((), self.first_day.date(), self.last_day.date())

    def branch_id(self, name: str) -> int:
        return int(self.branches.index[self.branches["name"] == name][0])


def _read(connection: Connection, query, dates: tuple[str, ...] = ()) -> pd.DataFrame:
    frame = pd.read_sql(query, connection)
    return frame.assign(**{column: pd.to_datetime(frame[column]) for column in dates})


def _coupon_id(connection: Connection, code: str) -> int:
    return connection.scalar(select(Coupon.id).where(Coupon.code == code))


def _add_unknown_customer(connection: Connection) -> int:
    """A customer without country, city, age or gender who uses a coupon online (no branch anywhere)."""
    customer_id = connection.execute(insert(Customer).values(
        external_id="UNKNOWN-1", name="Ann Onymous", gender=UNKNOWN, country=None, city=None,
        birth_date=None, age=None, children=None)).inserted_primary_key[0]
    save, take = _coupon_id(connection, "SAVE10-2022Q2"), _coupon_id(connection, "TAKE15-2022Q3")
    burn_order = connection.execute(insert(Transaction).values(
        customer_id=customer_id, ordered_at=dt.datetime(2022, 5, 10, 12, 30), amount=50.25, discount=5.58,
        cost=30.1, category="Home", channel="online", branch_id=None, coupon_id=save)).inserted_primary_key[0]
    connection.execute(insert(Transaction), [
        {"customer_id": customer_id, "ordered_at": dt.datetime(2021, 11, 20, 9), "amount": 80.5, "discount": 0.0,
         "cost": 40.0, "category": "Toys", "channel": "online"},
        {"customer_id": customer_id, "ordered_at": dt.datetime(2022, 8, 1, 18), "amount": 40.0, "discount": 0.0,
         "cost": 22.5, "category": None, "channel": "online"},
    ])
    connection.execute(insert(CouponEvent), [
        {"customer_id": customer_id, "coupon_id": save, "branch_id": None, "event": "issued",
         "occurred_at": dt.datetime(2022, 5, 1, 9)},
        {"customer_id": customer_id, "coupon_id": save, "branch_id": None, "event": "claimed",
         "occurred_at": dt.datetime(2022, 5, 2, 10, 15, 30)},
        {"customer_id": customer_id, "coupon_id": save, "branch_id": None, "event": "burned",
         "occurred_at": dt.datetime(2022, 5, 10, 12, 30), "transaction_id": burn_order},
        {"customer_id": customer_id, "coupon_id": take, "branch_id": None, "event": "issued",
         "occurred_at": dt.datetime(2022, 8, 2, 8)},
        {"customer_id": customer_id, "coupon_id": take, "branch_id": None, "event": "claimed",
         "occurred_at": dt.datetime(2022, 8, 2, 9)},
        {"customer_id": customer_id, "coupon_id": take, "branch_id": None, "event": "expired",
         "occurred_at": dt.datetime(2022, 9, 30, 23, 59, 59)},
    ])
    return customer_id


def _add_segment(connection: Connection, unknown_id: int) -> int:
    """A saved segment of every seventh buyer, plus the unknown customer."""
    segment_id = connection.execute(insert(SavedSegment).values(name="Coupon test segment")).inserted_primary_key[0]
    buyers = sorted(connection.scalars(select(Transaction.customer_id).distinct()))
    chosen = sorted(set(buyers[::7]) | {unknown_id})
    connection.execute(insert(SavedSegmentMember), [{"segment_id": segment_id, "customer_id": c} for c in chosen])
    return segment_id


def _frames(connection: Connection) -> dict[str, pd.DataFrame]:
    S, E, T = CustomerSummary.__table__.c, CouponEvent.__table__.c, Transaction.__table__.c
    K, M, B = Coupon.__table__.c, Campaign.__table__.c, Branch.__table__.c
    customers = _read(connection, select(S.customer_id.label("id"), *(S[a] for a in ATTRIBUTES))).set_index("id")
    events = _read(connection, select(E.id, E.coupon_id, E.customer_id, E.branch_id, E.event, E.occurred_at),
                   ("occurred_at",))
    transactions = _read(connection, select(T.id, T.customer_id, T.ordered_at, T.amount, T.discount, T.cost,
                                            T.coupon_id, T.branch_id), ("ordered_at",))
    coupons = _read(connection, select(K.id, K.code, M.name.label("campaign"), K.discount_pct, K.discount_amount,
                                       K.valid_from, K.valid_to).outerjoin(Campaign, M.id == K.campaign_id),
                    ("valid_from", "valid_to")).set_index("id")
    for frame in (events, transactions):
        frame["branch_id"] = frame["branch_id"].astype("Int64")
    transactions["coupon_id"] = transactions["coupon_id"].astype("Int64")
    return {
        "customers": customers,
        "events": events,
        "transactions": transactions,
        "coupons": coupons,
        "branches": _read(connection, select(B.id, B.name, B.city, B.country)).set_index("id"),
        "members": _read(connection, select(SavedSegmentMember)),
    }


@pytest.fixture(scope="module")
def data(database_url) -> Iterator[Data]:
    """The demo data set on each backend, loaded once; the tables are emptied before and after."""
    engine = make_engine(database_url)
    clear_tables(engine)
    try:
        truths = generate_demo_data(engine, DemoConfig(customers=CUSTOMERS, seed=SEED))
        with engine.begin() as connection:
            unknown_id = _add_unknown_customer(connection)
        refresh(engine)
        with engine.begin() as connection:
            segment_id = _add_segment(connection, unknown_id)
        with engine.connect() as connection:
            frames = _frames(connection)
        yield Data(engine, truths, segment_id=segment_id, unknown_id=unknown_id, **frames)
    finally:
        clear_tables(engine)
        engine.dispose()


@pytest.fixture
def connection(data) -> Iterator[Connection]:
    with data.engine.connect() as connection:
        yield connection


def _open(engine: Engine, path) -> duckdb.DuckDBPyConnection:
    build_snapshot(engine, path)
    return open_snapshot(path)


@pytest.fixture(scope="module")
def snapshot(data, tmp_path_factory) -> Iterator[duckdb.DuckDBPyConnection]:
    database = _open(data.engine, tmp_path_factory.mktemp("coupons") / "analytics.duckdb")
    yield database
    database.close()


@pytest.fixture
def warehouse(snapshot, data) -> Warehouse:
    return Warehouse(snapshot.cursor(), data.engine)


# ------------------------------------------------------------------ filter combinations
CASES: dict[str, Callable[[Data], tuple[Filters, Focus]]] = {
    "everything": lambda d: (Filters(), Focus()),
    "one country": lambda d: (Filters(countries=("Germany",)), Focus()),
    "women 31-50": lambda d: (Filters(genders=("Female",), age_brackets=("31-40", "41-50")), Focus()),
    "March to September 2022": lambda d: (Filters(dt.date(2022, 3, 1), dt.date(2022, 9, 30)), Focus()),
    "from mid-July 2022": lambda d: (Filters(start=dt.date(2022, 7, 15)), Focus()),
    "January 2021": lambda d: (Filters(dt.date(2021, 1, 1), dt.date(2021, 1, 31)), Focus()),
    "up to 2022, one branch": lambda d: (Filters(end=dt.date(2022, 12, 31)),
                                         Focus(branch_id=d.branch_id("Sydney Pitt Street"))),
    "scope": lambda d: (Filters().with_scope(("Australia",)), Focus()),
    "country outside the scope": lambda d: (Filters(countries=("Canada",)).with_scope(("Australia",)), Focus()),
    "saved segment": lambda d: (Filters(segment_id=d.segment_id), Focus()),
    "city focus": lambda d: (Filters(), Focus(city="New York")),
    "branch focus": lambda d: (Filters(), Focus(branch_id=d.branch_id(d.truths.low_burn_branches[0]))),
    "men, 2021, city focus": lambda d: (Filters(dt.date(2021, 1, 1), dt.date(2021, 12, 31), genders=("Male",)),
                                        Focus(city="London")),
    "unknown gender in 2022": lambda d: (Filters(dt.date(2022, 1, 1), dt.date(2022, 12, 31), genders=(UNKNOWN,)),
                                         Focus()),
    "before the data": lambda d: (Filters(dt.date(2019, 1, 1), dt.date(2019, 6, 30)), Focus()),
    "after the data": lambda d: (Filters(start=dt.date(2024, 3, 1)), Focus()),
}
EMPTY_CASES = ("country outside the scope", "before the data", "after the data")


@dataclass(frozen=True)
class Case:
    name: str
    filters: Filters
    focus: Focus


@pytest.fixture(params=list(CASES))
def case(request, data) -> Case:
    return Case(request.param, *CASES[request.param](data))


def _view(connection: Connection, warehouse: Warehouse, data: Data, case: Case) -> CouponView:
    """The service's view of the case, whose period must be the one pandas expects."""
    view = coupon_view(warehouse, case.filters, filter_options(connection, case.filters.scope), case.focus)
    assert view is not None
    assert view.period == _period(data, case.filters)
    assert view.data_end == data.last_day.date()
    return view


# ------------------------------------------------------------------ the pandas reference
@cache
def _selected(data: Data, filters: Filters) -> pd.Index:
    """Ids of the customers the customer filters, the scope and the saved segment let through."""
    customers = data.customers
    keep = pd.Series(True, index=customers.index)
    for column, allowed in (("country", filters.scope), ("country", filters.countries or None),
                            ("gender", filters.genders or None), ("age_bracket", filters.age_brackets or None)):
        if allowed is not None:
            keep &= customers[column].isin(allowed)
    if filters.segment_id is not None:
        members = data.members.loc[data.members["segment_id"] == filters.segment_id, "customer_id"]
        keep &= customers.index.isin(members)
    return customers.index[keep]


def _period(data: Data, filters: Filters) -> Period:
    return period_of(filters, data.options)


def _days_mask(stamps: pd.Series, period: Period) -> pd.Series:
    """The period's days; an open end is not bounded."""
    day = stamps.dt.normalize()
    keep = pd.Series(True, index=stamps.index)
    if not period.open_start:
        keep &= day >= pd.Timestamp(period.start)
    if not period.open_end:
        keep &= day <= pd.Timestamp(period.end)
    return keep


def _focus_mask(data: Data, branch_ids: pd.Series, focus: Focus) -> pd.Series:
    if focus.branch_id is not None:
        return (branch_ids == focus.branch_id).fillna(False).astype(bool)
    if focus.city is not None:
        wanted = data.branches.index[data.branches["city"] == focus.city]
        return branch_ids.isin(wanted).fillna(False).astype(bool)
    return pd.Series(True, index=branch_ids.index)


@cache
def _events(data: Data, filters: Filters, focus: Focus) -> pd.DataFrame:
    """The selected customers' coupon events at the focus branches in the period."""
    e = data.events
    keep = e["customer_id"].isin(_selected(data, filters)) & _days_mask(e["occurred_at"], _period(data, filters))
    return e[keep & _focus_mask(data, e["branch_id"], focus)]


@cache
def _coupon_orders(data: Data, filters: Filters, focus: Focus) -> pd.DataFrame:
    """The selected customers' orders paid with a coupon, at the focus branches in the period."""
    t = data.transactions
    t = t[t["coupon_id"].notna() & t["customer_id"].isin(_selected(data, filters))]
    t = t[_days_mask(t["ordered_at"], _period(data, filters)) & _focus_mask(data, t["branch_id"], focus)]
    return t.assign(margin=t["amount"] - t["cost"], coupon_id=t["coupon_id"].astype("int64"))


@cache
def _orders_in_period(data: Data, filters: Filters) -> pd.DataFrame:
    """Every order of the selected customers from the period's first to its last day (any branch)."""
    period = _period(data, filters)
    t = data.transactions
    day = t["ordered_at"].dt.normalize()
    keep = (t["customer_id"].isin(_selected(data, filters)) & (day >= pd.Timestamp(period.start))
            & (day <= pd.Timestamp(period.end)))
    return t[keep]


def _counts(events: pd.DataFrame, key: str) -> pd.DataFrame:
    """Events per key, one column per event (every event, zeros included)."""
    if events.empty:
        return pd.DataFrame(columns=list(EVENTS), dtype="int64")
    table = pd.crosstab(events[key], events["event"])
    return table.reindex(columns=list(EVENTS), fill_value=0)


def _money(orders: pd.DataFrame, key: str) -> pd.DataFrame:
    groups = orders.groupby(key)
    return pd.DataFrame({"coupon_orders": groups.size(), "revenue": groups["amount"].sum(),
                         "discount": groups["discount"].sum(), "margin": groups["margin"].sum()})


def _ratio(part: pd.Series, whole: pd.Series) -> pd.Series:
    return pd.Series([p / w if w else np.nan for p, w in zip(part, whole)], index=part.index, dtype="float64")


def _rate(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _first_burns(data: Data, filters: Filters) -> pd.DataFrame:
    """Per selected customer who ever burned a coupon: the moment, day and branch of the first burn."""
    burns = data.events[(data.events["event"] == "burned") & data.events["customer_id"].isin(_selected(data, filters))]
    first = burns.sort_values(["occurred_at", "id"]).drop_duplicates("customer_id", keep="first")
    return first.assign(day=first["occurred_at"].dt.normalize()).set_index("customer_id")


# ------------------------------------------------------------------ comparison helpers
def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """Positional index, datetimes in ns, None for every missing text, plain numpy numbers."""
    frame = frame.reset_index(drop=True).copy()
    frame.columns = list(frame.columns)
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            frame[column] = values.astype("datetime64[ns]")
        elif isinstance(values.dtype, pd.api.extensions.ExtensionDtype) and pd.api.types.is_numeric_dtype(values):
            frame[column] = values.astype("float64") if values.isna().any() else values.astype("int64")
        elif pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values):
            frame[column] = values.astype(object).where(values.notna(), None)
    return frame


def assert_frames_equal(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Same columns, rows in the same order, numbers equal to 1e-9 (dtypes and index ignored)."""
    assert list(actual.columns) == list(expected.columns)
    if expected.empty:
        assert actual.empty, actual
        return
    pd.testing.assert_frame_equal(_comparable(actual), _comparable(expected), check_dtype=False, rtol=RTOL)


def _ints(frame: pd.DataFrame, columns) -> None:
    """Counts come back as integers."""
    for column in columns:
        assert pd.api.types.is_integer_dtype(frame[column]), (column, frame[column].dtype)


# ------------------------------------------------------------------ the view
def test_coupon_view_needs_data(warehouse):
    assert coupon_view(warehouse, Filters(), NO_DATA) is None


def test_cases_select_what_they_should(data):
    """The filter cases are not vacuous: each non-empty one has events, the empty ones none."""
    for name, make in CASES.items():
        filters, focus = make(data)
        events = _events(data, filters, focus)
        assert events.empty == (name in EMPTY_CASES), name
    everything = _events(data, Filters(), Focus())
    assert everything["branch_id"].isna().any()  # the unknown customer's events have no branch
    assert set(everything["event"]) == set(EVENTS)


# ------------------------------------------------------------------ funnel
def _expected_median(data: Data, filters: Filters, burns: pd.DataFrame) -> float | None:
    """Median days from the latest claim of the same coupon by the same customer at or before each burn."""
    e = data.events
    claims = e[(e["event"] == "claimed") & e["customer_id"].isin(_selected(data, filters))]
    if burns.empty:
        return None
    joined = pd.merge_asof(
        burns[["customer_id", "coupon_id", "occurred_at"]].sort_values("occurred_at"),
        claims[["customer_id", "coupon_id", "occurred_at"]].rename(columns={"occurred_at": "claimed_at"})
        .sort_values("claimed_at"),
        left_on="occurred_at", right_on="claimed_at", by=["customer_id", "coupon_id"],
        direction="backward", allow_exact_matches=True)
    gaps = ((joined["occurred_at"] - joined["claimed_at"]).dt.total_seconds() / 86_400).dropna()
    return float(gaps.median()) if len(gaps) else None


def _expected_funnel(data: Data, filters: Filters, focus: Focus) -> dict:
    events = _events(data, filters, focus)
    counts = events["event"].value_counts()
    orders = _coupon_orders(data, filters, focus)
    expected = {event: int(counts.get(event, 0)) for event in EVENTS}
    return expected | {
        "median_days_to_burn": _expected_median(data, filters, events[events["event"] == "burned"]),
        "coupon_orders": len(orders),
        "revenue": float(orders["amount"].sum()),
        "discount": float(orders["discount"].sum()),
        "margin": float(orders["margin"].sum()),
    }


def assert_funnel_matches(actual: funnel.Funnel, expected: dict) -> None:
    for event in (*EVENTS, "coupon_orders"):
        assert getattr(actual, event) == expected[event], event
        assert isinstance(getattr(actual, event), int)
    for name in ("revenue", "discount", "margin"):
        assert getattr(actual, name) == pytest.approx(expected[name], rel=RTOL, abs=1e-9), name
    if expected["median_days_to_burn"] is None:
        assert actual.median_days_to_burn is None
    else:
        assert actual.median_days_to_burn == pytest.approx(expected["median_days_to_burn"], rel=RTOL)
    ratios = {"claim_rate": _rate(expected["claimed"], expected["issued"]),
              "burn_rate": _rate(expected["burned"], expected["claimed"]),
              "expiry_rate": _rate(expected["expired"], expected["claimed"]),
              "revenue_per_discount_dollar": _rate(expected["revenue"], expected["discount"])}
    assert {name: getattr(actual, name) for name in ratios} == pytest.approx(ratios, rel=RTOL)
    assert actual.empty == (not any(expected[name] for name in (*EVENTS, "coupon_orders")))


def check_funnel(warehouse: Warehouse, view: CouponView, data: Data, filters: Filters, focus: Focus) -> None:
    assert_funnel_matches(funnel.funnel(warehouse, view), _expected_funnel(data, filters, focus))


def test_funnel(data, connection, warehouse, case):
    check_funnel(warehouse, _view(connection, warehouse, data, case), data, case.filters, case.focus)


# ------------------------------------------------------------------ data quality
def _expected_quality(events: pd.DataFrame, selected: pd.Index) -> tuple[int, int]:
    """(unclaimed burns, customers with any): per customer and coupon, the lowest balance of claims minus burns."""
    e = events[events["event"].isin(["claimed", "burned"]) & events["customer_id"].isin(selected)]
    if e.empty:
        return 0, 0
    e = e.assign(step=np.where(e["event"] == "claimed", 1, -1), is_burn=e["event"] == "burned")
    e = e.sort_values(["customer_id", "coupon_id", "occurred_at", "is_burn", "id"])
    balance = e.groupby(["customer_id", "coupon_id"])["step"].cumsum()
    lowest = balance.groupby([e["customer_id"], e["coupon_id"]]).min()
    unclaimed = (-lowest).clip(lower=0)
    return int(unclaimed.sum()), int(unclaimed[unclaimed > 0].index.get_level_values("customer_id").nunique())


def test_data_quality(data, connection, warehouse, case):
    actual = funnel.data_quality(warehouse, _view(connection, warehouse, data, case))
    expected = _expected_quality(data.events, _selected(data, case.filters))
    assert (actual.unclaimed_burns, actual.customers) == expected == (0, 0)  # the demo data is clean
    assert actual.ok


# ------------------------------------------------------------------ timeline
def _bucket_starts(days: pd.Series, grain: str) -> pd.Series:
    if grain == "day":
        return days
    if grain == "week":
        return days - pd.to_timedelta(days.dt.day_of_week, unit="D")
    return days.dt.to_period("M").dt.to_timestamp()


def _expected_timeline(events: pd.DataFrame, grain: str) -> pd.DataFrame:
    if events.empty:
        return pd.DataFrame(columns=["period", *EVENTS])
    buckets = _bucket_starts(events["occurred_at"].dt.normalize(), grain)
    step = {"day": pd.DateOffset(days=1), "week": pd.DateOffset(days=7), "month": pd.DateOffset(months=1)}[grain]
    every, bucket = [], buckets.min()
    while bucket <= buckets.max():
        every.append(bucket)
        bucket = bucket + step
    counts = pd.crosstab(buckets, events["event"]).reindex(index=every, columns=list(EVENTS), fill_value=0)
    return counts.rename_axis("period").rename_axis(None, axis=1).reset_index()


def test_timeline(data, connection, warehouse, case):
    check_timeline(warehouse, _view(connection, warehouse, data, case), data, case.filters, case.focus)


def check_timeline(warehouse: Warehouse, view: CouponView, data: Data, filters: Filters, focus: Focus) -> None:
    events = _events(data, filters, focus)
    for grain in ("day", "week", "month"):
        actual = activity.timeline(warehouse, view, grain)
        expected = _expected_timeline(events, grain)
        assert_frames_equal(actual, expected)
        if not expected.empty:
            _ints(actual, EVENTS)
            assert actual[list(EVENTS)].to_numpy().sum() == len(events)
    with pytest.raises(ValueError):
        activity.timeline(warehouse, view, "quarter")


def test_week_buckets_start_on_monday(data, connection, warehouse):
    view = _view(connection, warehouse, data, Case("everything", Filters(), Focus()))
    weeks = activity.timeline(warehouse, view, "week")["period"]
    assert (weeks.dt.day_of_week == 0).all() and (weeks.diff().dropna() == pd.Timedelta(days=7)).all()
    months = activity.timeline(warehouse, view, "month")["period"]
    assert (months.dt.day == 1).all()


# ------------------------------------------------------------------ usage frequency
def _expected_usage(data: Data, filters: Filters, focus: Focus) -> dict:
    events = _events(data, filters, focus)
    burns = events[events["event"] == "burned"].groupby("customer_id").size()
    buckets = pd.DataFrame([(label, int(((burns >= low) & (burns <= (high or np.inf))).sum()))
                            for label, low, high in BURN_BUCKETS], columns=["bucket", "customers"])
    orders = _orders_in_period(data, filters)
    habitual = burns.index[burns >= activity.HABITUAL_BURNS]
    return {
        "burns": buckets,
        "coupon_users": len(burns),
        "habitual_users": len(habitual),
        "revenue": float(orders["amount"].sum()),
        "coupon_user_revenue": float(orders.loc[orders["customer_id"].isin(burns.index), "amount"].sum()),
        "habitual_revenue": float(orders.loc[orders["customer_id"].isin(habitual), "amount"].sum()),
        "one_time_users": int((burns == 1).sum()),
    }


def test_usage_frequency(data, connection, warehouse, case):
    check_usage(warehouse, _view(connection, warehouse, data, case), data, case.filters, case.focus)


def check_usage(warehouse: Warehouse, view: CouponView, data: Data, filters: Filters, focus: Focus) -> None:
    actual = activity.usage_frequency(warehouse, view)
    expected = _expected_usage(data, filters, focus)
    assert_frames_equal(actual.burns, expected["burns"])
    _ints(actual.burns, ["customers"])
    for name in ("coupon_users", "habitual_users", "one_time_users"):
        assert getattr(actual, name) == expected[name], name
    for name in ("revenue", "coupon_user_revenue", "habitual_revenue"):
        assert getattr(actual, name) == pytest.approx(expected[name], rel=RTOL, abs=1e-9), name
    assert actual.coupon_user_revenue_share == pytest.approx(
        _rate(expected["coupon_user_revenue"], expected["revenue"]), rel=RTOL)
    assert actual.habitual_revenue_share == pytest.approx(
        _rate(expected["habitual_revenue"], expected["revenue"]), rel=RTOL)


# ------------------------------------------------------------------ branches and cities
def _with_flags(table: pd.DataFrame) -> pd.DataFrame:
    """Rates, and the low-burn flag against the table's own network burn rate."""
    table = table.copy()
    table["claim_rate"] = _ratio(table["claimed"], table["issued"])
    table["burn_rate"] = _ratio(table["burned"], table["claimed"])
    network = table["burned"].sum() / table["claimed"].sum() if table["claimed"].sum() else np.nan
    table["low_burn"] = [bool(claimed >= branches.MIN_CLAIMS and rate < branches.LOW_BURN_RATIO * network)
                         for claimed, rate in zip(table["claimed"], table["burn_rate"])]
    return table


def _activity_by(data: Data, filters: Filters, focus: Focus, key: str) -> pd.DataFrame:
    """Event counts and coupon-order money per `key` of the rows (missing keys left out), zeros filled."""
    events = _events(data, filters, focus)
    orders = _coupon_orders(data, filters, focus)
    events, orders = events[events[key].notna()], orders[orders[key].notna()]
    table = _counts(events.assign(**{key: events[key].astype("int64")}), key).join(
        _money(orders.assign(**{key: orders[key].astype("int64")}), key), how="outer")
    table = table.reindex(columns=[*EVENTS, *MONEY]).fillna(0)
    return table.astype({column: "int64" for column in (*EVENTS, "coupon_orders")})


BRANCH_COLUMNS = ["branch_id", "branch", "city", "country", *EVENTS, "claim_rate", "burn_rate", *MONEY, "low_burn"]
CITY_COLUMNS = ["city", "country", *EVENTS, "claim_rate", "burn_rate", *MONEY, "low_burn"]


def _expected_branches(data: Data, filters: Filters, focus: Focus) -> pd.DataFrame:
    table = _activity_by(data, filters, focus, "branch_id")
    table = table.join(data.branches.rename(columns={"name": "branch"})).rename_axis("branch_id").reset_index()
    table = _with_flags(table).sort_values(["burned", "branch"], ascending=[False, True])
    return table[BRANCH_COLUMNS]


def _expected_cities(data: Data, filters: Filters, focus: Focus) -> pd.DataFrame:
    """Straight from the events and orders by their branch's city (not from the branch table)."""
    table = _activity_by(data, filters, focus, "branch_id").join(data.branches[["city", "country"]])
    table = table.groupby(["city", "country"])[[*EVENTS, *MONEY]].sum().reset_index()
    return _with_flags(table).sort_values(["burned", "city"], ascending=[False, True])[CITY_COLUMNS]


def test_branch_and_city_tables(data, connection, warehouse, case):
    check_branches(warehouse, _view(connection, warehouse, data, case), data, case.filters, case.focus)


def check_branches(warehouse: Warehouse, view: CouponView, data: Data, filters: Filters, focus: Focus) -> None:
    actual = branches.branch_table(warehouse, view)
    expected = _expected_branches(data, filters, focus)
    assert_frames_equal(actual, expected)
    cities = branches.city_table(actual)
    assert_frames_equal(cities, _expected_cities(data, filters, focus))
    if not expected.empty:
        _ints(actual, [*EVENTS, "coupon_orders"])
        _ints(cities, [*EVENTS, "coupon_orders"])


def test_low_burn_branches_are_the_planted_ones(data, connection, warehouse):
    """On the whole data set the flag finds the branches the generator planted with few burns."""
    setup_seed, _ = np.random.SeedSequence(SEED).spawn(2)
    _, planted = branch_rates(np.random.default_rng(setup_seed))
    assert set(planted) == set(data.truths.low_burn_branches)
    table = branches.branch_table(warehouse, _view(connection, warehouse, data, Case("everything", Filters(), Focus())))
    assert set(table.loc[table["low_burn"], "branch"]) == set(planted)
    assert len(table) == len(data.branches)


# ------------------------------------------------------------------ coupon users and other buyers
def _expected_people(data: Data, filters: Filters, focus: Focus) -> pd.DataFrame:
    """One row per coupon user and other buyer of the period: group and attributes."""
    events = _events(data, filters, focus)
    coupon_users = set(events.loc[events["event"] == "burned", "customer_id"])
    buyers = set(_orders_in_period(data, filters)["customer_id"]) | coupon_users
    people = data.customers.loc[sorted(buyers), ATTRIBUTES].copy()
    people.insert(0, "group", [users.COUPON_USERS if c in coupon_users else users.OTHERS for c in people.index])
    return people


def _sorted_rows(frame: pd.DataFrame) -> pd.DataFrame:
    keys = ["group", *ATTRIBUTES]
    frame = frame.assign(**{key: frame[key].astype(object).where(frame[key].notna(), "<missing>") for key in keys})
    return frame.sort_values(keys).reset_index(drop=True)


NATURAL = {"age_bracket": AGE_BRACKET_LABELS, "profile": PROFILES}  # values in this order, not by coupon users


def _expected_split(people: pd.DataFrame, attribute: str, limit: int | None) -> pd.DataFrame:
    values = people[attribute].fillna(UNKNOWN)
    counts = {group: values[people["group"] == group].value_counts() for group in (users.COUPON_USERS, users.OTHERS)}
    present = sorted(set(values))
    natural = NATURAL.get(attribute)
    if natural is not None:
        order = [v for v in natural if v in present] + [v for v in present if v not in natural]
    else:
        order = sorted(present, key=lambda v: (-counts[users.COUPON_USERS].get(v, 0), v))
    if limit is not None:  # the values with the most coupon users, in the order above
        kept = sorted(order, key=lambda v: (-counts[users.COUPON_USERS].get(v, 0), order.index(v)))[:limit]
        order = [v for v in order if v in kept]
    rows = []
    for group in (users.COUPON_USERS, users.OTHERS):
        total = int((people["group"] == group).sum())
        for value in order:
            n = int(counts[group].get(value, 0))
            rows.append((group, value, n, n / total if total else np.nan))
    return pd.DataFrame(rows, columns=["group", "value", "customers", "share"])


def test_user_attributes_split_and_group_sizes(data, connection, warehouse, case):
    check_users(warehouse, _view(connection, warehouse, data, case), data, case.filters, case.focus)


def check_users(warehouse: Warehouse, view: CouponView, data: Data, filters: Filters, focus: Focus) -> None:
    attributes = users.user_attributes(warehouse, view)
    people = _expected_people(data, filters, focus)
    expected = (people.assign(customers=1).groupby(["group", *ATTRIBUTES], dropna=False)["customers"].sum()
                .reset_index())
    assert list(attributes.columns) == ["group", *ATTRIBUTES, "customers"]
    assert_frames_equal(_sorted_rows(attributes), _sorted_rows(expected))
    sizes = users.group_sizes(attributes)
    assert sizes == {group: int((people["group"] == group).sum()) for group in (users.COUPON_USERS, users.OTHERS)}
    for attribute in users.ATTRIBUTES:
        # Limits on the attributes in a natural order: test_split_by_limit_keeps_the_most_coupon_users.
        for limit in (None, 50) if attribute in NATURAL else (None, 3, 50):
            actual = users.split_by(attributes, attribute, limit)
            expected_split = _expected_split(people, attribute, limit) if len(people) else \
                pd.DataFrame(columns=["group", "value", "customers", "share"])
            assert_frames_equal(actual, expected_split)
    with pytest.raises(ValueError):
        users.split_by(attributes, "income")


@pytest.mark.parametrize("attribute", list(NATURAL))
def test_split_by_limit_keeps_the_most_coupon_users(data, connection, warehouse, attribute):
    """"`limit` keeps the values with the most coupon users" (split_by's docstring), also where the values
    keep a natural order: the kept values are shown in that order.

    `split_by` reorders by the natural order first and then takes `head(limit)`, so it keeps the first
    values of the natural order instead (e.g. profile, limit 1: "VIP" with 1 coupon user, not "Loyal").
    """
    attributes = users.user_attributes(warehouse, _view(connection, warehouse, data, Case("all", Filters(), Focus())))
    people = _expected_people(data, Filters(), Focus())
    for limit in (1, 3):
        assert_frames_equal(users.split_by(attributes, attribute, limit), _expected_split(people, attribute, limit))


# ------------------------------------------------------------------ retention
def _bracket(prior: int) -> str:
    return next(label for label, low, high in HISTORIES if prior >= low and (high is None or prior <= high))


def _anchor_window(data: Data, filters: Filters) -> tuple[dt.date, dt.date] | None:
    """The period, ending at the latest REPEAT_DAYS before the data does (so everyone is followed for
    REPEAT_DAYS days); None when nothing of the period is left."""
    period = _period(data, filters)
    end = min(period.end, data.last_day.date() - dt.timedelta(days=retention.REPEAT_DAYS))
    return None if end < period.start else (period.start, end)


def _expected_retention(data: Data, filters: Filters, focus: Focus,
                        window: tuple[dt.date, dt.date]) -> dict:
    """The comparison over the anchor window `window` (first and last day).

    Coupon users are anchored at their first burn day; other buyers at their first order day in
    the window (all other buyers) and, for each history bracket, at the first order day in the
    window on which they had that many orders on earlier days (comparable buyers).
    """
    start, end = (pd.Timestamp(day) for day in window)
    selected = _selected(data, filters)
    burners = _first_burns(data, filters)
    first = burners[burners["day"].between(start, end) & _focus_mask(data, burners["branch_id"], focus)]
    t = data.transactions.assign(day=data.transactions["ordered_at"].dt.normalize())
    days_of = t.groupby("customer_id")["day"].apply(lambda days: pd.Series(sorted(days), dtype="datetime64[ns]"))
    repeat = pd.Timedelta(days=retention.REPEAT_DAYS)

    def followed(days: pd.Series, anchor: pd.Timestamp) -> tuple[str, bool]:
        return _bracket(int((days < anchor).sum())), bool(((days > anchor) & (days <= anchor + repeat)).any())

    coupon_rows = [followed(days_of.get(customer, pd.Series(dtype="datetime64[ns]")), anchor)
                   for customer, anchor in first["day"].items()]
    others = t[t["customer_id"].isin(selected) & ~t["customer_id"].isin(burners.index)
               & t["day"].between(start, end)]
    raw_rows, comparable_rows = [], []
    for customer, window_days in others.groupby("customer_id")["day"]:
        days = days_of[customer]
        anchors = sorted(set(window_days))
        raw_rows.append(followed(days, anchors[0]))
        seen = set()
        for anchor in anchors:
            bracket, repeated = followed(days, anchor)
            if bracket not in seen:
                seen.add(bracket)
                comparable_rows.append((bracket, repeated))
    strata = pd.DataFrame({"prior_orders": [label for label, _, _ in HISTORIES]})
    for prefix, rows in (("coupon", coupon_rows), ("comparable", comparable_rows)):
        strata[f"{prefix}_customers"] = [sum(1 for b, _ in rows if b == s) for s in strata["prior_orders"]]
        strata[f"{prefix}_repeaters"] = [sum(1 for b, r in rows if b == s and r) for s in strata["prior_orders"]]
    weights = numerator = 0.0
    for row in strata.itertuples():
        if row.coupon_customers and row.comparable_customers:
            weights += row.coupon_customers
            numerator += row.coupon_customers * row.comparable_repeaters / row.comparable_customers
    other_repeaters = sum(1 for _, repeated in raw_rows if repeated)
    return {
        "anchor_start": window[0], "anchor_end": window[1], "strata": strata,
        "coupon_customers": int(strata["coupon_customers"].sum()),
        "other_customers": len(raw_rows),
        "coupon_rate": _rate(strata["coupon_repeaters"].sum(), strata["coupon_customers"].sum()),
        "other_rate": _rate(other_repeaters, len(raw_rows)),
        "comparable_rate": numerator / weights if weights else None,
    }


def assert_retention_matches(actual: retention.RetentionComparison, expected: dict) -> None:
    assert (actual.anchor_start, actual.anchor_end) == (expected["anchor_start"], expected["anchor_end"])
    assert_frames_equal(actual.strata, expected["strata"])
    _ints(actual.strata, actual.strata.columns[1:])
    for name in ("coupon_customers", "other_customers"):
        assert getattr(actual, name) == expected[name], name
    for name in ("coupon_rate", "other_rate", "comparable_rate"):
        assert getattr(actual, name) == pytest.approx(expected[name], rel=RTOL), name


def check_retention(warehouse: Warehouse, view: CouponView, data: Data, filters: Filters, focus: Focus) -> None:
    """The numbers of the anchor window the service reports, which must let everyone be followed.

    Whether it is the right window (or None) is `test_retention_anchor_window`'s business.
    """
    actual = retention.retention(warehouse, view)
    if actual is None:
        return
    period = _period(data, filters)
    assert actual.anchor_start == period.start
    assert actual.anchor_end <= min(period.end, data.last_day.date() - dt.timedelta(days=retention.REPEAT_DAYS))
    window = (actual.anchor_start, actual.anchor_end)
    assert_retention_matches(actual, _expected_retention(data, filters, focus, window))


def test_retention(data, connection, warehouse, case):
    check_retention(warehouse, _view(connection, warehouse, data, case), data, case.filters, case.focus)


def test_retention_anchor_window(data, connection, warehouse, case):
    """The anchor window is the period, ending at the latest REPEAT_DAYS days before the data does (module
    docstring): a closed period the data follows well past its end keeps all its days. None only when
    nothing of the period is left."""
    actual = retention.retention(warehouse, _view(connection, warehouse, data, case))
    window = _anchor_window(data, case.filters)
    assert (None if actual is None else (actual.anchor_start, actual.anchor_end)) == window
    if window is not None:
        assert_retention_matches(actual, _expected_retention(data, case.filters, case.focus, window))


def test_retention_needs_a_whole_repeat_window(data, connection, warehouse):
    """A period starting less than REPEAT_DAYS days before the data's end follows nobody; one day earlier, one day."""
    last = data.last_day.date()
    for filters in (Filters(start=last - dt.timedelta(days=retention.REPEAT_DAYS - 1)),
                    Filters(last - dt.timedelta(days=30), last - dt.timedelta(days=10))):
        view = _view(connection, warehouse, data, Case("short", filters, Focus()))
        assert retention.retention(warehouse, view) is None
        assert _anchor_window(data, filters) is None
    filters = Filters(start=last - dt.timedelta(days=retention.REPEAT_DAYS))
    actual = retention.retention(warehouse, _view(connection, warehouse, data, Case("one day", filters, Focus())))
    window = _anchor_window(data, filters)
    assert actual is not None and window[0] == window[1]
    assert_retention_matches(actual, _expected_retention(data, filters, Focus(), window))


def test_retention_finds_repeaters_on_the_whole_data(data, connection, warehouse):
    """The comparison is not vacuous on the demo data: both groups, several history brackets."""
    actual = retention.retention(warehouse, _view(connection, warehouse, data, Case("everything", Filters(), Focus())))
    assert actual.coupon_customers > 20 and actual.other_customers > 20
    assert (actual.strata["coupon_customers"] > 0).sum() >= 3
    assert 0 < actual.coupon_rate < 1 and 0 < actual.comparable_rate < 1


# ------------------------------------------------------------------ burn cohorts
def _months(stamps: pd.Series) -> pd.Series:
    return stamps.dt.year * 12 + stamps.dt.month - 1


def _expected_cohorts(data: Data, filters: Filters, focus: Focus) -> pd.DataFrame:
    columns = ["cohort", "months_since", "customers", "cohort_size", "share"]
    first = _first_burns(data, filters)
    first = first[_days_mask(first["occurred_at"], _period(data, filters))
                  & _focus_mask(data, first["branch_id"], focus)]
    if first.empty:
        return pd.DataFrame(columns=columns)
    cohort = _months(first["day"])
    orders = data.transactions[data.transactions["customer_id"].isin(first.index)]
    offsets = _months(orders["ordered_at"]) - orders["customer_id"].map(cohort)
    ordered = (orders.assign(cohort=orders["customer_id"].map(cohort), months_since=offsets)
               .groupby(["cohort", "months_since"])["customer_id"].nunique())
    sizes = cohort.value_counts()
    last = _months(pd.Series([data.last_day]))[0]
    rows = []
    for month in sorted(sizes.index):
        for k in range(min(COHORT_MONTHS, last - month) + 1):
            n = int(ordered.get((month, k), 0))
            rows.append((pd.Timestamp(int(month) // 12, int(month) % 12 + 1, 1), k, n, int(sizes[month]),
                         n / sizes[month]))
    return pd.DataFrame(rows, columns=columns)


def test_burn_cohorts(data, connection, warehouse, case):
    check_cohorts(warehouse, _view(connection, warehouse, data, case), data, case.filters, case.focus)


def check_cohorts(warehouse: Warehouse, view: CouponView, data: Data, filters: Filters, focus: Focus,
                  orders_at_burns: bool = True) -> None:
    actual = retention.burn_cohorts(warehouse, view)
    expected = _expected_cohorts(data, filters, focus)
    assert_frames_equal(actual, expected)
    if not expected.empty:
        _ints(actual, ["months_since", "customers", "cohort_size"])
        if orders_at_burns:  # in the demo data every burn is an order
            assert (actual.loc[actual["months_since"] == 0, "share"] == 1.0).all()


# ------------------------------------------------------------------ coupons and campaigns
COUPON_COLUMNS = ["coupon_id", "code", "campaign", "offer", "valid_from", "valid_to", *EVENTS, "burn_rate",
                  *MONEY, "margin_rate"]
CAMPAIGN_COLUMNS = ["campaign", "coupons", *EVENTS, "burn_rate", *MONEY, "margin_rate"]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _offer(pct, amount) -> str:
    parts = [f"{_number(pct)}% off"] if pd.notna(pct) else []
    parts += [f"${_number(amount)} off"] if pd.notna(amount) else []
    return " + ".join(parts) if parts else "–"


def _expected_coupons(data: Data, filters: Filters, focus: Focus) -> pd.DataFrame:
    events = _events(data, filters, focus)
    table = _counts(events, "coupon_id").join(_money(_coupon_orders(data, filters, focus), "coupon_id"), how="outer")
    table = table.reindex(columns=[*EVENTS, *MONEY]).fillna(0)
    table = table.astype({column: "int64" for column in (*EVENTS, "coupon_orders")})
    table = table.join(data.coupons).rename_axis("coupon_id").reset_index()
    table["campaign"] = table["campaign"].fillna(catalog.NO_CAMPAIGN)
    table["offer"] = [_offer(p, a) for p, a in zip(table["discount_pct"], table["discount_amount"])]
    table["burn_rate"] = _ratio(table["burned"], table["claimed"])
    table["margin_rate"] = _ratio(table["margin"], table["revenue"])
    return table.sort_values(["burned", "code"], ascending=[False, True])[COUPON_COLUMNS]


def _expected_campaigns(coupons: pd.DataFrame) -> pd.DataFrame:
    """From the pandas coupon table: per campaign, its coupons with activity and their sums."""
    if coupons.empty:
        return pd.DataFrame(columns=CAMPAIGN_COLUMNS)
    rows = []
    for name, part in coupons.groupby("campaign"):
        rows.append({"campaign": name, "coupons": len(part), **{c: part[c].sum() for c in [*EVENTS, *MONEY]}})
    table = pd.DataFrame(rows)
    table["burn_rate"] = _ratio(table["burned"], table["claimed"])
    table["margin_rate"] = _ratio(table["margin"], table["revenue"])
    return table.sort_values(["burned", "campaign"], ascending=[False, True])[CAMPAIGN_COLUMNS]


def test_coupon_and_campaign_tables(data, connection, warehouse, case):
    check_coupons(warehouse, _view(connection, warehouse, data, case), data, case.filters, case.focus)


def check_coupons(warehouse: Warehouse, view: CouponView, data: Data, filters: Filters, focus: Focus) -> None:
    actual = catalog.coupon_table(warehouse, view)
    expected = _expected_coupons(data, filters, focus)
    assert_frames_equal(actual, expected)
    campaigns = catalog.campaign_table(actual)
    assert_frames_equal(campaigns, _expected_campaigns(expected))
    if not expected.empty:
        _ints(actual, [*EVENTS, "coupon_orders"])
        _ints(campaigns, ["coupons", *EVENTS, "coupon_orders"])


def test_coupon_table_names_offers_and_campaigns(data, connection, warehouse):
    table = catalog.coupon_table(warehouse, _view(connection, warehouse, data, Case("everything", Filters(), Focus())))
    offers = dict(zip(table["code"], table["offer"]))
    assert offers["SAVE10-2022Q2"] == "10% off" and offers["TAKE15-2022Q3"] == "$15 off"
    assert offers["BLACKFRIDAY2022"] == "25% off"
    campaigns = set(catalog.campaign_table(table)["campaign"])
    assert campaigns == {catalog.NO_CAMPAIGN, "Loyalty rewards 2023"}


# ------------------------------------------------------------------ empty selections
@pytest.mark.parametrize("name", EMPTY_CASES)
def test_empty_selections_give_zeros_and_empty_frames(data, connection, warehouse, name):
    view = _view(connection, warehouse, data, Case(name, *CASES[name](data)))
    found = funnel.funnel(warehouse, view)
    assert found.empty and (found.issued, found.claimed, found.burned, found.expired, found.coupon_orders) == (0,) * 5
    assert (found.revenue, found.discount, found.margin) == (0.0, 0.0, 0.0)
    assert found.median_days_to_burn is None and found.claim_rate is None and found.burn_rate is None
    assert found.expiry_rate is None and found.revenue_per_discount_dollar is None
    assert funnel.data_quality(warehouse, view).ok
    for grain in ("day", "week", "month"):
        timeline = activity.timeline(warehouse, view, grain)
        assert timeline.empty and list(timeline.columns) == ["period", *EVENTS]
    usage = activity.usage_frequency(warehouse, view)
    assert usage.burns["customers"].sum() == 0 and list(usage.burns["bucket"]) == [b[0] for b in BURN_BUCKETS]
    assert (usage.coupon_users, usage.habitual_users, usage.one_time_users) == (0, 0, 0)
    assert usage.coupon_user_revenue_share is None and usage.habitual_revenue_share is None
    table = branches.branch_table(warehouse, view)
    assert table.empty and list(table.columns) == BRANCH_COLUMNS
    cities = branches.city_table(table)
    assert cities.empty and list(cities.columns) == CITY_COLUMNS
    attributes = users.user_attributes(warehouse, view)
    assert attributes.empty
    assert users.group_sizes(attributes) == {users.COUPON_USERS: 0, users.OTHERS: 0}
    assert all(users.split_by(attributes, attribute).empty for attribute in users.ATTRIBUTES)
    comparison = retention.retention(warehouse, view)
    if comparison is not None:
        assert comparison.coupon_customers == comparison.other_customers == 0
        assert comparison.coupon_rate is None and comparison.other_rate is None and comparison.comparable_rate is None
    assert retention.burn_cohorts(warehouse, view).empty
    coupons = catalog.coupon_table(warehouse, view)
    assert coupons.empty and list(coupons.columns) == COUPON_COLUMNS
    assert catalog.campaign_table(coupons).empty


# ------------------------------------------------------------------ broken rows, on a copy of the snapshot
@dataclass(frozen=True)
class Broken:
    data: Data  # the data with the broken rows
    snapshot: duckdb.DuckDBPyConnection
    unclaimed: tuple[int, ...]  # the customers with a burn the data cannot explain
    burner: int  # a customer whose first burn is now one without a branch
    burner_branch: int  # the branch of that customer's other burns
    late_customer: int  # a customer with an event after the last order day


def _fresh_coupon(events: pd.DataFrame, customer_id: int, codes: pd.DataFrame) -> int:
    """A coupon the customer never had an event of."""
    used = set(events.loc[events["customer_id"] == customer_id, "coupon_id"])
    return int(next(c for c in codes.index if c not in used))


def _broken_rows(data: Data) -> tuple[list[dict], dict, tuple[int, ...], int, int, int]:
    """Coupon events that break the claim-before-burn rule in each way, an event after the last order,
    a first burn without a branch, and a coupon order without any event (at a branch quiet on those days);
    returns the events, the order and the customers they concern."""
    people = data.customers[data.customers["country"].notna()].index
    a, b, c, d, late, e, f = (int(x) for x in people[[3, 10, 20, 30, 40, 50, 60]])
    events = data.events
    burns = events[events["event"] == "burned"].sort_values(["occurred_at", "id"])
    first = burns.drop_duplicates("customer_id")
    first = first[(first["occurred_at"] > pd.Timestamp(2021, 3, 1)) & (first["occurred_at"] < pd.Timestamp(2021, 9, 1))
                  & ~first["customer_id"].isin([a, b, c, d, late, e, f])]
    burner = first.iloc[0]
    early = burner["occurred_at"] - pd.Timedelta(days=20)

    def event(customer, coupon, name, when, branch=None):
        return {"customer_id": int(customer), "coupon_id": int(coupon), "event": name,
                "occurred_at": pd.Timestamp(when).to_pydatetime(), "branch_id": branch}

    ka, kb, kc, kd, kf = (_fresh_coupon(events, x, data.coupons) for x in (a, b, c, d, f))
    ke = _fresh_coupon(events, int(burner["customer_id"]), data.coupons)
    rows = [
        event(a, ka, "burned", "2022-06-01 12:00"),  # no claim at all
        event(b, kb, "claimed", "2022-06-02 10:00"),  # one claim, two burns
        event(b, kb, "burned", "2022-06-02 11:00"),
        event(b, kb, "burned", "2022-06-02 12:00"),
        event(c, kc, "burned", "2022-06-03 10:00"),  # the burn before its claim
        event(c, kc, "claimed", "2022-06-03 11:00"),
        event(f, kf, "burned", "2022-06-03 12:00"),  # a burn before the claim a later burn uses
        event(f, kf, "claimed", "2022-06-03 13:00"),
        event(f, kf, "burned", "2022-06-03 14:00"),
        event(d, kd, "burned", "2022-06-04 10:00:00"),  # same moment: the claim counts first, despite its id
        event(d, kd, "claimed", "2022-06-04 10:00:00"),
        event(late, kd, "expired", data.last_day + pd.Timedelta(days=10, hours=9)),  # after the last order
        event(burner["customer_id"], ke, "claimed", early - pd.Timedelta(hours=5)),  # first burn without a branch
        event(burner["customer_id"], ke, "burned", early),
    ]
    days = events[events["occurred_at"].between(pd.Timestamp(2022, 6, 1), pd.Timestamp(2022, 6, 5))]
    busy, used = days["branch_id"], set(days["coupon_id"])
    quiet = int(next(b for b in data.branches.index if b not in set(busy.dropna())))
    order = {"customer_id": e, "ordered_at": dt.datetime(2022, 6, 3, 15), "amount": 61.5, "discount": 6.83,
             "cost": 35.2, "category": "Home", "channel": "store", "branch_id": quiet,
             "coupon_id": int(next(k for k in data.coupons.index[::-1] if k not in {*used, ka, kb, kc, kd, ke}))}
    return rows, order, (a, b, c, f), int(burner["customer_id"]), int(burner["branch_id"]), late


@pytest.fixture(scope="module")
def broken(data, tmp_path_factory) -> Iterator[Broken]:
    """The data with the broken rows, and its snapshot; the rows are gone from the database before any test."""
    rows, order, unclaimed, burner, burner_branch, late = _broken_rows(data)
    with data.engine.begin() as writer:
        added = [writer.execute(insert(CouponEvent).values(**row)).inserted_primary_key[0] for row in rows]
        order_id = writer.execute(insert(Transaction).values(**order)).inserted_primary_key[0]
    try:
        with data.engine.connect() as reader:
            frames = _frames(reader)
        database = _open(data.engine, tmp_path_factory.mktemp("broken") / "analytics.duckdb")
    finally:
        with data.engine.begin() as writer:
            writer.execute(delete(CouponEvent).where(CouponEvent.id.in_(added)))
            writer.execute(delete(Transaction).where(Transaction.id == order_id))
    assert len(frames["events"]) == len(data.events) + len(rows)
    assert len(frames["transactions"]) == len(data.transactions) + 1
    yield Broken(replace(data, **frames), database, unclaimed, burner, burner_branch, late)
    database.close()


def _broken_view(broken: Broken, filters: Filters, focus: Focus = Focus()) -> tuple[Warehouse, CouponView]:
    warehouse = Warehouse(broken.snapshot.cursor(), broken.data.engine)
    view = coupon_view(warehouse, filters, broken.data.options, focus)
    assert view.period == _period(broken.data, filters)
    return warehouse, view


def test_data_quality_counts_burns_without_a_claim(broken):
    data = broken.data
    warehouse, view = _broken_view(broken, Filters())
    quality = funnel.data_quality(warehouse, view)
    # a burn without a claim, the second of two burns after one claim, a burn before its claim, and the
    # first of burn, claim, burn (the claim explains the second); not the burn at the moment of its claim
    assert (quality.unclaimed_burns, quality.customers) == (4, 4)
    assert not quality.ok
    assert _expected_quality(data.events, data.customers.index) == (4, 4)
    for filters in (Filters(countries=(data.customers.loc[broken.unclaimed[0], "country"],)),
                    Filters(dt.date(2020, 1, 1), dt.date(2020, 1, 31)), Filters(genders=("Female",))):
        warehouse, view = _broken_view(broken, filters)
        quality = funnel.data_quality(warehouse, view)  # over all days, for the filtered customers
        assert (quality.unclaimed_burns, quality.customers) == _expected_quality(data.events, _selected(data, filters))


def test_funnel_with_broken_rows(broken):
    """Burns without an earlier claim stay out of the time to burn; a claim at the burn's moment counts as 0 days."""
    data = broken.data
    for filters in (Filters(), Filters(dt.date(2022, 6, 1), dt.date(2022, 6, 30)), Filters(start=dt.date(2022, 6, 2))):
        warehouse, view = _broken_view(broken, filters)
        assert_funnel_matches(funnel.funnel(warehouse, view), _expected_funnel(data, filters, Focus()))
    june = Filters(dt.date(2022, 6, 1), dt.date(2022, 6, 4))
    warehouse, view = _broken_view(broken, june)
    expected = _expected_funnel(data, june, Focus())
    assert expected["median_days_to_burn"] is not None
    events = _events(data, june, Focus())
    assert expected["burned"] == int((events["event"] == "burned").sum()) >= 5
    assert_funnel_matches(funnel.funnel(warehouse, view), expected)


def test_events_after_the_last_order_count_in_an_open_period(broken):
    data = broken.data
    late = data.events[data.events["occurred_at"] > data.last_day + DAY]
    assert len(late) == 1 and late["event"].iloc[0] == "expired"
    expired = {}
    for name, filters in (("open", Filters()), ("from a start", Filters(start=dt.date(2023, 6, 1))),
                          ("to the last day", Filters(end=data.last_day.date())),
                          ("closed", Filters(dt.date(2023, 6, 1), data.last_day.date() - dt.timedelta(days=1)))):
        warehouse, view = _broken_view(broken, filters)
        found = funnel.funnel(warehouse, view)
        assert_funnel_matches(found, _expected_funnel(data, filters, Focus()))
        assert_frames_equal(activity.timeline(warehouse, view, "day"),
                            _expected_timeline(_events(data, filters, Focus()), "day"))
        expired[name] = found.expired
    assert expired["open"] == expired["to the last day"] == int((data.events["event"] == "expired").sum())
    assert expired["closed"] < expired["from a start"]


@pytest.mark.parametrize("service", ["retention", "cohorts"])
def test_first_burn_without_a_branch_is_not_at_the_focus_branch(broken, service):
    """A customer whose first ever burn had no branch is no coupon user of the branch of a later burn.

    The snapshot takes the first burn's branch with `arg_min(branch_id, occurred_at)` (schema.sql,
    `coupon_customers.first_burn_branch`), which skips NULL branches and so hands the first burn the
    branch of a later one.
    """
    data = broken.data
    focus = Focus(branch_id=broken.burner_branch)
    first = _first_burns(data, Filters()).loc[broken.burner]
    assert pd.isna(first["branch_id"])
    warehouse, view = _broken_view(broken, Filters(), focus)
    if service == "retention":
        window = _anchor_window(data, Filters())
        assert_retention_matches(retention.retention(warehouse, view),
                                 _expected_retention(data, Filters(), focus, window))
    else:
        assert_frames_equal(retention.burn_cohorts(warehouse, view), _expected_cohorts(data, Filters(), focus))


BROKEN_CASES = {
    "everything": (Filters(), Focus()),
    "the broken days": (Filters(dt.date(2022, 6, 1), dt.date(2022, 6, 4)), Focus()),
    "from the broken days": (Filters(start=dt.date(2022, 6, 2)), Focus()),
    "2021, city focus": (Filters(dt.date(2021, 1, 1), dt.date(2021, 12, 31)), Focus(city="New York")),
}


@pytest.mark.parametrize("check", [check_funnel, check_timeline, check_usage, check_branches, check_users,
                                   check_retention, check_cohorts, check_coupons], ids=lambda c: c.__name__)
def test_services_agree_with_pandas_on_the_broken_rows(broken, check):
    """Burns without an order or a claim, an event past the last order: every service still agrees."""
    for name, (filters, focus) in BROKEN_CASES.items():
        warehouse, view = _broken_view(broken, filters, focus)
        if check is check_cohorts:
            check(warehouse, view, broken.data, filters, focus, orders_at_burns=False)
        else:
            check(warehouse, view, broken.data, filters, focus)
