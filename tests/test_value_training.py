"""Training the value and churn models in the refresh: the stored scores, pipelines, parameters, settings and
reports agree with independent computations (sklearn, pandas, the lower-level model functions).

One 1,500-customer demo per backend is refreshed three times and shared by the module: with the defaults,
with changed settings (horizon, discount, churn sample), and once more without settings (so with the stored
ones). Everything each refresh left behind is captured right after it, so the tests do not depend on their
order. Small data sets (too few customers, nobody churning) get an empty database of their own.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import auc as auc_of, precision_score, recall_score, roc_auc_score, roc_curve
from sqlalchemy import Engine, insert, select

from services.db import make_engine
from services.demo import DemoConfig, generate_demo_data
from services.models import Customer, CustomerSummary, Transaction, ValueModelRecord
from services.refresh import refresh
from services.value import churn, clv, diagnostics, records, training
from services.value.bgnbd import Params
from services.value.gamma_gamma import SpendParams
from services.value.history import purchase_histories
from services.value.training import ValueSettings
from tests.conftest import fresh_database

SCORES = ["clv_12m", "purchases_12m", "p_alive", "churn_risk", "revenue_at_risk"]
CHANGED = ValueSettings(horizon=60, monthly_discount=0.05, churn_sample=400)
M = ValueModelRecord.__table__.c


@dataclass(frozen=True)
class Run:
    """What one refresh left behind, read right after it."""
    version: int
    scores: pd.DataFrame  # customer_summary: orders and the score columns, by customer_id
    value: records.ModelInfo
    churn: records.ModelInfo
    pipeline_blob: bytes | None
    stored_after: ValueSettings
    progress: list[tuple[float, str]]


@dataclass(frozen=True)
class Demo:
    engine: Engine
    raw: pd.DataFrame  # customer_id, ordered_at, amount of every transaction
    reference: dt.date  # the last order day, from pandas
    runs: dict[str, Run]


def _scores(engine: Engine) -> pd.DataFrame:
    s = CustomerSummary.__table__.c
    with engine.connect() as connection:
        rows = connection.execute(select(s.customer_id, s.orders, *(s[name] for name in SCORES))).all()
    frame = pd.DataFrame(rows, columns=["customer_id", "orders", *SCORES]).set_index("customer_id").sort_index()
    return frame.astype({name: float for name in SCORES})


def _blob(engine: Engine, model_id: int) -> bytes | None:
    with engine.connect() as connection:
        return connection.scalar(select(M.model).where(M.id == model_id))


def _run(engine: Engine, settings: ValueSettings | None, trained_by: str | None) -> Run:
    progress: list[tuple[float, str]] = []
    version = refresh(engine, settings, lambda done, text: progress.append((done, text)), trained_by=trained_by)
    with engine.connect() as connection:
        value, churn_info = records.latest(connection, "value"), records.latest(connection, "churn")
        stored = records.stored_settings(connection)
    return Run(version, _scores(engine), value, churn_info, _blob(engine, churn_info.id), stored, progress)


def _raw(engine: Engine) -> pd.DataFrame:
    t = Transaction.__table__.c
    with engine.connect() as connection:
        rows = connection.execute(select(t.customer_id, t.ordered_at, t.amount)).all()
    frame = pd.DataFrame(rows, columns=["customer_id", "ordered_at", "amount"])
    return frame.assign(ordered_at=pd.to_datetime(frame["ordered_at"]), amount=frame["amount"].astype(float))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def demo(request, tmp_path_factory):
    for url in fresh_database(request.param, tmp_path_factory, "value_training"):
        engine = make_engine(url)
        try:
            generate_demo_data(engine, DemoConfig(customers=1500, seed=4))
            raw = _raw(engine)
            runs = {"default": _run(engine, None, "analyst"),
                    "changed": _run(engine, CHANGED, None),
                    "stored": _run(engine, None, "admin")}
            yield Demo(engine, raw, raw["ordered_at"].max().date(), runs)
        finally:
            engine.dispose()


def _settings(run: Run) -> ValueSettings:
    return ValueSettings.from_dict(run.churn.settings)


def _revenue_365(raw: pd.DataFrame, cutoff: dt.date) -> pd.Series:
    cut = pd.Timestamp(cutoff)
    window = raw[(raw["ordered_at"] < cut) & (raw["ordered_at"] >= cut - pd.Timedelta(days=365))]
    return window.groupby("customer_id")["amount"].sum()


# ------------------------------------------------------------------ scores in customer_summary
@pytest.mark.parametrize("run", ["default", "changed", "stored"])
def test_every_buyer_has_scores_and_nobody_else_has(demo, run):
    scores = demo.runs[run].scores
    buyers = set(demo.raw["customer_id"])
    has_orders = scores.index.isin(list(buyers))
    assert (scores["orders"] > 0).to_numpy().tolist() == has_orders.tolist()
    assert 1000 < has_orders.sum() < len(scores)  # the demo has customers without an order too
    assert scores.loc[has_orders, SCORES].notna().all().all()
    assert scores.loc[~has_orders, SCORES].isna().all().all()
    scored = scores.loc[has_orders]
    assert scored["p_alive"].between(0, 1).all() and scored["churn_risk"].between(0, 1).all()
    assert (scored["clv_12m"] >= 0).all() and (scored["purchases_12m"] >= 0).all()
    assert (scored["revenue_at_risk"] >= 0).all()
    assert scored["churn_risk"].std() > 0.05 and scored["clv_12m"].std() > 0  # not a constant


@pytest.mark.parametrize("run", ["default", "changed"])
def test_the_stored_churn_pipeline_reproduces_the_stored_risk(demo, run):
    info = demo.runs[run]
    horizon = _settings(info).horizon
    cutoff = demo.reference + dt.timedelta(days=1)
    pipeline = training.unpickled(info.pipeline_blob)
    with demo.engine.connect() as connection:
        current = churn.churn_frame(connection, cutoff, horizon)
    stored = info.scores.loc[current["customer_id"]]
    np.testing.assert_array_equal(stored["churn_risk"].to_numpy(),
                                  pipeline.predict_proba(current[churn.FEATURES])[:, 1])
    revenue = _revenue_365(demo.raw, cutoff).reindex(current["customer_id"], fill_value=0.0)
    np.testing.assert_allclose(stored["revenue_at_risk"].to_numpy(),
                               stored["churn_risk"].to_numpy() * revenue.to_numpy(), rtol=1e-12, atol=1e-9)
    step = type(pipeline.steps[-1][1]).__name__
    assert step == {"boosting": "HistGradientBoostingClassifier", "logistic": "LogisticRegression"}[
        info.churn.report["model"]]


def test_the_production_model_is_the_chosen_candidate_refitted_on_the_test_cutoff(demo):
    info = demo.runs["default"]  # no sampling: the whole test cutoff
    report = info.churn.report
    _, test_cut = churn.cutoffs(demo.reference, 90)
    with demo.engine.connect() as connection:
        test = churn.churn_frame(connection, test_cut, 90)
        current = churn.churn_frame(connection, demo.reference + dt.timedelta(days=1), 90)
    candidate = churn.models(0)[report["model"]].fit(test[churn.FEATURES], test["churned"])
    np.testing.assert_allclose(info.scores.loc[current["customer_id"], "churn_risk"].to_numpy(),
                               candidate.predict_proba(current[churn.FEATURES])[:, 1], rtol=1e-12, atol=1e-15)


# ------------------------------------------------------------------ the value model
@pytest.mark.parametrize("run", ["default", "changed", "stored"])
def test_the_stored_value_is_what_the_stored_parameters_give(demo, run):
    info = demo.runs[run]
    report = info.value.report
    model = clv.ValueModel(Params(**report["purchases"]), SpendParams(**report["spend"]))
    with demo.engine.connect() as connection:
        histories = purchase_histories(connection, demo.reference + dt.timedelta(days=1))
    expected = clv.customer_value(model, histories, 12, _settings(info).monthly_discount).set_index("customer_id")
    stored = info.scores.loc[expected.index]
    np.testing.assert_allclose(stored["clv_12m"], expected["clv"], rtol=1e-9)
    np.testing.assert_allclose(stored["purchases_12m"], expected["purchases"], rtol=1e-9)
    np.testing.assert_allclose(stored["p_alive"], expected["p_alive"], rtol=1e-9)
    assert report["status"] == "trained" and report["customers"] == report["sample"] == len(histories)
    assert report["months"] == 12 and report["purchases"]["model"] == "mbgnbd"


def test_the_stored_parameters_are_the_fit_on_the_last_day(demo):
    report = demo.runs["default"].value.report
    with demo.engine.connect() as connection:
        histories = purchase_histories(connection, demo.reference + dt.timedelta(days=1))
    refitted = clv.fit_value_model(histories, "mbgnbd")
    assert report["purchases"] == pytest.approx(asdict(refitted.purchases) | {"model": "mbgnbd"}, rel=1e-6)
    assert report["spend"] == pytest.approx(asdict(refitted.spend), rel=1e-6)
    spend = report["spend"]
    assert report["population_spend"] == pytest.approx(spend["p"] * spend["gamma"] / (spend["q"] - 1), rel=1e-12)


def test_a_larger_monthly_discount_gives_a_lower_value(demo):
    low, high = demo.runs["default"], demo.runs["changed"]
    assert high.value.report["purchases"] == pytest.approx(low.value.report["purchases"], rel=1e-9)
    buyers = low.scores["clv_12m"].notna()
    before, after = low.scores.loc[buyers], high.scores.loc[buyers]
    positive = before["clv_12m"] > 0
    assert positive.mean() > 0.9
    ratio = after.loc[positive, "clv_12m"] / before.loc[positive, "clv_12m"]
    # each month's value is scaled by (1.01 / 1.05) ** month, month 1..12: the ratio lies between the extremes
    assert (ratio < 1).all()
    assert ratio.min() >= (1.01 / 1.05) ** 12 - 1e-9 and ratio.max() <= 1.01 / 1.05 + 1e-9
    np.testing.assert_allclose(after["purchases_12m"], before["purchases_12m"], rtol=1e-9)
    np.testing.assert_allclose(after["p_alive"], before["p_alive"], rtol=1e-9)


def test_the_holdout_check_counts_the_purchases_after_its_start(demo):
    report = demo.runs["default"].value.report
    start = demo.reference + dt.timedelta(days=1 - 182)
    assert report["holdout_start"] == start.isoformat() and report["holdout_days"] == 182
    with demo.engine.connect() as connection:
        histories = purchase_histories(connection, start, demo.reference)
    # pandas on the raw transactions: distinct purchase days from the start to the last day, per earlier buyer
    days = demo.raw.assign(day=demo.raw["ordered_at"].dt.normalize())
    earlier = set(days.loc[days["day"] < pd.Timestamp(start), "customer_id"])
    later = days[(days["day"] >= pd.Timestamp(start)) & days["customer_id"].isin(earlier)]
    assert int(later.groupby("customer_id")["day"].nunique().sum()) == int(histories["holdout"].sum())
    table = pd.DataFrame(report["calibration"])
    assert table["customers"].sum() == len(histories) == len(earlier)
    expected = histories.assign(x=histories["x"].clip(upper=7)).groupby("x")["holdout"].mean()
    np.testing.assert_allclose(table.set_index("x")["actual"], expected, rtol=1e-12)
    assert (table["predicted"] > 0).all()


# ------------------------------------------------------------------ the records
def _all_records(engine: Engine) -> pd.DataFrame:
    with engine.connect() as connection:
        rows = connection.execute(select(M.id, M.kind, M.data_version, M.trained_by, M.settings, M.model, M.seconds)
                                  .order_by(M.id)).all()
    return pd.DataFrame(rows, columns=["id", "kind", "data_version", "trained_by", "settings", "model", "seconds"])


def test_each_refresh_records_one_row_per_model(demo):
    rows = _all_records(demo.engine)
    runs = demo.runs
    versions = [run.version for run in runs.values()]
    assert versions == list(range(versions[0], versions[0] + 3))
    assert len(rows) == 6 and sorted(rows["data_version"].unique()) == versions
    for (name, run), trained_by, settings in zip(runs.items(), ["analyst", None, "admin"],
                                                 [ValueSettings(), CHANGED, CHANGED]):
        mine = rows[rows["data_version"] == run.version]
        assert sorted(mine["kind"]) == ["churn", "value"], name
        assert [None if pd.isna(who) else who for who in mine["trained_by"]] == [trained_by, trained_by], name
        assert all(stored == asdict(settings) for stored in mine["settings"]), name
        assert (mine["seconds"] > 0).all()
        assert mine.loc[mine["kind"] == "value", "model"].isna().all()
        assert run.value.data_version == run.churn.data_version == run.version
        assert run.value.trained and run.churn.trained and run.pipeline_blob is not None
        assert run.churn.trained_by == trained_by and isinstance(run.churn.trained_at, dt.datetime)


def test_the_settings_chosen_last_train_the_next_refresh(demo):
    default, changed, stored = demo.runs["default"], demo.runs["changed"], demo.runs["stored"]
    assert default.stored_after == ValueSettings()
    assert changed.stored_after == CHANGED and stored.stored_after == CHANGED
    report = stored.churn.report
    training_cut, test_cut = churn.cutoffs(demo.reference, 60)
    assert test_cut + dt.timedelta(days=59) == demo.reference
    assert report["test_cutoff"] == test_cut.isoformat() and report["training_cutoff"] == training_cut.isoformat()
    assert report["training_customers"] == report["test_customers"] == CHANGED.churn_sample  # stored too
    # the same data and settings train the same models
    pd.testing.assert_frame_equal(stored.scores, changed.scores)


def test_settings_from_a_record_ignore_what_they_do_not_know():
    assert ValueSettings.from_dict({"horizon": 60, "retired_option": 3}) == ValueSettings(horizon=60)
    assert ValueSettings.from_dict(None) == ValueSettings()


@pytest.mark.parametrize("run", ["default", "changed"])
def test_the_churn_report_agrees_with_sklearn(demo, run):
    info = demo.runs[run]
    report, horizon = info.churn.report, _settings(info).horizon
    training_cut, test_cut = churn.cutoffs(demo.reference, horizon)
    with demo.engine.connect() as connection:
        test = churn.churn_frame(connection, test_cut, horizon)
        train = churn.churn_frame(connection, training_cut, horizon)
    if run == "changed":  # the report judges the sample
        train = train.sample(n=CHANGED.churn_sample, random_state=CHANGED.random_state)
        test = test.sample(n=CHANGED.churn_sample, random_state=CHANGED.random_state)
    auc = report["auc"]
    assert set(auc) == {"logistic", "boosting", "recency"}
    assert report["model"] == max(("logistic", "boosting"), key=auc.get)
    assert auc[report["model"]] > auc["recency"] + 0.01
    assert auc["recency"] == pytest.approx(roc_auc_score(test["churned"], test["recency_days"]), abs=1e-12)
    assert report["test_churn_rate"] == pytest.approx(test["churned"].mean(), abs=1e-12)
    assert report["training_customers"] == len(train) and report["test_customers"] == len(test)
    assert report["scored"] == info.scores["churn_risk"].notna().sum()
    # the chosen candidate, fitted at the training cutoff, judged at the test cutoff
    fitted = churn.models(0)[report["model"]].fit(train[churn.FEATURES], train["churned"])
    probability = fitted.predict_proba(test[churn.FEATURES])[:, 1]
    churned = test["churned"].to_numpy()
    assert auc[report["model"]] == pytest.approx(roc_auc_score(churned, probability), abs=1e-9)
    roc = report["roc"]
    assert auc_of(roc["fpr"], roc["tpr"]) == pytest.approx(auc[report["model"]], abs=0.01)
    table = report["thresholds"]
    for threshold, precision, recall in zip(table["threshold"], table["precision"], table["recall"]):
        flagged = probability >= threshold
        if flagged.any():
            assert precision == pytest.approx(precision_score(churned, flagged), abs=1e-5)
        assert recall == pytest.approx(recall_score(churned, flagged), abs=1e-5)
    observed, predicted = calibration_curve(churned, probability, n_bins=10, strategy="quantile")
    np.testing.assert_allclose(report["calibration"]["observed"], observed, atol=1e-5)
    np.testing.assert_allclose(report["calibration"]["predicted"], predicted, atol=1e-5)
    importance = pd.DataFrame(report["importance"])
    assert set(importance["feature"]) == set(churn.FEATURES) and set(importance["model"]) == {"logistic", "boosting"}


# ------------------------------------------------------------------ progress
@pytest.mark.parametrize("run", ["default", "changed", "stored"])
def test_progress_only_goes_forward(demo, run):
    progress = demo.runs[run].progress
    fractions = [done for done, _ in progress]
    assert len(progress) >= 5
    assert all(0 <= done <= 1 for done in fractions)
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert all(isinstance(text, str) and text for _, text in progress)


# ------------------------------------------------------------------ diagnostics against sklearn
def _random_churn(seed: int, n: int, ties: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=n)
    probability = 1 / (1 + np.exp(-(1.5 * signal - 0.3)))
    churned = (rng.random(n) < 1 / (1 + np.exp(-(1.5 * signal + rng.normal(0, 1, n) - 0.3)))).astype(int)
    if ties:
        probability = np.round(probability, 2)  # many customers exactly on a threshold
    return churned, probability, np.round(rng.gamma(2.0, 60.0, n), 2)


@pytest.mark.parametrize("ties", [False, True])
def test_the_threshold_table_equals_sklearn(ties):
    churned, probability, _ = _random_churn(1, 3000, ties)
    table = diagnostics.threshold_table(churned, probability)
    assert table["threshold"] == [round(0.05 * k, 2) for k in range(1, 20)]
    for threshold, flagged_share, precision, recall in zip(table["threshold"], table["flagged"],
                                                           table["precision"], table["recall"]):
        flagged = probability >= threshold
        assert flagged_share == pytest.approx(flagged.mean(), abs=5e-6)
        assert flagged.any() and precision == pytest.approx(precision_score(churned, flagged), abs=5e-6)
        assert recall == pytest.approx(recall_score(churned, flagged), abs=5e-6)
    if ties:
        assert (probability == 0.5).sum() > 0  # equal to the threshold counts as flagged


def test_thresholds_nobody_reaches_have_no_precision():
    churned, probability, _ = _random_churn(2, 500)
    table = diagnostics.threshold_table(churned, probability * 0.5)  # all below 0.5
    for threshold, precision, recall, flagged in zip(table["threshold"], table["precision"], table["recall"],
                                                     table["flagged"]):
        if threshold >= 0.5:
            assert precision is None and recall == 0 and flagged == 0
        else:
            assert precision is not None


def test_the_churn_curves_equal_sklearn():
    churned, probability, revenue = _random_churn(3, 6000)
    curves = diagnostics.churn_curves(churned, probability, revenue)
    roc, pr = curves["roc"], curves["pr"]
    assert 100 < len(roc["fpr"]) <= diagnostics.POINTS and len(pr["recall"]) <= diagnostics.POINTS
    assert (roc["fpr"][0], roc["tpr"][0], roc["fpr"][-1], roc["tpr"][-1]) == (0, 0, 1, 1)
    assert np.all(np.diff(roc["fpr"]) >= 0) and np.all(np.diff(roc["tpr"]) >= 0)
    auc = roc_auc_score(churned, probability)
    assert 0.7 < auc < 0.95
    assert auc_of(roc["fpr"], roc["tpr"]) == pytest.approx(auc, abs=0.01)
    # the precision-recall curve runs from no recall to all of it, where the precision is the churn rate
    assert np.all(np.diff(pr["recall"]) >= 0)
    assert (pr["recall"][0], pr["precision"][0]) == (0, 1)
    assert pr["recall"][-1] == 1 and pr["precision"][-1] == pytest.approx(churned.mean(), abs=1e-5)
    observed, predicted = calibration_curve(churned, probability, n_bins=10, strategy="quantile")
    np.testing.assert_allclose(curves["calibration"]["observed"], observed, atol=5e-6)
    np.testing.assert_allclose(curves["calibration"]["predicted"], predicted, atol=5e-6)
    frame = pd.DataFrame({"churned": churned.astype(bool), "probability": probability, "revenue": revenue})
    lost = frame.loc[frame["churned"], "revenue"].sum()
    table = curves["thresholds"]
    for threshold, caught in zip(table["threshold"], table["revenue_caught"]):
        found = frame.loc[frame["churned"] & (frame["probability"] >= threshold), "revenue"].sum()
        assert caught == pytest.approx(found / lost, abs=5e-6)
    assert set(table) == {"threshold", "flagged", "precision", "recall", "revenue_caught"}


def test_short_curves_keep_every_point():
    churned, probability, revenue = _random_churn(4, 60)
    fpr, tpr, _ = roc_curve(churned, probability)
    curves = diagnostics.churn_curves(churned, probability, revenue)
    np.testing.assert_allclose(curves["roc"]["fpr"], fpr, atol=5e-6)
    np.testing.assert_allclose(curves["roc"]["tpr"], tpr, atol=5e-6)


# ------------------------------------------------------------------ settings
@pytest.mark.parametrize("changes, message", [
    ({"horizon": 5}, "churn horizon"), ({"horizon": 29}, "churn horizon"), ({"horizon": 366}, "churn horizon"),
    ({"horizon": 90.5}, "whole number"), ({"horizon": "90"}, "churn horizon"),
    ({"monthly_discount": 0.2}, "discount"), ({"monthly_discount": -0.01}, "discount"),
    ({"monthly_discount": "1%"}, "discount"), ({"model": "pareto"}, "value model"),
])
def test_bad_settings_are_refused_with_a_message(changes, message):
    with pytest.raises(ValueError, match=message):
        ValueSettings(**changes).checked()


@pytest.mark.parametrize("changes", [{"horizon": 30}, {"horizon": 365}, {"monthly_discount": 0.0},
                                     {"monthly_discount": 0.1}, {"monthly_discount": 0}, {"model": "bgnbd"}])
def test_settings_at_the_limits_are_accepted(changes):
    settings = ValueSettings(**changes)
    assert settings.checked() is settings


# ------------------------------------------------------------------ too little data
def _load(engine: Engine, customers: int, orders: pd.DataFrame) -> None:
    people = [{"id": i, "external_id": f"S{i:04d}", "country": "Australia"} for i in range(1, customers + 1)]
    with engine.begin() as connection:
        connection.execute(insert(Customer), people)
        connection.execute(insert(Transaction), orders.to_dict("records"))


def _orders(owner: np.ndarray, when: list[dt.datetime], rng: np.random.Generator) -> pd.DataFrame:
    amount = np.round(rng.gamma(2.0, 40.0, len(owner)), 2)
    return pd.DataFrame({"customer_id": owner, "ordered_at": when, "amount": amount,
                         "cost": np.round(amount * 0.6, 2), "discount": 0.0, "quantity": 1})


def test_before_any_training_the_defaults_apply(engine):
    assert refresh(engine) == 1  # no orders: nothing to train
    with engine.connect() as connection:
        assert records.latest(connection, "value") is None and records.latest(connection, "churn") is None
        assert records.stored_settings(connection) == ValueSettings()


def test_too_few_customers_skip_both_models_and_leave_the_scores_empty(engine):
    rng = np.random.default_rng(5)
    owner = np.repeat(np.arange(1, 21), rng.integers(1, 6, 20))
    start = dt.datetime(2022, 1, 1)
    _load(engine, 25, _orders(owner, [start + dt.timedelta(hours=int(h)) for h in
                                      rng.integers(0, 700 * 24, len(owner))], rng))
    progress: list[float] = []
    version = refresh(engine, ValueSettings(horizon=60), lambda done, _text: progress.append(done), "analyst")
    with engine.connect() as connection:
        value, churn_info = records.latest(connection, "value"), records.latest(connection, "churn")
        blob = connection.scalar(select(M.model).where(M.id == churn_info.id))
        assert records.stored_settings(connection) == ValueSettings(horizon=60)
    for info in (value, churn_info):
        assert info.report["status"] == "skipped" and not info.trained
        assert "Too few" in info.report["reason"] and "50" in info.report["reason"]
        assert info.data_version == version and info.trained_by == "analyst"
    assert blob is None
    scores = _scores(engine)
    assert len(scores) == 25 and (scores["orders"] > 0).sum() == 20
    assert scores[SCORES].isna().all().all()
    assert progress == sorted(progress) and all(0 <= done <= 1 for done in progress) and progress[-1] == 1.0


def _steady_buyers(seed: int, customers: int, mean_rate: float, shape: float | None) -> pd.DataFrame:
    """Customers who all keep buying to the end (Poisson days; rates gamma-distributed, or equal without a shape)."""
    rng = np.random.default_rng(seed)
    start, days = dt.datetime(2022, 1, 1), 730
    owner, when = [], []
    for customer in range(1, customers + 1):
        rate = rng.gamma(shape, mean_rate / shape) if shape else mean_rate
        moments = np.sort(rng.uniform(0, days, max(rng.poisson(days * rate), 2)))
        owner += [customer] * len(moments)
        when += [start + dt.timedelta(days=float(m)) for m in moments]
    return _orders(np.array(owner), when, rng)


def test_when_almost_nobody_churns_only_the_value_model_is_trained(engine):
    """Eighty customers who keep buying to the end: CLV for all, no churn model (too few churners to learn)."""
    orders = _steady_buyers(7, 80, mean_rate=1 / 8, shape=2.0)
    _load(engine, 80, orders)
    refresh(engine)
    with engine.connect() as connection:
        value, churn_info = records.latest(connection, "value"), records.latest(connection, "churn")
    assert value.trained and value.report["customers"] == 80
    assert churn_info.report["status"] == "skipped" and "churned" in churn_info.report["reason"]
    scores = _scores(engine)
    assert scores[["clv_12m", "purchases_12m", "p_alive"]].notna().all().all() and (scores["clv_12m"] > 0).all()
    assert scores[["churn_risk", "revenue_at_risk"]].isna().all().all()
    # nobody drops out: about each customer's own rate of purchase days over the next 12 months
    days = orders.assign(day=orders["ordered_at"].dt.normalize()).groupby("customer_id")["day"].nunique()
    assert scores["purchases_12m"].sum() == pytest.approx(days.sum() / 730 * 365.25, rel=0.1)


def test_customers_with_equal_purchase_rates_get_a_value(engine):
    """Eighty customers buying at one steady rate with no dropout push the fit to the edge of the parameter
    space (no heterogeneity, no dropout); the bounded fit still gives every customer a finite value, about
    their own rate of purchase days over the next 12 months."""
    orders = _steady_buyers(6, 80, mean_rate=1 / 4, shape=None)
    _load(engine, 80, orders)
    refresh(engine)
    with engine.connect() as connection:
        assert records.latest(connection, "value").trained
    scores = _scores(engine)
    assert scores[["clv_12m", "purchases_12m", "p_alive"]].notna().all().all()
    days = orders.assign(day=orders["ordered_at"].dt.normalize()).groupby("customer_id")["day"].nunique()
    assert scores["purchases_12m"].sum() == pytest.approx(days.sum() / 730 * 365.25, rel=0.1)


# ------------------------------------------------------------------ JSON for the reports
def test_json_ready_turns_nan_and_infinities_into_null_everywhere():
    report = {"a": float("nan"), "b": [1.5, float("inf"), {"c": -np.inf, "d": (np.float64("nan"), 2)}],
              "e": np.float32(0.5), "f": np.int64(3), "g": "text", "h": None, "i": True, "j": np.float64(2.5)}
    ready = records.json_ready(report)
    assert ready == {"a": None, "b": [1.5, None, {"c": None, "d": [None, 2]}], "e": 0.5, "f": 3, "g": "text",
                     "h": None, "i": True, "j": 2.5}
    assert type(ready["f"]) is int and type(ready["j"]) is float and type(ready["e"]) is float
    assert math.isnan(report["a"])  # the input is left alone


def test_a_report_with_nan_is_stored_on_every_backend(engine):
    trained = training.Trained(
        settings=ValueSettings(), value_report={"status": "trained", "fit": np.float64("nan"),
                                                "curve": [0.1, float("inf")]},
        churn_report={"status": "skipped", "reason": "none", "auc": {"recency": float("nan")}},
        churn_model=None, scores=pd.DataFrame(columns=training.SCORE_COLUMNS), value_seconds=0.1234567,
        churn_seconds=2.0)
    with engine.begin() as connection:
        records.record(connection, trained, 7, "someone")
    with engine.connect() as connection:
        value, churn_info = records.latest(connection, "value"), records.latest(connection, "churn")
    assert value.report == {"status": "trained", "fit": None, "curve": [0.1, None]} and value.trained
    assert churn_info.report["auc"] == {"recency": None} and not churn_info.trained
    assert value.data_version == churn_info.data_version == 7 and value.seconds == pytest.approx(0.123)
    assert value.settings == asdict(ValueSettings())
