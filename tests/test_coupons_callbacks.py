"""The Coupons tab's callbacks over HTTP: numbers against the SQL tables, the data scope, focus, exports,
the data-quality warning, granularity, table kind, the shortcut into the clustering lab, and the login guard.

One demo database and one app for the module (the snapshot is built once per data version); every number
is checked against an independent pandas computation from the raw SQL tables (`coupon_events`,
`transactions`, `customers`, `branches`, `coupons`, `campaigns`), never against the services.
"""
from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import delete, insert, select

from services import formatting as fmt
from services import users
from services.db import make_engine, session_scope, upgrade_schema
from services.demo import DemoConfig, generate_demo_data
from services.models import AuditLog, CouponEvent
from services.refresh import refresh
from services.segmentation.features import COUPON_FEATURES, city_feature_name
from tests.conftest import ADMIN_PASSWORD, make_app
from tests.dash_client import array, assert_no_data_without_login, call, find, listed_outputs, ok, text

FILTERS = "filters-store.data"
FOCUS = "coupons-focus.data"
THEME = "shell-theme-store.data"
EVENTS = ("issued", "claimed", "burned", "expired")
SCOPE = {"Australia"}
OTHER_COUNTRY = "Canada"
EMPTY_RANGE = "?from=2030-01-01&to=2030-12-31"  # the demo data ends in 2023


@pytest.fixture(scope="module")
def app_database(tmp_path_factory) -> str:
    """Demo data with an admin, a viewer and an analyst who may see Australia only."""
    url = f"sqlite:///{tmp_path_factory.mktemp('coupons-app') / 'app.db'}"
    upgrade_schema(url)
    engine = make_engine(url)
    generate_demo_data(engine, DemoConfig(customers=800, seed=11))
    refresh(engine)
    with session_scope(engine) as session:
        users.create_user(session, "admin", ADMIN_PASSWORD, "admin")
        users.create_user(session, "viewer", ADMIN_PASSWORD, "viewer")
        users.create_user(session, "aussie", ADMIN_PASSWORD, "analyst", sorted(SCOPE))
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def app(app_database, tmp_path_factory):
    """One app (one cache, one snapshot per data version) for the module; conftest's `client` uses it."""
    return make_app(app_database, tmp_path_factory.mktemp("coupons-instance"))


# --- independent numbers from the SQL tables -----------------------------------------------------------


def _read(app_database, query: str) -> pd.DataFrame:
    engine = make_engine(app_database)
    try:
        return pd.read_sql(query, engine)
    finally:
        engine.dispose()


def _events(app_database, countries: set[str] | None = None) -> pd.DataFrame:
    """Every coupon event with its customer's country, its branch and its coupon's campaign."""
    frame = _read(app_database,
                  "SELECT e.id, e.event, e.coupon_id, e.customer_id, e.branch_id, e.occurred_at, "
                  "c.country AS customer_country, b.name AS branch, b.city AS branch_city, "
                  "b.country AS branch_country, k.code, m.name AS campaign "
                  "FROM coupon_events e JOIN customers c ON c.id = e.customer_id "
                  "LEFT JOIN branches b ON b.id = e.branch_id JOIN coupons k ON k.id = e.coupon_id "
                  "LEFT JOIN campaigns m ON m.id = k.campaign_id")
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"])
    frame["campaign"] = frame["campaign"].fillna("No campaign")
    return frame if countries is None else frame[frame["customer_country"].isin(countries)]


def _coupon_orders(app_database, countries: set[str] | None = None) -> pd.DataFrame:
    frame = _read(app_database,
                  "SELECT t.amount, t.discount, t.cost, t.coupon_id, t.branch_id, c.country AS customer_country "
                  "FROM transactions t JOIN customers c ON c.id = t.customer_id WHERE t.coupon_id IS NOT NULL")
    return frame if countries is None else frame[frame["customer_country"].isin(countries)]


def _counts(events: pd.DataFrame) -> dict[str, int]:
    return {event: int((events["event"] == event).sum()) for event in EVENTS}


def _median_days_to_burn(events: pd.DataFrame) -> float:
    """Each burn against the latest claim of the same coupon by the same customer at or before it."""
    burns = events[events["event"] == "burned"].sort_values("occurred_at")
    claims = events[events["event"] == "claimed"].sort_values("occurred_at")
    paired = pd.merge_asof(burns, claims[["customer_id", "coupon_id", "occurred_at"]].rename(
        columns={"occurred_at": "claimed_at"}), left_on="occurred_at", right_on="claimed_at",
        by=["customer_id", "coupon_id"], direction="backward").dropna(subset=["claimed_at"])
    return float(((paired["occurred_at"] - paired["claimed_at"]).dt.total_seconds() / 86_400).median())


# --- reading the callbacks' answers --------------------------------------------------------------------


def _kpis(outputs: dict) -> dict[str, str]:
    cards = outputs["coupons-kpis"]["children"]
    names = ("issued", "claimed", "burned", "expired", "days", "revenue", "discount", "return", "margin")
    return {name: text(find(cards, f"coupons-kpi-{name}")["children"]) for name in names}


def _summary(client, search: str = "", focus=None) -> dict:
    return ok(call(client, "coupons-kpis.children", {FILTERS: search, FOCUS: {} if focus is None else focus,
                                                      THEME: None}))


def _funnel(outputs: dict) -> dict[str, int]:
    data = outputs["coupons-funnel-graph"]["figure"]["data"]
    return dict(zip(["issued", "claimed", "burned"], array(data[0]["x"]).tolist())) if data else {}


def _branch_rows(client, search: str = "", focus=None) -> list[dict]:
    outputs = ok(call(client, "coupons-branch-grid.rowData", {FILTERS: search, FOCUS: focus or {}, THEME: None}))
    return outputs["coupons-branch-grid"]["rowData"]


def _coupon_table(client, kind, search: str = "", focus=None) -> tuple[list[dict], list[dict]]:
    outputs = ok(call(client, "coupons-coupon-grid.rowData",
                       {FILTERS: search, FOCUS: focus or {}, "coupons-table-kind.value": kind}))
    grid = outputs["coupons-coupon-grid"]
    return grid["rowData"], grid["columnDefs"]


def _export_branches(client, search: str = "", focus=None) -> dict:
    outputs = ok(call(client, "coupons-branch-download.data", {"coupons-branch-export.n_clicks": 1},
                       {FILTERS: search, FOCUS: focus or {}}))
    return outputs["coupons-branch-download"]["data"]


def _export_coupons(client, kind="coupon", search: str = "", focus=None) -> dict:
    outputs = ok(call(client, "coupons-coupon-download.data", {"coupons-coupon-export.n_clicks": 1},
                       {FILTERS: search, FOCUS: focus or {}, "coupons-table-kind.value": kind}))
    return outputs["coupons-coupon-download"]["data"]


def _status(send) -> int | str:
    """The HTTP status of a request, or the exception the app raised on it (the test app propagates them)."""
    try:
        return send().status_code
    except Exception as exc:  # noqa: BLE001 - an error in the callback is what such a test shows
        return f"{type(exc).__name__}: {exc}"


def _last_audit(app_database):
    engine = make_engine(app_database)
    try:
        with engine.connect() as connection:
            return connection.execute(select(AuditLog).order_by(AuditLog.id.desc())).first()
    finally:
        engine.dispose()


def _same_rows(csv_content: str, rows: list[dict]) -> None:
    """The CSV holds the grid's rows, column for column, in the same order."""
    exported, grid = pd.read_csv(io.StringIO(csv_content)), pd.DataFrame(rows)
    assert list(exported.columns) == list(grid.columns) and len(exported) == len(grid) > 0
    for column in grid.columns:
        if pd.api.types.is_numeric_dtype(grid[column]) or grid[column].isna().all():
            assert np.allclose(exported[column].astype(float), grid[column].astype(float), atol=1e-4,
                               equal_nan=True), column
        else:
            assert exported[column].astype(str).tolist() == grid[column].astype(str).tolist(), column


# --- 1. the summary against the SQL tables -------------------------------------------------------------


def test_summary_numbers_equal_the_coupon_events_and_orders(client, auth, app_database):
    auth.login()
    outputs = _summary(client)
    events, orders = _events(app_database), _coupon_orders(app_database)
    counts = _counts(events)
    assert _funnel(outputs) == {event: counts[event] for event in ("issued", "claimed", "burned")}
    assert f"Expired after claiming: {counts['expired']:,}" in str(outputs["coupons-funnel-graph"]["figure"])
    kpis = _kpis(outputs)
    assert {event: kpis[event] for event in EVENTS} == {event: fmt.compact(counts[event]) for event in EVENTS}
    assert kpis["days"] == f"{_median_days_to_burn(events):.1f} days"
    assert kpis["revenue"] == fmt.money(orders["amount"].sum())
    assert kpis["discount"] == fmt.money(orders["discount"].sum())
    assert kpis["margin"] == fmt.money((orders["amount"] - orders["cost"]).sum())
    notes = text(outputs["coupons-kpis"]["children"])
    assert f"{fmt.percent(counts['claimed'] / counts['issued'])} of issued" in notes
    assert f"{fmt.percent(counts['burned'] / counts['claimed'])} of claimed" in notes
    assert outputs["coupons-empty-state"]["is_open"] is False
    assert outputs["coupons-focus-badge"]["children"] is None
    assert outputs["coupons-focus-clear"]["style"] == {"display": "none"}


def test_a_date_range_outside_the_data_opens_the_empty_state(client, auth):
    auth.login()
    outputs = _summary(client, EMPTY_RANGE)
    assert outputs["coupons-empty-state"]["is_open"] is True
    assert "No coupon activity for these filters." in text(outputs["coupons-empty-state"]["children"])
    assert _funnel(outputs) == {}  # the empty figure has no funnel
    focused = _summary(client, EMPTY_RANGE, {"city": "Sydney"})
    assert focused["coupons-empty-state"]["is_open"] is True
    assert "at this city or branch" in text(focused["coupons-empty-state"]["children"])


def test_an_empty_period_shows_zero_counts_and_no_ratios(client, auth):
    """Nothing happened: the counts and money are zero, the ratios and the median have nothing to divide."""
    auth.login()
    kpis = _kpis(_summary(client, EMPTY_RANGE))
    ratios = {"days", "return"}
    assert {name: value for name, value in kpis.items() if name in ratios} == {name: fmt.MISSING for name in ratios}
    assert all(value in ("0", "$0.00") for name, value in kpis.items() if name not in ratios), kpis


# --- 2. the data scope ---------------------------------------------------------------------------------


@pytest.mark.parametrize("search", ["", f"?country={OTHER_COUNTRY}", f"?country={OTHER_COUNTRY},Australia"])
def test_a_scoped_analyst_sees_only_customers_of_their_countries(client, auth, app_database, search):
    auth.login("aussie")
    events, orders = _events(app_database, SCOPE), _coupon_orders(app_database, SCOPE)
    counts = _counts(events)
    assert _counts(_events(app_database)) != counts  # the scope really leaves customers out

    summary = _summary(client, search)
    assert _funnel(summary) == {event: counts[event] for event in ("issued", "claimed", "burned")}
    assert _kpis(summary)["expired"] == fmt.compact(counts["expired"])

    branch_rows = _branch_rows(client, search)
    expected = events.groupby("branch_id")["event"].value_counts().unstack(fill_value=0)
    assert {row["branch_id"]: tuple(row[e] for e in EVENTS) for row in branch_rows} == {
        branch: tuple(int(expected.at[branch, e]) if e in expected.columns else 0 for e in EVENTS)
        for branch in expected.index}
    assert {row["country"] for row in branch_rows} <= SCOPE
    assert sum(row["revenue"] for row in branch_rows) == pytest.approx(orders["amount"].sum(), abs=0.01)

    coupon_rows, _columns = _coupon_table(client, "coupon", search)
    per_code = events.groupby("code")["event"].value_counts().unstack(fill_value=0)
    assert {row["code"]: (row["claimed"], row["burned"]) for row in coupon_rows} == {
        code: (int(per_code.at[code, "claimed"]), int(per_code.at[code, "burned"])) for code in per_code.index}

    branches_csv = pd.read_csv(io.StringIO(_export_branches(client, search)["content"]))
    assert set(branches_csv["country"]) <= SCOPE and branches_csv["burned"].sum() == counts["burned"]
    coupons_csv = pd.read_csv(io.StringIO(_export_coupons(client, "coupon", search)["content"]))
    assert coupons_csv["claimed"].sum() == counts["claimed"] and coupons_csv["burned"].sum() == counts["burned"]
    campaigns_csv = pd.read_csv(io.StringIO(_export_coupons(client, "campaign", search)["content"]))
    assert campaigns_csv["issued"].sum() == counts["issued"]

    preset = ok(call(client, "shell-tabs.active_tab", {"coupons-segment-shortcut.n_clicks": 1},
                      {FILTERS: search, FOCUS: {}}))["shell-lab-preset"]["data"]
    scoped_cities = {city_feature_name(city) for city in events["branch_city"].dropna()}
    assert preset[len(COUPON_FEATURES):] and set(preset[len(COUPON_FEATURES):]) <= scoped_cities


@pytest.mark.parametrize("search", ["", f"?country={OTHER_COUNTRY}"])
def test_a_scoped_analysts_coupon_users_and_usage_are_of_their_countries(client, auth, app_database, search):
    auth.login("aussie")
    events = _events(app_database, SCOPE)
    burners = events.loc[events["event"] == "burned", "customer_id"]
    cities = set(_read(app_database, "SELECT city FROM customers WHERE country = 'Australia'")["city"])
    people = ok(call(client, "coupons-gender-graph.figure", {FILTERS: search, FOCUS: {},
                                                              "coupons-segment-kind.value": "profile", THEME: None}))
    pie = people["coupons-gender-graph"]["figure"]["data"][0]
    assert array(pie["values"]).sum() == burners.nunique() > 0
    shown_cities = {city for trace in people["coupons-user-cities-graph"]["figure"]["data"]
                    for city in array(trace["y"])}
    assert shown_cities and shown_cities <= cities
    usage = ok(call(client, "coupons-frequency-graph.figure", {FILTERS: search, FOCUS: {}, THEME: None}))
    bars = usage["coupons-frequency-graph"]["figure"]["data"][0]
    assert array(bars["y"]).sum() == burners.nunique()
    assert f"of {burners.nunique():,} coupon users" in text(usage["coupons-frequency-facts"]["children"])


def test_a_scoped_analyst_cannot_focus_on_another_countrys_city(client, auth, app_database):
    """A city outside the scope is not a focus the user may choose: the tab stays on their own branches."""
    auth.login("aussie")
    toronto, unfocused = _summary(client, "", {"city": "Toronto"}), _summary(client, "", {})
    assert _funnel(toronto) == _funnel(unfocused) != {}
    assert text(toronto["coupons-focus-badge"]["children"]) == ""
    assert _branch_rows(client, "", {"city": "Toronto"}) == _branch_rows(client, "", {})


# --- 3. focus ------------------------------------------------------------------------------------------


def _branches(app_database) -> pd.DataFrame:
    return _read(app_database, "SELECT id, name, city, country FROM branches ORDER BY id")


def test_a_city_click_focuses_on_the_city(client, auth):
    auth.login()
    response = call(client, "coupons-focus.data", {"coupons-cities-graph.clickData": {"points": [{"y": "Sydney"}]}})
    assert ok(response)["coupons-focus"]["data"] == {"city": "Sydney"}


def test_a_branch_click_and_a_grid_click_focus_on_the_branch(client, auth, app_database):
    auth.login()
    branch = _branches(app_database).iloc[3]
    clicked = call(client, "coupons-focus.data",
                   {"coupons-branches-graph.clickData": {"points": [{"y": branch["name"]}]}})
    assert ok(clicked)["coupons-focus"]["data"] == {"branch_id": int(branch["id"])}
    cell = call(client, "coupons-focus.data",
                {"coupons-branch-grid.cellClicked": {"rowId": str(branch["id"]), "colId": "branch"}})
    assert ok(cell)["coupons-focus"]["data"] == {"branch_id": int(branch["id"])}


def test_the_clear_button_removes_the_focus(client, auth):
    auth.login()
    assert ok(call(client, "coupons-focus.data", {"coupons-focus-clear.n_clicks": 1}))["coupons-focus"]["data"] == {}


FORGED_CLICKS = [
    {"points": [{"y": "Atlantis"}]}, {"points": [{"y": "Robert'); DROP TABLE branches; --"}]}, {"points": [{"y": 5}]},
    {"points": [{"x": 10}]}, {"points": []}, {"points": None}, None, {"points": ["Sydney"]},
]


@pytest.mark.parametrize("click", FORGED_CLICKS, ids=[str(c) for c in FORGED_CLICKS])
def test_an_unknown_or_forged_click_changes_nothing(client, auth, click):
    auth.login()
    statuses = {graph: _status(lambda: call(client, "coupons-focus.data", {f"coupons-{graph}-graph.clickData": click}))
                for graph in ("cities", "branches")}
    assert statuses == {"cities": 204, "branches": 204}


FORGED_ROWS = ["abc", "1 OR 1=1", "", None, "99999", "-1", "4.0", "²"]


@pytest.mark.parametrize("row_id", FORGED_ROWS, ids=[repr(r) for r in FORGED_ROWS])
def test_a_forged_or_unknown_grid_row_changes_nothing(client, auth, row_id):
    auth.login()
    status = _status(lambda: call(client, "coupons-focus.data",
                                  {"coupons-branch-grid.cellClicked": {"rowId": row_id, "colId": "branch"}}))
    assert status == 204


FORGED_FOCUS = [{"branch_id": "1 OR 1=1"}, {"city": 5}, {"city": "Atlantis"}, {"branch_id": 99999},
                {"city": ["Sydney"]}, {"branch_id": 1.5}, {"branch_id": True}, "Sydney", [1], None]


@pytest.mark.parametrize("focus", FORGED_FOCUS, ids=[repr(f) for f in FORGED_FOCUS])
def test_a_forged_focus_is_no_focus(client, auth, app_database, focus):
    auth.login()
    counts = _counts(_events(app_database))
    outputs = ok(call(client, "coupons-kpis.children", {FILTERS: "", FOCUS: focus, THEME: None}))
    assert _funnel(outputs) == {event: counts[event] for event in ("issued", "claimed", "burned")}
    assert outputs["coupons-focus-badge"]["children"] is None
    assert outputs["coupons-focus-clear"]["style"] == {"display": "none"}


def test_a_city_focus_narrows_the_tab_to_the_citys_branches(client, auth, app_database):
    auth.login()
    events = _events(app_database)
    sydney = _counts(events[events["branch_city"] == "Sydney"])
    assert 0 < sydney["burned"] < _counts(events)["burned"]
    outputs = _summary(client, "", {"city": "Sydney"})
    assert _funnel(outputs) == {event: sydney[event] for event in ("issued", "claimed", "burned")}
    assert "City: Sydney" in text(outputs["coupons-focus-badge"]["children"])
    assert outputs["coupons-focus-clear"]["style"] == {}
    assert {row["city"] for row in _branch_rows(client, "", {"city": "Sydney"})} == {"Sydney"}


def test_a_branch_focus_narrows_the_tab_to_the_branch(client, auth, app_database):
    auth.login()
    events, branch = _events(app_database), _branches(app_database).iloc[0]
    expected = _counts(events[events["branch_id"] == branch["id"]])
    outputs = _summary(client, "", {"branch_id": int(branch["id"])})
    assert _funnel(outputs) == {event: expected[event] for event in ("issued", "claimed", "burned")}
    assert f"Branch: {branch['name']}" in text(outputs["coupons-focus-badge"]["children"])


# --- 4. exports ----------------------------------------------------------------------------------------


def test_the_branch_export_is_the_grid_as_csv_and_is_audited(client, auth, app_database):
    auth.login()
    rows = _branch_rows(client, "?country=Germany")
    download = _export_branches(client, "?country=Germany")
    assert download["filename"] == "coupon-branches.csv" and download["type"] == "text/csv"
    _same_rows(download["content"], rows)
    assert {row["country"] for row in rows} == {"Germany"}
    last = _last_audit(app_database)
    assert last.action == "export" and last.username == "admin"
    assert last.detail == {"what": "coupon branches", "rows": len(rows), "filters": "?country=Germany"}


@pytest.mark.parametrize("kind", ["coupon", "campaign"])
def test_the_coupon_export_is_the_grid_as_csv_and_is_audited(client, auth, app_database, kind):
    auth.login("aussie")
    rows, _columns = _coupon_table(client, kind, "", {"city": "Sydney"})
    download = _export_coupons(client, kind, "", {"city": "Sydney"})
    assert download["filename"] == f"coupons-per-{kind}.csv"
    _same_rows(download["content"], rows)
    last = _last_audit(app_database)
    assert last.action == "export" and last.username == "aussie"
    assert last.detail["what"] == f"coupons per {kind}" and last.detail["rows"] == len(rows)


# --- 5. data quality -----------------------------------------------------------------------------------


def test_clean_data_keeps_the_quality_warning_closed(client, auth):
    auth.login()
    outputs = _summary(client)
    assert outputs["coupons-quality"]["is_open"] is False and outputs["coupons-quality"]["children"] is None


def test_burns_without_a_claim_open_the_quality_warning(client, auth, app_database):
    """Three burns without a claim by two Canadian customers; removed again afterwards."""
    engine = make_engine(app_database)
    events = _events(app_database)
    touched = set(zip(events["customer_id"], events["coupon_id"]))
    canadians = _read(app_database, f"SELECT id FROM customers WHERE country = '{OTHER_COUNTRY}' ORDER BY id")["id"]
    coupons = _read(app_database, "SELECT id FROM coupons ORDER BY id")["id"]
    pairs = [(int(customer), int(coupon)) for customer in canadians for coupon in coupons
             if (customer, coupon) not in touched]
    (first, coupon_a), (second, coupon_b) = pairs[0], next(p for p in pairs if p[0] != pairs[0][0])
    at = dt.datetime(2023, 6, 1, 12)
    rows = [dict(customer_id=first, coupon_id=coupon_a, event="burned", occurred_at=at),
            dict(customer_id=first, coupon_id=coupon_a, event="burned", occurred_at=at + dt.timedelta(days=1)),
            dict(customer_id=second, coupon_id=coupon_b, event="burned", occurred_at=at)]
    with engine.begin() as connection:
        ids = [connection.execute(insert(CouponEvent).values(**row).returning(CouponEvent.id)).scalar_one()
               for row in rows]
    try:
        refresh(engine)
        auth.login()
        outputs = _summary(client)
        assert outputs["coupons-quality"]["is_open"] is True
        assert "3 burned coupons (2 customers)" in text(outputs["coupons-quality"]["children"])
        assert _funnel(outputs)["burned"] == _counts(events)["burned"] + 3  # the snapshot was rebuilt
        auth.logout()
        auth.login("aussie")  # the bad rows belong to customers outside the analyst's scope
        assert _summary(client)["coupons-quality"]["is_open"] is False
    finally:
        with engine.begin() as connection:
            connection.execute(delete(CouponEvent).where(CouponEvent.id.in_(ids)))
        refresh(engine)
        engine.dispose()


# --- 6. granularity ------------------------------------------------------------------------------------


def _timeline(client, grain) -> list[pd.DataFrame]:
    outputs = ok(call(client, "coupons-timeline-graph.figure", {FILTERS: "", FOCUS: {}, "coupons-grain.value": grain,
                                                                 THEME: None}))
    return [pd.DataFrame({"x": pd.to_datetime(array(trace["x"])), "y": array(trace["y"])}).assign(name=trace["name"])
            for trace in outputs["coupons-timeline-graph"]["figure"]["data"]]


@pytest.mark.parametrize("grain", ["day", "week", "month"])
def test_the_timeline_follows_the_granularity(client, auth, app_database, grain):
    auth.login()
    traces = _timeline(client, grain)
    assert [trace["name"].iloc[0] for trace in traces] == ["claimed", "burned", "expired"]
    x = traces[0]["x"]
    assert all(trace["x"].equals(x) for trace in traces) and len(x) > 2
    steps = x.diff().dropna()
    if grain == "day":
        assert (steps == pd.Timedelta(days=1)).all()
    elif grain == "week":
        assert (x.dt.day_of_week == 0).all() and (steps == pd.Timedelta(days=7)).all()
    else:
        months = x.dt.year * 12 + x.dt.month
        assert (x.dt.day == 1).all() and (months.diff().dropna() == 1).all()
    events = _events(app_database)
    by_name = {trace["name"].iloc[0]: trace for trace in traces}
    for event in ("claimed", "burned", "expired"):
        assert by_name[event]["y"].sum() == _counts(events)[event]
    day = events["occurred_at"].dt.normalize()
    assert x.iloc[0] <= day.min() and x.iloc[-1] <= day.max()


@pytest.mark.parametrize("grain", ["year", "'; DROP TABLE coupon_events; --", None])
def test_a_forged_granularity_falls_back_to_weeks(client, auth, grain):
    auth.login()
    assert _timeline(client, grain)[0]["x"].equals(_timeline(client, "week")[0]["x"])


# --- 7. table kind -------------------------------------------------------------------------------------


def test_the_campaign_table_has_one_row_per_campaign_and_hides_the_code(client, auth, app_database):
    auth.login()
    rows, columns = _coupon_table(client, "campaign")
    events = _events(app_database)
    expected = events.groupby("campaign").agg(coupons=("coupon_id", "nunique"),
                                              burned=("event", lambda e: int((e == "burned").sum())))
    assert len(rows) == len({row["campaign"] for row in rows})
    assert {row["campaign"]: (row["coupons"], row["burned"]) for row in rows} == {
        campaign: (int(expected.at[campaign, "coupons"]), int(expected.at[campaign, "burned"]))
        for campaign in expected.index}
    hidden = {column["field"]: column["hide"] for column in columns}
    assert hidden["code"] is True and hidden["coupons"] is False and hidden["campaign"] is False


@pytest.mark.parametrize("kind", ["coupon", "year", None, 5, ["campaign"]])
def test_any_other_table_kind_is_per_coupon(client, auth, app_database, kind):
    auth.login()
    rows, columns = _coupon_table(client, kind)
    assert sorted(row["code"] for row in rows) == sorted(_events(app_database)["code"].unique())
    hidden = {column["field"]: column["hide"] for column in columns}
    assert hidden["code"] is False and hidden["coupons"] is True


# --- 8. the shortcut into the clustering lab -----------------------------------------------------------


def _shortcut(client, clicks=1) -> dict:
    return ok(call(client, "shell-tabs.active_tab", {"coupons-segment-shortcut.n_clicks": clicks},
                    {FILTERS: "", FOCUS: {}}))


def _render(client, tab, preset) -> dict:
    return ok(call(client, "shell-tab-content.children", {"shell-tabs.active_tab": tab},
                    {"shell-lab-preset.data": preset}))


def test_the_shortcut_opens_the_lab_with_coupon_features_and_the_leading_cities(client, auth, app_database):
    auth.login()
    outputs = _shortcut(client)
    assert outputs["shell-tabs"]["active_tab"] == "segmentation"
    burns = _events(app_database).query("event == 'burned'").groupby("branch_city").size().reset_index(name="n")
    leading = burns.sort_values(["n", "branch_city"], ascending=[False, True])["branch_city"].head(3)
    preset = outputs["shell-lab-preset"]["data"]
    assert preset == [*COUPON_FEATURES, *(city_feature_name(city) for city in leading)]
    assert _status(lambda: call(client, "shell-tabs.active_tab", {"coupons-segment-shortcut.n_clicks": None},
                                {FILTERS: "", FOCUS: {}})) == 204


def _offered(client, chosen, preset) -> list[str]:
    """The features the lab's dropdown ends up with, as the lab's callback chooses them on opening."""
    outputs = ok(call(client, "segmentation-lab-features.options", {FILTERS: ""},
                       {"segmentation-lab-features.value": chosen, "segmentation-lab-preset-features.data": preset}))
    return outputs["segmentation-lab-features"]["value"]


def test_the_segmentation_tab_opens_the_lab_with_the_preset_once(client, auth):
    auth.login()
    preset = _shortcut(client)["shell-lab-preset"]["data"]
    outputs = _render(client, "segmentation", preset)
    content = outputs["shell-tab-content"]["children"]
    assert find(content, "segmentation-sections")["active_tab"] == "lab"
    assert find(content, "segmentation-lab-preset-features").get("data") == preset
    chosen = find(content, "segmentation-lab-features").get("value")
    assert _offered(client, chosen, preset) == preset  # the dropdown opens with every preset feature
    assert outputs["shell-lab-preset"]["data"] is None  # used once
    plain = _render(client, "segmentation", None)["shell-tab-content"]["children"]
    assert find(plain, "segmentation-sections")["active_tab"] == "rfm"
    assert find(plain, "segmentation-lab-preset-features").get("data") is None
    assert _offered(client, None, None) != preset


@pytest.mark.parametrize("tab", ["coupons", "performance"])
def test_another_tab_ignores_the_preset(client, auth, tab):
    auth.login()
    preset = _shortcut(client)["shell-lab-preset"]["data"]
    outputs = _render(client, tab, preset)
    content = outputs["shell-tab-content"]["children"]
    assert find(content, "segmentation-lab-features") is None and find(content, "segmentation-sections") is None
    assert (find(content, "coupons-content") is not None) is (tab == "coupons")
    assert outputs["shell-lab-preset"]["data"] is None


@pytest.mark.parametrize("preset, features", [
    ("frequency", None), ({"features": ["frequency"]}, None), (5, None), ([1, None], None), ([], None),
    ([{"name": "frequency"}, 7, "frequency", "female"], ["frequency", "female"]),
], ids=["string", "dict", "number", "no strings", "empty", "mixed"])
def test_a_forged_preset_does_not_break_the_segmentation_tab(client, auth, preset, features):
    auth.login()
    outputs = _render(client, "segmentation", preset)
    content = outputs["shell-tab-content"]["children"]
    assert find(content, "segmentation-lab-preset-features").get("data") == features
    assert find(content, "segmentation-sections")["active_tab"] == ("lab" if features else "rfm")
    chosen = find(content, "segmentation-lab-features").get("value")
    offered = _offered(client, chosen, find(content, "segmentation-lab-preset-features").get("data"))
    assert offered and all(isinstance(name, str) for name in offered)
    if features:
        assert offered == features
    assert outputs["shell-lab-preset"]["data"] is None


# --- 9. the login guard --------------------------------------------------------------------------------

COUPON_CALLBACKS = [
    ("coupons-kpis.children", {FILTERS: "", FOCUS: {}, THEME: None}, {}),
    ("coupons-timeline-graph.figure", {FILTERS: "", FOCUS: {}, "coupons-grain.value": "week", THEME: None}, {}),
    ("coupons-branch-grid.rowData", {FILTERS: "", FOCUS: {}, THEME: None}, {}),
    ("coupons-gender-graph.figure", {FILTERS: "", FOCUS: {}, "coupons-segment-kind.value": "profile", THEME: None}, {}),
    ("coupons-frequency-graph.figure", {FILTERS: "", FOCUS: {}, THEME: None}, {}),
    ("coupons-coupon-grid.rowData", {FILTERS: "", FOCUS: {}, "coupons-table-kind.value": "coupon"}, {}),
    ("coupons-focus.data", {"coupons-cities-graph.clickData": {"points": [{"y": "Sydney"}]}}, {}),
    ("coupons-branch-download.data", {"coupons-branch-export.n_clicks": 1}, {FILTERS: "", FOCUS: {}}),
    ("coupons-coupon-download.data", {"coupons-coupon-export.n_clicks": 1},
     {FILTERS: "", FOCUS: {}, "coupons-table-kind.value": "coupon"}),
    ("shell-tabs.active_tab", {"coupons-segment-shortcut.n_clicks": 1}, {FILTERS: "", FOCUS: {}}),
]


def test_the_list_covers_every_coupon_callback(client, auth):
    auth.login()
    dependencies = client.get("/_dash-dependencies").get_json()
    coupon_callbacks = {c["output"] for c in dependencies
                        if any(i["id"].startswith("coupons-") for i in c["inputs"])}
    listed = listed_outputs(dependencies, COUPON_CALLBACKS)
    assert listed == coupon_callbacks and len(coupon_callbacks) == len(COUPON_CALLBACKS)


@pytest.mark.parametrize("output, inputs, state", COUPON_CALLBACKS, ids=[c[0] for c in COUPON_CALLBACKS])
def test_a_coupon_callback_without_a_login_gets_no_data(app, client, auth, output, inputs, state):
    assert_no_data_without_login(app, client, auth, output, inputs, state)
