"""Purchase histories from SQL equal plain pandas on the raw transactions; CLV and the holdout check hold.

One small demo data set per backend (SQLite and PostgreSQL). The lifetime value is checked
against its definition (discounted monthly increments of expected purchases times expected
spend); the calibration/holdout comparison is checked on data planted from the model itself.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from services.demo import DemoConfig, generate_demo_data
from services.models import Transaction
from services.value import bgnbd, clv
from services.value.history import purchase_histories, purchase_histories_at
from tests.test_value_models import _simulate

CUTOFF, HOLDOUT_END = dt.date(2023, 1, 1), dt.date(2023, 6, 30)


@pytest.fixture
def histories(engine) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The service's histories and the raw transactions of a 300-customer demo."""
    generate_demo_data(engine, DemoConfig(customers=300, seed=9))
    with engine.connect() as connection:
        found = purchase_histories(connection, CUTOFF, HOLDOUT_END)
        t = Transaction.__table__.c
        raw = pd.DataFrame(connection.execute(select(t.customer_id, t.ordered_at, t.amount)).all(),
                           columns=["customer_id", "ordered_at", "amount"])
    return found, raw


def _expected(raw: pd.DataFrame) -> pd.DataFrame:
    raw = raw.assign(day=pd.to_datetime(raw["ordered_at"]).dt.normalize())
    daily = raw.groupby(["customer_id", "day"], as_index=False)["amount"].sum()
    cutoff, end = pd.Timestamp(CUTOFF), pd.Timestamp(HOLDOUT_END)
    rows = []
    for customer, days in daily.groupby("customer_id"):
        before = days[days["day"] < cutoff].sort_values("day")
        if before.empty:
            continue
        first, last = before["day"].iloc[0], before["day"].iloc[-1]
        x = len(before) - 1
        rows.append({"customer_id": customer, "x": x, "t_x": float((last - first).days),
                     "T": float((cutoff - first).days),
                     "spend": before["amount"].iloc[1:].mean() if x else np.nan,
                     "holdout": int(((days["day"] >= cutoff) & (days["day"] <= end)).sum())})
    return pd.DataFrame(rows)


def test_histories_equal_pandas_on_the_raw_transactions(histories):
    found, raw = histories
    expected = _expected(raw)
    assert len(found) == len(expected) > 100
    pd.testing.assert_frame_equal(found.reset_index(drop=True), expected[found.columns].reset_index(drop=True),
                                  check_dtype=False, rtol=1e-9)


def _planted(rng) -> pd.DataFrame:
    """Histories drawn from the modified BG/NBD in weeks, in days as the service gives them, with spend."""
    weeks = _simulate(rng, 8_000, 52.0, 0.6, 4.0, 0.9, 2.8, modified=True)
    return pd.DataFrame({"customer_id": np.arange(len(weeks)), "x": weeks["x"], "t_x": weeks["t_x"] * 7,
                         "T": weeks["T"] * 7, "spend": np.where(weeks["x"] > 0, rng.gamma(5.0, 10.0, len(weeks)),
                                                                np.nan), "holdout": 0})


def test_clv_is_the_discounted_sum_of_monthly_expected_purchases_times_spend():
    histories = _planted(np.random.default_rng(5))
    model = clv.fit_value_model(histories)
    undiscounted = clv.customer_value(model, histories, monthly_discount=0.0)
    x, t_x, T = histories["x"], histories["t_x"] / 7, histories["T"] / 7
    year = bgnbd.expected_purchases(model.purchases, 12 * clv.DAYS_PER_MONTH / 7, x, t_x, T)
    assert undiscounted["clv"].to_numpy() == pytest.approx((year * undiscounted["spend"]).to_numpy(), rel=1e-9)
    discounted = clv.customer_value(model, histories, monthly_discount=0.02)
    first_month = bgnbd.expected_purchases(model.purchases, clv.DAYS_PER_MONTH / 7, x, t_x, T)
    assert (discounted["clv"] < undiscounted["clv"]).all()
    assert (discounted["clv"] > first_month * discounted["spend"] / 1.02 - 1e-9).all()
    # customers without a repeat purchase get the population's mean spend
    assert discounted.loc[histories["x"] == 0, "spend"].to_numpy() == pytest.approx(model.population_spend)


def _histories_with_holdout(rng, n: int, weeks: float, holdout_weeks: float, r, alpha, a, b) -> pd.DataFrame:
    """Modified BG/NBD customers observed for `weeks` after their first purchase, then `holdout_weeks` more."""
    rates, drop = rng.gamma(r, 1.0 / alpha, n), rng.beta(a, b, n)
    rows = []
    for customer, (rate, p) in enumerate(zip(rates, drop)):
        times, t = [], 0.0
        alive = rng.random() >= p  # the modified model: a customer may leave right after the first purchase
        while alive:
            t += rng.exponential(1.0 / rate)
            if t > weeks + holdout_weeks:
                break
            times.append(t)
            alive = rng.random() >= p
        times = np.array(times)
        before = times[times <= weeks]
        rows.append((customer, len(before), before.max() * 7 if len(before) else 0.0, weeks * 7, 50.0,
                     int((times > weeks).sum())))
    return pd.DataFrame(rows, columns=["customer_id", "x", "t_x", "T", "spend", "holdout"])


def test_the_holdout_purchases_follow_the_models_prediction_on_planted_data():
    histories = _histories_with_holdout(np.random.default_rng(8), 20_000, 52.0, 26.0, 0.6, 4.0, 0.9, 2.8)
    model = clv.fit_value_model(histories.assign(spend=histories["spend"].where(histories["x"] > 0)))
    table = clv.calibration(model, histories, 26 * 7)
    assert list(table["x"]) == list(range(8)) and table["customers"].sum() == 20_000
    # each group's predicted holdout purchases match what the planted process did
    assert table["predicted"].to_numpy() == pytest.approx(table["actual"].to_numpy(), rel=0.12, abs=0.05)
    total = bgnbd.expected_purchases(model.purchases, 26.0, histories["x"], histories["t_x"] / 7,
                                     histories["T"] / 7).sum()
    assert total == pytest.approx(histories["holdout"].sum(), rel=0.05)


def test_several_cutoffs_in_one_pass_equal_one_cutoff_at_a_time(histories, engine):
    cutoffs = (HOLDOUT_END, CUTOFF)
    with engine.connect() as connection:
        together = purchase_histories_at(connection, cutoffs, HOLDOUT_END)
        alone = [purchase_histories(connection, cutoff, HOLDOUT_END) for cutoff in cutoffs]
    assert len(together[1]) < len(together[0])
    for one, other in zip(together, alone):
        pd.testing.assert_frame_equal(one, other)
