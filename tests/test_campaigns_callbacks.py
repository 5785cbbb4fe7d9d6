"""The Campaigns tab's callbacks over HTTP: the campaign list, the experiment readout and its settings, forged
browser values, the data scope, saved segments as dimensions, the export, seasonality and the login guard.

One demo database (5,000 customers: about 930 per variant of the A/B test, enough for its planted +15%
orders lift to be significant) and one app for the module. Every number is checked against pandas on the
raw SQL tables (`campaigns`, `campaign_assignments`, `transactions`, `customers`, `saved_segment_members`):
per-customer values over the campaign window (zeros for customers who bought nothing), Welch's t-test,
CUPED, capping, Holm/BH, the OLS interaction F-test and Cochran's Q, the sample-size formula, revenue by
calendar month. The services are not used to compute an expectation.
"""
from __future__ import annotations

import datetime as dt
import io
import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats
from sqlalchemy import select
from statsmodels.stats.anova import anova_lm
from statsmodels.stats.multitest import multipletests

from layouts import campaigns as ids
from services import formatting as fmt
from services import users
from services.db import make_engine, session_scope, upgrade_schema
from services.demo import DemoConfig, generate_demo_data
from services.models import AuditLog, User
from services.refresh import refresh
from services.segmentation.saved import save_segment
from tests.conftest import ADMIN_PASSWORD, AuthActions, make_app
from tests.dash_client import array, assert_no_data_without_login, call, find, listed_outputs, ok, text

FILTERS = "filters-store.data"
THEME = "shell-theme-store.data"
CAMPAIGN, CUPED, CAP = f"{ids.CAMPAIGN}.value", f"{ids.CUPED}.value", f"{ids.CAP}.value"
CORRECTION, SEQUENTIAL = f"{ids.CORRECTION}.value", f"{ids.SEQUENTIAL}.value"
DIMENSION, SEGMENT_METRIC = f"{ids.DIMENSION}.value", f"{ids.SEGMENT_METRIC}.value"
AB_TEST, EMAIL, LOYALTY = "20% discount A/B test", "Holiday email 2022", "Loyalty rewards 2023"  # the demo's
SCOPES = {"aussie": "Australia", "canuck": "Canada"}  # analysts who may see one country each
HIGH_SPENDERS, OUTSIDE = "Every third customer", "Not in the A/B test"  # saved segments (admin's, aussie's)
DEMO = DemoConfig(customers=5000, seed=11)
PER_CUSTOMER = {"conversion": "converted", "orders": "orders", "revenue": "revenue", "profit": "profit"}
LABELS = {"conversion": "Conversion (any purchase)", "orders": "Orders per customer",
          "revenue": "Revenue per customer", "profit": "Profit per customer", "aov": "Average order value",
          "profit_per_sale": "Profit per sale", "burn_rate": "Coupon burn rate"}
RATIOS = {"aov": ("revenue", "orders"), "profit_per_sale": ("profit", "orders"), "burn_rate": ("burns", "claims")}


@pytest.fixture(scope="module")
def app_database(tmp_path_factory) -> str:
    """Demo data; an admin, a viewer, two analysts scoped to one country each; two saved segments."""
    url = f"sqlite:///{tmp_path_factory.mktemp('campaigns-app') / 'app.db'}"
    upgrade_schema(url)
    engine = make_engine(url)
    try:
        generate_demo_data(engine, DEMO)
        refresh(engine)
        with session_scope(engine) as session:
            users.create_user(session, "admin", ADMIN_PASSWORD, "admin")
            users.create_user(session, "viewer", ADMIN_PASSWORD, "viewer")
            for name, country in SCOPES.items():
                users.create_user(session, name, ADMIN_PASSWORD, "analyst", [country])
        with engine.begin() as connection:
            owner = {row.username: row.id for row in connection.execute(select(User.username, User.id))}
            everyone = pd.read_sql("SELECT id FROM customers ORDER BY id", connection)["id"]
            in_test = set(pd.read_sql("SELECT a.customer_id FROM campaign_assignments a JOIN campaigns c "
                                      f"ON c.id = a.campaign_id WHERE c.name = '{AB_TEST}'", connection)["customer_id"])
            save_segment(connection, HIGH_SPENDERS, "filters", everyone[everyone % 3 == 0].tolist(),
                         owner_id=owner["admin"])
            save_segment(connection, OUTSIDE, "filters", [int(c) for c in everyone if c not in in_test][:60],
                         owner_id=owner["aussie"])
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="module")
def app(app_database, tmp_path_factory):
    """One app (one cache, one snapshot per data version) for the module; conftest's `client` uses it."""
    return make_app(app_database, tmp_path_factory.mktemp("campaigns-instance"))


# --- independent numbers from the SQL tables -----------------------------------------------------------


def _read(url: str, query: str, **kwargs) -> pd.DataFrame:
    engine = make_engine(url)
    try:
        return pd.read_sql(query, engine, **kwargs)
    finally:
        engine.dispose()


@dataclass(frozen=True, repr=False)
class CampaignTruth:
    """What the raw tables say about the campaigns, computed with pandas (never through the app)."""

    campaigns: pd.DataFrame  # id, name, kind, starts_on, ends_on, cost, planned_treatment_share, assigned
    assignments: pd.DataFrame  # campaign_id, customer_id, variant
    customers: pd.DataFrame  # customer_id, country, gender
    orders: pd.DataFrame  # customer_id, day, amount, profit
    coupon_events: pd.DataFrame  # customer_id, day, event
    segments: pd.DataFrame  # segment_id, name, customer_id
    _values: dict = field(default_factory=dict, compare=False)  # memo of `values`

    def __repr__(self) -> str:
        return f"CampaignTruth({len(self.campaigns)} campaigns, {len(self.customers)} customers)"

    @classmethod
    def read(cls, url: str) -> "CampaignTruth":
        campaigns = _read(url, "SELECT c.id, c.name, c.kind, c.starts_on, c.ends_on, c.cost, "
                               "c.planned_treatment_share, (SELECT count(DISTINCT a.customer_id) FROM "
                               "campaign_assignments a WHERE a.campaign_id = c.id) AS assigned FROM campaigns c",
                          parse_dates=["starts_on", "ends_on"])
        orders = _read(url, "SELECT customer_id, ordered_at, amount, coalesce(cost, 0) AS cost FROM transactions",
                       parse_dates=["ordered_at"])
        events = _read(url, "SELECT customer_id, occurred_at, event FROM coupon_events", parse_dates=["occurred_at"])
        return cls(
            campaigns,
            _read(url, "SELECT campaign_id, customer_id, variant FROM campaign_assignments"),
            _read(url, "SELECT id AS customer_id, country, gender FROM customers"),
            pd.DataFrame({"customer_id": orders["customer_id"], "day": orders["ordered_at"].dt.normalize(),
                          "amount": orders["amount"], "profit": orders["amount"] - orders["cost"]}),
            pd.DataFrame({"customer_id": events["customer_id"], "day": events["occurred_at"].dt.normalize(),
                          "event": events["event"]}),
            _read(url, "SELECT s.id AS segment_id, s.name, m.customer_id FROM saved_segments s "
                       "JOIN saved_segment_members m ON m.segment_id = s.id"),
        )

    @property
    def last_day(self) -> pd.Timestamp:
        return self.orders["day"].max()

    def campaign(self, name: str) -> pd.Series:
        return self.campaigns.set_index("name").loc[name]

    def campaign_id(self, name: str) -> str:
        return str(int(self.campaign(name)["id"]))

    def ordered(self) -> pd.DataFrame:
        """The campaigns, the latest start first."""
        return self.campaigns.sort_values(["starts_on", "id"], ascending=[False, True])

    def window(self, name: str) -> tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp]:
        """First and last day of the campaign window (up to the data's last day) and the first pre-window day."""
        info = self.campaign(name)
        end = min(info["ends_on"], self.last_day)
        return info["starts_on"], end, info["starts_on"] - (end - info["starts_on"] + pd.Timedelta(days=1))

    def segment_id(self, name: str) -> int:
        return int(self.segments.loc[self.segments["name"] == name, "segment_id"].iloc[0])

    def values(self, name: str, country: str | None = None) -> pd.DataFrame:
        """One row per analysed customer (assigned to exactly one variant): variant, country, gender and the
        metric values over the window and the pre-window, zeros where the customer did nothing."""
        if (name, country) not in self._values:
            self._values[name, country] = self._compute_values(name, country)
        return self._values[name, country].copy()

    def _compute_values(self, name: str, country: str | None) -> pd.DataFrame:
        start, end, pre_start = self.window(name)
        assigned = self.assignments[self.assignments["campaign_id"] == self.campaign(name)["id"]]
        variants = assigned.groupby("customer_id")["variant"].agg(["nunique", "first"])
        frame = (variants[variants["nunique"] == 1]["first"].rename("variant").reset_index()
                 .merge(self.customers, on="customer_id"))
        if country is not None:
            frame = frame[frame["country"] == country]
        frame = frame.set_index("customer_id")

        def per_customer(first, last, prefix=""):
            days = self.orders[self.orders["day"].between(first, last)]
            sums = days.groupby("customer_id").agg(orders=("amount", "size"), revenue=("amount", "sum"),
                                                   profit=("profit", "sum"))
            for column in ("orders", "revenue", "profit"):
                frame[prefix + column] = sums[column].reindex(frame.index).fillna(0.0)
            frame[prefix + "converted"] = (frame[prefix + "orders"] > 0).astype(float)

        per_customer(start, end)
        per_customer(pre_start, start - pd.Timedelta(days=1), "pre_")
        events = self.coupon_events[self.coupon_events["day"].between(start, end)]
        for event, column in (("claimed", "claims"), ("burned", "burns")):
            frame[column] = events[events["event"] == event].groupby("customer_id").size().reindex(
                frame.index).fillna(0.0)
        return frame.reset_index()


@pytest.fixture(scope="module")
def truth(app_database) -> CampaignTruth:
    found = CampaignTruth.read(app_database)
    assert set(found.campaigns["name"]) == {AB_TEST, EMAIL, LOYALTY}
    return found


def _means(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame.groupby("variant")[column].mean()


def _lift(means: pd.Series) -> float:
    return float(means["treatment"] / means["control"] - 1)


def _ratio(frame: pd.DataFrame, numerator: str, denominator: str) -> pd.Series:
    sums = frame.groupby("variant")[[numerator, denominator]].sum()
    return sums[numerator] / sums[denominator]


def _cuped(frame: pd.DataFrame, column: str) -> pd.Series:
    """Means of y - θ(x - x̄) per variant, θ and x̄ over both variants pooled (Deng et al., 2013)."""
    y, x = frame[column], frame[f"pre_{column}"]
    theta = np.cov(x, y)[0, 1] / x.var()
    return frame.assign(adjusted=y - theta * (x - x.mean())).groupby("variant")["adjusted"].mean()


def _capped(frame: pd.DataFrame, percentile: float) -> pd.DataFrame:
    """Orders, revenue and profit (and their pre-window values) limited to their percentile over the customers."""
    limits = {c: frame[c].quantile(percentile) for p in ("", "pre_") for c in (f"{p}orders", f"{p}revenue",
                                                                                f"{p}profit")}
    return frame.assign(**{column: frame[column].clip(upper=limit) for column, limit in limits.items()})


# --- reading the callbacks' answers --------------------------------------------------------------------


def _settings(campaign, search="", cuped=False, cap="off", correction="holm", sequential=False) -> dict:
    """The readout's inputs as the browser sends them (the campaign first: it is the trigger)."""
    return {CAMPAIGN: campaign, FILTERS: search, CUPED: cuped, CAP: cap, CORRECTION: correction,
            SEQUENTIAL: sequential, THEME: None}


@dataclass(frozen=True)
class Readout:
    outputs: dict

    @property
    def rows(self) -> dict[str, dict]:
        return {row["metric"]: row for row in self.outputs[ids.READOUT_GRID]["rowData"]}

    def row(self, key: str) -> dict:
        return self.rows[LABELS[key]]

    def kpi(self, name: str) -> str:
        return text(find(self.outputs[ids.KPI_GRID]["children"], f"campaigns-kpi-{name}")["children"])

    def kpi_note(self, name: str) -> str:
        for card in self.outputs[ids.KPI_GRID]["children"]:
            if find(card, f"campaigns-kpi-{name}") is not None:
                return text(card["props"]["children"]["props"]["children"][2])
        raise KeyError(name)

    @property
    def badges(self) -> list[str]:
        return [text(badge) for badge in self.outputs[ids.HEALTH]["children"] or []]

    @property
    def verdict(self) -> str:
        return self.outputs[ids.VERDICT]["children"] or ""

    @property
    def shown(self) -> bool:
        return self.outputs[ids.READOUT]["style"] == {}

    @property
    def notice(self) -> tuple[bool, str]:
        return self.outputs[ids.NOT_RANDOMISED]["is_open"], text(self.outputs[ids.NOT_RANDOMISED]["children"]).strip()


def _readout(client, campaign, **settings) -> Readout:
    return Readout(ok(call(client, f"{ids.READOUT_GRID}.rowData", _settings(campaign, **settings))))


def _segments(client, campaign, dimension, metric="orders", **settings) -> dict:
    outputs = ok(call(client, f"{ids.SEGMENT_GRID}.rowData",
                       {**_settings(campaign, **settings), DIMENSION: dimension, SEGMENT_METRIC: metric}))
    return {"rows": outputs[ids.SEGMENT_GRID]["rowData"], "text": text(outputs[ids.INTERACTION]["children"]),
            "figure": outputs[ids.SEGMENT_GRAPH]["figure"]}


def _timeline(client, campaign, metric="orders", **settings) -> list[dict]:
    inputs = {**_settings(campaign, **settings), f"{ids.TIMELINE_METRIC}.value": metric}
    return ok(call(client, f"{ids.TIMELINE_GRAPH}.figure", inputs))[ids.TIMELINE_GRAPH]["figure"]["data"]


def _plan(client, campaign, metric="orders", mde=ids.DEFAULT_MDE, power="0.8", search="") -> str:
    inputs = {CAMPAIGN: campaign, FILTERS: search, f"{ids.PLAN_METRIC}.value": metric,
              f"{ids.PLAN_MDE}.value": mde, f"{ids.PLAN_POWER}.value": power}
    return text(ok(call(client, f"{ids.PLAN_RESULT}.children", inputs))[ids.PLAN_RESULT]["children"])


def _export(client, campaign, search="", **settings) -> dict:
    state = {key: value for key, value in _settings(campaign, search, **settings).items() if key != THEME}
    return ok(call(client, f"{ids.DOWNLOAD}.data", {f"{ids.EXPORT}.n_clicks": 1}, state))[ids.DOWNLOAD]["data"]


def _seasonality(client, search="") -> dict:
    return ok(call(client, f"{ids.SEASON_FACTS}.children", {FILTERS: search, THEME: None}))


def _login(app, username: str):
    """A client of its own, logged in: several users at once, sharing the app's cache."""
    client = app.test_client()
    AuthActions(client).login(username)
    return client


def _last_audit(app_database):
    engine = make_engine(app_database)
    try:
        with engine.connect() as connection:
            return connection.execute(select(AuditLog).order_by(AuditLog.id.desc())).first()
    finally:
        engine.dispose()


def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


# --- 1. the campaign list and the dimensions -----------------------------------------------------------


def test_fill_choices_lists_every_campaign_and_defaults_to_the_latest_randomised(client, auth, truth):
    auth.login()
    outputs = ok(call(client, f"{ids.CAMPAIGN}.options", {f"{ids.CONTENT}.id": ids.CONTENT}))
    ordered = truth.ordered()
    assert outputs[ids.CAMPAIGN]["options"] == [
        {"label": f"{row['name']} ({row['starts_on']:%b %Y})", "value": str(int(row["id"]))}
        for _, row in ordered.iterrows()]
    latest_randomised = ordered[ordered["assigned"] > 0].iloc[0]
    assert latest_randomised["name"] == AB_TEST and ordered.iloc[0]["name"] == LOYALTY  # the latest is not randomised
    assert outputs[ids.CAMPAIGN]["value"] == truth.campaign_id(AB_TEST)

    dimensions = outputs[ids.DIMENSION]["options"]
    saved = truth.segments[["segment_id", "name"]].drop_duplicates()
    assert {"label": "Gender", "value": "gender"} in dimensions
    assert {"label": "Country", "value": "country"} in dimensions
    assert dimensions[:len(ids.DIMENSION_OPTIONS)] == ids.DIMENSION_OPTIONS
    assert sorted(map(str, dimensions[len(ids.DIMENSION_OPTIONS):])) == sorted(
        str({"label": f"Saved segment: {row['name']}", "value": f"segment:{row['segment_id']}"})
        for _, row in saved.iterrows())


def test_a_scoped_analyst_sees_the_same_campaigns_and_every_shared_segment(app, truth):
    """Saved segments are shared (anyone may use one; only its owner or an admin may delete it)."""
    outputs = ok(call(_login(app, "aussie"), f"{ids.CAMPAIGN}.options", {f"{ids.CONTENT}.id": ids.CONTENT}))
    assert [o["value"] for o in outputs[ids.CAMPAIGN]["options"]] == [str(int(i)) for i in truth.ordered()["id"]]
    assert {o["value"] for o in outputs[ids.DIMENSION]["options"]} >= {
        f"segment:{truth.segment_id(HIGH_SPENDERS)}", f"segment:{truth.segment_id(OUTSIDE)}"}


# --- 2. the readout against pandas ---------------------------------------------------------------------


@pytest.mark.parametrize("name", [AB_TEST, EMAIL])
def test_the_readout_equals_pandas_on_the_raw_tables(client, auth, truth, name):
    auth.login()
    readout = _readout(client, truth.campaign_id(name))
    values, info = truth.values(name), truth.campaign(name)
    counts = values["variant"].value_counts()
    assert readout.shown and readout.notice == (False, "")
    assert readout.kpi("customers") == f"{len(values):,}"
    assert readout.kpi_note("customers") == f"{counts['control']:,} control · {counts['treatment']:,} treatment"

    for key, column in PER_CUSTOMER.items():
        means, row = _means(values, column), readout.row(key)
        assert (row["control"], row["treatment"]) == pytest.approx((means["control"], means["treatment"]), abs=1e-5)
        assert row["relative_lift"] == pytest.approx(_lift(means), abs=1e-5), key
        assert row["cuped"] is False
    for key, (numerator, denominator) in RATIOS.items():
        ratio, row = _ratio(values, numerator, denominator), readout.row(key)
        assert (row["control"], row["treatment"]) == pytest.approx((ratio["control"], ratio["treatment"]), abs=1e-5)
    orders = values.groupby("variant")["orders"]
    welch = stats.ttest_ind(orders.get_group("treatment"), orders.get_group("control"), equal_var=False)
    assert readout.row("orders")["p_value"] == pytest.approx(welch.pvalue, abs=1e-6)

    lift = _lift(_means(values, "orders"))
    assert readout.kpi("orders") == fmt.change(lift)
    assert readout.kpi("revenue") == fmt.change(_lift(_means(values, "revenue")))
    assert readout.kpi("profit-per-sale") == fmt.change(float(_ratio(values, "profit", "orders").pipe(
        lambda r: r["treatment"] / r["control"] - 1)))
    share = 0.5 if pd.isna(info["planned_treatment_share"]) else info["planned_treatment_share"]
    srm = stats.chisquare([counts["control"], counts["treatment"]], [len(values) * (1 - share), len(values) * share])
    split = f"{counts['control'] / len(values):.1%} / {counts['treatment'] / len(values):.1%}"
    assert readout.badges[0] == f"Split {split} (planned {1 - share:.0%} / {share:.0%}), SRM {_p_text(srm.pvalue)}"
    assert readout.badges[-1] == "Correction: Holm" and "CUPED on" not in readout.badges
    start, end, _ = truth.window(name)
    assert readout.verdict.startswith(
        f"{name} ran {start:%d %b %Y} – {end:%d %b %Y} and compares {counts['treatment']:,} treatment with "
        f"{counts['control']:,} control customers.")
    # incremental profit = the per-customer profit lift times the treated customers, less the campaign's cost
    profit = _means(values, "profit")
    net = (profit["treatment"] - profit["control"]) * counts["treatment"] - info["cost"]
    assert readout.kpi("net") == fmt.money(net)
    bars = readout.outputs[ids.LIFT_GRAPH]["figure"]["data"][0]
    assert list(bars["y"]) == list(readout.rows)[::-1]  # the first metric on top
    assert array(bars["x"]) == pytest.approx([row["relative_lift"] for row in readout.rows.values()][::-1],
                                              abs=1e-5, nan_ok=True)


def test_the_ab_test_finds_the_planted_orders_lift(client, auth, truth):
    """The demo plants +15% orders per customer at 20% off: a significant rise, and a campaign that did not pay."""
    auth.login()
    readout, values = _readout(client, truth.campaign_id(AB_TEST)), truth.values(AB_TEST)
    lift, row = _lift(_means(values, "orders")), readout.row("orders")
    assert 0.05 < lift < 0.25 and row["p_adjusted"] < 0.05 and row["relative_low"] > 0
    assert f"Orders per customer rose by {fmt.percent(lift)}" in readout.verdict
    assert readout.row("profit_per_sale")["relative_lift"] < 0 and "The campaign did not pay." in readout.verdict
    kpis = find(readout.outputs[ids.KPI_GRID]["children"], "campaigns-kpi-orders")
    assert "tone-good" in kpis["className"]


def test_cuped_changes_the_numbers_as_pandas_computes_them_and_says_so(client, auth, truth):
    auth.login()
    campaign, values = truth.campaign_id(AB_TEST), truth.values(AB_TEST)
    off, on = _readout(client, campaign), _readout(client, campaign, cuped=True)
    for key, column in PER_CUSTOMER.items():
        adjusted = _cuped(values, column)
        row = on.row(key)
        assert row["cuped"] is True
        assert (row["control"], row["treatment"]) == pytest.approx((adjusted["control"], adjusted["treatment"]),
                                                                   abs=1e-5), key
        assert row["relative_lift"] == pytest.approx(_lift(adjusted), abs=1e-5), key
    for key in RATIOS:  # ratio metrics are not adjusted
        assert on.row(key) == {**off.row(key)}
    assert on.kpi("orders") == fmt.change(_lift(_cuped(values, "orders"))) != off.kpi("orders")
    width = {name: r.row("orders")["relative_high"] - r.row("orders")["relative_low"] for name, r in
             (("off", off), ("on", on))}
    assert width["on"] < width["off"]  # the pre-campaign orders explain part of the variance
    assert "CUPED on" in on.badges and "CUPED on" not in off.badges
    y, x = values["orders"], values["pre_orders"]
    reduction = 1 - (y - np.cov(x, y)[0, 1] / x.var() * x).var() / y.var()
    assert f"it removed {fmt.percent(reduction, 0)} of the variance of orders per customer" in on.verdict
    assert on.verdict != off.verdict


def test_the_verdict_spells_cuped_in_capitals(client, auth, truth):
    auth.login()
    assert "CUPED is on" in _readout(client, truth.campaign_id(AB_TEST), cuped=True).verdict


@pytest.mark.parametrize("cap", ["0.9", "0.99"])
def test_capping_limits_orders_revenue_and_profit_at_the_percentile(client, auth, truth, cap):
    auth.login()
    campaign, values = truth.campaign_id(AB_TEST), truth.values(AB_TEST)
    capped, plain = _readout(client, campaign, cap=cap), _readout(client, campaign)
    limited = _capped(values, float(cap))
    assert limited["orders"].max() < values["orders"].max()  # the cap bites
    for key in ("orders", "revenue", "profit"):
        means = _means(limited, key)
        row = capped.row(key)
        assert (row["control"], row["treatment"]) == pytest.approx((means["control"], means["treatment"]), abs=1e-5)
    assert capped.row("conversion") == plain.row("conversion")  # a 0/1 value has nothing to cap
    assert f"Capped at the {float(cap) * 100:g}th percentile" in capped.badges
    assert f"values above the {float(cap) * 100:g}th percentile are capped" in capped.verdict.lower()
    both = _readout(client, campaign, cap=cap, cuped=True)  # CUPED on the capped values and capped pre-values
    assert both.row("orders")["relative_lift"] == pytest.approx(_lift(_cuped(limited, "orders")), abs=1e-5)


@pytest.mark.parametrize("method, label, statsmodels_method", [
    ("holm", "Holm", "holm"), ("bh", "Benjamini-Hochberg", "fdr_bh"), ("none", "None", None)])
def test_the_correction_method_adjusts_the_p_values(client, auth, truth, method, label, statsmodels_method):
    auth.login()
    readout = _readout(client, truth.campaign_id(AB_TEST), correction=method)
    rows = list(readout.rows.values())
    raw = np.array([row["p_value"] for row in rows], dtype=float)
    expected = raw if statsmodels_method is None else multipletests(raw, method=statsmodels_method)[1]
    assert [row["p_adjusted"] for row in rows] == pytest.approx(expected.tolist(), abs=1e-5)  # rows carry 6 decimals
    assert f"Correction: {label}" in readout.badges
    adjusted = f"{label}-adjusted {_p_text(readout.row('orders')['p_adjusted'])}"
    assert (adjusted in readout.verdict) is (method != "none")


def test_sequential_intervals_are_wider_with_the_same_estimates(client, auth, truth):
    auth.login()
    campaign = truth.campaign_id(AB_TEST)
    fixed, sequential = _readout(client, campaign), _readout(client, campaign, sequential=True)
    for metric, row in sequential.rows.items():
        plain = fixed.rows[metric]
        assert (row["relative_lift"], row["p_value"]) == (plain["relative_lift"], plain["p_value"])
        if plain["relative_low"] is not None and plain["relative_high"] > plain["relative_low"]:
            assert row["relative_high"] - row["relative_low"] > plain["relative_high"] - plain["relative_low"], metric
    assert "Sequential intervals" in sequential.badges and "Sequential intervals" not in fixed.badges
    assert "intervals are sequential (valid at any look)" in sequential.verdict.lower()
    timeline = {trace.get("name"): trace for trace in _timeline(client, campaign, sequential=True)}
    assert "confidence sequence" in timeline


def test_with_sequential_on_a_lift_called_significant_has_an_interval_that_excludes_zero(app, truth):
    readout = _readout(_login(app, "aussie"), truth.campaign_id(AB_TEST), sequential=True)
    claim = re.search(r"Orders per customer (?:rose|fell) by [^(]*\(95% CI ([-+][\d.]+)% to ([-+][\d.]+)%",
                      readout.verdict)
    low, high = readout.row("orders")["relative_low"], readout.row("orders")["relative_high"]
    assert claim is None or low > 0 or high < 0, readout.verdict


def test_a_non_randomised_campaign_says_it_cannot_be_measured(client, auth, truth):
    auth.login()
    readout = _readout(client, truth.campaign_id(LOYALTY))
    is_open, notice = readout.notice
    assert is_open and notice == (f"{LOYALTY} has no assignment to variants, so there is no control group to compare "
                                "with: its effect cannot be measured. Its window is shaded on the revenue timeline "
                                "below.")
    assert readout.outputs[ids.READOUT]["style"] == {"display": "none"}
    assert readout.outputs[ids.READOUT_GRID]["rowData"] == [] and readout.outputs[ids.KPI_GRID]["children"] is None
    info = truth.campaign(LOYALTY)
    assert f"{info['starts_on']:%d %b %Y} – {info['ends_on']:%d %b %Y}" in text(
        readout.outputs[ids.DESCRIPTION]["children"])
    assert _plan(client, truth.campaign_id(LOYALTY)) == "Planning needs a randomised campaign's control group."
    assert _segments(client, truth.campaign_id(LOYALTY), "gender")["rows"] == []


def test_filters_that_leave_no_assigned_customer_say_so(client, auth, truth):
    auth.login()
    readout = _readout(client, truth.campaign_id(AB_TEST), search=f"?segment={truth.segment_id(OUTSIDE)}")
    is_open, text = readout.notice
    assert is_open and not readout.shown
    assert "starts after the last order" not in text and "filters select" in text, text


def test_the_readout_ignores_the_date_filter_it_measures_the_campaign_window(client, auth, truth):
    auth.login()
    campaign = truth.campaign_id(AB_TEST)
    assert _readout(client, campaign, search="?from=2021-01-01&to=2021-02-01").rows == _readout(client, campaign).rows


def test_the_segment_breakdown_by_gender_equals_pandas(client, auth, truth):
    auth.login()
    values = truth.values(AB_TEST)
    found = _segments(client, truth.campaign_id(AB_TEST), "gender")
    rows = {row["segment"]: row for row in found["rows"]}
    assert set(rows) == set(values["gender"])
    for gender, group in values.groupby("gender"):
        counts, means = group["variant"].value_counts(), _means(group, "orders")
        assert (rows[gender]["control_n"], rows[gender]["treatment_n"]) == (counts["control"], counts["treatment"])
        assert rows[gender]["relative"] == pytest.approx(_lift(means), abs=1e-5)
    assert sum(r["control_n"] + r["treatment_n"] for r in rows.values()) == len(values)

    # the absolute scale: OLS F-test of treatment x gender against the additive model
    data = values.assign(treated=(values["variant"] == "treatment").astype(int))
    full = smf.ols("orders ~ C(treated) * C(gender)", data).fit()
    test = anova_lm(smf.ols("orders ~ C(treated) + C(gender)", data).fit(), full).iloc[1]
    assert (f"F({test['df_diff']:.0f}, {full.df_resid:.0f}) = {test['F']:.2f}, {_p_text(test['Pr(>F)'])}"
            in found["text"])
    # the relative scale: Cochran's Q of the segments' relative lifts with their delta-method variances
    lifts, variances = [], []
    for _, group in values.groupby("gender"):
        c, t = (group.loc[group["variant"] == v, "orders"] for v in ("control", "treatment"))
        lifts.append(t.mean() / c.mean() - 1)
        variances.append(t.var() / len(t) / c.mean() ** 2 + t.mean() ** 2 * c.var() / len(c) / c.mean() ** 4)
    weights, lifts = 1 / np.array(variances), np.array(lifts)
    q = float((weights * (lifts - (weights * lifts).sum() / weights.sum()) ** 2).sum())
    assert (f"Cochran's Q = {q:.2f} on {len(lifts) - 1} df, {_p_text(stats.chi2.sf(q, len(lifts) - 1))}"
            in found["text"])
    assert list(found["figure"]["data"][0]["x"]) == [row["segment"] for row in found["rows"]]


def test_the_cumulative_lift_ends_at_the_readouts_lift(client, auth, truth):
    auth.login()
    campaign = truth.campaign_id(AB_TEST)
    traces = {trace.get("name"): trace for trace in _timeline(client, campaign)}
    line = traces["cumulative lift"]
    start, end, _ = truth.window(AB_TEST)
    assert (line["x"][0], line["x"][-1]) == (f"{start:%Y-%m-%d}", f"{end:%Y-%m-%d}")
    assert array(line["y"])[-1] == pytest.approx(_lift(_means(truth.values(AB_TEST), "orders")), abs=1e-9)
    assert "95% interval" in traces


def test_the_plan_uses_the_control_groups_mean_and_variance(client, auth, truth):
    auth.login()
    values = truth.values(AB_TEST)
    control = values.loc[values["variant"] == "control", "orders"]
    share = truth.campaign(AB_TEST)["planned_treatment_share"]
    allocation = 1 / share + 1 / (1 - share)
    for mde, power in ((0.05, "0.8"), (0.10, "0.9")):
        z = stats.norm.ppf(0.975) + stats.norm.ppf(float(power))
        needed = math.ceil(z ** 2 * control.var() * allocation / (mde * control.mean()) ** 2)
        detectable = z * math.sqrt(control.var() * allocation / len(values)) / control.mean()
        text = _plan(client, truth.campaign_id(AB_TEST), mde=mde * 100, power=power)
        assert text.startswith(f"{needed:,} customers in total")
        assert f"with {float(power):.0%} power" in text and f"baseline {control.mean():,.2f}" in text
        assert f"This campaign's {len(values):,} customers can detect a change of ±{detectable:.1%}." in text


# --- 3. forged browser values --------------------------------------------------------------------------

FORGED_CAMPAIGNS = ["abc", "999999", True, ["1"], {"id": 1}, 1.5, "1 OR 1=1", "", "-1", None]


@pytest.mark.parametrize("value", FORGED_CAMPAIGNS, ids=[repr(v) for v in FORGED_CAMPAIGNS])
def test_a_forged_campaign_falls_back_to_the_latest_randomised_one(client, auth, truth, value):
    auth.login()
    default = _readout(client, truth.campaign_id(AB_TEST))
    forged = _readout(client, value)
    assert forged.rows == default.rows and forged.verdict == default.verdict
    assert forged.outputs[ids.DESCRIPTION] == default.outputs[ids.DESCRIPTION]
    assert _segments(client, value, "gender")["rows"] == _segments(client, truth.campaign_id(AB_TEST), "gender")["rows"]
    assert _plan(client, value) == _plan(client, truth.campaign_id(AB_TEST))
    assert _export(client, value)["content"] == _export(client, truth.campaign_id(AB_TEST))["content"]


FORGED_SETTINGS = [
    {"cap": "0.5"}, {"cap": 7}, {"cap": 0.99}, {"cap": None}, {"cap": ["0.99"]}, {"cap": "99"},
    {"correction": "bonferroni"}, {"correction": None}, {"correction": ["bh"]}, {"correction": "HOLM"},
    {"cuped": "yes"}, {"cuped": 1}, {"cuped": "true"}, {"cuped": [True]}, {"cuped": None},
    {"sequential": "yes"}, {"sequential": 1}, {"sequential": {"on": True}},
]


@pytest.mark.parametrize("forged", FORGED_SETTINGS, ids=[repr(f) for f in FORGED_SETTINGS])
def test_forged_settings_fall_back_to_the_defaults(client, auth, truth, forged):
    """Only True turns CUPED or Sequential on; only a listed percentile caps; only a listed method corrects."""
    auth.login()
    campaign = truth.campaign_id(AB_TEST)
    default, readout = _readout(client, campaign), _readout(client, campaign, **forged)
    assert readout.rows == default.rows and readout.badges == default.badges and readout.verdict == default.verdict
    assert _export(client, campaign, **forged)["content"] == _export(client, campaign)["content"]


FORGED_DIMENSIONS = ["segment:99999", "segment:abc", "segment:", "'; DROP TABLE customers; --", 5, None, ["gender"],
                     "GENDER"]


@pytest.mark.parametrize("dimension", FORGED_DIMENSIONS, ids=[repr(d) for d in FORGED_DIMENSIONS])
def test_a_forged_dimension_falls_back_to_the_first(client, auth, truth, dimension):
    auth.login()
    campaign = truth.campaign_id(AB_TEST)
    first = ids.DIMENSION_OPTIONS[0]["value"]
    assert _segments(client, campaign, dimension)["rows"] == _segments(client, campaign, first)["rows"]


@pytest.mark.parametrize("metric", ["nope", None, 3, ["orders"], "ORDERS"])
def test_a_forged_metric_falls_back_to_orders(client, auth, truth, metric):
    auth.login()
    campaign = truth.campaign_id(AB_TEST)
    assert _segments(client, campaign, "gender", metric)["rows"] == _segments(client, campaign, "gender")["rows"]
    assert _timeline(client, campaign, metric) == _timeline(client, campaign)
    assert _plan(client, campaign, metric) == _plan(client, campaign)


def test_the_timeline_and_the_plan_take_no_ratio_metric(client, auth, truth):
    """Ratios have no per-customer value: no daily timeline and no planning; they fall back to orders."""
    auth.login()
    campaign = truth.campaign_id(AB_TEST)
    assert _timeline(client, campaign, "aov") == _timeline(client, campaign)
    assert _plan(client, campaign, "burn_rate") == _plan(client, campaign)
    assert _timeline(client, campaign, "revenue") != _timeline(client, campaign)


@pytest.mark.parametrize("mde, power", [(-5, "0.8"), (1e9, "0.8"), ("x", "0.8"), (None, "0.8"), (True, "0.8"),
                                        (0, "0.8"), (5, "0.5"), (5, 0.9), (5, None), ("5", ["0.9"])])
def test_a_forged_effect_size_or_power_falls_back_to_the_defaults(client, auth, truth, mde, power):
    auth.login()
    campaign = truth.campaign_id(AB_TEST)
    assert _plan(client, campaign, mde=mde, power=power) == _plan(client, campaign, mde=ids.DEFAULT_MDE, power="0.8")


# --- 4. the data scope ---------------------------------------------------------------------------------


@pytest.mark.parametrize("search", ["", "?country=Canada", "?country=Canada,Australia"])
def test_a_scoped_analysts_readout_counts_only_their_countrys_customers(app, truth, search):
    client = _login(app, "aussie")
    values = truth.values(AB_TEST, country="Australia")
    assert 0 < len(values) < len(truth.values(AB_TEST))
    counts = values["variant"].value_counts()
    readout = _readout(client, truth.campaign_id(AB_TEST), search=search)
    assert readout.kpi("customers") == f"{len(values):,}"
    assert readout.kpi_note("customers") == f"{counts['control']:,} control · {counts['treatment']:,} treatment"
    assert readout.kpi("orders") == fmt.change(_lift(_means(values, "orders")))
    assert readout.row("revenue")["control"] == pytest.approx(_means(values, "revenue")["control"], abs=1e-5)
    countries = _segments(client, truth.campaign_id(AB_TEST), "country", search=search)["rows"]
    assert [(r["segment"], r["control_n"], r["treatment_n"]) for r in countries] == [
        ("Australia", counts["control"], counts["treatment"])]
    exported = pd.read_csv(io.StringIO(_export(client, truth.campaign_id(AB_TEST), search)["content"]))
    assert exported.set_index("metric").loc[LABELS["orders"], "relative_lift"] == pytest.approx(
        _lift(_means(values, "orders")), abs=1e-9)


def test_users_with_different_scopes_never_share_a_cached_answer(app, truth):
    """Several users at once on one app and one cache; the same request, asked in turn, answers each their own."""
    clients = {name: _login(app, name) for name in ("aussie", "canuck", "admin")}
    expected = {name: truth.values(AB_TEST, country=SCOPES.get(name)) for name in clients}
    assert len({len(frame) for frame in expected.values()}) == 3
    campaign = truth.campaign_id(AB_TEST)
    for name in ("aussie", "canuck", "admin", "canuck", "aussie", "admin"):
        readout = _readout(clients[name], campaign, cuped=True)
        assert readout.kpi("customers") == f"{len(expected[name]):,}", name
        assert readout.kpi("orders") == fmt.change(_lift(_cuped(expected[name], "orders"))), name
        rows = _segments(clients[name], campaign, "gender", cuped=True)["rows"]
        both = expected[name].groupby("gender").filter(lambda g: g["variant"].nunique() == 2)  # comparable ones
        assert sum(r["control_n"] + r["treatment_n"] for r in rows) == len(both), name
        line = {t.get("name"): t for t in _timeline(clients[name], campaign)}["cumulative lift"]
        assert array(line["y"])[-1] == pytest.approx(_lift(_means(expected[name], "orders")), abs=1e-9), name


@pytest.mark.parametrize("username", ["admin", "aussie"])
def test_a_saved_segment_dimension_splits_members_from_the_rest_within_the_scope(app, truth, username):
    """Another user's saved segment may be chosen (segments are shared); its members outside the user's scope
    stay out."""
    client = _login(app, username)
    segment = truth.segment_id(HIGH_SPENDERS)
    values = truth.values(AB_TEST, country=SCOPES.get(username))
    members = set(truth.segments.loc[truth.segments["segment_id"] == segment, "customer_id"])
    inside = values["customer_id"].isin(members)
    found = _segments(client, truth.campaign_id(AB_TEST), f"segment:{segment}")
    rows = {row["segment"]: (row["control_n"], row["treatment_n"]) for row in found["rows"]}
    expected = {label: tuple(int((part["variant"] == v).sum()) for v in ("control", "treatment"))
                for label, part in (("In the segment", values[inside]), ("Not in the segment", values[~inside]))}
    assert rows == expected
    assert f"saved segment: {HIGH_SPENDERS}".lower() in found["text"].lower()


# --- 5. the export -------------------------------------------------------------------------------------


@pytest.mark.parametrize("username, settings", [("admin", {}), ("aussie", {"cuped": True, "cap": "0.99",
                                                                           "correction": "bh"})])
def test_the_export_is_the_readout_table_as_csv_and_is_audited(app, app_database, truth, username, settings):
    client = _login(app, username)
    campaign = truth.campaign_id(AB_TEST)
    rows = pd.DataFrame(_readout(client, campaign, **settings).outputs[ids.READOUT_GRID]["rowData"])
    download = _export(client, campaign, **settings)
    assert download["filename"] == "readout-20-discount-a-b-test.csv" and download["type"] == "text/csv"
    exported = pd.read_csv(io.StringIO(download["content"]))
    assert list(exported["metric"]) == list(rows["metric"]) == list(LABELS.values())
    assert set(exported.columns) == set(rows.columns) - {"percent"}
    for column in exported.columns:
        if pd.api.types.is_numeric_dtype(rows[column]) and not pd.api.types.is_bool_dtype(rows[column]):
            assert np.allclose(exported[column].astype(float), rows[column].astype(float), atol=1e-6,
                               equal_nan=True), column
        else:
            assert exported[column].astype(str).tolist() == rows[column].astype(str).tolist(), column
    last = _last_audit(app_database)
    assert last.action == "export" and last.username == username
    assert last.detail["what"] == "campaign readout" and last.detail["campaign"] == AB_TEST
    assert last.detail["rows"] == len(rows)


def test_exporting_a_campaign_without_a_readout_gives_an_empty_table(client, auth, app_database, truth):
    auth.login()
    download = _export(client, truth.campaign_id(LOYALTY))
    assert download["filename"] == "readout-loyalty-rewards-2023.csv"
    assert pd.read_csv(io.StringIO(download["content"])).empty
    last = _last_audit(app_database)
    assert last.action == "export" and last.detail["campaign"] == LOYALTY and last.detail["rows"] == 0


# --- 6. seasonality ------------------------------------------------------------------------------------


def test_seasonality_shows_the_year_the_week_and_the_peaks(client, auth, truth):
    auth.login()
    outputs = _seasonality(client)
    orders = truth.orders
    facts = text(outputs[ids.SEASON_FACTS]["children"])
    peaks = text(find(outputs[ids.SEASON_FACTS]["children"], "campaigns-season-peaks")["children"])
    assert "November" in peaks and "December" in peaks, peaks

    months = outputs[ids.SEASON_MONTH_GRAPH]["figure"]["data"][0]
    by_month = orders.groupby([orders["day"].dt.year, orders["day"].dt.month])["amount"].sum().groupby(level=1).mean()
    assert list(months["x"]) == [dt.date(2000, m, 1).strftime("%b") for m in by_month.index]
    assert array(months["y"]) == pytest.approx(by_month.to_numpy(), rel=1e-9)
    assert by_month.idxmax() in (11, 12)

    heatmap = outputs[ids.SEASON_HEATMAP]["figure"]["data"][0]
    assert array(heatmap["z"]).sum() == pytest.approx(orders["amount"].sum(), rel=1e-9)
    daily = orders.groupby("day")["amount"].sum().reindex(pd.date_range(orders["day"].min(), orders["day"].max()),
                                                         fill_value=0.0)
    busiest = daily.groupby(daily.index.day_of_week).mean().idxmax()
    assert f"Busiest weekday: {dt.date(2024, 1, 1 + busiest):%A}" in facts

    windows = outputs[ids.SEASON_WINDOWS_GRAPH]["figure"]
    assert sorted(a["text"] for a in windows["layout"]["annotations"]) == sorted(truth.campaigns["name"])
    stl = outputs[ids.SEASON_STL_GRAPH]["figure"]
    assert [trace["type"] for trace in stl["data"]] == ["scatter", "scatter", "scatter", "bar"]


def test_seasonality_follows_the_date_filter_and_the_scope(app, truth):
    client = _login(app, "aussie")
    weekly = _seasonality(client, "?from=2022-01-01&to=2022-12-31")[ids.SEASON_WINDOWS_GRAPH]["figure"]["data"][0]
    weeks = pd.to_datetime(pd.Series(weekly["x"]))
    assert weeks.min() >= pd.Timestamp("2022-01-01") and weeks.max() <= pd.Timestamp("2022-12-31")
    heatmap = _seasonality(client)[ids.SEASON_HEATMAP]["figure"]["data"][0]
    australians = truth.customers.loc[truth.customers["country"] == "Australia", "customer_id"]
    expected = truth.orders.loc[truth.orders["customer_id"].isin(australians), "amount"].sum()
    assert array(heatmap["z"]).sum() == pytest.approx(expected, rel=1e-9)


# --- 7. the login guard --------------------------------------------------------------------------------

READOUT_INPUTS = {CAMPAIGN: "1", FILTERS: "", CUPED: False, CAP: "off", CORRECTION: "holm", SEQUENTIAL: False,
                  THEME: None}
CAMPAIGN_CALLBACKS = [
    (f"{ids.CAMPAIGN}.options", {f"{ids.CONTENT}.id": ids.CONTENT}, {}),
    (f"{ids.READOUT_GRID}.rowData", READOUT_INPUTS, {}),
    (f"{ids.SEGMENT_GRID}.rowData", {**READOUT_INPUTS, DIMENSION: "gender", SEGMENT_METRIC: "orders"}, {}),
    (f"{ids.TIMELINE_GRAPH}.figure", {**READOUT_INPUTS, f"{ids.TIMELINE_METRIC}.value": "orders"}, {}),
    (f"{ids.PLAN_RESULT}.children", {CAMPAIGN: "1", FILTERS: "", f"{ids.PLAN_METRIC}.value": "orders",
                                     f"{ids.PLAN_MDE}.value": 5, f"{ids.PLAN_POWER}.value": "0.8"}, {}),
    (f"{ids.DOWNLOAD}.data", {f"{ids.EXPORT}.n_clicks": 1},
     {key: value for key, value in READOUT_INPUTS.items() if key != THEME}),
    (f"{ids.SEASON_FACTS}.children", {FILTERS: "", THEME: None}, {}),
]


def test_the_list_covers_every_campaigns_callback(client, auth):
    auth.login()
    dependencies = client.get("/_dash-dependencies").get_json()
    campaign_callbacks = {c["output"] for c in dependencies if "campaigns-" in c["output"]}
    listed = listed_outputs(dependencies, CAMPAIGN_CALLBACKS)
    assert listed == campaign_callbacks and len(campaign_callbacks) == len(CAMPAIGN_CALLBACKS)


@pytest.mark.parametrize("output, inputs, state", CAMPAIGN_CALLBACKS, ids=[c[0] for c in CAMPAIGN_CALLBACKS])
def test_a_campaigns_callback_without_a_login_gets_no_data(app, client, auth, output, inputs, state):
    assert_no_data_without_login(app, client, auth, output, inputs, state)


# --- 8. roles: experiment readouts are for analysts and administrators ---------------------------------

@pytest.mark.parametrize("output, inputs, state", CAMPAIGN_CALLBACKS[:-1], ids=[c[0] for c in CAMPAIGN_CALLBACKS[:-1]])
def test_a_viewer_posting_a_readout_callback_by_hand_gets_403(client, auth, output, inputs, state):
    auth.login("viewer")
    response = call(client, output, inputs, state)
    assert response.status_code == 403
    assert "response" not in (response.get_json(silent=True) or {})


def test_a_viewer_sees_seasonality_but_no_readout(client, auth):
    auth.login("viewer")
    assert ok(call(client, f"{ids.SEASON_FACTS}.children", {FILTERS: "", THEME: None}))
    layout = str(ids.layout("viewer"))
    assert ids.SEASON_STL_GRAPH in layout and ids.CAMPAIGN not in layout and ids.VERDICT not in layout
    assert "read campaign experiments" in layout
    assert ids.VERDICT in str(ids.layout("analyst"))
