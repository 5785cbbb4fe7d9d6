"""The SQL refresh agrees with an independent pandas computation on random data."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert, select

from services.models import Customer, CustomerSummary, DataVersion, Transaction
from services.refresh import current_version, refresh
from services.rules import RFM_SEGMENT_MAP, THRESHOLDS, age_bracket, rfm_segment

START = dt.datetime(2021, 1, 1)


def _random_data(seed: int, customers: int = 400) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    people = pd.DataFrame({
        "id": np.arange(1, customers + 1),
        "external_id": [f"R{i:05d}" for i in range(1, customers + 1)],
        "gender": rng.choice(["Female", "Male"], customers),
        "birth_date": [dt.date(1950, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 20000, customers)],
        "children": rng.integers(0, 4, customers),
        "country": rng.choice(["United States", "Australia"], customers),
    })
    orders_per_customer = rng.poisson(rng.choice([0.2, 3, 15], customers))
    owner = np.repeat(people["id"].to_numpy(), orders_per_customer)
    amount = np.round(rng.gamma(2.0, 40.0, owner.size), 2)
    orders = pd.DataFrame({
        "customer_id": owner,
        "ordered_at": [START + dt.timedelta(minutes=int(m)) for m in rng.integers(0, 3 * 365 * 24 * 60, owner.size)],
        "amount": amount,
        "cost": np.round(amount * rng.uniform(0.4, 0.9, owner.size), 2),
        "discount": 0.0,
        "quantity": 1,
    })
    return people, orders


def _load(engine, people: pd.DataFrame, orders: pd.DataFrame) -> None:
    with engine.begin() as connection:
        connection.execute(insert(Customer), people.to_dict("records"))
        connection.execute(insert(Transaction), orders.to_dict("records"))


def _quintiles(n: int) -> np.ndarray:
    """Scores of customers ranked 1..n, as pandas.qcut cuts the ranks into fifths."""
    return pd.qcut(np.arange(1, n + 1), 5, labels=False) + 1 if n > 1 else np.array([3])


def _expected(people: pd.DataFrame, orders: pd.DataFrame) -> pd.DataFrame:
    reference = orders["ordered_at"].max().normalize()
    per = orders.assign(profit=orders["amount"] - orders["cost"], year=orders["ordered_at"].dt.year)
    agg = per.groupby("customer_id").agg(
        orders=("amount", "size"), revenue=("amount", "sum"), profit=("profit", "sum"),
        first=("ordered_at", "min"), last=("ordered_at", "max"), active_years=("year", "nunique"),
    )
    frame = people.set_index("id").join(agg)
    frame["orders"] = frame["orders"].fillna(0).astype(int)
    frame["recency_days"] = (reference - frame["last"].dt.normalize()).dt.days
    frame["tenure_days"] = (reference - frame["first"].dt.normalize()).dt.days
    birth = pd.to_datetime(frame["birth_date"])
    had_birthday = (birth.dt.month < reference.month) | (
        (birth.dt.month == reference.month) & (birth.dt.day <= reference.day))
    frame["age"] = reference.year - birth.dt.year - (~had_birthday).astype(int)
    frame["age_bracket"] = frame["age"].map(age_bracket)
    frame["profile"] = [_profile(row) for row in frame.itertuples()]
    buyers = frame[frame["orders"] > 0]
    threshold = buyers["revenue"].sort_values(kind="stable").iloc[int(len(buyers) * THRESHOLDS.vip_revenue_percentile)]
    vip = (frame["orders"] >= THRESHOLDS.vip_min_orders) & (frame["revenue"] >= threshold)
    frame.loc[vip, "profile"] = "VIP"
    buyers = buyers.reset_index()
    for score, column, ascending in (("r", "recency_days", False), ("f", "orders", True), ("m", "revenue", True)):
        ordered = buyers.sort_values([column, "id"], ascending=[ascending, True])
        frame.loc[ordered["id"], f"{score}_score"] = _quintiles(len(ordered))
    return frame


def _profile(row) -> str:
    if row.orders == 0:
        return "Prospect"
    if row.tenure_days <= THRESHOLDS.new_within_days:
        return "New"
    if row.orders == 1:
        return "One-time"
    years = row.tenure_days / 365 if row.tenure_days > 365 else 1.0
    if row.orders / years >= THRESHOLDS.loyal_orders_per_year and row.recency_days <= THRESHOLDS.loyal_active_within_days:
        return "Loyal"
    if row.active_years >= THRESHOLDS.periodic_min_years:
        return "Periodic"
    return "Occasional"


def _summary(engine) -> pd.DataFrame:
    with engine.connect() as connection:
        return pd.read_sql(select(CustomerSummary), connection).set_index("customer_id")


@pytest.mark.parametrize("seed", [1, 2])
def test_summary_matches_pandas(engine, seed):
    people, orders = _random_data(seed)
    _load(engine, people, orders)
    refresh(engine)
    got, want = _summary(engine), _expected(people, orders)
    got = got.loc[want.index]
    assert (got["orders"] == want["orders"]).all()
    np.testing.assert_allclose(got["revenue"], want["revenue"].fillna(0), rtol=1e-9)
    np.testing.assert_allclose(got["profit"], want["profit"].fillna(0), rtol=1e-9)
    for column in ("recency_days", "tenure_days", "age", "r_score", "f_score", "m_score"):
        pd.testing.assert_series_equal(got[column].astype("Float64"), want[column].astype("Float64"),
                                       check_names=False)
    assert (got["age_bracket"] == want["age_bracket"]).all()
    assert (got["profile"] == want["profile"]).all()
    buyers = want[want["orders"] > 0]
    expected_segments = [rfm_segment(int(r), int(f)) for r, f in zip(buyers["r_score"], buyers["f_score"])]
    assert list(got.loc[buyers.index, "rfm_segment"]) == expected_segments


def test_profiles_cover_several_rules(engine):
    people, orders = _random_data(3, customers=600)
    _load(engine, people, orders)
    refresh(engine)
    assert {"Prospect", "VIP", "Loyal", "One-time"} <= set(_summary(engine)["profile"])


def test_refresh_bumps_data_version_and_replaces_rows(engine):
    people, orders = _random_data(4, customers=50)
    _load(engine, people, orders)
    first = refresh(engine)
    second = refresh(engine)
    assert second == first + 1
    with engine.connect() as connection:
        assert current_version(connection) == second
        assert connection.scalar(select(DataVersion.customers).where(DataVersion.id == second)) == 50
    assert len(_summary(engine)) == 50


def test_refresh_on_empty_database(engine):
    assert refresh(engine) == 1
    assert _summary(engine).empty


def test_rfm_map_covers_every_score_pair():
    pairs = {(r, f) for _, rs, fs in RFM_SEGMENT_MAP for r in rs for f in fs}
    assert pairs == {(r, f) for r in range(1, 6) for f in range(1, 6)}


def test_equal_revenues_summed_in_another_order_tie_by_customer_id(engine):
    """0.1 + 0.2 + 0.3 and 0.3 + 0.2 + 0.1 differ in the last bit; the M score must still treat them as equal."""
    people = _random_data(1, customers=2)[0]
    orders = pd.DataFrame({
        "customer_id": [1, 1, 1, 2, 2, 2],
        "ordered_at": [START + dt.timedelta(days=day) for day in (1, 2, 3, 1, 2, 3)],
        "amount": [0.1, 0.2, 0.3, 0.3, 0.2, 0.1], "cost": 0.0, "discount": 0.0, "quantity": 1,
    })
    _load(engine, people, orders)
    refresh(engine)
    scores = _summary(engine)["m_score"]
    assert scores.loc[1] < scores.loc[2]  # equal revenue: the lower id ranks first
