"""The performance tab's callbacks over HTTP: filters, the data scope, detail panel, export, cross-filtering."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from layouts.performance_kpis import KPIS
from services.db import make_engine
from services.models import AuditLog
from tests.dash_client import call
from tests.sample_data import CUSTOMERS, ORDERS

FILTERS = "filters-store.data"


def _text(node) -> str:
    """All text inside a rendered component tree."""
    if isinstance(node, (str, int, float)):
        return str(node)
    if isinstance(node, dict):
        return _text(node.get("props", {}).get("children"))
    if isinstance(node, list):
        return " ".join(_text(child) for child in node)
    return ""


def _kpis(client, search: str, churn_days=180) -> dict:
    response = call(client, "kpi-total-customers.children", {FILTERS: search, "performance-churn-days.value": churn_days})
    assert response.status_code == 200
    return {key: _text(value["children"]) for key, value in response.get_json()["response"].items()
            if key.startswith("kpi-")}


def _revenue_of(countries: set[str]) -> float:
    country_of = {customer[0]: customer[4] for customer in CUSTOMERS}
    return sum(amount for customer, _, amount, _ in ORDERS if country_of[customer] in countries)


def test_kpis_follow_the_country_filter(client, auth):
    auth.login()
    everyone, australia = _kpis(client, ""), _kpis(client, "?country=Australia")
    assert f"${_revenue_of({'Australia'}):,.2f}" in australia["kpi-total-revenue"]
    assert f"${_revenue_of({'United States', 'Australia', 'Canada'}):,.2f}" in everyone["kpi-total-revenue"]
    assert everyone["kpi-total-customers"] != australia["kpi-total-customers"]


def test_a_scoped_user_cannot_widen_the_scope_from_the_browser(client, auth):
    auth.login("aussie")
    expected = f"${_revenue_of({'Australia'}):,.2f}"
    assert expected in _kpis(client, "?country=United+States")["kpi-total-revenue"]
    assert expected in _kpis(client, "")["kpi-total-revenue"]


def test_churn_window_from_the_browser_is_clamped(client, auth):
    auth.login()
    title = next(spec.title for spec in KPIS if spec.id == "kpi-churn-rate")
    assert title.format(churn_days=730) in _kpis(client, "", churn_days=99999)["kpi-churn-rate"]
    assert title.format(churn_days=180) in _kpis(client, "", churn_days="abc")["kpi-churn-rate"]


def test_empty_selection_shows_the_empty_state(client, auth):
    auth.login()
    response = call(client, "performance-empty-state.is_open", {FILTERS: "?country=Canada&gender=Male"})
    outputs = response.get_json()["response"]
    assert outputs["performance-empty-state"]["is_open"] is True
    assert "No customers match" in _text(outputs["performance-empty-state"]["children"])


@pytest.mark.parametrize("user, customer, visible", [("admin", 1, True), ("aussie", 1, False), ("aussie", 3, True)])
def test_customer_detail_respects_the_scope(client, auth, user, customer, visible):
    auth.login(user)
    response = call(client, "performance-detail-body.children",
                    {"performance-top-grid.cellClicked": {"rowId": str(customer), "colId": "name"}})
    outputs = response.get_json()["response"]
    external_id = next(c[1] for c in CUSTOMERS if c[0] == customer)
    assert (external_id in outputs["performance-detail"]["title"]) is visible
    assert ("outside your data scope" in _text(outputs["performance-detail-body"]["children"])) is not visible


def test_export_is_a_csv_of_the_top_customers_and_is_audited(client, auth, app_database):
    auth.login("aussie")
    response = call(client, "performance-top-download.data", {"performance-top-export.n_clicks": 1},
                    {FILTERS: "", "performance-top-size.value": "10"})
    download = response.get_json()["response"]["performance-top-download"]["data"]
    rows = list(csv.DictReader(io.StringIO(download["content"])))
    assert {row["country"] for row in rows} == {"Australia"}
    revenues = [float(row["revenue"]) for row in rows]
    assert revenues == sorted(revenues, reverse=True) and sum(revenues) == pytest.approx(_revenue_of({"Australia"}))
    with make_engine(app_database).connect() as connection:
        last = connection.execute(select(AuditLog).order_by(AuditLog.id.desc())).first()
    assert last.action == "export" and last.username == "aussie" and last.detail["rows"] == len(rows)


@pytest.mark.parametrize("user, country, accepted", [
    ("admin", "Canada", True), ("admin", "Narnia", False), ("aussie", "Canada", False), ("aussie", "Australia", True),
])
def test_clicking_a_country_on_the_map_sets_the_filter(client, auth, user, country, accepted):
    auth.login(user)
    response = call(client, "filters-countries.value",
                    {"performance-map-graph.clickData": {"points": [{"location": country}]}})
    if accepted:
        assert response.get_json()["response"]["filters-countries"]["value"] == [country]
    else:
        assert response.status_code == 204
