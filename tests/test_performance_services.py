"""The customer-performance services agree with an independent pandas computation from the raw tables.

One small demo data set per backend (SQLite and PostgreSQL), generated once for the module,
plus one customer whose every attribute is unknown and one saved segment. Every number the
services return (KPIs, breakdowns, trends, cohorts, top customers, customer detail) is
recomputed here with plain pandas from `customers`, `transactions`, `survey_responses`,
`coupon_events` and `saved_segment_members`; only the derived per-customer attributes (age,
age bracket, family status, profile, city, first order) come from `customer_summary`, which
the refresh tests check on their own.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from functools import cache, cached_property

import duckdb
import pandas as pd
import pytest
from sqlalchemy import Connection, Engine, delete, insert, select

from services.analytics.snapshot import build_snapshot, open_snapshot
from services.analytics.warehouse import Warehouse
from services.db import make_engine
from services.demo import DemoConfig, generate_demo_data
from services.filters import FilterOptions, Filters, filter_options
from services.models import (
    Branch,
    Coupon,
    CouponEvent,
    Customer,
    CustomerSummary,
    SavedSegment,
    SavedSegmentMember,
    SurveyResponse,
    Transaction,
)
from services.performance.breakdowns import (
    Dimension,
    breakdown,
    country_growth,
    leading_countries,
    top_cities,
)
from services.performance.cohorts import cohort_retention
from services.performance.customers import customer_detail, top_customers
from services.performance.insights import PerformanceFacts, insights
from services.performance.kpis import DEFAULT_CHURN_DAYS, PeriodKpis, kpi_report
from services.performance.trends import monthly, seasonality, year_over_year
from services.refresh import refresh
from services.rules import PROFILES, UNKNOWN
from services.selection import Period, period_of
from tests.conftest import clear_tables, opened_snapshot

DAY = pd.Timedelta(days=1)
RTOL = 1e-9
SHARES = ["customer_share", "revenue_share"]
SEGMENT_SIZE = 8
NO_DATA = FilterOptions((), None, None)  # what filter_options says about a database without orders


# ------------------------------------------------------------------ the data
@dataclass(frozen=True, eq=False)  # hashed by identity: the reference caches per data set
class Data:
    engine: Engine
    customers: pd.DataFrame  # one row per customer id: raw gender/country plus the derived attributes
    orders: pd.DataFrame  # transactions: id, customer_id, ordered_at, amount, category
    surveys: pd.DataFrame  # survey_responses
    coupons: pd.DataFrame  # coupon_events with the coupon code and branch name
    members: pd.DataFrame  # saved_segment_members
    segment_id: int
    unknown_id: int  # the customer with every attribute unknown

    @cached_property
    def first_day(self) -> pd.Timestamp:
        return self.orders["ordered_at"].min().normalize()

    @cached_property
    def last_day(self) -> pd.Timestamp:
        return self.orders["ordered_at"].max().normalize()

    @property
    def last_year(self) -> int:
        return self.last_day.year


def _read(connection: Connection, query, dates: tuple[str, ...] = ()) -> pd.DataFrame:
    frame = pd.read_sql(query, connection)
    return frame.assign(**{column: pd.to_datetime(frame[column]) for column in dates})


def _add_unknown_customer(connection: Connection, year: int) -> int:
    """A customer without country, city, age or children; orders and a survey on the half-year edges of `year`."""
    customer_id = connection.execute(insert(Customer).values(
        external_id="UNKNOWN-1", name="Ann Onymous", gender=UNKNOWN, country=None, city=None,
        birth_date=None, age=None, children=None)).inserted_primary_key[0]
    last_instant = dt.datetime(year, 6, 30, 23, 59, 59, 999999)
    connection.execute(insert(Transaction), [
        {"customer_id": customer_id, "ordered_at": dt.datetime(year - 1, 11, 15, 12), "amount": 80.25,
         "category": "Home"},
        {"customer_id": customer_id, "ordered_at": dt.datetime(year, 1, 1), "amount": 123.5, "category": None},
        {"customer_id": customer_id, "ordered_at": last_instant, "amount": 45.75, "category": None},
        {"customer_id": customer_id, "ordered_at": dt.datetime(year, 7, 1), "amount": 60.0, "category": "Toys"},
    ])
    connection.execute(insert(SurveyResponse).values(customer_id=customer_id, answered_at=last_instant,
                                                     nps_score=3, comment="meh"))
    return customer_id


def _add_segment(connection: Connection, unknown_id: int) -> int:
    """A saved segment of a few buyers spread over the id range, plus the unknown customer."""
    segment_id = connection.execute(insert(SavedSegment).values(name="Test segment")).inserted_primary_key[0]
    buyers = sorted(connection.scalars(select(Transaction.customer_id).distinct()))
    chosen = buyers[:: len(buyers) // (SEGMENT_SIZE - 1)][: SEGMENT_SIZE - 1] + [unknown_id]
    connection.execute(insert(SavedSegmentMember), [{"segment_id": segment_id, "customer_id": c} for c in chosen])
    return segment_id


def _load(engine: Engine) -> tuple[int, int]:
    generate_demo_data(engine, DemoConfig(customers=300, seed=11))
    with engine.begin() as connection:
        last = connection.scalar(select(Transaction.ordered_at).order_by(Transaction.ordered_at.desc()).limit(1))
        unknown_id = _add_unknown_customer(connection, last.year)
    refresh(engine)
    with engine.begin() as connection:
        return _add_segment(connection, unknown_id), unknown_id


def _frames(connection: Connection) -> dict[str, pd.DataFrame]:
    C, S, E, T = Customer.__table__.c, CustomerSummary.__table__.c, CouponEvent.__table__.c, Transaction.__table__.c
    customers = _read(connection, select(
        C.id, C.external_id, C.name, C.gender, C.country, S.city, S.age, S.age_bracket, S.family_status,
        S.profile, S.rfm_segment, S.first_order_at).join(CustomerSummary, S.customer_id == C.id),
        ("first_order_at",)).set_index("id")
    coupons = _read(connection, select(E.id, E.customer_id, E.occurred_at, E.event, Coupon.code,
                                       Branch.name.label("branch"))
                    .join(Coupon, Coupon.id == E.coupon_id).outerjoin(Branch, Branch.id == E.branch_id),
                    ("occurred_at",))
    return {
        "customers": customers,
        "orders": _read(connection, select(T.id, T.customer_id, T.ordered_at, T.amount, T.category), ("ordered_at",)),
        "surveys": _read(connection, select(SurveyResponse), ("answered_at",)),
        "coupons": coupons,
        "members": _read(connection, select(SavedSegmentMember)),
    }


@pytest.fixture(scope="module")
def data(database_url) -> Iterator[Data]:
    """The demo data set on each backend, loaded once; the tables are emptied before and after."""
    engine = make_engine(database_url)
    clear_tables(engine)
    try:
        segment_id, unknown_id = _load(engine)
        with engine.connect() as connection:
            frames = _frames(connection)
        yield Data(engine, segment_id=segment_id, unknown_id=unknown_id, **frames)
    finally:
        clear_tables(engine)
        engine.dispose()


@pytest.fixture
def connection(data) -> Iterator[Connection]:
    with data.engine.connect() as connection:
        yield connection


@pytest.fixture(scope="module")
def snapshot(data, tmp_path_factory) -> Iterator[duckdb.DuckDBPyConnection]:
    """The analytics snapshot of the data set, built once for the module."""
    with opened_snapshot(data.engine, tmp_path_factory.mktemp("analytics")) as database:
        yield database


@pytest.fixture
def warehouse(snapshot, data) -> Warehouse:
    return Warehouse(snapshot.cursor(), data.engine)


# ------------------------------------------------------------------ filter combinations
CASES: dict[str, Callable[[Data], Filters]] = {
    "everything": lambda d: Filters(),
    "one country": lambda d: Filters(countries=("Germany",)),
    "first half of the last year": lambda d: Filters(dt.date(d.last_year, 1, 1), dt.date(d.last_year, 6, 30)),
    "second half of the last year, two countries": lambda d: Filters(
        start=dt.date(d.last_year, 7, 1), countries=("United States", "Canada")),
    "up to the year before, women 31-50": lambda d: Filters(
        end=dt.date(d.last_year - 1, 12, 31), genders=("Female",), age_brackets=("31-40", "41-50")),
    "men 41-50": lambda d: Filters(genders=("Male",), age_brackets=("41-50",)),
    "unknown gender": lambda d: Filters(genders=(UNKNOWN,)),
    "scope": lambda d: Filters().with_scope(("Australia",)),
    "saved segment": lambda d: Filters(segment_id=d.segment_id),
    "country outside the scope": lambda d: Filters(countries=("Canada",)).with_scope(("Australia",)),
    "before the data": lambda d: Filters(dt.date(2019, 1, 1), dt.date(2019, 6, 30)),
    # Ends inside a month: the partial months come from the orders, whole ones from the roll-ups.
    "mid-month to mid-month": lambda d: Filters(dt.date(d.last_year - 1, 3, 17), dt.date(d.last_year, 8, 9)),
    "ten days": lambda d: Filters(dt.date(d.last_year, 5, 11), dt.date(d.last_year, 5, 20)),
    "from mid-month, one country": lambda d: Filters(start=dt.date(d.last_year - 2, 10, 15), countries=("Australia",)),
    "up to mid-month": lambda d: Filters(end=dt.date(d.last_year - 1, 6, 14)),
}
EMPTY_CASES = ("country outside the scope", "before the data")


@pytest.fixture(params=list(CASES))
def filters(request, data) -> Filters:
    return CASES[request.param](data)


def _options(connection: Connection, filters: Filters) -> FilterOptions:
    return filter_options(connection, filters.scope)


# ------------------------------------------------------------------ the pandas reference
def _selected(data: Data, filters: Filters) -> pd.Index:
    """Ids of the customers the customer filters and the scope let through."""
    customers = data.customers
    keep = pd.Series(True, index=customers.index)
    for column, allowed in (("country", filters.scope), ("country", filters.countries or None),
                            ("gender", filters.genders or None), ("age_bracket", filters.age_brackets or None)):
        if allowed is not None:
            keep &= customers[column].isin(allowed)
    if filters.segment_id is not None:
        keep &= customers.index.isin(data.members.loc[data.members["segment_id"] == filters.segment_id, "customer_id"])
    return customers.index[keep]


def _span(data: Data, filters: Filters) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last day of the selected period; open ends fall on the data's first and last order day."""
    start = pd.Timestamp(filters.start) if filters.start else data.first_day
    end = pd.Timestamp(filters.end) if filters.end else data.last_day
    return start, end


def _sums(orders: pd.DataFrame, keys) -> pd.DataFrame:
    """Distinct customers, orders, revenue and last order per key (missing keys kept)."""
    groups = orders.groupby(keys, dropna=False)
    return pd.DataFrame({"customers": groups["customer_id"].nunique(), "orders": groups.size(),
                         "revenue": groups["amount"].sum(), "last_order": groups["ordered_at"].max()})


def _within(stamps: pd.Series, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    return (stamps >= start) & (stamps < end + DAY)


@cache
def _orders_between(data: Data, filters: Filters, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """The selected customers' orders from day `start` to day `end`, with their attributes (cached: read only)."""
    orders = data.orders[data.orders["customer_id"].isin(_selected(data, filters))]
    return orders[_within(orders["ordered_at"], start, end)].join(data.customers, on="customer_id")


def _orders(data: Data, filters: Filters) -> pd.DataFrame:
    """The selected customers' orders in the selected period."""
    return _orders_between(data, filters, *_span(data, filters))


@dataclass(frozen=True)
class PeriodFacts:
    """The raw material of a period's KPIs."""

    orders: pd.DataFrame  # the selected customers' orders in the period
    per_customer: pd.DataFrame  # buyer id -> orders, revenue, ...
    churned: pd.Series  # per customer with an order by the period's end: silent for the last `churn_days`?
    scores: pd.Series  # NPS scores of the surveys answered in the period


def _period_facts(data: Data, filters: Filters, start: pd.Timestamp, end: pd.Timestamp,
                  churn_days: int) -> PeriodFacts:
    ids = _selected(data, filters)
    orders = _orders_between(data, filters, start, end)
    history = data.orders[data.orders["customer_id"].isin(ids) & (data.orders["ordered_at"] < end + DAY)]
    last_orders = history.groupby("customer_id")["ordered_at"].max()
    surveys = data.surveys[data.surveys["customer_id"].isin(ids) & _within(data.surveys["answered_at"], start, end)]
    return PeriodFacts(
        orders=orders,
        per_customer=_sums(orders, "customer_id"),
        churned=last_orders < end - pd.Timedelta(days=churn_days - 1),
        scores=surveys["nps_score"],
    )


def _expected_kpis(facts: PeriodFacts, data: Data) -> PeriodKpis:
    ages = data.customers.loc[facts.per_customer.index, "age"].dropna()
    return PeriodKpis(
        customers=len(facts.per_customer),
        average_age=float(ages.mean()) if len(ages) else None,
        revenue=float(facts.orders["amount"].sum()),
        orders=len(facts.orders),
        repeat_customers=int((facts.per_customer["orders"] >= 2).sum()),
        churn_base=len(facts.churned),
        churned=int(facts.churned.sum()),
        nps_responses=len(facts.scores),
        promoters=int((facts.scores >= 9).sum()),
        detractors=int((facts.scores <= 6).sum()),
    )


def _mean(values: pd.Series) -> float | None:
    return float(values.mean()) if len(values) else None


def _expected_ratios(facts: PeriodFacts) -> dict[str, float | None]:
    """The derived KPIs as averages over orders, buyers, customers and answers."""
    nps = _mean(100.0 * ((facts.scores >= 9).astype(int) - (facts.scores <= 6).astype(int)))
    return {
        "average_order_value": _mean(facts.orders["amount"]),
        "revenue_per_customer": _mean(facts.per_customer["revenue"]),
        "repeat_rate": _mean(facts.per_customer["orders"] >= 2),
        "churn_rate": _mean(facts.churned),
        "nps": nps,
    }


def _totals(orders: pd.DataFrame, keys: list) -> pd.DataFrame:
    """Customers, orders and revenue per key (columns or series; missing keys kept), with both shares."""
    totals = _sums(orders, keys).reset_index()
    return totals.assign(customer_share=totals["customers"] / totals["customers"].sum(),
                         revenue_share=totals["revenue"] / totals["revenue"].sum())


def _expected_breakdown(data: Data, filters: Filters, dimension: Dimension) -> pd.DataFrame:
    name = dimension.value[0]
    orders = _orders(data, filters)
    totals = _totals(orders, [orders[name].fillna(UNKNOWN)])
    if dimension.order is None:
        totals = totals.sort_values(["revenue", name], ascending=[False, True])
    else:
        totals = totals.sort_values(name, key=lambda keys: keys.map(list(dimension.order).index))
    return totals[[name, "customers", "orders", "revenue", *SHARES]]


def _expected_growth(data: Data, filters: Filters) -> pd.DataFrame:
    """Revenue per country in the 365 days up to the period's end against the 365 days before."""
    end = _span(data, filters)[1]
    recent_start = end - pd.Timedelta(days=364)
    earlier_start = recent_start - pd.Timedelta(days=365)
    columns = ["country", "revenue", "previous", "change"]
    if earlier_start < data.first_day:
        return pd.DataFrame(columns=columns)
    recent = _orders_between(data, filters, recent_start, end).groupby("country")["amount"].sum()
    earlier = _orders_between(data, filters, earlier_start, recent_start - DAY).groupby("country")["amount"].sum()
    frame = pd.DataFrame({"revenue": recent, "previous": earlier}).fillna(0.0).rename_axis("country").reset_index()
    frame = frame[frame["previous"] > 0].assign(change=lambda f: f["revenue"] / f["previous"] - 1.0)
    return frame.sort_values(["change", "country"], ascending=[False, True])[columns]


def _month(stamps: pd.Series) -> pd.Series:
    return stamps.dt.to_period("M").dt.to_timestamp()


def _expected_monthly(data: Data, filters: Filters) -> pd.DataFrame:
    orders = _orders(data, filters)
    return _sums(orders, _month(orders["ordered_at"]).rename("month")).reset_index()


def _months_apart(later: pd.Series, earlier: pd.Series) -> pd.Series:
    return (later.dt.year - earlier.dt.year) * 12 + later.dt.month - earlier.dt.month


def _expected_cohorts(data: Data, filters: Filters) -> pd.DataFrame:
    """Per cohort, every month from its first to the period's last, with the cohort's buyers (0 when none)."""
    start, end = _span(data, filters)
    members = data.customers.loc[_selected(data, filters)]
    members = members[_within(members["first_order_at"], start, end)]
    sizes = members.groupby(_month(members["first_order_at"])).size()
    orders = _orders(data, filters)
    orders = orders[orders["customer_id"].isin(members.index)]
    buyers = (orders.assign(cohort=_month(orders["first_order_at"]),
                            months_since=_months_apart(orders["ordered_at"], orders["first_order_at"]))
              .groupby(["cohort", "months_since"])["customer_id"].nunique())
    cells = [(cohort, offset) for cohort in sizes.index
             for offset in range((end.year - cohort.year) * 12 + end.month - cohort.month + 1)]
    frame = pd.DataFrame(cells, columns=["cohort", "months_since"])
    frame["customers"] = buyers.reindex(pd.MultiIndex.from_frame(frame), fill_value=0).to_numpy()
    frame["cohort_size"] = frame["cohort"].map(sizes)
    return frame.assign(share=frame["customers"] / frame["cohort_size"])


def _expected_top(data: Data, filters: Filters) -> pd.DataFrame:
    """Every buyer of the period, highest revenue first."""
    per_customer = _sums(_orders(data, filters), "customer_id").join(data.customers).reset_index()
    per_customer["last_order"] = per_customer["last_order"].dt.normalize()  # the day of the last order
    ranked = per_customer.sort_values(["revenue", "customer_id"], ascending=[False, True])
    return ranked[["customer_id", "external_id", "name", "country", "city", "profile", "rfm_segment",
                "orders", "revenue", "last_order"]]


# ------------------------------------------------------------------ comparison helpers
def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """Positional index, and None for every missing text (SQL hands back None, pandas NaN)."""
    frame = frame.reset_index(drop=True)
    gaps = [column for column in frame.columns
            if pd.api.types.is_string_dtype(frame[column]) and frame[column].isna().any()]
    return frame.assign(**{column: frame[column].astype(object).where(frame[column].notna(), None) for column in gaps})


def assert_frames_equal(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Same columns, rows in the same order, numbers equal to 1e-9 (dtypes and index ignored)."""
    assert list(actual.columns) == list(expected.columns)
    if expected.empty:
        assert actual.empty, actual
        return
    pd.testing.assert_frame_equal(_comparable(actual), _comparable(expected), check_dtype=False, rtol=RTOL)


def assert_kpis_match(actual: PeriodKpis, facts: PeriodFacts, data: Data) -> None:
    """Every field and every derived ratio of `actual` equals the pandas figures."""
    assert asdict(actual) == pytest.approx(asdict(_expected_kpis(facts, data)), rel=RTOL)
    ratios = {name: getattr(actual, name) for name in _expected_ratios(facts)}
    assert ratios == pytest.approx(_expected_ratios(facts), rel=RTOL)


# ------------------------------------------------------------------ filters and periods
def test_filter_options_follow_the_scope(data, connection):
    everything, scoped = filter_options(connection, None), filter_options(connection, ("Australia", "Atlantis"))
    assert everything.countries == tuple(sorted(data.customers["country"].dropna().unique()))
    assert scoped.countries == ("Australia",)
    for options in (everything, scoped):
        assert (options.first_date, options.last_date) == (data.first_day.date(), data.last_day.date())


def test_period_of_fills_open_ends_from_the_data(data, connection):
    options = filter_options(connection, None)
    first, last = data.first_day.date(), data.last_day.date()
    inner = (first + dt.timedelta(days=10), last - dt.timedelta(days=10))
    assert period_of(Filters(), options) == Period(first, last, open_start=True, open_end=True)
    assert period_of(Filters(*inner), options) == Period(*inner)
    assert period_of(Filters(start=inner[0]), options) == Period(inner[0], last, open_end=True)
    assert period_of(Filters(end=inner[1]), options) == Period(first, inner[1], open_start=True)
    wider = (first - dt.timedelta(days=100), last + dt.timedelta(days=100))
    assert period_of(Filters(*wider), options) == Period(*wider, open_start=True, open_end=True)
    assert period_of(Filters(), NO_DATA) is None


# ------------------------------------------------------------------ KPIs
def test_kpis_of_the_period_and_the_previous_one(data, connection, warehouse, filters):
    report = kpi_report(warehouse, filters, _options(connection, filters))
    start, end = _span(data, filters)
    assert (report.period.start, report.period.end) == (start.date(), end.date())
    assert report.churn_days == DEFAULT_CHURN_DAYS
    assert_kpis_match(report.current, _period_facts(data, filters, start, end, DEFAULT_CHURN_DAYS), data)
    previous_start, previous_end = start - (end - start + DAY), start - DAY
    assert (report.previous_period.start, report.previous_period.end) == (previous_start.date(), previous_end.date())
    if previous_start < data.first_day:
        assert report.previous is None
    else:
        facts = _period_facts(data, filters, previous_start, previous_end, DEFAULT_CHURN_DAYS)
        assert_kpis_match(report.previous, facts, data)


def test_previous_period_only_when_the_data_covers_it(data, connection, warehouse):
    options = filter_options(connection, None)
    assert kpi_report(warehouse, Filters(), options).previous is None
    half = kpi_report(warehouse, CASES["first half of the last year"](data), options)
    assert half.previous is not None and half.previous.customers > 0
    assert half.previous_period.days == half.period.days
    assert half.previous_period.end == half.period.start - dt.timedelta(days=1)


@pytest.mark.parametrize("case", ["everything", "first half of the last year"])
def test_churn_days_decide_who_churned(data, connection, warehouse, case):
    filters = CASES[case](data)
    options = filter_options(connection, None)
    start, end = _span(data, filters)
    churned = {}
    for days in (30, DEFAULT_CHURN_DAYS, 365):
        current = kpi_report(warehouse, filters, options, churn_days=days).current
        assert_kpis_match(current, _period_facts(data, filters, start, end, days), data)
        churned[days] = current.churned
    assert churned[30] > churned[DEFAULT_CHURN_DAYS] > churned[365] > 0



def test_without_any_data_every_service_answers_empty(connection, warehouse):
    filters = Filters()
    assert kpi_report(warehouse, filters, NO_DATA) is None
    frames = [breakdown(warehouse, filters, NO_DATA, dimension) for dimension in Dimension] + [
        top_cities(warehouse, filters, NO_DATA), leading_countries(warehouse, filters, NO_DATA),
        country_growth(warehouse, filters, NO_DATA), cohort_retention(warehouse, filters, NO_DATA),
        top_customers(warehouse, filters, NO_DATA)]
    months = monthly(warehouse, filters, NO_DATA)
    assert all(frame.empty for frame in [*frames, months, seasonality(months), year_over_year(months)])


def test_nps_counts_only_answers_inside_the_period(data, connection, tmp_path):
    """The open ends of the default period lie at the edges of the orders; answers beyond them stay outside."""
    customer_id = int(data.orders["customer_id"].iloc[0])
    outside = [data.first_day - pd.Timedelta(days=3), data.last_day + pd.Timedelta(days=3, hours=12)]
    with data.engine.begin() as writer:
        added = writer.execute(insert(SurveyResponse).returning(SurveyResponse.id), [
            {"customer_id": customer_id, "answered_at": day.to_pydatetime(), "nps_score": 10}
            for day in outside]).scalars().all()
    try:
        build_snapshot(data.engine, tmp_path / "with-outside-answers.duckdb")
        database = open_snapshot(tmp_path / "with-outside-answers.duckdb")
        assert database.execute("SELECT count(*) FROM surveys").fetchone()[0] == len(data.surveys) + 2
        report = kpi_report(Warehouse(database.cursor(), data.engine), Filters(), filter_options(connection, None))
        database.close()
        inside = _within(data.surveys["answered_at"], *_span(data, Filters()))
        assert report.current.nps_responses == int(inside.sum())
    finally:
        with data.engine.begin() as writer:
            writer.execute(delete(SurveyResponse).where(SurveyResponse.id.in_(added)))


# ------------------------------------------------------------------ breakdowns
@pytest.mark.parametrize("dimension", list(Dimension), ids=lambda d: d.name)
def test_breakdown(data, connection, warehouse, filters, dimension):
    actual = breakdown(warehouse, filters, _options(connection, filters), dimension)
    assert_frames_equal(actual, _expected_breakdown(data, filters, dimension))


def test_top_cities(data, connection, warehouse, filters):
    totals = _totals(_orders(data, filters), ["city", "country"])
    ranked = totals.dropna(subset=["city"]).sort_values(["revenue", "city"], ascending=[False, True])
    expected = ranked[["city", "country", "customers", "orders", "revenue", *SHARES]]
    options = _options(connection, filters)
    for limit in (3, 10):
        assert_frames_equal(top_cities(warehouse, filters, options, limit=limit), expected.head(limit))


def test_leading_countries(data, connection, warehouse, filters):
    orders = _orders(data, filters)
    revenue = orders.groupby([orders["family_status"], orders["country"].fillna(UNKNOWN)])["amount"].sum()
    frame = revenue.rename("revenue").reset_index()
    frame["share"] = frame["revenue"] / frame.groupby("family_status")["revenue"].transform("sum")
    expected = (frame.sort_values(["family_status", "revenue"], ascending=[True, False])
                .groupby("family_status").head(3))
    assert_frames_equal(leading_countries(warehouse, filters, _options(connection, filters)), expected)


def test_country_growth(data, connection, warehouse, filters):
    actual = country_growth(warehouse, filters, _options(connection, filters))
    assert_frames_equal(actual, _expected_growth(data, filters))


# ------------------------------------------------------------------ trends and cohorts
def test_monthly_seasonality_and_year_over_year(data, connection, warehouse, filters):
    months = monthly(warehouse, filters, _options(connection, filters))
    expected = _expected_monthly(data, filters)
    assert_frames_equal(months, expected[["month", "revenue", "orders", "customers"]])

    revenue = expected.assign(year=expected["month"].dt.year, month_of_year=expected["month"].dt.month)
    grid = revenue.set_index(["year", "month_of_year"])["revenue"].unstack().reindex(columns=range(1, 13))
    pd.testing.assert_frame_equal(seasonality(months), grid, check_dtype=False, check_names=False,
                                  check_index_type=False, check_column_type=False, rtol=RTOL)

    earlier = expected.assign(month=expected["month"] + pd.DateOffset(years=1))[["month", "revenue"]]
    yoy = expected[["month", "revenue"]].merge(earlier.rename(columns={"revenue": "previous"}), on="month")
    yoy = yoy[yoy["previous"] > 0].assign(change=lambda f: f["revenue"] / f["previous"] - 1.0)
    assert_frames_equal(year_over_year(months), yoy)


def test_cohort_retention(data, connection, warehouse, filters):
    actual = cohort_retention(warehouse, filters, _options(connection, filters))
    assert_frames_equal(actual, _expected_cohorts(data, filters))


# ------------------------------------------------------------------ customers
def test_top_customers(data, connection, warehouse, filters):
    options, expected = _options(connection, filters), _expected_top(data, filters)
    for limit in (3, 25):
        actual = top_customers(warehouse, filters, options, limit=limit)
        assert_frames_equal(actual, expected.head(limit))
        assert actual["revenue"].is_monotonic_decreasing


def _expected_detail(data: Data, customer_id: int) -> dict[str, pd.DataFrame]:
    orders = data.orders[data.orders["customer_id"] == customer_id]
    by_month = _sums(orders, _month(orders["ordered_at"]).rename("month")).reset_index()
    categories = (_sums(orders, orders["category"].fillna("Uncategorised")).reset_index()
                  .sort_values("revenue", ascending=False))
    coupons = data.coupons[data.coupons["customer_id"] == customer_id].sort_values(
        ["occurred_at", "id"], ascending=False)
    surveys = data.surveys[data.surveys["customer_id"] == customer_id].sort_values("answered_at", ascending=False)
    return {
        "monthly_orders": by_month[["month", "orders", "revenue"]],
        "categories": categories[["category", "orders", "revenue"]],
        "coupons": coupons[["occurred_at", "event", "code", "branch"]],
        "surveys": surveys[["answered_at", "nps_score", "comment"]],
    }


def _detailed_customers(data: Data) -> list[int]:
    """The biggest spender, the customer with the most coupon events and survey answers, and the unknown one."""
    activity = pd.concat([data.orders["customer_id"], data.coupons["customer_id"], data.surveys["customer_id"]])
    biggest = data.orders.groupby("customer_id")["amount"].sum().idxmax()
    return [int(biggest), int(activity.value_counts().idxmax()), data.unknown_id]


def test_customer_detail_matches_the_raw_history(data, connection):
    for customer_id in _detailed_customers(data):
        detail = customer_detail(connection, customer_id, None)
        customer = data.customers.loc[customer_id]
        assert (detail.profile["external_id"], detail.profile["name"]) == (customer["external_id"], customer["name"])
        assert detail.profile["customer_id"] == customer_id
        for name, expected in _expected_detail(data, customer_id).items():
            assert_frames_equal(getattr(detail, name), expected)


def test_customer_detail_respects_the_scope(data, connection):
    customers = data.customers
    australian = int(customers.index[customers["country"] == "Australia"][0])
    canadian = int(customers.index[customers["country"] == "Canada"][0])
    assert customer_detail(connection, australian, ("Australia",)) is not None
    assert customer_detail(connection, canadian, ("Australia",)) is None
    assert customer_detail(connection, canadian, ("Australia", "Canada")) is not None
    assert customer_detail(connection, data.unknown_id, ("Australia",)) is None
    assert customer_detail(connection, int(customers.index.max()) + 1, None) is None


# ------------------------------------------------------------------ insights
def _facts(connection: Connection, warehouse: Warehouse, filters: Filters) -> PerformanceFacts:
    options = _options(connection, filters)

    def split(dimension: Dimension) -> pd.DataFrame:
        return breakdown(warehouse, filters, options, dimension)

    return PerformanceFacts(kpi_report(warehouse, filters, options), split(Dimension.AGE_BRACKET),
                            split(Dimension.PROFILE), split(Dimension.GENDER), split(Dimension.FAMILY_STATUS),
                            country_growth(warehouse, filters, options))


def _first_mentioned(text: str, names) -> str | None:
    """The name that occurs first in the text (whole words only)."""
    found = {name: match.start() for name in names if (match := re.search(rf"\b{re.escape(name)}\b", text))}
    return min(found, key=found.get) if found else None


@pytest.mark.parametrize("case", ["everything", "one country", "first half of the last year", "men 41-50"])
def test_insights_name_the_leaders_pandas_finds(data, connection, warehouse, case):
    filters = CASES[case](data)
    text = " ".join(insights(_facts(connection, warehouse, filters)))
    orders = _orders(data, filters)
    top_profile = orders.groupby("profile")["amount"].sum().idxmax()
    assert _first_mentioned(text, PROFILES) == top_profile
    growth = _expected_growth(data, filters)
    countries = data.customers["country"].dropna().unique()
    assert _first_mentioned(text, countries) == (growth["country"].iloc[0] if len(growth) else None)
    top_gender = orders.groupby("gender")["amount"].sum().idxmax()
    assert _first_mentioned(text, ("Female", "Male", "Other", UNKNOWN)) == top_gender


def test_insights_follow_the_filters(data, connection, warehouse):
    sentences = {case: insights(_facts(connection, warehouse, CASES[case](data)))
                 for case in ("everything", "one country", "men 41-50")}
    assert all(4 <= len(found) <= 6 for found in sentences.values()), sentences
    assert len({tuple(found) for found in sentences.values()}) == len(sentences)


# ------------------------------------------------------------------ empty selections
@pytest.mark.parametrize("case", EMPTY_CASES)
def test_empty_selections_give_zeros_and_empty_frames(data, connection, warehouse, case):
    filters = CASES[case](data)
    options = _options(connection, filters)
    report = kpi_report(warehouse, filters, options)
    assert (report.current.customers, report.current.orders, report.current.revenue) == (0, 0, 0.0)
    assert report.current.average_age is None and report.current.nps is None
    assert report.current.average_order_value is None and report.current.repeat_rate is None
    frames = [breakdown(warehouse, filters, options, dimension) for dimension in Dimension] + [
        top_cities(warehouse, filters, options), leading_countries(warehouse, filters, options),
        country_growth(warehouse, filters, options), monthly(warehouse, filters, options),
        cohort_retention(warehouse, filters, options),
        top_customers(warehouse, filters, options)]
    assert all(frame.empty for frame in frames)
    assert year_over_year(monthly(warehouse, filters, options)).empty
    assert insights(_facts(connection, warehouse, filters)) == []


@pytest.mark.parametrize("candidates, most", [(1, 100_000), (1, 0)], ids=["second round", "every buyer"])
def test_top_customers_in_every_ranking_round(data, connection, warehouse, monkeypatch, candidates, most):
    """Too few candidates at first: the contenders are ranked next, or every buyer past `MAX_CONTENDERS`."""
    from services.performance import customers

    monkeypatch.setattr(customers, "RANK_DIRECTLY_UP_TO", 0)
    monkeypatch.setattr(customers, "TOP_CANDIDATES", candidates)
    monkeypatch.setattr(customers, "MAX_CONTENDERS", most)
    for case in ("first half of the last year", "mid-month to mid-month", "from mid-month, one country"):
        filters = CASES[case](data)
        actual = top_customers(warehouse, filters, _options(connection, filters), limit=5)
        assert_frames_equal(actual, _expected_top(data, filters).head(5))
