"""The Campaigns tab's services agree with an independent pandas / scipy / statsmodels computation.

One demo data set per backend (SQLite and PostgreSQL), generated once for the module, with
these additions written to the SQL database before the snapshot is built:

- "Imbalanced split test": planned 50/50, assigned about 60/40 at random (a sample ratio mismatch);
- "Null split test": an even split at random with no effect, plus customers assigned to both
  variants (excluded) and customers assigned twice to the same one (counted once), and one
  customer without country, city or age whose orders and coupon events sit on the window's edges;
- "Running test": ends after the last order (an interim readout), with a third variant "zeta";
- "Future campaign": starts after the last order (nothing to measure);
- a saved segment of every third customer.

Every number `services/campaigns/` returns is recomputed in `tests/campaign_reference.py` from
the raw tables (`transactions`, `campaign_assignments`, `coupon_events`, `campaigns`,
`saved_segment_members`; only the per-customer attributes come from `customer_summary`) with
plain pandas, and tested with scipy / statsmodels on the row-level per-customer values.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass, replace

import duckdb
import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats
from sqlalchemy import Connection, Engine, insert, select
from statsmodels.stats.anova import anova_lm
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower

from services.analytics.warehouse import Warehouse
from services.campaigns import catalog, facts, planning, profit, readout, segments, timeline, verdict
from services.campaigns.facts import TOTAL, Design
from services.campaigns.metrics import BY_KEY, METRICS
from services.campaigns.readout import Settings
from services.campaigns.window import Window, window_of
from services.db import make_engine
from services.demo import DemoConfig, PlantedTruths, generate_demo_data
from services.demo.plan import AB_LIFT, AB_TEST, EMAIL, EMAIL_TREATMENT_SHARE, LOYALTY
from services.filters import Filters, filter_options
from services.formatting import change, money, percent
from services.models import (
    Campaign,
    CampaignAssignment,
    Coupon,
    CouponEvent,
    Customer,
    CustomerSummary,
    SavedSegment,
    SavedSegmentMember,
    Transaction,
)
from services.refresh import refresh
from services.rules import UNKNOWN
from tests import campaign_reference as ref
from tests.conftest import clear_tables, opened_snapshot

CUSTOMERS, SEED = 4000, 7
RTOL, ATOL = 1e-6, 1e-9
IMBALANCED, NULL, FUTURE = "Imbalanced split test", "Null split test", "Future campaign"
RUNNING, THIRD = "Running test", "zeta"  # a campaign past the data's end, with a third variant not compared
NULL_WINDOW = (dt.date(2022, 5, 2), dt.date(2022, 6, 26))  # 56 days; the pre-campaign window starts 2022-03-07
SEVERAL, TWICE = 40, 25  # null-test customers assigned to both variants / twice to the same one
EFFECT_FIELDS = ("control", "treatment", "absolute", "absolute_low", "absolute_high", "relative", "relative_low",
                 "relative_high", "p_value")


# ------------------------------------------------------------------ the data
@dataclass(frozen=True, eq=False)
class Data:
    engine: Engine
    truths: PlantedTruths
    raw: ref.Raw
    segment_id: int
    unknown_id: int

    def campaign_id(self, name: str) -> int:
        return self.raw.campaign_id(name)


def _read(connection: Connection, query) -> pd.DataFrame:
    return pd.read_sql(query, connection)


def _add_campaigns(connection: Connection, rng: np.random.Generator) -> None:
    ids = np.array(sorted(connection.scalars(select(Customer.id))))
    start, end = NULL_WINDOW
    rows = [
        {"name": IMBALANCED, "kind": "ab_test", "discount_pct": 10.0, "starts_on": dt.date(2023, 1, 9),
         "ends_on": dt.date(2023, 2, 19), "cost": 1_500.0, "planned_treatment_share": 0.5,
         "description": "planned 50/50, assigned 60/40"},
        {"name": NULL, "kind": "ab_test", "discount_pct": None, "starts_on": start, "ends_on": end, "cost": 0.0,
         "planned_treatment_share": None, "description": "random split, no effect"},
        {"name": RUNNING, "kind": "ab_test", "discount_pct": 5.0, "starts_on": dt.date(2023, 11, 15),
         "ends_on": dt.date(2024, 1, 31), "cost": 800.0, "planned_treatment_share": 0.5, "description": ""},
        {"name": FUTURE, "kind": "email", "discount_pct": None, "starts_on": dt.date(2024, 3, 1),
         "ends_on": dt.date(2024, 4, 30), "cost": 100.0, "planned_treatment_share": 0.5, "description": ""},
    ]
    connection.execute(insert(Campaign), rows)
    campaign = dict(connection.execute(select(Campaign.name, Campaign.id)).all())
    assignments = []

    def assign(name, customers, variants, day):
        assignments.extend({"campaign_id": campaign[name], "customer_id": int(c), "variant": v,
                            "assigned_at": dt.datetime.combine(day, dt.time(9))} for c, v in zip(customers, variants))

    imbalanced = rng.choice(ids, 3000, replace=False)
    assign(IMBALANCED, imbalanced, np.where(rng.random(len(imbalanced)) < 0.6, "treatment", "control"),
           dt.date(2023, 1, 8))
    null = rng.choice(ids, 3000, replace=False)
    variants = np.where(rng.random(len(null)) < 0.5, "treatment", "control")
    day_before = start - dt.timedelta(days=1)
    assign(NULL, null, variants, day_before)
    assign(NULL, null[:SEVERAL], np.where(variants[:SEVERAL] == "control", "treatment", "control"), day_before)
    assign(NULL, null[SEVERAL:SEVERAL + TWICE], variants[SEVERAL:SEVERAL + TWICE], day_before)
    running = rng.choice(ids, 2000, replace=False)
    assign(RUNNING, running, np.where(np.arange(len(running)) < 100, THIRD,
                                      np.where(rng.random(len(running)) < 0.5, "treatment", "control")),
           dt.date(2023, 11, 14))
    connection.execute(insert(CampaignAssignment), assignments)


def _add_unknown_customer(connection: Connection) -> int:
    """A customer without country, city or age in the null test, with orders and coupon events on the edges."""
    customer_id = connection.execute(insert(Customer).values(
        external_id="CAMPAIGN-UNKNOWN", name="Ann Onymous", gender=UNKNOWN, country=None, city=None,
        birth_date=None, age=None, children=None)).inserted_primary_key[0]
    start, end = NULL_WINDOW
    pre_start = start - (end - start + dt.timedelta(days=1))

    def at(day: dt.date, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour, minute, second))

    one = dt.timedelta(days=1)
    orders = [(at(pre_start - one, 23, 59, 59), 500.0, 100.0), (at(pre_start, 0), 40.0, 25.0),
              (at(start - one, 23, 59, 59), 60.0, 70.0), (at(start, 0), 80.5, 40.25), (at(start, 13), 20.0, 0.0),
              (at(end, 23, 59, 59), 35.0, 10.0), (at(end + one, 0), 900.0, 1.0)]
    connection.execute(insert(Transaction), [
        {"customer_id": customer_id, "ordered_at": when, "amount": amount, "discount": 0.0, "cost": cost,
         "category": "Home", "channel": "online"} for when, amount, cost in orders])
    coupon = connection.scalar(select(Coupon.id).order_by(Coupon.id).limit(1))
    events = [("claimed", at(start - one, 23)), ("claimed", at(start, 0, 0, 1)), ("burned", at(start, 1)),
              ("claimed", at(end, 23, 59)), ("burned", at(end + one, 0, 0, 1))]
    connection.execute(insert(CouponEvent), [
        {"customer_id": customer_id, "coupon_id": coupon, "branch_id": None, "event": event, "occurred_at": when}
        for event, when in events])
    null_id = connection.scalar(select(Campaign.id).where(Campaign.name == NULL))
    connection.execute(insert(CampaignAssignment).values(campaign_id=null_id, customer_id=customer_id,
                                                         variant="control", assigned_at=at(start - one, 9)))
    return customer_id


def _add_segment(connection: Connection) -> int:
    segment_id = connection.execute(insert(SavedSegment).values(name="Campaign test segment")).inserted_primary_key[0]
    chosen = sorted(connection.scalars(select(Customer.id)))[::3]
    connection.execute(insert(SavedSegmentMember), [{"segment_id": segment_id, "customer_id": c} for c in chosen])
    return segment_id


def _raw(connection: Connection) -> ref.Raw:
    T, A, E = Transaction.__table__.c, CampaignAssignment.__table__.c, CouponEvent.__table__.c
    S, M, G = CustomerSummary.__table__.c, Campaign.__table__.c, SavedSegmentMember.__table__.c
    return ref.raw_from(
        _read(connection, select(T.customer_id, T.ordered_at, T.amount, T.cost)),
        _read(connection, select(A.campaign_id, A.customer_id, A.variant)),
        _read(connection, select(E.customer_id, E.event, E.occurred_at)),
        _read(connection, select(S.customer_id.label("id"), S.country, S.gender, S.age_bracket, S.profile,
                                 S.rfm_segment)).set_index("id"),
        _read(connection, select(M.id, M.name, M.starts_on, M.ends_on, M.cost, M.planned_treatment_share))
        .set_index("id"),
        _read(connection, select(G.segment_id, G.customer_id)))


@pytest.fixture(scope="module")
def data(database_url) -> Iterator[Data]:
    """The demo data set with the additions above on each backend, loaded once; emptied before and after."""
    engine = make_engine(database_url)
    clear_tables(engine)
    try:
        truths = generate_demo_data(engine, DemoConfig(customers=CUSTOMERS, seed=SEED))
        with engine.begin() as connection:
            _add_campaigns(connection, np.random.default_rng(SEED))
            unknown_id = _add_unknown_customer(connection)
        refresh(engine)
        with engine.begin() as connection:
            segment_id = _add_segment(connection)
        with engine.connect() as connection:
            raw = _raw(connection)
        yield Data(engine, truths, raw, segment_id, unknown_id)
    finally:
        clear_tables(engine)
        engine.dispose()


@pytest.fixture(scope="module")
def snapshot(data, tmp_path_factory) -> Iterator[duckdb.DuckDBPyConnection]:
    with opened_snapshot(data.engine, tmp_path_factory.mktemp("campaigns")) as database:
        yield database


@pytest.fixture
def warehouse(snapshot, data) -> Warehouse:
    return Warehouse(snapshot.cursor(), data.engine)


# ------------------------------------------------------------------ helpers
@dataclass(frozen=True)
class Case:
    """One campaign under one set of filters, as the service sees it and as the reference does."""

    info: catalog.CampaignInfo
    design: Design
    keep: pd.Index  # the customers the filters let through (reference)

    @property
    def window(self) -> Window:
        return self.design.window


def case_of(warehouse: Warehouse, data: Data, name: str, filters: Filters = Filters(),
            cap: float | None = None) -> Case:
    customers = warehouse.selection(filters).where()
    info = next(c for c in catalog.campaigns(warehouse) if c.campaign_id == data.campaign_id(name))
    with data.engine.connect() as connection:
        data_end = filter_options(connection, filters.scope).last_date
    window = window_of(info, data_end)
    expected = ref.window(data.raw, info.campaign_id)
    assert (window.start, window.end, window.pre_start) == expected.dates()
    return Case(info, Design(info.campaign_id, window, customers, cap), ref.selected(data.raw, filters))


def rows_of(data: Data, case: Case) -> pd.DataFrame:
    """The reference's value rows of the case's analysed customers (capped as the design says)."""
    return ref.values(data.raw, case.info.campaign_id, case.keep, case.design.cap)


def result_of(warehouse: Warehouse, case: Case, settings: Settings = Settings()) -> readout.Readout:
    result = readout.readout(warehouse, case.info, case.window, case.design.customers, settings)
    assert result is not None
    return result


def close(actual, expected, rtol: float = RTOL, atol: float = ATOL) -> bool:
    return bool(np.isclose(float(actual), float(expected), rtol=rtol, atol=atol, equal_nan=True))


def assert_effect(actual, expected: dict, what: str, fields=EFFECT_FIELDS) -> None:
    """An Effect (or a row as a dict) equals the reference's effect in the given fields."""
    got = actual if isinstance(actual, dict) else vars(actual)
    wrong = {f: (got[f], expected[f]) for f in fields if not close(got[f], expected[f])}
    assert not wrong, f"{what}: (service, reference) {wrong}"


def assert_sums(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Rows of `variant_sums` (by segment and variant) equal the reference's, every column."""
    actual = actual.set_index(["segment", "variant"]).sort_index()
    expected = expected.sort_index()
    assert list(actual.index) == list(expected.index)
    assert set(actual.columns) == set(expected.columns), set(actual.columns) ^ set(expected.columns)
    for column in expected.columns:
        np.testing.assert_allclose(actual[column].astype(float), expected[column], rtol=1e-9, atol=1e-6,
                                   err_msg=column)


def expected_sums(rows: pd.DataFrame, segment: pd.Series | None = None) -> pd.DataFrame:
    total = ref.sums(rows.assign(segment=TOTAL), ["segment", "variant"])
    if segment is None:
        return total
    labelled = rows.assign(segment=segment.reindex(rows.index).astype(object).where(lambda s: s.notna(), UNKNOWN)
                           .astype(str))
    return pd.concat([total, ref.sums(labelled, ["segment", "variant"])])


def _attribute(data: Data, column: str) -> pd.Series:
    return data.raw.customers[column]


def _top_country(data: Data, name: str) -> str:
    assigned = data.raw.assignments[data.raw.assignments["campaign_id"] == data.campaign_id(name)]
    return data.raw.customers.loc[assigned["customer_id"], "country"].value_counts().index[0]


# ------------------------------------------------------------------ catalog and windows
def test_catalog_and_windows(data, warehouse):
    known = {info.name: info for info in catalog.campaigns(warehouse)}
    assert set(known) == set(data.raw.campaigns["name"])
    for name, info in known.items():
        row = data.raw.campaigns.loc[info.campaign_id]
        assigned = data.raw.assignments.loc[data.raw.assignments["campaign_id"] == info.campaign_id, "customer_id"]
        assert info.assigned == assigned.nunique(), name
        assert info.randomised == (assigned.nunique() > 0)
        assert (info.starts_on, info.ends_on) == (row["starts_on"].date(), row["ends_on"].date())
        assert info.cost == pytest.approx(row["cost"])
        expected = ref.window(data.raw, info.campaign_id)
        window = window_of(info, data.raw.data_end.date())
        if expected is None:
            assert window is None, name
        else:
            assert (window.start, window.end, window.pre_start) == expected.dates(), name
            assert window.days == (window.pre_end - window.pre_start).days + 1  # as many days before as in it
            assert window.running == (row["ends_on"] > data.raw.data_end)
    assert not known[FUTURE].randomised and window_of(known[FUTURE], data.raw.data_end.date()) is None
    assert not known[LOYALTY].randomised
    for info in known.values():
        assert catalog.campaign(Warehouse(warehouse.snapshot.cursor()), info.campaign_id) == info
    assert catalog.campaign(warehouse, 10_000) is None


def test_a_campaign_looked_up_before_a_saved_segment_filter(data, warehouse):
    info = catalog.campaign(warehouse, data.campaign_id(AB_TEST))
    customers = warehouse.selection(Filters(segment_id=data.segment_id)).where()
    assert readout.readout(warehouse, info, window_of(info, data.raw.data_end.date()), customers, Settings())


# ------------------------------------------------------------------ 1. sufficient statistics
@pytest.mark.parametrize("name", [AB_TEST, EMAIL, NULL, IMBALANCED, RUNNING])
def test_variant_sums_equal_pandas(data, warehouse, name):
    case = case_of(warehouse, data, name)
    rows = rows_of(data, case)
    assert_sums(facts.variant_sums(warehouse, case.design), expected_sums(rows))


def test_values_cover_non_buyers_edges_and_exclusions(data, warehouse):
    """The null test: non-buyers count with zeros, the edge days fall where they should, double-assigned are out."""
    case = case_of(warehouse, data, NULL)
    rows = rows_of(data, case)
    nulls = data.raw.assignments[data.raw.assignments["campaign_id"] == case.info.campaign_id]
    several = nulls.groupby("customer_id")["variant"].nunique()
    assert (several > 1).sum() == SEVERAL and not rows.index.isin(several.index[several > 1]).any()
    assert len(rows) == (several == 1).sum()
    assert (rows["orders"] == 0).sum() > 100  # customers without orders in the window are analysed too
    unknown = rows.loc[data.unknown_id]
    # window: start 00:00, start 13:00, end 23:59:59; pre: pre_start 00:00 and the day before the start
    assert (unknown["orders"], unknown["revenue"], unknown["profit"]) == (3, 135.5, 80.5 - 40.25 + 20.0 + 25.0)
    assert (unknown["pre_orders"], unknown["pre_revenue"], unknown["pre_profit"]) == (2, 100.0, 15.0 - 10.0)
    assert (unknown["claims"], unknown["burns"]) == (2, 1)
    assert_sums(facts.variant_sums(warehouse, case.design), expected_sums(rows))


@pytest.mark.parametrize("dimension", [d.key for d in segments.DIMENSIONS] + ["saved"])
def test_variant_sums_by_segment_equal_pandas(data, warehouse, dimension):
    for name in (AB_TEST, NULL):
        case = case_of(warehouse, data, name)
        rows = rows_of(data, case)
        if dimension == "saved":
            found = segments.saved_segment_dimension(warehouse, data.segment_id, "test")
            members = data.raw.members.loc[data.raw.members["segment_id"] == data.segment_id, "customer_id"]
            labels = pd.Series(np.where(rows.index.isin(members), segments.MEMBERS, segments.OTHERS), rows.index)
        else:
            found = next(d for d in segments.DIMENSIONS if d.key == dimension)
            labels = _attribute(data, dimension)
        sums = facts.variant_sums(warehouse, case.design, found.sql, found.joins)
        assert_sums(sums, expected_sums(rows, labels))
    if dimension == "country":  # the customer without a country is its own segment
        assert (UNKNOWN, "control") in set(zip(sums["segment"], sums["variant"]))


@pytest.mark.parametrize("cap", [0.9, 0.99])
@pytest.mark.parametrize("name", [AB_TEST, NULL])
def test_capping_is_pandas_clip_at_the_quantile(data, warehouse, name, cap):
    case = case_of(warehouse, data, name, cap=cap)
    rows = rows_of(data, case)
    uncapped = ref.values(data.raw, case.info.campaign_id, case.keep)
    assert (rows["revenue"] < uncapped["revenue"]).any()  # the cap bites
    assert_sums(facts.variant_sums(warehouse, case.design), expected_sums(rows))


def test_capping_uses_the_filtered_customers(data, warehouse):
    country = _top_country(data, AB_TEST)
    case = case_of(warehouse, data, AB_TEST, Filters(countries=(country,)), cap=0.9)
    rows = rows_of(data, case)
    everyone = ref.values(data.raw, case.info.campaign_id, None, 0.9)
    assert not np.isclose(rows["revenue"].max(), everyone["revenue"].max())  # a cap of their own
    assert_sums(facts.variant_sums(warehouse, case.design), expected_sums(rows))


# ------------------------------------------------------------------ 2. filters and scope
FILTER_CASES = {
    "country": lambda d: Filters(countries=(_top_country(d, AB_TEST),)),
    "gender": lambda d: Filters(genders=("Female",)),
    "age brackets": lambda d: Filters(age_brackets=("31-40", "41-50")),
    "scope": lambda d: Filters().with_scope(("Australia",)),
    "country outside the scope": lambda d: Filters(countries=("Germany", "Australia")).with_scope(("Australia",)),
    "saved segment": lambda d: Filters(segment_id=d.segment_id),
    "women in a segment": lambda d: Filters(genders=("Female",), segment_id=d.segment_id),
}


@pytest.mark.parametrize("name", [AB_TEST, NULL])
@pytest.mark.parametrize("label", list(FILTER_CASES))
def test_filters_and_scope_restrict_the_analysed_customers(data, warehouse, label, name):
    filters = FILTER_CASES[label](data)
    case = case_of(warehouse, data, name, filters)
    rows = rows_of(data, case)
    everyone = ref.values(data.raw, case.info.campaign_id)
    assert 0 < len(rows) < len(everyone)
    assert_sums(facts.variant_sums(warehouse, case.design), expected_sums(rows))
    counts, several, twice = ref.health(data.raw, case.info.campaign_id, case.keep)
    found, found_several, found_twice = facts.assignment_health(warehouse, case.info.campaign_id,
                                                                case.design.customers)
    assert dict(zip(found["variant"], found["customers"])) == counts.to_dict()
    assert (found_several, found_twice) == (several, twice)
    result = result_of(warehouse, case)
    assert result.customers("control") == counts["control"] and result.customers("treatment") == counts["treatment"]


def test_scope_excludes_what_a_country_filter_asks_for_outside_it(data, warehouse):
    inside = case_of(warehouse, data, AB_TEST, Filters(countries=("Germany", "Australia")).with_scope(("Australia",)))
    only = case_of(warehouse, data, AB_TEST, Filters().with_scope(("Australia",)))
    assert facts.variant_sums(warehouse, inside.design).equals(facts.variant_sums(warehouse, only.design))


# ------------------------------------------------------------------ 3. the readout's statistics
SETTINGS = {
    "default": Settings(),
    "cuped": Settings(cuped=True),
    "capped": Settings(cap=0.99),
    "cuped, capped, bh": Settings(cuped=True, cap=0.95, correction="bh"),
    "no correction, alpha 0.1": Settings(correction="none", alpha=0.1),
}
CORRECTIONS = {"holm": "holm", "bh": "fdr_bh"}


def expected_results(rows: pd.DataFrame, settings: Settings, control="control", treatment="treatment") -> dict:
    out = {}
    for metric in METRICS:
        adjusted = settings.cuped and ref.SPECS[metric.key].kind != "ratio"
        out[metric.key] = ref.effect(rows, metric.key, control, treatment, alpha=settings.alpha, cuped=adjusted)
    p = np.array([out[k]["p_value"] for k in out])
    adjusted = p.copy()
    if settings.correction != "none":
        known = ~np.isnan(p)
        adjusted[known] = multipletests(p[known], method=CORRECTIONS[settings.correction])[1]
    for key, value in zip(out, adjusted):
        out[key]["p_adjusted"] = value
    return out


@pytest.mark.parametrize("label", list(SETTINGS))
@pytest.mark.parametrize("name", [AB_TEST, EMAIL, NULL, RUNNING])
def test_readout_equals_scipy_and_statsmodels(data, warehouse, name, label):
    settings = SETTINGS[label]
    case = case_of(warehouse, data, name, cap=settings.cap)
    rows = rows_of(data, case)
    result = result_of(warehouse, case, settings)
    assert (result.control, result.treatment) == ("control", "treatment")
    expected = expected_results(rows, settings)
    assert [r.metric.key for r in result.results] == list(ref.SPECS)
    for item in result.results:
        want = expected[item.metric.key]
        assert_effect(item.effect, want, f"{name}, {label}, {item.metric.key}")
        assert close(item.p_adjusted, want["p_adjusted"]), (item.metric.key, item.p_adjusted, want["p_adjusted"])
        assert item.cuped == (settings.cuped and item.metric.kind != "ratio")
    if settings.cuped:
        for key, reduction in result.variance_reduction.items():
            assert close(reduction, ref.variance_reduction(rows, key, "control", "treatment")), key
    table = readout.readout_table(result)
    assert np.allclose(table["p_adjusted"], [expected[k]["p_adjusted"] for k in ref.SPECS], rtol=RTOL, atol=ATOL,
                       equal_nan=True)


def test_cuped_shrinks_the_orders_interval(data, warehouse):
    case = case_of(warehouse, data, AB_TEST)
    plain, adjusted = (result_of(warehouse, case, s).result("orders").effect
                       for s in (Settings(), Settings(cuped=True)))
    assert adjusted.relative_high - adjusted.relative_low < plain.relative_high - plain.relative_low


def test_sequential_intervals_keep_the_fixed_p_and_are_wider(data, warehouse):
    case = case_of(warehouse, data, AB_TEST)
    rows = rows_of(data, case)
    result = result_of(warehouse, case, Settings(sequential=True))
    expected = expected_results(rows, Settings())
    for item in result.results:
        want, e = expected[item.metric.key], item.effect
        assert e.sequential
        assert_effect(e, want, item.metric.key, ("control", "treatment", "absolute", "relative", "p_value"))
        if want["se_absolute"] > 0:
            assert e.absolute_low < want["absolute_low"] and e.absolute_high > want["absolute_high"], item.metric.key


# ------------------------------------------------------------------ 4. planted truths and health
def test_the_ab_test_finds_the_planted_lift(data, warehouse):
    assert data.truths.ab_test_planned_purchase_lift == AB_LIFT
    result = result_of(warehouse, case_of(warehouse, data, AB_TEST))
    orders, per_sale = result.result("orders").effect, result.result("profit_per_sale").effect
    assert orders.relative_low < AB_LIFT < orders.relative_high
    assert orders.relative_low > 0
    assert per_sale.relative_high < 0
    assert not result.health.srm.warn
    assert result.customers("control") + result.customers("treatment") == sum(data.truths.ab_test_assigned.values())


def _expected_srm(counts: pd.Series, share: float) -> tuple[float, float]:
    observed = counts.loc[["control", "treatment"]].to_numpy(float)
    return stats.chisquare(observed, observed.sum() * np.array([1 - share, share]))


@pytest.mark.parametrize("name, share, warns", [(AB_TEST, 0.5, False), (EMAIL, EMAIL_TREATMENT_SHARE, False),
                                                (NULL, 0.5, False), (IMBALANCED, 0.5, True),
                                                (RUNNING, 0.5, False)])
def test_sample_ratio_mismatch(data, warehouse, name, share, warns):
    case = case_of(warehouse, data, name)
    result = result_of(warehouse, case)
    counts, several, twice = ref.health(data.raw, case.info.campaign_id, case.keep)
    chi2, p = _expected_srm(counts, share)
    srm = result.health.srm
    assert close(srm.chi2, chi2) and close(srm.p_value, p, atol=1e-300)
    assert srm.warn is warns and bool(p < 0.001) is warns
    health = result.health
    assert list(health.counts["customers"]) == [counts["control"], counts["treatment"]]
    assert np.allclose(health.counts["planned_share"], [1 - share, share])
    compared = counts.loc[["control", "treatment"]]
    assert np.allclose(health.counts["share"], compared / compared.sum())
    assert (health.several_variants, health.duplicated) == (several, twice)
    assert (several, twice) == ((SEVERAL, TWICE) if name == NULL else (0, 0))
    assert health.other_variants == ((THIRD,) if name == RUNNING else ())
    assert health.too_small == bool(counts.loc[["control", "treatment"]].min() < 100)


def test_the_null_campaign_shows_no_effect(data, warehouse):
    result = result_of(warehouse, case_of(warehouse, data, NULL))
    assert all(item.p_adjusted > 0.05 for item in result.results if item.metric.kind != "ratio")


def test_no_readout_for_an_empty_selection(data, warehouse):
    case = case_of(warehouse, data, AB_TEST, Filters(countries=("Canada",)).with_scope(("Australia",)))
    assert len(case.keep) == 0
    assert readout.readout(warehouse, case.info, case.window, case.design.customers, Settings()) is None


def test_no_readout_without_two_variants(data, warehouse):
    info = catalog.campaign(warehouse, data.campaign_id(LOYALTY))
    window = window_of(info, data.raw.data_end.date())
    assert readout.readout(warehouse, info, window, "TRUE", Settings()) is None
    assert window_of(catalog.campaign(warehouse, data.campaign_id(FUTURE)), data.raw.data_end.date()) is None


# ------------------------------------------------------------------ 5. profit
@pytest.mark.parametrize("name", [AB_TEST, EMAIL, NULL, IMBALANCED, RUNNING])
def test_profit_equals_pandas(data, warehouse, name):
    case = case_of(warehouse, data, name)
    rows = rows_of(data, case)
    found = profit.profit_of(result_of(warehouse, case))
    treated = int((rows["variant"] == "treatment").sum())
    cost = float(data.raw.campaigns.loc[case.info.campaign_id, "cost"])
    assert (found.treated, found.cost) == (treated, cost)
    expected = {key: ref.effect(rows, key, "control", "treatment") for key in ("revenue", "profit", "orders",
                                                                              "profit_per_sale")}
    for key, interval in (("revenue", found.revenue), ("profit", found.profit)):
        e = expected[key]
        assert close(interval.value, treated * e["absolute"]), key
        assert close(interval.low, treated * e["absolute_low"]) and close(interval.high, treated * e["absolute_high"])
    p = expected["profit"]
    net = [treated * p[f] - cost for f in ("absolute", "absolute_low", "absolute_high")]
    assert all(close(a, b) for a, b in zip((found.net.value, found.net.low, found.net.high), net))
    if cost > 0:
        assert all(close(a, b / cost) for a, b in zip((found.roi.value, found.roi.low, found.roi.high), net))
    else:
        assert found.roi is None
    assert close(found.orders_lift, expected["orders"]["relative"])
    assert close(found.profit_per_sale_lift, expected["profit_per_sale"]["relative"])
    assert found.paid == (True if net[1] > 0 else False if net[2] < 0 else None)
    orders_c = rows.loc[rows["variant"] == "control", "orders"].mean()
    pps_c, pps_t = expected["profit_per_sale"]["control"], expected["profit_per_sale"]["treatment"]
    if pps_t > 0:
        lift = found.break_even_orders_lift
        # at that lift the treated customers' orders at the treatment's profit per sale pay the control's profit
        # per customer plus the campaign's cost: net profit zero
        net_at_lift = orders_c * (1 + lift) * pps_t * treated - orders_c * pps_c * treated - cost
        assert abs(net_at_lift) < 1e-6 * max(cost, orders_c * pps_c * treated)
    else:
        assert found.break_even_orders_lift is None


# ------------------------------------------------------------------ 6. segments
def _anova(rows: pd.DataFrame, labels: pd.Series, value: str) -> tuple[float, float, float, float, int]:
    frame = pd.DataFrame({"y": rows[value], "t": rows["variant"], "s": labels.reindex(rows.index)})
    sizes = frame.groupby(["s", "t"]).size().unstack(fill_value=0)
    usable = sizes.index[(sizes.reindex(columns=["control", "treatment"], fill_value=0) >= 2).all(axis=1)]
    frame = frame[frame["s"].isin(usable)]
    table = anova_lm(smf.ols("y ~ C(t) * C(s)", frame).fit())
    row = table.loc["C(t):C(s)"]
    return row["F"], row["df"], table.loc["Residual", "df"], row["PR(>F)"], len(usable)


@pytest.mark.parametrize("metric_key", ["orders", "conversion", "profit", "aov"])
@pytest.mark.parametrize("dimension", ["gender", "age_bracket", "country", "rfm_segment", "saved"])
def test_segment_breakdown_equals_per_group_tests(data, warehouse, dimension, metric_key):
    case = case_of(warehouse, data, AB_TEST)
    rows = rows_of(data, case)
    if dimension == "saved":
        found = segments.saved_segment_dimension(warehouse, data.segment_id, "test")
        members = data.raw.members.loc[data.raw.members["segment_id"] == data.segment_id, "customer_id"]
        labels = pd.Series(np.where(rows.index.isin(members), segments.MEMBERS, segments.OTHERS), rows.index)
    else:
        found = next(d for d in segments.DIMENSIONS if d.key == dimension)
        labels = _attribute(data, dimension).reindex(rows.index).fillna(UNKNOWN).astype(str)
    settings = Settings()
    result = segments.breakdown(warehouse, case.design, found, BY_KEY[metric_key], "control", "treatment", settings)
    table = result.table.set_index("segment")
    expected = {}
    for segment, group in rows.groupby(labels, sort=True):
        if group["variant"].nunique() == 2:
            expected[segment] = ref.effect(group, metric_key, "control", "treatment")
            expected[segment]["n"] = group["variant"].value_counts()
    assert list(table.index) == sorted(expected)
    for segment, want in expected.items():
        got = table.loc[segment]
        assert (got["control_n"], got["treatment_n"]) == (want["n"]["control"], want["n"]["treatment"])
        assert_effect(got.to_dict(), want, f"{dimension}={segment}",
                      ("control", "treatment", "relative", "relative_low", "relative_high", "p_value"))
    p = np.array([expected[s]["p_value"] for s in sorted(expected)])
    known = ~np.isnan(p)
    holm = p.copy()
    holm[known] = multipletests(p[known], method="holm")[1]
    np.testing.assert_allclose(table["p_adjusted"], holm, rtol=RTOL, atol=ATOL)
    # the relative scale: Cochran's Q of the segments' relative lifts with their delta-method variances
    theta = np.array([expected[s]["relative"] for s in sorted(expected)])
    variance = np.array([expected[s]["se_relative"] for s in sorted(expected)]) ** 2
    fine = np.isfinite(theta) & np.isfinite(variance) & (variance > 0)
    weights = 1 / variance[fine]
    q = float((weights * (theta[fine] - (weights * theta[fine]).sum() / weights.sum()) ** 2).sum())
    assert close(result.relative_test.q, q) and result.relative_test.segments == fine.sum()
    assert close(result.relative_test.p_value, stats.chi2.sf(q, fine.sum() - 1))
    if ref.SPECS[metric_key].kind == "ratio":
        assert result.interaction is None
        return
    f, df1, df2, p_value, used = _anova(rows, labels, ref.SPECS[metric_key].value)
    i = result.interaction
    assert (i.segments, i.df1, i.df2) == (used, df1, df2)
    assert close(i.f, f) and close(i.p_value, p_value), (i, f, p_value)


@pytest.mark.parametrize("filtered", [False, True])
@pytest.mark.parametrize("cap", [None, 0.95])
def test_segment_breakdown_with_cuped_capping_filters_and_bh(data, warehouse, cap, filtered):
    filters = Filters(countries=(_top_country(data, AB_TEST),)) if filtered else Filters()
    case = case_of(warehouse, data, AB_TEST, filters, cap=cap)
    rows = rows_of(data, case)  # capped over all the analysed customers, not per segment
    found = next(d for d in segments.DIMENSIONS if d.key == "gender")
    settings = Settings(cuped=True, cap=cap, correction="bh")
    result = segments.breakdown(warehouse, case.design, found, BY_KEY["orders"], "control", "treatment", settings)
    labels = _attribute(data, "gender").reindex(rows.index)
    # CUPED's θ comes from each segment's own rows, as the segment is a readout of its own
    expected = {s: ref.effect(g, "orders", "control", "treatment", cuped=True) for s, g in rows.groupby(labels)
                if g["variant"].nunique() == 2}
    table = result.table.set_index("segment")
    assert sorted(table.index) == sorted(expected)
    for segment, want in expected.items():
        assert_effect(table.loc[segment].to_dict(), want, segment,
                      ("control", "treatment", "relative", "relative_low", "relative_high", "p_value"))
    p = [expected[s]["p_value"] for s in table.index]
    np.testing.assert_allclose(table["p_adjusted"], multipletests(p, method="fdr_bh")[1], rtol=RTOL)
    f, df1, df2, p_value, used = _anova(rows, labels.fillna(UNKNOWN), "orders")  # on the capped, unadjusted values
    assert close(result.interaction.f, f) and close(result.interaction.p_value, p_value)


# ------------------------------------------------------------------ 7. timeline
@pytest.mark.parametrize("metric_key", ["orders", "revenue", "profit", "conversion"])
@pytest.mark.parametrize("cuped", [False, True])
def test_cumulative_lift_equals_pandas(data, warehouse, metric_key, cuped):
    case = case_of(warehouse, data, AB_TEST)
    rows = rows_of(data, case)
    settings = Settings(cuped=cuped)
    frame = timeline.cumulative_lift(warehouse, case.design, BY_KEY[metric_key], "control", "treatment", settings)
    days = pd.date_range(case.window.start, case.window.end, freq="D")
    assert list(frame["day"]) == [d.date() for d in days]
    spec = ref.SPECS[metric_key]
    for offset in (0, 6, 30, len(days) // 2, len(days) - 1):
        day = days[offset]
        so_far = ref.cumulative(data.raw, rows, case.info.campaign_id, day)
        current = rows.assign(**{spec.value: so_far[spec.value]})
        want = ref.effect(current, metric_key, "control", "treatment", cuped=cuped)
        got = frame.iloc[offset].to_dict()
        assert_effect(got, want, f"{metric_key} on {day:%Y-%m-%d}",
                      ("control", "treatment", "relative", "relative_low", "relative_high", "p_value"))
    last = result_of(warehouse, case, settings).result(metric_key).effect
    assert_effect(frame.iloc[-1].to_dict(), vars(last), "last day against the readout",
                  ("control", "treatment", "relative", "relative_low", "relative_high", "p_value"))


@pytest.mark.parametrize("label", ["country", "saved segment", "scope"])
def test_cumulative_lift_under_filters(data, warehouse, label):
    case = case_of(warehouse, data, AB_TEST, FILTER_CASES[label](data))
    rows = rows_of(data, case)
    frame = timeline.cumulative_lift(warehouse, case.design, BY_KEY["orders"], "control", "treatment", Settings())
    day = pd.Timestamp(case.window.start) + pd.Timedelta(days=40)
    so_far = ref.cumulative(data.raw, rows, case.info.campaign_id, day)
    want = ref.effect(rows.assign(orders=so_far["orders"]), "orders", "control", "treatment")
    assert_effect(frame.set_index("day").loc[day.date()].to_dict(), want, f"{label} on day 41",
                  ("control", "treatment", "relative", "relative_low", "relative_high", "p_value"))
    last = result_of(warehouse, case).result("orders").effect
    assert_effect(frame.iloc[-1].to_dict(), vars(last), f"{label}: last day against the readout",
                  ("control", "treatment", "relative", "relative_low", "relative_high", "p_value"))


def test_cumulative_lift_of_a_running_campaign_stops_at_the_data(data, warehouse):
    case = case_of(warehouse, data, RUNNING)
    assert case.window.running and case.window.end == data.raw.data_end.date()
    frame = timeline.cumulative_lift(warehouse, case.design, BY_KEY["revenue"], "control", "treatment", Settings())
    assert frame["day"].iloc[-1] == data.raw.data_end.date()
    rows = rows_of(data, case)
    assert_effect(frame.iloc[-1].to_dict(), ref.effect(rows, "revenue", "control", "treatment"), "last day",
                  ("control", "treatment", "relative", "relative_low", "relative_high", "p_value"))


def test_cumulative_lift_ignores_capping(data, warehouse):
    capped = case_of(warehouse, data, AB_TEST, cap=0.9)
    frame = timeline.cumulative_lift(warehouse, capped.design, BY_KEY["revenue"], "control", "treatment",
                                     Settings(cap=0.9))
    uncapped = result_of(warehouse, replace(capped, design=replace(capped.design, cap=None))).result("revenue")
    assert_effect(frame.iloc[-1].to_dict(), vars(uncapped.effect), "last day against the uncapped readout",
                  ("control", "treatment", "relative", "relative_low", "relative_high", "p_value"))


# ------------------------------------------------------------------ 8. planning
@pytest.mark.parametrize("metric_key", ["orders", "revenue", "conversion"])
@pytest.mark.parametrize("name", [AB_TEST, EMAIL])
def test_plan_equals_statsmodels(data, warehouse, name, metric_key):
    case = case_of(warehouse, data, name)
    rows = rows_of(data, case)
    result = result_of(warehouse, case)
    control_rows = rows.loc[rows["variant"] == "control", ref.SPECS[metric_key].value]
    share = float(result.health.counts["planned_share"].iloc[1])
    customers = int(result.health.counts["customers"].sum())
    mde, power_wanted = 0.1, 0.9
    found = planning.plan(result.stats[metric_key][0], customers, kind=BY_KEY[metric_key].kind, mde=mde,
                          treatment_share=share, power_wanted=power_wanted)
    mean = control_rows.mean()
    variance = mean * (1 - mean) if metric_key == "conversion" else control_rows.var(ddof=1)
    assert close(found.baseline, mean) and close(found.variance, variance)
    assert (found.customers, found.treatment_share) == (len(rows), share)
    ratio = share / (1 - share)  # treated per control customer
    solver = NormalIndPower()
    control_n = solver.solve_power(effect_size=mde * mean / math.sqrt(variance), alpha=0.05, power=power_wanted,
                                   ratio=ratio, alternative="two-sided")
    assert abs(found.customers_needed - control_n * (1 + ratio)) <= 1.0
    assert solver.power(mde * mean / math.sqrt(variance), found.customers_needed / (1 + ratio), 0.05,
                        ratio=ratio) >= power_wanted - 1e-4
    size = solver.solve_power(nobs1=customers / (1 + ratio), alpha=0.05, power=power_wanted, ratio=ratio,
                              alternative="two-sided")
    assert close(found.detectable, size * math.sqrt(variance) / mean, rtol=1e-4)


# ------------------------------------------------------------------ 9. verdict
def test_verdict_states_the_readouts_numbers(data, warehouse):
    case = case_of(warehouse, data, AB_TEST)
    rows = rows_of(data, case)
    result = result_of(warehouse, case)
    text = verdict.verdict(result, profit.profit_of(result))
    expected = expected_results(rows, Settings())
    orders = expected["orders"]
    n = rows["variant"].value_counts()
    assert f"{n['treatment']:,} treatment with {n['control']:,} control customers" in text
    assert orders["p_adjusted"] < 0.05
    assert (f"Orders per customer rose by {percent(orders['relative'])} (95% CI {change(orders['relative_low'])} "
            f"to {change(orders['relative_high'])}") in text
    cost = case.info.cost
    p = expected["profit"]
    net = [n["treatment"] * p[f] - cost for f in ("absolute", "absolute_low", "absolute_high")]
    assert f"incremental profit after the discount was {money(n['treatment'] * p['absolute'])}" in text
    assert f"leaves {money(net[0])} (95% CI {money(net[1])} to {money(net[2])})" in text
    assert f"an ROI of {percent(net[0] / cost, 0)}" in text
    significant = [f"{BY_KEY[k].label.lower()} {change(expected[k]['relative'])}" for k in verdict.SECONDARY
                   if expected[k]["p_adjusted"] < 0.05]
    assert significant and f"Also significant: {', '.join(significant)}." in text
    orders_c, per_sale = orders["control"], expected["profit_per_sale"]
    # the lift at which n_T o_C (1 + L) pps_T = n_T o_C pps_C + cost
    lift = (cost / n["treatment"] + orders_c * per_sale["control"]) / (orders_c * per_sale["treatment"]) - 1
    assert f"orders per customer had to rise {change(lift)}; they changed {change(orders['relative'])}" in text
    assert ("The campaign did not pay." in text) == (net[2] < 0) and ("The campaign paid." in text) == (net[1] > 0)
    assert "sample ratio mismatch" not in text.lower()


def test_verdict_of_a_campaign_without_an_effect(data, warehouse):
    case = case_of(warehouse, data, NULL)
    rows = rows_of(data, case)
    result = result_of(warehouse, case)
    text = verdict.verdict(result, profit.profit_of(result))
    orders = expected_results(rows, Settings())["orders"]
    assert orders["p_adjusted"] >= 0.05
    # the documented prior of the relative lift, N(0, 0.3²), updated by the estimate N(lift, se²)
    precision = 1 / orders["se_relative"] ** 2 + 1 / 0.3 ** 2
    chance = stats.norm.cdf(orders["relative"] / orders["se_relative"] ** 2 / precision * math.sqrt(precision))
    assert (f"Orders per customer did not change detectably ({change(orders['relative'])}, 95% CI "
            f"{change(orders['relative_low'])} to {change(orders['relative_high'])}, "
            f"{verdict.p_text(orders['p_value'])}, Holm-adjusted {verdict.p_text(orders['p_adjusted'])}); "
            f"chance that treatment beats control: {percent(chance, 0)}.") in text
    assert "ROI" not in text  # the null test cost nothing


def test_verdict_changes_with_the_data(data, warehouse):
    texts = {}
    for label, name, filters in (("ab", AB_TEST, Filters()), ("imbalanced", IMBALANCED, Filters()),
                                 ("ab, one country", AB_TEST, Filters(countries=(_top_country(data, AB_TEST),)))):
        case = case_of(warehouse, data, name, filters)
        result = result_of(warehouse, case)
        texts[label] = verdict.verdict(result, profit.profit_of(result))
        n = rows_of(data, case)["variant"].value_counts()
        assert f"{n['treatment']:,} treatment with {n['control']:,} control customers" in texts[label]
    assert len(set(texts.values())) == 3
    imbalanced = texts["imbalanced"]
    assert "sample ratio mismatch" in imbalanced
    counts, _, _ = ref.health(data.raw, data.campaign_id(IMBALANCED), None)
    assert f"{percent(counts['treatment'] / counts.sum())} treatment against {percent(0.5)} planned" in imbalanced
    assert "sample ratio mismatch" not in texts["ab, one country"]
    assert "still running" not in texts["ab"]
    for name in (RUNNING, EMAIL):
        result = result_of(warehouse, case_of(warehouse, data, name))
        text = verdict.verdict(result, profit.profit_of(result))
        assert ("(still running: an interim readout)" in text) == (name == RUNNING)
        counts, _, _ = ref.health(data.raw, data.campaign_id(name), None)
        assert ("too small for a reliable readout" in text) == bool(counts[["control", "treatment"]].min() < 100)
    for label in ("ab", "ab, one country"):
        assert texts[label].startswith(f"{AB_TEST} ran ")


def test_verdict_mentions_the_settings(data, warehouse):
    case = case_of(warehouse, data, AB_TEST, cap=0.99)
    rows = rows_of(data, case)
    result = result_of(warehouse, case, Settings(cuped=True, cap=0.99))
    text = verdict.verdict(result, profit.profit_of(result))
    reduction = ref.variance_reduction(rows, "orders", "control", "treatment")
    assert f"it removed {percent(reduction, 0)} of the variance of orders per customer" in text
    assert "values above the 99th percentile are capped" in text.lower()


def test_verdict_spells_cuped(data, warehouse):
    result = result_of(warehouse, case_of(warehouse, data, AB_TEST), Settings(cuped=True, cap=0.99))
    assert "CUPED is on" in verdict.verdict(result, profit.profit_of(result))
