"""The seasonality services agree with an independent pandas computation from the raw tables.

One small demo data set per backend (SQLite and PostgreSQL), generated once for the module, plus
one saved segment. Every number `services.seasonality` returns (revenue by month of the year,
the weekday × hour grid, the timing summary, complete-week revenue, its STL decomposition and the
named peak periods) is recomputed here with plain pandas from `transactions`, with the customer
attributes (country, gender, age bracket) from `customer_summary` and the segment from
`saved_segment_members`. The period is derived here on its own too: the filters' dates clipped
to the first and last order day.

The demo plants a November-December peak and busier weekends (`services/demo/calendar.py`);
the last tests check that the services find them.
"""
from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache, cached_property

import duckdb
import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Connection, Engine, insert, select
from statsmodels.tsa.seasonal import STL

from services.analytics.warehouse import Warehouse
from services.db import make_engine
from services.demo import DemoConfig, generate_demo_data
from services.filters import FilterOptions, Filters, filter_options
from services.models import CustomerSummary, SavedSegment, SavedSegmentMember, Transaction
from services.refresh import refresh
from services.seasonality import (
    Decomposition,
    Peak,
    by_month_of_year,
    by_weekday_hour,
    decompose,
    peak_periods,
    timing_summary,
    weekly_revenue,
)
from services.seasonality.peaks import period_name
from tests.conftest import clear_tables, opened_snapshot

CUSTOMERS, SEED = 800, 5
RTOL, STL_TOL = 1e-9, 1e-6
PERIOD = 52
NO_DATA = FilterOptions((), None, None)
DAY, WEEK = pd.Timedelta(days=1), pd.Timedelta(days=7)


# ------------------------------------------------------------------ the data
@dataclass(frozen=True, eq=False)  # hashed by identity: the reference caches per data set
class Data:
    engine: Engine
    customers: pd.DataFrame  # customer_summary's country, gender, age_bracket, by customer id
    transactions: pd.DataFrame  # customer_id, ordered_at, amount
    members: pd.DataFrame  # saved_segment_members
    segment_id: int

    @cached_property
    def first_day(self) -> pd.Timestamp:
        return self.transactions["ordered_at"].min().normalize()

    @cached_property
    def last_day(self) -> pd.Timestamp:
        return self.transactions["ordered_at"].max().normalize()


def _add_segment(connection: Connection) -> int:
    """A saved segment of every fifth buyer."""
    segment_id = connection.execute(insert(SavedSegment).values(name="Seasonality test segment")).inserted_primary_key[0]
    buyers = sorted(connection.scalars(select(Transaction.customer_id).distinct()))
    connection.execute(insert(SavedSegmentMember), [{"segment_id": segment_id, "customer_id": c} for c in buyers[::5]])
    return segment_id


@pytest.fixture(scope="module")
def data(database_url) -> Iterator[Data]:
    """The demo data set on each backend, loaded once; the tables are emptied before and after."""
    engine = make_engine(database_url)
    clear_tables(engine)
    try:
        generate_demo_data(engine, DemoConfig(customers=CUSTOMERS, seed=SEED))
        refresh(engine)
        with engine.begin() as connection:
            segment_id = _add_segment(connection)
        S, T = CustomerSummary.__table__.c, Transaction.__table__.c
        with engine.connect() as connection:
            customers = pd.read_sql(select(S.customer_id.label("id"), S.country, S.gender, S.age_bracket),
                                    connection).set_index("id")
            transactions = pd.read_sql(select(T.customer_id, T.ordered_at, T.amount), connection)
            members = pd.read_sql(select(SavedSegmentMember), connection)
        transactions["ordered_at"] = pd.to_datetime(transactions["ordered_at"])
        yield Data(engine, customers, transactions, members, segment_id)
    finally:
        clear_tables(engine)
        engine.dispose()


@pytest.fixture(scope="module")
def snapshot(data, tmp_path_factory) -> Iterator[duckdb.DuckDBPyConnection]:
    with opened_snapshot(data.engine, tmp_path_factory.mktemp("seasonality")) as database:
        yield database


@pytest.fixture
def warehouse(snapshot, data) -> Warehouse:
    return Warehouse(snapshot.cursor(), data.engine)


# ------------------------------------------------------------------ filter cases
CASES: dict[str, Callable[[Data], Filters]] = {
    "everything": lambda d: Filters(),
    "one country": lambda d: Filters(countries=("Germany",)),
    "women 41-60": lambda d: Filters(genders=("Female",), age_brackets=("41-50", "51-60")),
    "Wednesday to Thursday": lambda d: Filters(dt.date(2020, 9, 16), dt.date(2023, 3, 9)),
    "from a Sunday": lambda d: Filters(start=dt.date(2021, 2, 7)),
    "one year": lambda d: Filters(dt.date(2023, 1, 1), dt.date(2023, 12, 31)),
    "saved segment": lambda d: Filters(segment_id=d.segment_id),
    "scope": lambda d: Filters().with_scope(("Australia",)),
    "country outside the scope": lambda d: Filters(countries=("Canada",)).with_scope(("Australia",)),
    "before the data": lambda d: Filters(dt.date(2019, 1, 1), dt.date(2019, 6, 30)),
    "after the data": lambda d: Filters(start=dt.date(2024, 3, 1)),
}
NOBODY, EMPTY_PERIODS = ("country outside the scope",), ("before the data", "after the data")


@dataclass(frozen=True)
class Case:
    name: str
    filters: Filters


@pytest.fixture(params=list(CASES))
def case(request, data) -> Case:
    return Case(request.param, CASES[request.param](data))


def _options(data: Data, filters: Filters) -> FilterOptions:
    with data.engine.connect() as connection:
        return filter_options(connection, filters.scope)


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
        keep &= customers.index.isin(data.members.loc[data.members["segment_id"] == filters.segment_id, "customer_id"])
    return customers.index[keep]


def _span(data: Data, filters: Filters) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The filters' days clipped to the first and last order day; None when nothing is left."""
    start = max(pd.Timestamp(filters.start) if filters.start else data.first_day, data.first_day)
    end = min(pd.Timestamp(filters.end) if filters.end else data.last_day, data.last_day)
    return (start, end) if start <= end else None


@cache
def _orders(data: Data, filters: Filters) -> pd.DataFrame:
    """The selected customers' orders in the span, with their day."""
    t = data.transactions.assign(day=data.transactions["ordered_at"].dt.normalize())
    span = _span(data, filters)
    if span is None:
        return t.iloc[:0]
    return t[t["customer_id"].isin(_selected(data, filters)) & t["day"].between(*span)]


def _expected_months(data: Data, filters: Filters) -> pd.DataFrame:
    orders = _orders(data, filters)
    span = _span(data, filters)
    rows = []
    for month in range(1, 13):
        years = days = 0
        for year in (range(span[0].year, span[1].year + 1) if span else ()):
            first = pd.Timestamp(year, month, 1)
            last = first + pd.offsets.MonthEnd(0)
            overlap = (min(last, span[1]) - max(first, span[0])).days + 1
            if overlap > 0:
                years, days = years + 1, days + overlap
        inside = orders[orders["day"].dt.month == month]
        revenue = float(inside["amount"].sum())
        rows.append((month, revenue, len(inside), years, days, revenue / years if years else np.nan,
                     revenue / days if days else np.nan))
    return pd.DataFrame(rows, columns=["month", "revenue", "orders", "years", "days", "average_revenue",
                                       "daily_revenue"])


def _weekday_days(data: Data, filters: Filters) -> list[int]:
    """How many Mondays, Tuesdays, ... the span has."""
    span = _span(data, filters)
    counts = [0] * 7
    day = span[0] if span else None
    while span and day <= span[1]:
        counts[day.weekday()] += 1
        day += DAY
    return counts


def _expected_grid(data: Data, filters: Filters) -> pd.DataFrame:
    orders = _orders(data, filters)
    groups = orders.groupby([orders["day"].dt.day_of_week.rename("weekday"), orders["ordered_at"].dt.hour.rename("hour")])
    cells = pd.MultiIndex.from_product([range(7), range(24)], names=["weekday", "hour"])
    frame = pd.DataFrame({"revenue": groups["amount"].sum(), "orders": groups.size()}).reindex(cells, fill_value=0)
    frame = frame.reset_index()
    return frame.assign(days=[_weekday_days(data, filters)[w] for w in frame["weekday"]])


def _expected_weekly(data: Data, filters: Filters) -> pd.DataFrame:
    span = _span(data, filters)
    if span is None:
        return pd.DataFrame(columns=["week", "revenue", "orders"])
    mondays = [day for day in pd.date_range(*span) if day.weekday() == 0 and day + 6 * DAY <= span[1]]
    orders = _orders(data, filters)
    week = orders["day"] - pd.to_timedelta(orders["day"].dt.day_of_week, unit="D")
    groups = orders.groupby(week)
    frame = pd.DataFrame({"revenue": groups["amount"].sum(), "orders": groups.size()})
    frame = frame.reindex(pd.DatetimeIndex(mondays), fill_value=0)
    return frame.rename_axis("week").reset_index()


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.reset_index(drop=True).copy()
    for column in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            frame[column] = frame[column].astype("datetime64[ns]")
    return frame


def assert_frames_equal(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Same columns, same rows in the same order, numbers equal to 1e-9 (dtypes ignored)."""
    assert list(actual.columns) == list(expected.columns)
    assert len(actual) == len(expected)
    if len(expected):
        pd.testing.assert_frame_equal(_comparable(actual), _comparable(expected), check_dtype=False, rtol=RTOL)


def _ints(frame: pd.DataFrame, columns) -> None:
    for column in columns:
        assert pd.api.types.is_integer_dtype(frame[column]), (column, frame[column].dtype)


# ------------------------------------------------------------------ the cases are what they claim
def test_cases_select_what_they_should(data):
    for name, make in CASES.items():
        orders = _orders(data, make(data))
        assert orders.empty == (name in NOBODY + EMPTY_PERIODS), name
    wednesday, thursday = CASES["Wednesday to Thursday"](data).start, CASES["Wednesday to Thursday"](data).end
    assert (wednesday.weekday(), thursday.weekday()) == (2, 3)
    assert CASES["from a Sunday"](data).start.weekday() == 6
    assert data.first_day.weekday() != 0  # the data itself starts mid-week: a partial first week
    assert 0 < len(_selected(data, CASES["saved segment"](data))) < len(data.customers)


# ------------------------------------------------------------------ month of the year
def test_by_month_of_year(warehouse, data, case):
    actual = by_month_of_year(warehouse, case.filters, _options(data, case.filters))
    expected = _expected_months(data, case.filters)
    assert_frames_equal(actual, expected)
    _ints(actual, ["month", "orders", "years", "days"])
    assert actual["revenue"].sum() == pytest.approx(_orders(data, case.filters)["amount"].sum(), rel=RTOL)


# ------------------------------------------------------------------ weekday × hour
def test_by_weekday_hour(warehouse, data, case):
    actual = by_weekday_hour(warehouse, case.filters, _options(data, case.filters))
    assert len(actual) == 168
    assert_frames_equal(actual, _expected_grid(data, case.filters))
    _ints(actual, ["weekday", "hour", "orders", "days"])


def test_timing_summary(warehouse, data, case):
    summary = timing_summary(warehouse, case.filters, _options(data, case.filters))
    orders = _orders(data, case.filters)
    days = _weekday_days(data, case.filters)
    if orders.empty:
        assert (summary.peak_weekday, summary.peak_hour, summary.peak_hour_share) == (None, None, None)
        assert summary.peak_weekday_name is None
    else:
        by_weekday = orders.groupby(orders["day"].dt.day_of_week)["amount"].sum().reindex(range(7), fill_value=0.0)
        daily = pd.Series([by_weekday[w] / days[w] if days[w] else np.nan for w in range(7)])
        by_hour = orders.groupby(orders["ordered_at"].dt.hour)["amount"].sum()
        assert summary.peak_weekday == int(daily.idxmax())
        assert summary.peak_weekday_name == f"{pd.Timestamp(2024, 1, 1 + summary.peak_weekday):%A}"  # 1 Jan: Monday
        assert summary.peak_weekday_daily_revenue == pytest.approx(daily.max(), rel=RTOL)
        assert summary.peak_hour == int(by_hour.idxmax())
        assert summary.peak_hour_share == pytest.approx(by_hour.max() / orders["amount"].sum(), rel=RTOL)
    weekend = orders["day"].dt.day_of_week >= 5
    work_days, weekend_days = sum(days[:5]), sum(days[5:])
    expected_work = orders.loc[~weekend, "amount"].sum() / work_days if work_days else None
    expected_weekend = orders.loc[weekend, "amount"].sum() / weekend_days if weekend_days else None
    assert summary.weekday_daily_revenue == pytest.approx(expected_work, rel=RTOL)
    assert summary.weekend_daily_revenue == pytest.approx(expected_weekend, rel=RTOL)
    if expected_work:
        assert summary.weekend_uplift == pytest.approx(expected_weekend / expected_work - 1.0, rel=RTOL)
    else:
        assert summary.weekend_uplift is None


# ------------------------------------------------------------------ weekly revenue and STL
def test_weekly_revenue(warehouse, data, case):
    actual = weekly_revenue(warehouse, case.filters, _options(data, case.filters))
    expected = _expected_weekly(data, case.filters)
    assert_frames_equal(actual, expected)
    assert str(actual["week"].dtype) == "datetime64[ns]"
    _ints(actual, ["orders"])
    if len(actual):
        assert (actual["week"].dt.day_of_week == 0).all()
        span = _span(data, case.filters)
        assert actual["week"].iloc[0] >= span[0] and actual["week"].iloc[-1] + 6 * DAY <= span[1]
        assert actual["week"].iloc[0] - WEEK < span[0]  # no complete week left out at either edge
        assert actual["week"].iloc[-1] + 13 * DAY > span[1]


def test_decompose(warehouse, data, case):
    weekly = weekly_revenue(warehouse, case.filters, _options(data, case.filters))
    result = decompose(weekly)
    expected = _expected_weekly(data, case.filters)
    if len(expected) < 2 * PERIOD:
        assert isinstance(result, str)
        assert "104 complete weeks" in result and f"has {len(expected)}." in result
        return
    if not expected["revenue"].any():
        assert result == "The selected customers have no revenue in the period's complete weeks."
        return
    assert isinstance(result, Decomposition)
    fit = STL(expected["revenue"].to_numpy(dtype=float), period=PERIOD, robust=True).fit()
    frame = result.frame
    assert list(frame.columns) == ["week", "revenue", "trend", "seasonal", "resid"]
    assert (frame["week"].to_numpy() == expected["week"].to_numpy()).all()
    for column, values in (("revenue", expected["revenue"]), ("trend", fit.trend), ("seasonal", fit.seasonal),
                           ("resid", fit.resid)):
        np.testing.assert_allclose(frame[column].to_numpy(), np.asarray(values, dtype=float), rtol=0, atol=STL_TOL,
                                   err_msg=column)
    strength = max(0.0, 1.0 - np.var(fit.resid) / np.var(fit.seasonal + fit.resid))
    assert result.strength == pytest.approx(strength, abs=STL_TOL)
    assert result.period == PERIOD
    assert_peaks_equal(peak_periods(result), _expected_peaks(pd.DataFrame(
        {"week": expected["week"], "trend": fit.trend, "seasonal": fit.seasonal})))


# ------------------------------------------------------------------ peak periods
def _typical(mondays: list[pd.Timestamp]) -> dt.date:
    """The lower median of one week of the year's Mondays, by days since 1 January of their ISO year."""
    ordered = sorted(mondays, key=lambda day: (day - pd.Timestamp(day.isocalendar()[0], 1, 1)).days)
    return ordered[(len(ordered) - 1) // 2].date()


def _expected_peaks(frame: pd.DataFrame, top: int = 3, share: float = 0.5) -> list[Peak]:
    """Runs of weeks of the year above half the largest average seasonal effect, found by rotating the
    year to start below the threshold, so a run across New Year is one run."""
    week_of_year = pd.Series([day.isocalendar()[1] for day in frame["week"]], index=frame.index)
    profile = frame["seasonal"].groupby(week_of_year).mean().sort_index()
    if profile.max() <= 1e-9 * frame["trend"].abs().mean():  # rounding error of a flat series
        return []
    weeks, above = list(profile.index), list(profile > share * profile.max())
    if not all(above):
        shift = above.index(False)
        weeks, above = weeks[shift:] + weeks[:shift], above[shift:] + above[:shift]
    peaks = []
    for inside, run in itertools.groupby(zip(weeks, above), key=lambda pair: pair[1]):
        if not inside:
            continue
        run_weeks = tuple(int(week) for week, _ in run)
        rows = week_of_year.isin(run_weeks)
        trend = frame.loc[rows, "trend"].sum()
        start = _typical([day for day, w in zip(frame["week"], week_of_year) if w == run_weeks[0]])
        end = _typical([day for day, w in zip(frame["week"], week_of_year) if w == run_weeks[-1]]) \
            + dt.timedelta(days=6)
        peaks.append(Peak(period_name(start, end), run_weeks, start, end,
                          100.0 * frame.loc[rows, "seasonal"].sum() / trend if trend > 0 else None,
                          float(profile[list(run_weeks)].sum())))
    return sorted(peaks, key=lambda peak: peak.extra_revenue, reverse=True)[:top]


def assert_peaks_equal(actual: list[Peak], expected: list[Peak]) -> None:
    """Same peaks in the same order: weeks, dates and names exactly, uplift and extra revenue to 1e-6."""
    assert [(p.name, p.weeks, p.start, p.end) for p in actual] == [(p.name, p.weeks, p.start, p.end) for p in expected]
    for mine, theirs in zip(actual, expected):
        assert mine.uplift == pytest.approx(theirs.uplift, rel=STL_TOL)
        assert mine.extra_revenue == pytest.approx(theirs.extra_revenue, rel=STL_TOL)


@pytest.mark.parametrize(("start", "end", "name"), [
    (dt.date(2023, 11, 16), dt.date(2023, 12, 27), "mid-November to late December"),
    (dt.date(2023, 11, 6), dt.date(2023, 12, 31), "early November to late December"),
    (dt.date(2023, 12, 1), dt.date(2023, 12, 10), "early December"),
    (dt.date(2023, 11, 11), dt.date(2023, 11, 20), "mid-November"),
    (dt.date(2023, 12, 4), dt.date(2023, 12, 24), "early to late December"),
    (dt.date(2023, 12, 18), dt.date(2024, 1, 7), "mid-December to early January"),
    (dt.date(2023, 3, 27), dt.date(2023, 4, 16), "late March to mid-April"),
])
def test_period_name(start, end, name):
    assert period_name(start, end) == name


def _synthetic(bumped: set[int], weeks: int = 4 * PERIOD, seed: int = 3) -> pd.DataFrame:
    """Weekly revenue of 1000 plus noise, 600 more in the given ISO weeks of the year."""
    mondays = pd.date_range("2020-01-06", periods=weeks, freq="7D")
    noise = np.random.default_rng(seed).normal(0.0, 30.0, weeks)
    revenue = 1000.0 + noise + np.array([600.0 if day.isocalendar()[1] in bumped else 0.0 for day in mondays])
    return pd.DataFrame({"week": mondays, "revenue": revenue, "orders": np.full(weeks, 10)})


def test_peaks_across_new_year():
    """A peak over the turn of the year is one period, named from December to January."""
    decomposition = decompose(_synthetic({51, 52, 53, 1, 2}))
    peaks = peak_periods(decomposition, top=5)
    assert_peaks_equal(peaks, _expected_peaks(decomposition.frame, top=5))
    top = peaks[0]
    assert top.weeks[0] in (50, 51) and top.weeks[-1] in (2, 3) and 52 in top.weeks and 1 in top.weeks
    assert top.start.month == 12 and top.end.month == 1
    assert top.name.endswith("January") and "December" in top.name
    assert top.uplift > 30
    assert all(peak.extra_revenue <= top.extra_revenue for peak in peaks)


def test_peaks_of_a_flat_series_and_of_a_reason():
    flat = _synthetic(set()).assign(revenue=500.0)
    decomposition = decompose(flat)
    assert isinstance(decomposition, Decomposition) and decomposition.strength == 0.0
    assert peak_periods(decomposition) == []
    assert peak_periods("Seasonality needs at least 104 complete weeks") == []


def test_decompose_checks_its_input():
    weekly = _synthetic({47, 48})
    before = weekly.copy()
    decompose(weekly, period=26)
    pd.testing.assert_frame_equal(weekly, before)  # no side effects
    with pytest.raises(ValueError, match="consecutive"):
        decompose(weekly.drop(index=10))
    with pytest.raises(ValueError, match="at least 2"):
        decompose(weekly, period=1)
    assert decompose(weekly.iloc[:51], period=26) == ("Seasonality needs at least 52 complete weeks "
                                                      "(2 cycles of 26); the selected period has 51.")


# ------------------------------------------------------------------ without data
def test_without_data(warehouse):
    months = by_month_of_year(warehouse, Filters(), NO_DATA)
    assert list(months["month"]) == list(range(1, 13)) and not months[["revenue", "orders", "years", "days"]].any().any()
    grid = by_weekday_hour(warehouse, Filters(), NO_DATA)
    assert len(grid) == 168 and not grid[["revenue", "orders", "days"]].any().any()
    assert weekly_revenue(warehouse, Filters(), NO_DATA).empty
    summary = timing_summary(warehouse, Filters(), NO_DATA)
    assert summary.peak_weekday is None and summary.weekday_daily_revenue is None and summary.weekend_uplift is None
    assert decompose(weekly_revenue(warehouse, Filters(), NO_DATA)).endswith("the selected period has 0.")


def test_an_end_before_the_data_selects_nothing(warehouse, data):
    filters = Filters(end=dt.date(2019, 6, 30))
    assert by_weekday_hour(warehouse, filters, _options(data, filters))["orders"].sum() == 0


# ------------------------------------------------------------------ the planted truths
def test_planted_holiday_peak(warehouse, data):
    """The demo's November-December peak (Black Friday, the run-up to Christmas) is the top peak period."""
    options = _options(data, Filters())
    decomposition = decompose(weekly_revenue(warehouse, Filters(), options))
    assert decomposition.strength > 0.3
    top = peak_periods(decomposition)[0]
    assert set(range(48, 52)) <= set(top.weeks)  # late November to just before Christmas
    assert top.start.month in (10, 11) and top.start <= dt.date(top.start.year, 11, 25)
    assert top.end.month == 12 and top.end.day >= 20
    assert "November" in top.name and "December" in top.name
    assert top.uplift > 20
    months = by_month_of_year(warehouse, Filters(), options)
    assert set(months.nlargest(2, "average_revenue")["month"]) == {11, 12}


def test_planted_busier_weekends(warehouse, data):
    summary = timing_summary(warehouse, Filters(), _options(data, Filters()))
    assert summary.weekend_daily_revenue > summary.weekday_daily_revenue
    assert summary.weekend_uplift > 0.1
    assert summary.peak_weekday_name in ("Saturday", "Sunday")
