"""Train the value and churn models on the data as of its last day, and score every customer.

Both models learn on samples (the fits grow with the customers; the scores are cheap), from
reading connections only: the refresh writes the scores in its own short transaction.
The value model is also fitted at an earlier cutoff and judged on the purchases after it
(the calibration/holdout check); the churn model is chosen by its AUC one horizon later
and then refitted on the latest labelled cutoff before it scores today's customers.
"""
from __future__ import annotations

import datetime as dt
import io
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from numbers import Integral, Real

import joblib
import numpy as np
import pandas as pd
from sklearn.base import clone
from sqlalchemy import Connection
from threadpoolctl import threadpool_limits

from services.value import bgnbd, churn, clv, diagnostics
from services.value.history import purchase_histories_at

Progress = Callable[[float, str], None]
HORIZON_RANGE = (30, 365)
DISCOUNT_RANGE = (0.0, 0.1)
MIN_CUSTOMERS = 50  # fewer, and no model is fitted (the scores stay empty and the page says why)
MIN_REPEAT_BUYERS = 10
MIN_PER_CLASS = 10


def _is_number(value, kind) -> bool:
    return isinstance(value, kind) and not isinstance(value, bool)


@dataclass(frozen=True)
class ValueSettings:
    horizon: int = churn.DEFAULT_HORIZON  # churn: no purchase in this many days after the cutoff
    monthly_discount: float = 0.01  # CLV: the discount rate per month
    model: str = "mbgnbd"
    holdout_days: int = 182  # value model check: fitted this many days before the end, judged on them
    value_sample: int = 50_000  # customers the value model is fitted on
    churn_sample: int = 50_000  # customers per cutoff the churn models learn and are judged on
    random_state: int = 0

    def checked(self) -> "ValueSettings":
        """These settings, or ValueError with a message for the page."""
        low, high = HORIZON_RANGE
        if not _is_number(self.horizon, Integral) or not low <= self.horizon <= high:
            raise ValueError(f"The churn horizon is a whole number of days from {low} to {high}.")
        low, high = DISCOUNT_RANGE
        if not _is_number(self.monthly_discount, Real) or not low <= self.monthly_discount <= high:
            raise ValueError(f"The monthly discount rate is between {low:.0%} and {high:.0%}.")
        if self.model not in bgnbd.MODELS:
            raise ValueError(f"Unknown value model {self.model!r}.")
        return self

    @classmethod
    def from_dict(cls, values: dict | None) -> "ValueSettings":
        known = {name: value for name, value in (values or {}).items() if name in cls.__dataclass_fields__}
        return cls(**known)


@dataclass(frozen=True)
class Trained:
    """What one training produced, before it is written: a report per model, the churn pipeline, the scores."""
    settings: ValueSettings
    value_report: dict
    churn_report: dict
    churn_model: bytes | None
    scores: pd.DataFrame  # customer_id, clv_12m, purchases_12m, p_alive, churn_risk, revenue_at_risk
    value_seconds: float
    churn_seconds: float


SCORE_COLUMNS = ["customer_id", "clv_12m", "purchases_12m", "p_alive", "churn_risk", "revenue_at_risk"]


def train(connection: Connection, reference: dt.date, settings: ValueSettings,
          progress: Progress | None = None) -> Trained:
    """Both models as of `reference` (the last order day) and every buyer's scores.

    One thread for the native libraries: gradient boosting's threads spin while they wait, and beside
    web workers on a busy machine that made a training many times slower.
    """
    report = progress or (lambda _done, _text: None)
    started = time.perf_counter()
    with threadpool_limits(limits=1):
        value_report, value_scores = train_value(connection, reference, settings, report)
        value_seconds = time.perf_counter() - started
        churn_report, model, churn_scores = train_churn(connection, reference, settings, report)
    report(1.0, "Writing the scores…")
    scores = value_scores.merge(churn_scores, on="customer_id", how="outer")
    return Trained(settings, value_report, churn_report, model, scores.reindex(columns=SCORE_COLUMNS),
                   value_seconds, time.perf_counter() - started - value_seconds)


def _sample(frame: pd.DataFrame, size: int, random_state: int) -> pd.DataFrame:
    return frame if len(frame) <= size else frame.sample(n=size, random_state=random_state)


def _skipped(reason: str) -> dict:
    return {"status": "skipped", "reason": reason}


def _value_problem(histories: pd.DataFrame) -> str | None:
    if len(histories) < MIN_CUSTOMERS:
        return f"Too few buyers to fit the value model ({len(histories)}; it needs {MIN_CUSTOMERS})."
    repeat = int((histories["x"] > 0).sum())
    if repeat < MIN_REPEAT_BUYERS:
        return f"Too few repeat buyers to fit the spend model ({repeat}; it needs {MIN_REPEAT_BUYERS})."
    return None


def train_value(connection: Connection, reference: dt.date, settings: ValueSettings,
                progress: Progress) -> tuple[dict, pd.DataFrame]:
    """The value model's report and customer_id, clv_12m, purchases_12m, p_alive per buyer."""
    empty = pd.DataFrame(columns=["customer_id", "clv_12m", "purchases_12m", "p_alive"])
    progress(0.02, "Reading purchase histories…")
    holdout_start = reference + dt.timedelta(days=1 - settings.holdout_days)
    histories, earlier = purchase_histories_at(connection, (reference + dt.timedelta(days=1), holdout_start),
                                               reference)
    problem = _value_problem(histories)
    if problem:
        return _skipped(problem), empty
    progress(0.12, "Fitting the purchase and spend models…")
    sample = _sample(histories, settings.value_sample, settings.random_state)
    model = clv.fit_value_model(sample, settings.model)
    value = clv.customer_value(model, histories, months=12, monthly_discount=settings.monthly_discount)
    if not np.isfinite(value[["p_alive", "purchases", "clv"]].to_numpy()).all():
        # Degenerate data (every customer buying at one steady rate) drives the fit to extreme parameters.
        return _skipped("The value model found no stable fit on these purchase histories."), empty
    progress(0.25, "Checking the value model on a holdout period…")
    check = _holdout_check(earlier, holdout_start, settings)
    scores = value.rename(columns={"clv": "clv_12m", "purchases": "purchases_12m"})
    report = {"status": "trained", "customers": len(histories), "sample": len(sample),
              "purchases": asdict(model.purchases), "spend": asdict(model.spend),
              "population_spend": model.population_spend, "months": 12, **check}
    return report, scores[["customer_id", "clv_12m", "purchases_12m", "p_alive"]]


def _holdout_check(histories: pd.DataFrame, start: dt.date, settings: ValueSettings) -> dict:
    """Fit on the histories before `start`; mean predicted and actual purchases from then on, by frequency."""
    if _value_problem(histories):
        return {"calibration": None, "holdout_start": start.isoformat()}
    model = clv.fit_value_model(_sample(histories, settings.value_sample, settings.random_state), settings.model)
    table = clv.calibration(model, histories, settings.holdout_days)
    return {"calibration": table.to_dict("list"), "holdout_start": start.isoformat(),
            "holdout_days": settings.holdout_days}


def _churn_problem(name: str, frame: pd.DataFrame) -> str | None:
    churned = int(frame["churned"].sum())
    if len(frame) < MIN_CUSTOMERS:
        return f"Too few customers before the {name} cutoff to learn churn ({len(frame)}; it needs {MIN_CUSTOMERS})."
    if min(churned, len(frame) - churned) < MIN_PER_CLASS:
        return (f"At the {name} cutoff {churned:,} of {len(frame):,} customers churned: both groups need at "
                f"least {MIN_PER_CLASS}.")
    return None


def train_churn(connection: Connection, reference: dt.date, settings: ValueSettings,
                progress: Progress) -> tuple[dict, bytes | None, pd.DataFrame]:
    """The churn report, the fitted pipeline (joblib) and customer_id, churn_risk, revenue_at_risk."""
    empty = pd.DataFrame(columns=["customer_id", "churn_risk", "revenue_at_risk"])
    train_cut, test_cut = churn.cutoffs(reference, settings.horizon)
    progress(0.35, f"Reading customers as of {train_cut:%d %b %Y}, {test_cut:%d %b %Y} and today…")
    today = reference + dt.timedelta(days=1)
    train_frame, test_frame, current = churn.churn_frames(connection, (train_cut, test_cut, today),
                                                          settings.horizon)
    frames = {"training": train_frame, "test": test_frame}
    problem = next(filter(None, (_churn_problem(name, frame) for name, frame in frames.items())), None)
    if problem:
        return _skipped(problem), None, empty
    train = _sample(frames["training"], settings.churn_sample, settings.random_state)
    test = _sample(frames["test"], settings.churn_sample, settings.random_state)
    progress(0.6, "Training logistic regression and gradient boosting…")
    validation, fitted = churn.validate(train, test, settings.random_state)
    best = max(fitted, key=lambda name: validation.auc[name])
    probability = fitted[best].predict_proba(test[churn.FEATURES])[:, 1]
    progress(0.85, "Scoring today's customers…")
    production = clone(fitted[best]).fit(test[churn.FEATURES], test["churned"])
    risk = production.predict_proba(current[churn.FEATURES])[:, 1]
    scores = pd.DataFrame({"customer_id": current["customer_id"], "churn_risk": risk,
                           "revenue_at_risk": churn.at_risk_revenue(risk, current["revenue_365"])})
    report = {
        "status": "trained", "model": best, "auc": validation.auc,
        "training_cutoff": train_cut.isoformat(), "test_cutoff": test_cut.isoformat(),
        "training_customers": validation.train_customers, "test_customers": validation.test_customers,
        "test_churn_rate": float(test["churned"].mean()), "scored": len(current),
        "importance": validation.importance.to_dict("list"),
        **diagnostics.churn_curves(test["churned"].to_numpy(), probability, test["revenue_365"].to_numpy()),
    }
    return report, _pickled(production), scores


def _pickled(model) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(model, buffer, compress=3)
    return buffer.getvalue()


def unpickled(blob: bytes):
    return joblib.load(io.BytesIO(blob))
