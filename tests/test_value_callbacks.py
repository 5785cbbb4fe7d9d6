"""The Value & churn section's callbacks over HTTP: the stored scores for the filters and the scope, the model
note, value by group, the threshold explorer, the exports, saving the customers at risk as a segment, the
retraining job's guard, forged browser values and the login guard.

One demo database (1,500 customers, about 1,470 of them buyers, so both models are trained) refreshed twice
(the second time by a named user with a 120-day churn horizon), one app for the module. Every expected number
is computed with pandas from the SQL tables (`customer_summary`, `customers`, `value_models`, `saved_segments`,
`saved_segment_members`, `audit_log`); the services are not used to compute an expectation.
"""
from __future__ import annotations

import base64
import io
import json
import time
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from callbacks.value_training import settings_of
from layouts import value as ids
from services import formatting as fmt
from services import users
from services.db import make_engine, session_scope, upgrade_schema
from services.demo import DemoConfig, generate_demo_data
from services.models import AuditLog
from services.refresh import refresh
from services.segmentation.saved import save_segment
from services.value.training import ValueSettings
from tests.conftest import ADMIN_PASSWORD, AuthActions, make_app
from tests.dash_client import array, assert_no_data_without_login, call, find, listed_outputs, ok, text

FILTERS = "filters-store.data"
THEME = "shell-theme-store.data"
TRAINED = f"{ids.TRAINED}.data"
THRESHOLD = f"{ids.THRESHOLD}.value"
SEGMENT_OPTIONS = "filters-segment"  # the filter bar's saved-segment dropdown
DEMO = DemoConfig(customers=1500, seed=31)
TRAINER = "setup-analyst"  # who ran the second (latest) training
SECOND = ValueSettings(horizon=120)
SCOPES = {"aussie": "Australia"}  # an analyst who may see one country
QUARTER = "Every fourth customer"  # a saved segment, for the segment filter


@pytest.fixture(scope="module")
def app_database(tmp_path_factory) -> str:
    """Demo data refreshed twice (the latest by TRAINER), an admin, a viewer, two analysts (one scoped), a segment."""
    url = f"sqlite:///{tmp_path_factory.mktemp('value-app') / 'app.db'}"
    upgrade_schema(url)
    engine = make_engine(url)
    try:
        generate_demo_data(engine, DEMO)
        refresh(engine)
        refresh(engine, SECOND, trained_by=TRAINER)
        with session_scope(engine) as session:
            users.create_user(session, "admin", ADMIN_PASSWORD, "admin")
            users.create_user(session, "viewer", ADMIN_PASSWORD, "viewer")
            users.create_user(session, "analyst", ADMIN_PASSWORD, "analyst")
            for name, country in SCOPES.items():
                users.create_user(session, name, ADMIN_PASSWORD, "analyst", [country])
        with engine.begin() as connection:
            everyone = pd.read_sql("SELECT id FROM customers ORDER BY id", connection)["id"]
            save_segment(connection, QUARTER, "filters", everyone[everyone % 4 == 0].tolist())
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="module")
def app(app_database, tmp_path_factory):
    """One app (one cache, one snapshot) for the module; conftest's `client` and `auth` use it."""
    return make_app(app_database, tmp_path_factory.mktemp("value-instance"))


# --- independent numbers from the SQL tables -----------------------------------------------------------


def _read(url: str, query: str, **kwargs) -> pd.DataFrame:
    engine = make_engine(url)
    try:
        return pd.read_sql(query, engine, **kwargs)
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Truth:
    """customer_summary (with the customers' external id and name), the latest models, the quarter segment."""

    summary: pd.DataFrame
    models: pd.DataFrame  # value_models: id, kind, data_version, trained_by, trained_at, settings, report
    data_version: int
    quarter: set[int]
    quarter_id: int

    def selected(self, countries=None, segment: bool = False) -> pd.DataFrame:
        frame = self.summary
        if countries is not None:
            frame = frame[frame["country"].isin(countries)]
        if segment:
            frame = frame[frame["customer_id"].isin(self.quarter)]
        return frame

    def latest(self, kind: str) -> pd.Series:
        return self.models[self.models["kind"] == kind].sort_values("id").iloc[-1]


@pytest.fixture(scope="module")
def truth(app_database) -> Truth:
    summary = _read(app_database, "SELECT s.customer_id, c.external_id, c.name, s.country, s.profile, s.rfm_segment,"
                                  " s.orders, s.revenue, s.clv_12m, s.purchases_12m, s.p_alive, s.churn_risk,"
                                  " s.revenue_at_risk FROM customer_summary s JOIN customers c ON c.id = s.customer_id")
    for column in ("revenue", "clv_12m", "purchases_12m", "p_alive", "churn_risk", "revenue_at_risk"):
        summary[column] = summary[column].astype(float)
    models = _read(app_database, "SELECT id, kind, data_version, trained_by, trained_at, settings, report "
                                 "FROM value_models", parse_dates=["trained_at"])
    for column in ("settings", "report"):
        models[column] = [json.loads(v) if isinstance(v, str) else v for v in models[column]]
    version = int(_read(app_database, "SELECT max(id) AS v FROM data_versions")["v"].iloc[0])
    members = _read(app_database, "SELECT s.id, m.customer_id FROM saved_segments s JOIN saved_segment_members m "
                                  f"ON m.segment_id = s.id WHERE s.name = '{QUARTER}'")
    found = Truth(summary, models, version, set(members["customer_id"]), int(members["id"].iloc[0]))
    buyers = summary[summary["orders"] > 0]
    # enough buyers for both models: every buyer has every score, nobody else has one
    assert len(buyers) > 1000 and buyers["clv_12m"].notna().all() and buyers["churn_risk"].notna().all()
    assert summary.loc[summary["orders"] == 0, "clv_12m"].isna().all()
    assert found.latest("value")["report"]["status"] == found.latest("churn")["report"]["status"] == "trained"
    return found


def _top(frame: pd.DataFrame, column: str, limit: int | None) -> pd.DataFrame:
    """Scored customers, the highest `column` first (ties by id)."""
    ranked = frame[frame[column].notna()].sort_values([column, "customer_id"], ascending=[False, True])
    return ranked if limit is None else ranked.head(limit)


def _at_risk(frame: pd.DataFrame, threshold: float) -> pd.DataFrame:
    return _top(frame[frame["churn_risk"] >= threshold], "revenue_at_risk", None)


def _segments(url: str) -> pd.DataFrame:
    return _read(url, "SELECT id, name, kind, customers, owner_id, definition FROM saved_segments")


def _members(url: str, name: str) -> set[int]:
    frame = _read(url, "SELECT m.customer_id FROM saved_segment_members m JOIN saved_segments s "
                       "ON s.id = m.segment_id WHERE s.name = :name", params={"name": name})
    return set(frame["customer_id"])


def _audit(url: str, after: int = 0) -> list[AuditLog]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(select(AuditLog).where(AuditLog.id > after).order_by(AuditLog.id)))
    finally:
        engine.dispose()


def _last_audit_id(url: str) -> int:
    return int(_read(url, "SELECT coalesce(max(id), 0) AS id FROM audit_log")["id"].iloc[0])


def _user_id(url: str, username: str) -> int:
    return int(_read(url, "SELECT id FROM users WHERE username = :u", params={"u": username})["id"].iloc[0])


# --- driving the callbacks -----------------------------------------------------------------------------


def _login(app, username: str):
    client = app.test_client()
    AuthActions(client).login(username)
    return client


def _value(client, search="") -> dict:
    return ok(call(client, f"{ids.MODEL_NOTE}.children", {FILTERS: search, TRAINED: None, THEME: None}))


def _by(client, dimension, search="") -> dict:
    inputs = {FILTERS: search, f"{ids.BY_DIMENSION}.value": dimension, TRAINED: None, THEME: None}
    return ok(call(client, f"{ids.BY_GRAPH}.figure", inputs))[ids.BY_GRAPH]["figure"]


def _threshold(client, value, search="") -> dict:
    return ok(call(client, f"{ids.THRESHOLD_READOUT}.children", {FILTERS: search, THRESHOLD: value, TRAINED: None}))


def _export_top(client, search="") -> dict:
    return ok(call(client, f"{ids.TOP_DOWNLOAD}.data", {f"{ids.TOP_EXPORT}.n_clicks": 1},
                   {FILTERS: search}))[ids.TOP_DOWNLOAD]["data"]


def _export_risk(client, value, search="") -> dict:
    return ok(call(client, f"{ids.RISK_DOWNLOAD}.data", {f"{ids.RISK_EXPORT}.n_clicks": 1},
                   {FILTERS: search, THRESHOLD: value}))[ids.RISK_DOWNLOAD]["data"]


def _save(client, name, value=0.5, search="", clicks=1):
    return call(client, f"{ids.SAVE_FEEDBACK}.children", {f"{ids.SAVE_SEGMENT}.n_clicks": clicks},
                {f"{ids.SEGMENT_NAME}.value": name, FILTERS: search, THRESHOLD: value})


def _words(node) -> str:
    return " ".join(text(node).split())


def _matrix(values) -> np.ndarray:
    """A 2-D figure array as JSON carries it (a list of lists, or a typed array with a shape)."""
    if isinstance(values, dict):
        flat = np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
        shape = values.get("shape")
        if isinstance(shape, str):
            shape = tuple(int(part) for part in shape.split(","))
        return flat.reshape(shape) if shape else flat
    return np.asarray(values, dtype=float)


# --- 1. the scores for the filters and the scope -------------------------------------------------------

# (user, browser's query string, the countries the user must see (None: all), the quarter segment applied)
CASES = [
    ("admin", "", None, False),
    ("admin", "?country=Canada", ["Canada"], False),
    ("admin", "?country=Canada,Germany", ["Canada", "Germany"], False),
    ("admin", "segment", None, True),
    ("aussie", "", ["Australia"], False),
    ("aussie", "?country=Canada", ["Australia"], False),
    ("aussie", "?country=Canada,Australia", ["Australia"], False),
    ("aussie", "segment", ["Australia"], True),
]


def _search(truth: Truth, search: str) -> str:
    return f"?segment={truth.quarter_id}" if search == "segment" else search


def _kpis(outputs: dict) -> tuple[str, ...]:
    return tuple(outputs[card_id]["children"] for card_id, *_ in ids.KPIS)


def _expected_kpis(frame: pd.DataFrame) -> tuple[str, ...]:
    buyers = frame[frame["orders"] > 0]
    scored = buyers[buyers["clv_12m"].notna()]
    return (fmt.money(scored["clv_12m"].sum()), fmt.money(scored["clv_12m"].mean()),
            fmt.compact(buyers["purchases_12m"].sum()), fmt.percent(buyers["p_alive"].sum() / len(scored)),
            fmt.money(buyers["revenue_at_risk"].sum()))


@pytest.mark.parametrize("username, search, countries, segment", CASES, ids=[f"{c[0]}{c[1]}" for c in CASES])
def test_the_kpis_and_the_top_customers_follow_the_filters_and_the_scope(app, truth, username, search, countries,
                                                                         segment):
    client = _login(app, username)
    expected = truth.selected(countries, segment)
    assert 0 < len(expected) < len(truth.summary) or (countries is None and not segment)
    outputs = _value(client, _search(truth, search))
    assert _kpis(outputs) == _expected_kpis(expected)
    rows = outputs[ids.TOP_GRID]["rowData"]
    top = _top(expected, "clv_12m", 25)
    assert [row["customer_id"] for row in rows] == top["customer_id"].tolist()
    assert [row["clv_12m"] for row in rows] == pytest.approx(top["clv_12m"].round(2).tolist(), abs=0.006)
    assert [row["external_id"] for row in rows] == top["external_id"].tolist()
    if countries is not None:
        assert {row["country"] for row in rows} <= set(countries)


def test_users_with_different_scopes_never_share_a_cached_answer(app, truth):
    clients = {name: _login(app, name) for name in ("aussie", "admin")}
    expected = {"aussie": _expected_kpis(truth.selected(["Australia"])), "admin": _expected_kpis(truth.summary)}
    assert expected["aussie"] != expected["admin"]
    for name in ("aussie", "admin", "aussie", "admin"):
        assert _kpis(_value(clients[name])) == expected[name], name


def test_the_model_note_names_the_latest_training(client, auth, truth):
    auth.login("viewer")
    note = _words(_value(client)[ids.MODEL_NOTE]["children"])
    value, churn = truth.latest("value"), truth.latest("churn")
    assert value["data_version"] == churn["data_version"] == truth.data_version == 2
    assert value["trained_by"] == TRAINER
    assert (f"Trained {value['trained_at']:%d %b %Y %H:%M} UTC by {TRAINER} on data version "
            f"{truth.data_version}.") in note
    buyers = int((truth.summary["orders"] > 0).sum())
    assert f"fitted on {value['report']['sample']:,} of {buyers:,} buyers" in note
    report = churn["report"]
    assert f"Churn ({SECOND.horizon} days)" in note and churn["settings"]["horizon"] == SECOND.horizon
    assert f"AUC {report['auc'][report['model']]:.2f} against {report['auc']['recency']:.2f}" in note
    assert f"learned at {report['training_cutoff']} and judged at {report['test_cutoff']}" in note


# --- 2. value by group ---------------------------------------------------------------------------------


def _bars(figure: dict) -> pd.DataFrame:
    bar = figure["data"][0]
    custom = _matrix(bar["customdata"])
    return pd.DataFrame({"group": list(bar["y"]), "clv_total": array(bar["x"]).astype(float),
                         "customers": custom[:, 0].astype(int)}).iloc[::-1].reset_index(drop=True)


def _groups(frame: pd.DataFrame, dimension: str) -> pd.DataFrame:
    scored = frame[frame["clv_12m"].notna()]
    grouped = (scored.assign(group=scored[dimension].fillna("Unknown")).groupby("group")
               .agg(clv_total=("clv_12m", "sum"), customers=("clv_12m", "size")).reset_index())
    return grouped.sort_values(["clv_total", "group"], ascending=[False, True]).reset_index(drop=True)


@pytest.mark.parametrize("dimension, label", [("rfm_segment", "RFM segment"), ("profile", "Profile"),
                                              ("country", "Country")])
@pytest.mark.parametrize("username, countries", [("admin", None), ("aussie", ["Australia"])])
def test_value_by_group_equals_a_pandas_groupby(app, truth, dimension, label, username, countries):
    figure = _by(_login(app, username), dimension)
    expected = _groups(truth.selected(countries), dimension)
    found = _bars(figure)
    assert found["group"].tolist() == expected["group"].tolist()
    assert found["customers"].tolist() == expected["customers"].tolist()
    assert found["clv_total"].to_numpy() == pytest.approx(expected["clv_total"].to_numpy(), rel=1e-9)
    assert figure["data"][0]["hovertemplate"].startswith(f"{label} %{{y}}")


@pytest.mark.parametrize("dimension", ["password", 1, None, ["country"], "COUNTRY", "rfm_segment; DROP TABLE x"])
def test_a_forged_dimension_falls_back_to_the_rfm_segment(client, auth, truth, dimension):
    auth.login()
    figure = _by(client, dimension)
    expected = _groups(truth.summary, "rfm_segment")
    assert _bars(figure)["group"].tolist() == expected["group"].tolist()
    assert figure["data"][0]["hovertemplate"].startswith("RFM segment %{y}")
    assert figure == _by(client, "rfm_segment")


# --- 3. the threshold explorer -------------------------------------------------------------------------

# what the browser sends -> the threshold on the slider's 5% grid within [5%, 95%] (the default 50% otherwise)
THRESHOLDS = [(0.5, 0.5), (0.3, 0.3), ("0.8", 0.8), (0.33, 0.35), (0.06, 0.05), (5, 0.95), (-1, 0.05), (0, 0.05),
              ("abc", 0.5), (None, 0.5), ("nan", 0.5), ("inf", 0.5), ([0.3], 0.5), ({"v": 1}, 0.5)]


@pytest.mark.parametrize("value, threshold", THRESHOLDS, ids=[repr(v) for v, _ in THRESHOLDS])
def test_the_threshold_readout_and_the_at_risk_grid_match_pandas(client, auth, truth, value, threshold):
    auth.login()
    outputs = _threshold(client, value)
    readout = _words(outputs[ids.THRESHOLD_READOUT]["children"])
    flagged = _at_risk(truth.summary, threshold)
    scored = truth.summary["churn_risk"].notna().sum()
    assert 0 < len(flagged) < scored
    assert readout.startswith(f"{len(flagged):,} customers at or above {threshold:.0%} churn risk "
                              f"({len(flagged) / scored:.0%} of those scored)")
    assert f"with {fmt.money(flagged['revenue_at_risk'].sum())} of revenue at risk." in readout
    table = truth.latest("churn")["report"]["thresholds"]
    at = int(np.argmin(np.abs(np.asarray(table["threshold"], dtype=float) - threshold)))
    assert f"recall {table['recall'][at]:.0%}" in readout
    rows = outputs[ids.RISK_GRID]["rowData"]
    assert len(rows) == min(ids.GRID_ROWS, len(flagged))
    assert [row["customer_id"] for row in rows] == flagged["customer_id"].head(ids.GRID_ROWS).tolist()


@pytest.mark.parametrize("search", ["", "?country=Canada"])
def test_a_scoped_analysts_threshold_explorer_counts_only_their_country(app, truth, search):
    outputs = _threshold(_login(app, "aussie"), 0.4, search)
    australia = truth.selected(["Australia"])
    flagged = _at_risk(australia, 0.4)
    scored = australia["churn_risk"].notna().sum()
    assert _words(outputs[ids.THRESHOLD_READOUT]["children"]).startswith(
        f"{len(flagged):,} customers at or above 40% churn risk ({len(flagged) / scored:.0%} of those scored)")
    assert [row["customer_id"] for row in outputs[ids.RISK_GRID]["rowData"]] == \
        flagged["customer_id"].head(ids.GRID_ROWS).tolist()


# --- 4. the exports ------------------------------------------------------------------------------------


@pytest.mark.parametrize("username, search, value, threshold, countries", [
    ("admin", "", 0.3, 0.3, None),
    ("admin", "?country=Germany", "abc", 0.5, ["Germany"]),
    ("aussie", "?country=Canada", 0.7, 0.7, ["Australia"]),
])
def test_the_at_risk_export_holds_every_flagged_customer_and_is_audited(app, app_database, truth, username, search,
                                                                        value, threshold, countries):
    client = _login(app, username)
    before = _last_audit_id(app_database)
    download = _export_risk(client, value, search)
    expected = _at_risk(truth.selected(countries), threshold)
    assert len(expected) > ids.GRID_ROWS or countries is not None
    assert download["filename"] == f"customers-at-risk-{round(threshold * 100)}.csv"
    assert download["type"] == "text/csv"
    exported = pd.read_csv(io.StringIO(download["content"]))
    assert exported["customer_id"].tolist() == expected["customer_id"].tolist()
    assert exported["churn_risk"].to_numpy() == pytest.approx(expected["churn_risk"].to_numpy(), rel=1e-9)
    assert exported["revenue_at_risk"].to_numpy() == pytest.approx(expected["revenue_at_risk"].to_numpy(), rel=1e-9)
    audited = _audit(app_database, before)
    assert [(row.action, row.username) for row in audited] == [("export", username)]
    assert audited[0].detail["rows"] == len(expected) and audited[0].detail["threshold"] == threshold
    assert audited[0].detail["what"] == "customers at risk"


@pytest.mark.parametrize("username, search, countries", [("admin", "", None), ("admin", "?country=Canada", ["Canada"]),
                                                         ("aussie", "?country=Canada", ["Australia"])])
def test_the_top_value_export_holds_every_scored_customer_and_is_audited(app, app_database, truth, username, search,
                                                                         countries):
    client = _login(app, username)
    before = _last_audit_id(app_database)
    download = _export_top(client, search)
    expected = _top(truth.selected(countries), "clv_12m", None)
    assert download["filename"] == "future-value-customers.csv" and download["type"] == "text/csv"
    exported = pd.read_csv(io.StringIO(download["content"]))
    assert exported["customer_id"].tolist() == expected["customer_id"].tolist()
    assert exported["clv_12m"].to_numpy() == pytest.approx(expected["clv_12m"].to_numpy(), rel=1e-9)
    assert set(exported["country"]) == set(countries or truth.summary["country"].dropna())
    audited = _audit(app_database, before)
    assert [(row.action, row.username) for row in audited] == [("export", username)]
    assert audited[0].detail["rows"] == len(expected) and audited[0].detail["what"] == "future-value customers"


# --- 5. saving the customers at risk as a segment ------------------------------------------------------


def _listed(url: str) -> list[dict]:
    """The filter bar's segment options as the SQL table gives them: by name (any case), then id."""
    frame = _segments(url)
    frame = frame.assign(key=frame["name"].str.lower()).sort_values(["key", "id"])
    return [{"label": name, "value": int(segment)} for name, segment in zip(frame["name"], frame["id"])]


@pytest.mark.parametrize("username, name, value, threshold, search, countries", [
    ("analyst", "Win-back 60", 0.6, 0.6, "", None),
    ("admin", "Win-back forged", "abc", 0.5, "?country=Canada", ["Canada"]),
    ("aussie", "Aussie win-back", 0.4, 0.4, "?country=Canada", ["Australia"]),
])
def test_an_analyst_saves_the_customers_at_risk_as_a_churn_segment(app, app_database, truth, username, name, value,
                                                                   threshold, search, countries):
    client = _login(app, username)
    before = _last_audit_id(app_database)
    outputs = ok(_save(client, name, value, search))
    expected = set(_at_risk(truth.selected(countries), threshold)["customer_id"])
    assert expected and _members(app_database, name) == expected
    saved = _segments(app_database).set_index("name").loc[name]
    assert saved["kind"] == "churn" and saved["customers"] == len(expected)
    assert saved["owner_id"] == _user_id(app_database, username)
    feedback = _words(outputs[ids.SAVE_FEEDBACK]["children"])
    assert f"Saved “{name}” with {len(expected):,} customers" in feedback
    assert outputs[SEGMENT_OPTIONS]["options"] == _listed(app_database)
    assert {"label": name, "value": int(saved["id"])} in outputs[SEGMENT_OPTIONS]["options"]
    audited = _audit(app_database, before)
    assert [(row.action, row.username) for row in audited] == [("save segment", username)]
    assert audited[0].detail["customers"] == len(expected)


def test_a_viewer_cannot_save_a_segment(client, auth, app_database):
    auth.login("viewer")
    count = len(_segments(app_database))
    response = _save(client, "Viewer's win-back")
    assert response.status_code == 403
    assert "response" not in (response.get_json(silent=True) or {})
    assert len(_segments(app_database)) == count


@pytest.mark.parametrize("name", ["", "   ", None, "x" * 121])
def test_a_blank_or_long_name_saves_nothing_and_says_why(client, auth, app_database, name):
    auth.login("analyst")
    count = len(_segments(app_database))
    outputs = ok(_save(client, name))
    feedback = _words(outputs[ids.SAVE_FEEDBACK]["children"])
    assert ("Give the segment a name." in feedback) if name is None or not name.strip() else \
        ("at most 120 characters" in feedback)
    assert SEGMENT_OPTIONS not in outputs
    assert len(_segments(app_database)) == count


def test_a_taken_name_saves_nothing_and_says_why(client, auth, app_database):
    auth.login("analyst")
    ok(_save(client, "Taken churners", 0.7))
    members = _members(app_database, "Taken churners")
    count = len(_segments(app_database))
    for again in ("Taken churners", "  taken   CHURNERS "):
        outputs = ok(_save(client, again, 0.2))
        assert "is taken" in _words(outputs[ids.SAVE_FEEDBACK]["children"])
        assert SEGMENT_OPTIONS not in outputs
    assert len(_segments(app_database)) == count
    assert _members(app_database, "Taken churners") == members


@pytest.mark.parametrize("clicks", [None, 0])
def test_the_save_button_appearing_saves_nothing(client, auth, app_database, clicks):
    auth.login("analyst")
    count = len(_segments(app_database))
    response = _save(client, f"Not clicked {clicks}", clicks=clicks)
    assert response.status_code == 204
    assert len(_segments(app_database)) == count


# --- 6. retraining -------------------------------------------------------------------------------------


class _Replay:
    """A client that posts with these query arguments, with a callback map read earlier."""

    def __init__(self, client, dependencies, query=None):
        self.client, self.dependencies, self.query = client, dependencies, query or {}

    def get(self, _path):
        return SimpleNamespace(get_json=lambda: self.dependencies)

    def post(self, path, json):
        return self.client.post(path, json=json, query_string=self.query)


def _train_inputs(horizon, discount) -> tuple[dict, dict]:
    return {f"{ids.TRAIN}.n_clicks": 1}, {f"{ids.HORIZON}.value": horizon, f"{ids.DISCOUNT}.value": discount}


def _train(client, horizon, discount, timeout: float = 60) -> dict:
    """Start the training job the way the browser does and poll it until it answers."""
    dependencies = client.get("/_dash-dependencies").get_json()
    inputs, state = _train_inputs(horizon, discount)
    started = call(client, f"{ids.STATUS}.children", inputs, state)
    assert started.status_code == 200, started.get_data(as_text=True)[:500]
    handles = started.get_json()
    assert {"cacheKey", "job"} <= set(handles)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        polled = call(_Replay(client, dependencies, {"cacheKey": handles["cacheKey"], "job": handles["job"]}),
                      f"{ids.STATUS}.children", inputs, state)
        assert polled.status_code in (200, 204), polled.get_data(as_text=True)[:500]
        answer = polled.get_json(silent=True) or {}
        if "response" in answer:
            return answer["response"]
        time.sleep(0.2)
    raise AssertionError("the training job did not answer")


def _trainings(url: str) -> tuple[int, int]:
    models = _read(url, "SELECT count(*) AS n FROM value_models")["n"].iloc[0]
    return int(models), int(_read(url, "SELECT max(id) AS v FROM data_versions")["v"].iloc[0])


@pytest.mark.parametrize("username, horizon, discount, message", [
    ("viewer", 90, 1, "Analysts and administrators retrain the models."),
    ("admin", "x", 1, "Give the churn horizon in days and the monthly discount rate in percent."),
    ("analyst", 10, 1, "The churn horizon is a whole number of days from 30 to 365."),
])
def test_a_refused_training_retrains_nothing(app, app_database, username, horizon, discount, message):
    client = _login(app, username)
    before, audit_before = _trainings(app_database), _last_audit_id(app_database)
    outputs = _train(client, horizon, discount)
    assert outputs[ids.STATUS]["children"] == message
    assert outputs[ids.TRAINED]["data"] is None
    assert _trainings(app_database) == before
    assert _audit(app_database, audit_before) == []


@pytest.mark.parametrize("horizon, discount, message", [
    ("x", 1, "Give the churn horizon in days"), (None, 1, "Give the churn horizon in days"),
    (90, None, "Give the churn horizon in days"), (90, "one", "Give the churn horizon in days"),
    (10, 1, "from 30 to 365"), (400, 1, "from 30 to 365"), (29, 1, "from 30 to 365"), (366, 1, "from 30 to 365"),
    (30.5, 1, "whole number of days"), ("nan", 1, "whole number of days"), ("inf", 1, "whole number of days"),
    (90, -1, "between 0% and 10%"), (90, 20, "between 0% and 10%"), (90, 10.01, "between 0% and 10%"),
    (90, "nan", "between 0% and 10%"),
])
def test_bad_training_settings_are_refused_with_a_message(horizon, discount, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        settings_of(horizon, discount)


@pytest.mark.parametrize("horizon, discount, days, rate", [
    (90, 1, 90, 0.01), ("120", "2.5", 120, 0.025), (30, 0, 30, 0.0), (365, 10, 365, 0.1), (60.0, 0.5, 60, 0.005),
])
def test_good_training_settings_give_value_settings(horizon, discount, days, rate):
    settings = settings_of(horizon, discount)
    assert isinstance(settings, ValueSettings)
    assert settings.horizon == days and isinstance(settings.horizon, int)
    assert settings.monthly_discount == pytest.approx(rate, abs=1e-12)
    assert settings == ValueSettings(horizon=days, monthly_discount=settings.monthly_discount)


# --- 7. the login guard --------------------------------------------------------------------------------

VALUE_INPUTS = {FILTERS: "", TRAINED: None, THEME: None}
VALUE_CALLBACKS = [
    (f"{ids.BODY}.children", {f"{ids.OPEN}.n_clicks": 1}, {}),
    (f"{ids.MODEL_NOTE}.children", VALUE_INPUTS, {}),
    (f"{ids.BY_GRAPH}.figure", {FILTERS: "", f"{ids.BY_DIMENSION}.value": "rfm_segment", TRAINED: None,
                                THEME: None}, {}),
    (f"{ids.ROC_GRAPH}.figure", {TRAINED: None, THEME: None}, {}),
    (f"{ids.THRESHOLD_READOUT}.children", {FILTERS: "", THRESHOLD: 0.5, TRAINED: None}, {}),
    (f"{ids.TOP_DOWNLOAD}.data", {f"{ids.TOP_EXPORT}.n_clicks": 1}, {FILTERS: ""}),
    (f"{ids.RISK_DOWNLOAD}.data", {f"{ids.RISK_EXPORT}.n_clicks": 1}, {FILTERS: "", THRESHOLD: 0.5}),
    (f"{ids.SAVE_FEEDBACK}.children", {f"{ids.SAVE_SEGMENT}.n_clicks": 1},  # no name: nothing is saved
     {f"{ids.SEGMENT_NAME}.value": None, FILTERS: "", THRESHOLD: 0.5}),
]
TRAIN_CALLBACK = (f"{ids.STATUS}.children", *_train_inputs(90, 1))  # a background job: answers with its handles
CANCEL_CALLBACK = (f"{ids.CANCEL}.id", {f"{ids.CANCEL}.n_clicks": 1}, {})  # Dash's own, for the job's Cancel
JOB_CALLBACKS = [TRAIN_CALLBACK, CANCEL_CALLBACK]


@pytest.mark.parametrize("user, controls", [("admin", True), ("viewer", False)])
def test_the_opened_section_offers_training_and_saving_by_the_server_side_role(client, auth, user, controls):
    auth.login(user)
    response = ok(call(client, f"{ids.BODY}.children", {f"{ids.OPEN}.n_clicks": 1}))
    body = response[ids.BODY]["children"]
    assert (find(body, ids.TRAIN) is not None) is controls
    assert (find(body, ids.SAVE_SEGMENT) is not None) is controls
    assert find(body, ids.KPI_CLV) is not None and find(body, ids.THRESHOLD) is not None
    assert response[ids.OPEN]["className"] == "d-none"


def test_the_list_covers_every_value_callback(client, auth):
    auth.login()
    dependencies = client.get("/_dash-dependencies").get_json()
    value_callbacks = {c["output"] for c in dependencies if "value-" in c["output"]}
    listed = listed_outputs(dependencies, [*VALUE_CALLBACKS, *JOB_CALLBACKS])
    assert listed == value_callbacks and len(value_callbacks) == len(VALUE_CALLBACKS) + len(JOB_CALLBACKS)


@pytest.mark.parametrize("output, inputs, state", VALUE_CALLBACKS, ids=[c[0] for c in VALUE_CALLBACKS])
def test_a_value_callback_without_a_login_gets_no_data(app, client, auth, output, inputs, state):
    assert_no_data_without_login(app, client, auth, output, inputs, state)


@pytest.mark.parametrize("output, inputs, state", JOB_CALLBACKS, ids=[c[0] for c in JOB_CALLBACKS])
def test_the_training_job_without_a_login_starts_nothing(app, client, auth, app_database, output, inputs, state):
    auth.login()
    dependencies = client.get("/_dash-dependencies").get_json()
    auth.logout()
    before = _trainings(app_database)
    for anonymous in (client, app.test_client()):
        response = call(_Replay(anonymous, dependencies), output, inputs, state)
        assert response.status_code in (401, 403) or (
            response.status_code in (301, 302, 303) and "/login" in response.headers["Location"])
        assert not {"response", "cacheKey", "job"} & set(response.get_json(silent=True) or {})
    time.sleep(0.5)
    assert _trainings(app_database) == before
