"""The demo data tells its stories: checked with plain SQL and pandas, not with the generator's internals."""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from services.db import make_engine, upgrade_schema
from services.demo import DemoConfig, PlantedTruths, generate_demo_data, planted_groups
from services.models import Customer, Transaction
from services.rules import THRESHOLDS, age_bracket
from tests.conftest import _postgres_database, clear_tables

CUSTOMERS = 20_000
BUSINESS_TABLES = (
    "branches", "campaigns", "coupons", "customers", "transactions",
    "coupon_events", "campaign_assignments", "survey_responses",
)
DECADES = ("21-30", "31-40", "41-50", "51-60", "61-70")


@dataclass(frozen=True)
class Demo:
    engine: Engine
    truths: PlantedTruths
    customers: pd.DataFrame  # one row per customer with age, revenue and the profile by the rules
    transactions: pd.DataFrame
    events: pd.DataFrame
    assignments: pd.DataFrame
    campaigns: pd.DataFrame
    branches: pd.DataFrame
    surveys: pd.DataFrame
    reference: pd.Timestamp


def _read(engine: Engine, sql: str, dates: tuple[str, ...] = ()) -> pd.DataFrame:
    frame = pd.read_sql(sql, engine)
    for column in dates:
        frame[column] = pd.to_datetime(frame[column])
    return frame


def _profiles(customers: pd.DataFrame, transactions: pd.DataFrame, reference: pd.Timestamp) -> pd.DataFrame:
    """The profile rules of services/rules.py, written out again in pandas."""
    per = transactions.groupby("customer_id").agg(
        orders=("id", "size"),
        revenue=("amount", "sum"),
        first=("ordered_at", "min"),
        last=("ordered_at", "max"),
        years=("year", "nunique"),
    )
    out = customers.join(per, on="id")
    out["orders"] = out["orders"].fillna(0).astype(int)
    out["revenue"] = out["revenue"].fillna(0.0)
    first_ago = (reference - out["first"].dt.normalize()).dt.days
    last_ago = (reference - out["last"].dt.normalize()).dt.days
    tenure = np.where(first_ago > 365, first_ago / 365.0, 1.0)
    out["profile"] = np.select(
        [
            out["orders"] == 0,
            first_ago <= THRESHOLDS.new_within_days,
            out["orders"] == 1,
            (out["orders"] / tenure >= THRESHOLDS.loyal_orders_per_year)
            & (last_ago <= THRESHOLDS.loyal_active_within_days),
            out["years"] >= THRESHOLDS.periodic_min_years,
        ],
        ["Prospect", "New", "One-time", "Loyal", "Periodic"],
        "Occasional",
    )
    buyers = out.loc[out["orders"] > 0, "revenue"].sort_values(kind="stable")
    threshold = buyers.iloc[min(int(len(buyers) * THRESHOLDS.vip_revenue_percentile), len(buyers) - 1)]
    out.loc[(out["revenue"] >= threshold) & (out["orders"] >= THRESHOLDS.vip_min_orders), "profile"] = "VIP"
    return out


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def demo(request, tmp_path_factory):
    """One demo data set per backend, in a database of its own, generated once for the module."""
    if request.param == "sqlite":
        urls = iter([f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"])
    else:
        urls = _postgres_database()
    for url in urls:
        upgrade_schema(url)
        engine = make_engine(url)
        truths = generate_demo_data(engine, DemoConfig(customers=CUSTOMERS))
        transactions = _read(engine, "SELECT * FROM transactions", ("ordered_at",))
        transactions["year"] = transactions["ordered_at"].dt.year
        reference = transactions["ordered_at"].max().normalize()
        customers = _read(engine, "SELECT * FROM customers", ("birth_date",))
        birth = customers["birth_date"]
        before_birthday = (birth.dt.month > reference.month) | (
            (birth.dt.month == reference.month) & (birth.dt.day > reference.day)
        )
        customers["age"] = reference.year - birth.dt.year - before_birthday.astype(int)
        customers["attributes"] = customers["attributes"].map(
            lambda value: json.loads(value) if isinstance(value, str) else value
        )
        yield Demo(
            engine=engine,
            truths=truths,
            customers=_profiles(customers, transactions, reference),
            transactions=transactions,
            events=_read(engine, "SELECT * FROM coupon_events", ("occurred_at",)),
            assignments=_read(engine, "SELECT * FROM campaign_assignments", ("assigned_at",)),
            campaigns=_read(engine, "SELECT * FROM campaigns", ("starts_on", "ends_on")),
            branches=_read(engine, "SELECT * FROM branches"),
            surveys=_read(engine, "SELECT * FROM survey_responses", ("answered_at",)),
            reference=reference,
        )
        engine.dispose()


def _dump(engine: Engine) -> dict[str, pd.DataFrame]:
    return {name: pd.read_sql(f"SELECT * FROM {name} ORDER BY id", engine) for name in BUSINESS_TABLES}


# ------------------------------------------------------------------ contract
def test_same_seed_gives_identical_rows_and_another_seed_different_ones(engine):
    config = DemoConfig(customers=300, seed=7, batch_size=120)
    first_truths = generate_demo_data(engine, config)
    first = _dump(engine)
    clear_tables(engine)
    assert generate_demo_data(engine, config) == first_truths
    second = _dump(engine)
    for name in BUSINESS_TABLES:
        assert len(first[name]) > 0, name
        pd.testing.assert_frame_equal(first[name], second[name], obj=name)
    clear_tables(engine)
    generate_demo_data(engine, DemoConfig(customers=300, seed=8, batch_size=120))
    other = _dump(engine)
    assert not first["customers"].equals(other["customers"])
    assert not first["transactions"].equals(other["transactions"])


def test_refuses_a_database_that_already_has_customers(engine):
    generate_demo_data(engine, DemoConfig(customers=100))
    with engine.connect() as connection:
        before = connection.scalar(select(func.count()).select_from(Transaction))
    with pytest.raises(ValueError, match="empty database"):
        generate_demo_data(engine, DemoConfig(customers=100, seed=1))
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Customer)) == 100
        assert connection.scalar(select(func.count()).select_from(Transaction)) == before


def test_rejects_too_few_customers(engine):
    with pytest.raises(ValueError, match="at least"):
        generate_demo_data(engine, DemoConfig(customers=5))


def test_progress_is_reported(engine):
    messages: list[str] = []
    generate_demo_data(engine, DemoConfig(customers=250, batch_size=100), progress=messages.append)
    assert sum("written" in m for m in messages) == 3
    assert messages[-1] == "Demo data complete"


def test_sequences_continue_after_the_generated_keys(engine):
    generate_demo_data(engine, DemoConfig(customers=100))
    with engine.begin() as connection:
        new_id = connection.execute(
            Customer.__table__.insert().values(external_id="X1", gender="Unknown").returning(Customer.id)
        ).scalar_one()
    assert new_id == 101


# ------------------------------------------------------------------ customers
def test_customers_age_family_gender(demo):
    c = demo.customers
    assert len(c) == CUSTOMERS
    assert c["external_id"].str.fullmatch(r"C\d{6}").all()
    assert c["external_id"].is_unique and c["name"].notna().all()
    assert abs(c["age"].mean() - 43) <= 1.5
    assert c["age"].between(18, 75).all()
    assert abs((c["children"] > 0).mean() - 0.71) <= 0.03
    genders = c["gender"].value_counts(normalize=True)
    assert set(genders.index) == {"Female", "Male", "Other"}
    assert genders["Other"] < 0.05 and genders["Female"] > 0.4 and genders["Male"] > 0.4
    assert (pd.to_datetime(c["signup_date"]) <= demo.reference).all()


def test_countries_led_by_the_united_states_then_australia(demo):
    by_country = demo.customers["country"].value_counts()
    assert list(by_country.index[:2]) == ["United States", "Australia"]
    assert len(by_country) >= 5
    assert (demo.customers.groupby("country")["city"].nunique() >= 3).all()


# ------------------------------------------------------------------ transactions
def test_orders_span_2020_to_2023_and_the_last_day_is_new_years_eve(demo):
    t = demo.transactions
    assert t["ordered_at"].min() >= pd.Timestamp("2020-01-01")
    assert demo.reference == pd.Timestamp("2023-12-31")
    assert set(t["year"]) == {2020, 2021, 2022, 2023}


def test_november_and_december_peak(demo):
    t = demo.transactions
    monthly = t.groupby([t["year"], t["ordered_at"].dt.month])["amount"].sum().groupby(level=1).mean()
    others = monthly.drop([11, 12]).mean()
    assert monthly[11] > 1.2 * others and monthly[12] > 1.2 * others


def test_weekends_are_busier(demo):
    weekday = demo.transactions["ordered_at"].dt.day_of_week
    assert (weekday >= 5).mean() > 2 / 7 + 0.03
    per_day = weekday.value_counts()
    assert min(per_day[5], per_day[6]) > max(per_day[0], per_day[1], per_day[2])


def test_transaction_fields_are_consistent(demo):
    t = demo.transactions
    assert {"Electronics", "Clothing", "Home", "Beauty", "Sports", "Grocery", "Toys"} <= set(t["category"])
    assert set(t["channel"]) == {"store", "online", "mobile"}
    assert (t["branch_id"].notna() == (t["channel"] == "store")).all()
    assert (t["amount"] > 0).all() and (t["discount"] >= 0).all() and (t["cost"] > 0).all()
    assert (t["cost"] < t["amount"]).mean() > 0.95
    assert (t["quantity"] >= 1).all()
    assert (t.loc[t["coupon_id"].notna(), "discount"] > 0).all()
    assert t["external_id"].is_unique


def test_revenue_by_age_bracket_peaks_at_41_to_60(demo):
    c = demo.customers
    revenue = c.groupby(c["age"].map(age_bracket))["revenue"].sum()
    decades = revenue.reindex(list(DECADES)).sort_values(ascending=False)
    assert set(decades.index[:2]) == {"41-50", "51-60"}
    assert decades.index[-1] == "61-70"
    assert revenue.drop(list(DECADES)).sum() < 0.05 * revenue.sum()  # the open-ended brackets are tiny


def test_profiles_by_the_rules(demo):
    c = demo.customers
    shares = c.groupby("profile")["revenue"].sum() / c["revenue"].sum()
    counts = c["profile"].value_counts(normalize=True)
    assert shares.idxmax() == "Loyal"
    assert 0 < counts["VIP"] <= 0.05
    for profile in ("Periodic", "One-time", "New", "Occasional"):
        assert counts[profile] >= 0.02, profile


def test_profiles_after_refresh(demo):
    from services.refresh import refresh

    refresh(demo.engine)
    summary = pd.read_sql(
        "SELECT profile, COUNT(*) AS customers, SUM(revenue) AS revenue FROM customer_summary GROUP BY profile",
        demo.engine,
    ).set_index("profile")
    assert summary["customers"].sum() == CUSTOMERS
    assert summary["revenue"].idxmax() == "Loyal"
    assert summary.loc["VIP", "customers"] / CUSTOMERS <= 0.05
    assert "Periodic" in summary.index


def test_named_top_buyers_clearly_lead(demo):
    c = demo.customers.sort_values("revenue", ascending=False)
    top = [external_id for external_id, _ in demo.truths.top_buyers]
    assert len(top) == 5
    assert set(c["external_id"].iloc[:5]) == set(top)
    assert c["revenue"].iloc[4] > 2 * c["revenue"].iloc[5]
    flagged = c[c["attributes"].map(lambda a: bool(a.get("demo_top_buyer")))]
    assert set(flagged["external_id"]) == set(top)
    names = dict(zip(c["external_id"], c["name"]))
    assert [names[e] for e in top] == [name for _, name in demo.truths.top_buyers]


# ------------------------------------------------------------------ coupons
def test_coupon_funnel_is_consistent(demo):
    e = demo.events.copy()
    rank = {"issued": 0, "claimed": 1, "burned": 2, "expired": 3}
    assert set(e["event"]) == set(rank)
    e["rank"] = e["event"].map(rank)
    e = e.sort_values(["customer_id", "coupon_id", "occurred_at", "rank"])
    key = [e["customer_id"], e["coupon_id"]]
    issued = (e["event"] == "issued").groupby(key).cumsum()
    claimed = (e["event"] == "claimed").groupby(key).cumsum()
    closed = e["event"].isin(["burned", "expired"]).groupby(key).cumsum()
    assert (claimed <= issued).all()  # nothing claimed that was not issued before
    assert (closed <= claimed).all()  # nothing burned or expired that was not claimed before
    timestamps = e.groupby(["customer_id", "coupon_id", "occurred_at"])["event"].nunique()
    assert (timestamps == 1).all()  # the steps of one coupon happen at different moments

    burned = e[e["event"] == "burned"]
    assert burned["transaction_id"].notna().all()
    assert e.loc[e["event"] != "burned", "transaction_id"].isna().all()
    orders = demo.transactions.set_index("id").loc[burned["transaction_id"].astype(int)]
    assert (orders["coupon_id"].to_numpy() == burned["coupon_id"].to_numpy()).all()
    assert (orders["customer_id"].to_numpy() == burned["customer_id"].to_numpy()).all()
    assert (orders["ordered_at"].to_numpy() == burned["occurred_at"].to_numpy()).all()
    assert (orders["discount"] > 0).all()
    assert demo.transactions["coupon_id"].notna().sum() == len(burned)

    coupons = pd.read_sql("SELECT * FROM coupons", demo.engine, parse_dates=["valid_from", "valid_to"])
    valid = e.merge(coupons, left_on="coupon_id", right_on="id")
    assert (valid["occurred_at"] >= valid["valid_from"]).all()
    assert (valid["occurred_at"] < valid["valid_to"] + pd.Timedelta(days=1)).all()


def test_coupon_rates_and_branches(demo):
    e = demo.events
    counts = e["event"].value_counts()
    assert 0.5 <= counts["claimed"] / counts["issued"] <= 0.7
    assert 0.45 <= counts["burned"] / counts["claimed"] <= 0.65
    names = demo.branches.set_index("id")
    by_branch = e.pivot_table(index="branch_id", columns="event", values="id", aggfunc="count")
    assert len(by_branch) >= 10
    assert names.loc[by_branch.index, "city"].nunique() >= 8
    burn_rate = (by_branch["burned"] / by_branch["claimed"]).sort_values()
    lowest = set(names.loc[burn_rate.index[:2], "name"])
    assert lowest == set(demo.truths.low_burn_branches)
    assert burn_rate.iloc[1] < 0.35 < burn_rate.iloc[2]
    many_claims = by_branch["claimed"] > by_branch["claimed"].median()
    assert many_claims.loc[burn_rate.index[:2]].all()


# ------------------------------------------------------------------ campaigns
def test_ab_test_campaign(demo):
    campaigns = demo.campaigns.set_index("name")
    ab = campaigns.loc[demo.truths.ab_test_campaign]
    assert ab["kind"] == "ab_test" and ab["discount_pct"] == 20 and ab["planned_treatment_share"] == 0.5
    assert 60 <= (ab["ends_on"] - ab["starts_on"]).days <= 183
    assert len(campaigns) >= 3 and campaigns["kind"].nunique() >= 3

    assigned = demo.assignments[demo.assignments["campaign_id"] == ab["id"]]
    assert set(assigned["variant"]) == {"control", "treatment"}
    assert assigned["customer_id"].is_unique
    assert len(assigned) >= 0.15 * CUSTOMERS
    assert abs((assigned["variant"] == "treatment").mean() - 0.5) <= 0.02
    assert (assigned["assigned_at"] < ab["starts_on"]).all()

    t = demo.transactions
    window = t[(t["ordered_at"] >= ab["starts_on"]) & (t["ordered_at"] < ab["ends_on"] + pd.Timedelta(days=1))]
    window = window.merge(assigned[["customer_id", "variant"]], on="customer_id")
    per_variant = window.groupby("variant").agg(orders=("id", "size"), revenue=("amount", "sum"), cost=("cost", "sum"))
    per_variant["customers"] = assigned["variant"].value_counts()
    purchases = per_variant["orders"] / per_variant["customers"]
    assert 1.08 <= purchases["treatment"] / purchases["control"] <= 1.22
    profit_per_sale = (per_variant["revenue"] - per_variant["cost"]) / per_variant["orders"]
    assert profit_per_sale["treatment"] < 0.8 * profit_per_sale["control"]

    treated = window[window["variant"] == "treatment"]
    assert (treated["campaign_id"] == ab["id"]).all()
    gross = treated["amount"] + treated["discount"]
    assert np.allclose(treated["discount"] / gross, 0.2, atol=0.01)


# ------------------------------------------------------------------ behaviour and surveys
def test_planted_behavioural_groups_are_distinct(demo):
    c = demo.customers
    c = c.assign(group=c["attributes"].map(lambda a: a[demo.truths.group_attribute]))
    assert c["group"].value_counts().to_dict() == demo.truths.groups
    read_back = planted_groups(demo.engine)
    assert {g: len(ids) for g, ids in read_back.items()} == demo.truths.groups
    assert set(read_back["bargain_hunters"]) == set(c.loc[c["group"] == "bargain_hunters", "external_id"])
    groups = [g for g in demo.truths.groups if g != "mainstream"]
    assert 3 <= len(groups) <= 4
    t = demo.transactions.assign(
        coupon=demo.transactions["coupon_id"].notna(),
        electronics=demo.transactions["category"] == "Electronics",
        grocery=demo.transactions["category"] == "Grocery",
    )
    per_customer = t.groupby("customer_id").agg(
        aov=("amount", "mean"), coupon=("coupon", "mean"),
        electronics=("electronics", "mean"), grocery=("grocery", "mean"),
    )
    features = c.join(per_customer, on="id").groupby("group")[
        ["age", "income", "orders", "aov", "coupon", "electronics", "grocery"]
    ].mean()
    assert (c["group"].value_counts(normalize=True)[groups] >= 0.03).all()
    assert features["electronics"].idxmax() == "young_tech_enthusiasts"
    assert features["age"].idxmin() == "young_tech_enthusiasts"
    assert features["income"].idxmax() == "affluent_big_basket"
    assert features["aov"].idxmax() == "affluent_big_basket"
    assert features["orders"].idxmin() == "affluent_big_basket"
    assert features["coupon"].idxmax() == "bargain_hunters"
    assert features["coupon"]["bargain_hunters"] > 3 * features["coupon"].drop("bargain_hunters").max()
    assert features["grocery"].idxmax() == "older_grocery_regulars"
    assert features["age"].idxmax() == "older_grocery_regulars"


def test_nps_answers_follow_behaviour(demo):
    s = demo.surveys
    assert 0.1 <= s["customer_id"].nunique() / CUSTOMERS <= 0.3
    assert s["nps_score"].between(0, 10).all()
    assert s["comment"].notna().mean() > 0.5
    scores = s.merge(demo.customers[["id", "profile", "first"]], left_on="customer_id", right_on="id")
    assert (scores["answered_at"] >= scores["first"]).all()
    by_profile = scores.groupby("profile")["nps_score"].mean()
    assert by_profile["Loyal"] > by_profile["One-time"] + 1.5
