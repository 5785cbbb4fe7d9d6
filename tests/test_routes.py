"""Every route of the server is either on the public allowlist or behind the login guard."""
from __future__ import annotations

import re

import pytest

from dashapp.auth import PUBLIC_ENDPOINTS

# Each rule of the URL map, decided once. A route added later without a decision fails here.
PUBLIC = {"/login", "/static/<path:filename>", "/health"}
PROTECTED_PAGES = {"/", "/<path:path>"}
PROTECTED_DATA = {
    "/_dash-layout", "/_dash-dependencies", "/_dash-update-component",
    "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>",
    "/_reload-hash", "/_favicon.ico", "/assets/<path:filename>", "/logout",
}


def _example_path(rule: str) -> str:
    """A concrete path for a rule: each variable replaced by its name."""
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"\1", rule)


def test_every_route_has_a_decision(app):
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    undecided = rules - PUBLIC - PROTECTED_PAGES - PROTECTED_DATA
    assert not undecided, f"routes without an access decision: {sorted(undecided)}"
    public_rules = {rule.rule for rule in app.url_map.iter_rules() if rule.endpoint in PUBLIC_ENDPOINTS}
    assert public_rules == PUBLIC


@pytest.mark.parametrize("rule", sorted(PROTECTED_PAGES))
def test_pages_redirect_to_login(client, rule):
    path = _example_path(rule)
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("rule", sorted(PROTECTED_DATA))
def test_data_routes_answer_401_without_data(app, client, rule):
    methods = next(r.methods for r in app.url_map.iter_rules() if r.rule == rule)
    path = _example_path(rule)
    response = client.post(path, json={}) if "POST" in methods else client.get(path)
    assert response.status_code == 401
    assert response.get_json() == {"error": "authentication required"}


def test_dash_callback_without_login_returns_no_data(client):
    body = {"output": "shell-tab-content.children", "outputs": {"id": "shell-tab-content", "property": "children"},
            "inputs": [{"id": "shell-tabs", "property": "active_tab", "value": "performance"}],
            "changedPropIds": ["shell-tabs.active_tab"], "state": []}
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 401
    assert b"performance" not in response.data


def test_public_routes_answer_without_login(client):
    assert client.get("/login").status_code == 200
    assert client.get("/static/login.css").status_code == 200
    assert client.get("/health").status_code == 200


def test_logged_in_user_reaches_protected_routes(client, auth):
    auth.login()
    assert client.get("/").status_code == 200
    assert client.get("/_dash-layout").status_code == 200
    assert client.get("/_dash-dependencies").status_code == 200
    assert client.get("/anything/else").status_code == 200  # Dash's catch-all page
