"""Login, logout, the `next` parameter, sessions and cookies through the Flask test client."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from dashapp.safe_redirect import safe_next
from services.db import make_engine
from services.models import AuditLog
from tests.conftest import ADMIN_PASSWORD


def test_login_page_is_styled_and_has_csrf(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'name="csrf_token"' in page
    assert "/static/vendor/bootstrap.min.css" in page


def test_login_and_logout(client, auth):
    response = auth.login()
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/_dash-layout").status_code == 200
    response = auth.logout()
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/_dash-layout").status_code == 401


@pytest.mark.parametrize("username,password", [("admin", "wrong password!"), ("nobody", ADMIN_PASSWORD)])
def test_bad_credentials_give_one_message(client, auth, username, password):
    response = auth.login(username, password)
    assert response.status_code == 401
    assert "Invalid username or password." in response.get_data(as_text=True)
    assert client.get("/_dash-layout").status_code == 401


def test_login_without_csrf_token_is_refused(client):
    response = client.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD})
    assert response.status_code == 401
    assert client.get("/_dash-layout").status_code == 401


def test_logout_needs_post_with_csrf(client, auth):
    auth.login()
    client.get("/logout")  # a link or image cannot sign anyone out
    assert client.post("/logout", data={}).status_code == 400
    assert client.get("/_dash-layout").status_code == 200


def test_login_follows_a_local_next(client, auth):
    response = auth.login(next_url="/?tab=coupons&country=Australia")
    assert response.headers["Location"] == "/?tab=coupons&country=Australia"


@pytest.mark.parametrize("target", [
    "//evil.example", "/\\evil.example", "http:evil.example", "https://evil.example/x",
    "javascript:alert(1)", "\\\\evil.example", "/\t/evil.example", " //evil.example", "evil.example",
])
def test_login_rejects_foreign_next(client, auth, target):
    response = auth.login(next_url=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("target,expected", [
    ("/", "/"), ("/x?y=1", "/x?y=1"), (None, "/"), ("", "/"), ("//a", "/"), ("/\\a", "/"),
    ("http://a/b", "/"), ("javascript:x", "/"), ("/a\nb", "/"),
])
def test_safe_next(target, expected):
    assert safe_next(target) == expected


def test_redirect_to_login_keeps_the_query(client):
    response = client.get("/?tab=coupons")
    assert response.headers["Location"] == "/login?next=/?tab%3Dcoupons"


def test_session_cookie_flags(client, auth):
    response = auth.login()
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_cookie_is_secure(app_database, tmp_path):
    from tests.conftest import make_app

    app = make_app(app_database, tmp_path, app_env="production")
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_password_change_ends_other_sessions(app, client, auth):
    from services import users
    from services.db import session_scope

    auth.login("viewer")
    assert client.get("/_dash-layout").status_code == 200
    engine = make_engine(app.extensions["settings"].database_url)
    with session_scope(engine) as session:
        users.set_password(session, "viewer", ADMIN_PASSWORD)  # same password, new session version
    assert client.get("/_dash-layout").status_code == 401


def test_logins_are_audited(app, auth):
    auth.login("admin", "not the password")
    auth.login("admin")
    engine = make_engine(app.extensions["settings"].database_url)
    with engine.connect() as connection:
        actions = connection.execute(select(AuditLog.action, AuditLog.username)
                                     .order_by(AuditLog.id.desc()).limit(2)).all()
    assert [tuple(a) for a in actions] == [("login", "admin"), ("login_failed", "admin")]
