"""The churn data set equals pandas on the raw transactions, uses nothing after its cutoff, and the models
beat a recency-only baseline on a later cutoff (time-based validation) on demo data."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select, update

from services.demo import DemoConfig, generate_demo_data
from services.models import Transaction
from services.value import churn

HORIZON = 90


@pytest.fixture
def demo(engine):
    generate_demo_data(engine, DemoConfig(customers=1500, seed=4))
    with engine.connect() as connection:
        last = pd.Timestamp(connection.scalar(select(Transaction.ordered_at).order_by(
            Transaction.ordered_at.desc()).limit(1))).date()
    return engine, last


def _raw(engine) -> pd.DataFrame:
    t = Transaction.__table__.c
    with engine.connect() as connection:
        rows = connection.execute(select(t.customer_id, t.ordered_at, t.amount, t.discount, t.coupon_id)).all()
    frame = pd.DataFrame(rows, columns=["customer_id", "ordered_at", "amount", "discount", "coupon_id"])
    return frame.assign(ordered_at=pd.to_datetime(frame["ordered_at"]))


def _expected(raw: pd.DataFrame, cutoff: dt.date) -> pd.DataFrame:
    cut = pd.Timestamp(cutoff)
    before = raw[raw["ordered_at"] < cut]
    later = raw[(raw["ordered_at"] >= cut) & (raw["ordered_at"] < cut + pd.Timedelta(days=HORIZON))]
    rows = []
    for customer, orders in before.groupby("customer_id"):
        days = orders["ordered_at"].dt.normalize()
        recent = lambda n: orders[orders["ordered_at"] >= cut - pd.Timedelta(days=n)]  # noqa: E731
        gross = orders["amount"].sum() + orders["discount"].sum()
        rows.append({
            "customer_id": customer, "recency_days": float((cut - days.max()).days),
            "tenure_days": float((cut - days.min()).days), "orders": float(len(orders)),
            "revenue": orders["amount"].sum(), "average_order": orders["amount"].mean(),
            "orders_90": float(len(recent(90))), "orders_365": float(len(recent(365))),
            "revenue_365": recent(365)["amount"].sum(), "coupon_share": orders["coupon_id"].notna().mean(),
            "discount_share": orders["discount"].sum() / gross if gross > 0 else 0.0,
            "churned": int(customer not in set(later["customer_id"])),
        })
    return pd.DataFrame(rows)


def test_the_churn_frame_equals_pandas_on_the_raw_transactions(demo):
    engine, last = demo
    cutoff = churn.cutoffs(last, HORIZON)[1]
    with engine.connect() as connection:
        found = churn.churn_frame(connection, cutoff, HORIZON)
    expected = _expected(_raw(engine), cutoff)
    assert len(found) > 500 and 0.1 < found["churned"].mean() < 0.9
    pd.testing.assert_frame_equal(found.reset_index(drop=True), expected[found.columns].reset_index(drop=True),
                                  check_dtype=False, rtol=1e-9)


def test_nothing_after_the_cutoff_changes_the_features_or_the_predictions(demo):
    engine, last = demo
    train_cutoff, test_cutoff = churn.cutoffs(last, HORIZON)
    with engine.connect() as connection:
        train = churn.churn_frame(connection, train_cutoff, HORIZON)
        before = churn.churn_frame(connection, test_cutoff, HORIZON)
    _, fitted = churn.validate(train, before)
    moment = dt.datetime.combine(test_cutoff, dt.time())
    with engine.begin() as connection:  # the future rewritten: later orders doubled, half moved years ahead
        t = Transaction.__table__.c
        connection.execute(update(Transaction).where(t.ordered_at >= moment).values(amount=t.amount * 2))
        connection.execute(update(Transaction).where((t.ordered_at >= moment) & (t.id % 2 == 0))
                           .values(ordered_at=dt.datetime(2031, 1, 1)))
    with engine.connect() as connection:
        after = churn.churn_frame(connection, test_cutoff, HORIZON)
    assert after[churn.FEATURES].equals(before[churn.FEATURES])
    for pipeline in fitted.values():
        assert np.array_equal(pipeline.predict_proba(after[churn.FEATURES]),
                              pipeline.predict_proba(before[churn.FEATURES]))
    assert (after["churned"] >= before["churned"]).all() and after["churned"].sum() > before["churned"].sum()


def test_the_models_beat_recency_alone_on_the_later_cutoff(demo):
    engine, last = demo
    train_cutoff, test_cutoff = churn.cutoffs(last, HORIZON)
    assert test_cutoff + dt.timedelta(days=HORIZON - 1) == last and train_cutoff + dt.timedelta(HORIZON) == test_cutoff
    with engine.connect() as connection:
        validation, _ = churn.validate(churn.churn_frame(connection, train_cutoff, HORIZON),
                                       churn.churn_frame(connection, test_cutoff, HORIZON))
    assert validation.auc["boosting"] > validation.auc["recency"] + 0.02
    assert validation.auc["logistic"] > validation.auc["recency"]
    top = validation.importance[validation.importance["model"] == "boosting"].nlargest(3, "importance")
    assert "recency_days" in set(top["feature"]) or "orders_90" in set(top["feature"])


def test_several_cutoffs_in_one_pass_equal_one_cutoff_at_a_time(demo):
    engine, last = demo
    cutoffs = (*churn.cutoffs(last, HORIZON), last + dt.timedelta(days=1))
    with engine.connect() as connection:
        together = churn.churn_frames(connection, cutoffs, HORIZON)
        alone = [churn.churn_frame(connection, cutoff, HORIZON) for cutoff in cutoffs]
    assert [len(frame) for frame in together] == [len(frame) for frame in alone]
    assert len(alone[0]) < len(alone[2])  # later cutoffs know more customers
    for one, other in zip(together, alone):
        pd.testing.assert_frame_equal(one, other)
