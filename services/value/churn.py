"""Churn: who stops buying. A customer churns after a cutoff when they buy nothing in the `horizon` days after it.

Features come from the orders before the cutoff only (aggregated by the SQL database), so nothing
after the cutoff can leak into them; the label is the only thing read after it. Validation is
by time: the models learn at one cutoff and are judged at a later one, whose label window ends
at the data's last day, against a recency-only baseline.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sqlalchemy import Connection, and_, case, func, literal, select

from services.models import Transaction
from services.sql_functions import days_between

DEFAULT_HORIZON = 90
FEATURES = ["recency_days", "tenure_days", "orders", "revenue", "average_order", "orders_90", "orders_365",
            "revenue_365", "coupon_share", "discount_share"]
FEATURE_LABELS = {"recency_days": "Days since last order", "tenure_days": "Days since first order",
                  "orders": "Orders", "revenue": "Revenue", "average_order": "Average order",
                  "orders_90": "Orders, last 90 days", "orders_365": "Orders, last year",
                  "revenue_365": "Revenue, last year", "coupon_share": "Orders with a coupon",
                  "discount_share": "Discount share"}


def churn_frame(connection: Connection, cutoff: dt.date, horizon: int = DEFAULT_HORIZON) -> pd.DataFrame:
    """customer_id, the FEATURES as of `cutoff` (orders before it) and `churned` (no order in the horizon after),
    for the customers with an order before the cutoff."""
    return churn_frames(connection, (cutoff,), horizon)[0]


def _aggregates(t, cutoff: dt.date, horizon: int) -> dict:
    """The SQL aggregates of one cutoff's features and label, by name."""
    cut = literal(dt.datetime.combine(cutoff, dt.time()))
    before = t.ordered_at < cut

    def within(days: int):
        return and_(before, t.ordered_at >= literal(dt.datetime.combine(cutoff - dt.timedelta(days), dt.time())))
    later = and_(t.ordered_at >= cut, t.ordered_at < literal(dt.datetime.combine(cutoff + dt.timedelta(horizon),
                                                                                  dt.time())))
    day = literal(cutoff.isoformat())
    return {
        "recency_days": days_between(day, func.max(case((before, t.ordered_at)))),
        "tenure_days": days_between(day, func.min(case((before, t.ordered_at)))),
        "orders": func.count(case((before, 1))),
        "revenue": func.coalesce(func.sum(case((before, t.amount))), 0.0),
        "orders_90": func.count(case((within(90), 1))),
        "orders_365": func.count(case((within(365), 1))),
        "revenue_365": func.coalesce(func.sum(case((within(365), t.amount))), 0.0),
        "coupon_orders": func.count(case((and_(before, t.coupon_id.is_not(None)), 1))),
        "discount": func.coalesce(func.sum(case((before, t.discount))), 0.0),
        "later_orders": func.count(case((later, 1))),
    }


def churn_frames(connection: Connection, cutoffs: tuple[dt.date, ...],
                 horizon: int = DEFAULT_HORIZON) -> list[pd.DataFrame]:
    """`churn_frame` at each cutoff, from one pass over the transactions (the pass is the cost)."""
    t = Transaction.__table__.c
    columns = [expression.label(f"{name}_{index}") for index, cutoff in enumerate(cutoffs)
               for name, expression in _aggregates(t, cutoff, horizon).items()]
    last = max(cutoffs)
    query = (
        select(t.customer_id, *columns)
        .where(t.ordered_at < literal(dt.datetime.combine(last + dt.timedelta(horizon), dt.time())))
        .group_by(t.customer_id)
        .having(func.count(case((t.ordered_at < literal(dt.datetime.combine(last, dt.time())), 1))) > 0)
        .order_by(t.customer_id)
    )
    wide = pd.DataFrame(connection.execute(query).all(), columns=["customer_id", *(c.name for c in columns)])
    return [_frame(wide, index) for index in range(len(cutoffs))]


def _frame(wide: pd.DataFrame, index: int) -> pd.DataFrame:
    names = ["recency_days", "tenure_days", "orders", "revenue", "orders_90", "orders_365", "revenue_365",
             "coupon_orders", "discount", "later_orders"]
    frame = wide[["customer_id", *(f"{name}_{index}" for name in names)]].set_axis(["customer_id", *names], axis=1)
    frame = frame[frame["orders"] > 0].astype(float).astype({"customer_id": "int64"}).reset_index(drop=True)
    frame["average_order"] = frame["revenue"] / frame["orders"]
    frame["coupon_share"] = frame.pop("coupon_orders") / frame["orders"]
    discount = frame.pop("discount")
    gross = frame["revenue"] + discount
    frame["discount_share"] = (discount / gross).where(gross > 0, 0.0)  # of the gross price, given away
    frame["churned"] = (frame.pop("later_orders") == 0).astype(int)
    return frame[["customer_id", *FEATURES, "churned"]]


def cutoffs(reference: dt.date, horizon: int = DEFAULT_HORIZON) -> tuple[dt.date, dt.date]:
    """The training and the test cutoff: the test's label window ends on the reference day (the last order
    day), the training's ends the day before the test's cutoff, so the two windows do not overlap."""
    test = reference + dt.timedelta(days=1 - horizon)
    return test - dt.timedelta(days=horizon), test


def models(random_state: int = 0) -> dict[str, Pipeline]:
    """The candidates: a scaled logistic regression and gradient boosting."""
    return {
        "logistic": Pipeline([("scale", StandardScaler()), ("model", LogisticRegression(max_iter=1000))]),
        "boosting": Pipeline([("model", HistGradientBoostingClassifier(max_iter=200, learning_rate=0.08,
                                                                       random_state=random_state))]),
    }


@dataclass(frozen=True)
class Validation:
    auc: dict[str, float]  # by model, plus "recency" (the baseline: the longer since the last order, the likelier)
    importance: pd.DataFrame  # feature, importance (mean AUC drop when permuted), by model
    train_customers: int
    test_customers: int


def validate(train: pd.DataFrame, test: pd.DataFrame, random_state: int = 0) -> tuple[Validation, dict]:
    """Fit each model at the earlier cutoff, score it at the later one; also returns the fitted models."""
    fitted, auc, importance = {}, {}, []
    for name, pipeline in models(random_state).items():
        pipeline.fit(train[FEATURES], train["churned"])
        fitted[name] = pipeline
        auc[name] = float(roc_auc_score(test["churned"], pipeline.predict_proba(test[FEATURES])[:, 1]))
        found = permutation_importance(pipeline, test[FEATURES], test["churned"], scoring="roc_auc", n_repeats=3,
                                       random_state=random_state)
        importance.append(pd.DataFrame({"model": name, "feature": FEATURES, "importance": found.importances_mean}))
    auc["recency"] = float(roc_auc_score(test["churned"], test["recency_days"]))
    return Validation(auc, pd.concat(importance, ignore_index=True), len(train), len(test)), fitted


def at_risk_revenue(probability: np.ndarray, revenue_365: np.ndarray) -> np.ndarray:
    """Revenue at risk: the last year's revenue times the chance of churning."""
    return np.asarray(probability) * np.asarray(revenue_365)
