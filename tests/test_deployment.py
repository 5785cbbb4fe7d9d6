"""Deployment: settings, /health, and real gunicorn workers on PostgreSQL."""
from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.parse
import urllib.request

import pytest
from pydantic import ValidationError

from dashapp.settings import Settings, resolve_secret_key
from services import users
from services.db import make_engine, session_scope, upgrade_schema
from tests.conftest import ADMIN_PASSWORD, _postgres_database, make_app
from benchmarks.servers import gunicorn_server


def test_production_refuses_to_start_without_secret_key(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(app_env="production", instance_dir=tmp_path, _env_file=None)


def test_development_key_is_generated_once_and_shared(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    settings = Settings(app_env="development", instance_dir=tmp_path, _env_file=None)
    first, second = resolve_secret_key(settings), resolve_secret_key(settings)
    assert first == second and len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_default_database_is_sqlite_in_instance(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = Settings(instance_dir=tmp_path, _env_file=None)
    assert settings.database_url == f"sqlite:///{tmp_path / 'customerscope.db'}"


def test_health_reports_database_down_with_503(tmp_path):
    app = make_app("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1", tmp_path)
    response = app.test_client().get("/health")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unavailable"


def test_health_reports_data_version(client):
    body = client.get("/health").get_json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["data_version"] >= 1


@pytest.fixture(scope="module")
def postgres_url():
    for url in _postgres_database():
        upgrade_schema(url)
        engine = make_engine(url)
        with session_scope(engine) as session:
            users.create_user(session, "operator", ADMIN_PASSWORD, "admin")
        engine.dispose()
        yield url


def _login(opener, base: str) -> None:
    page = opener.open(f"{base}/login").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"username": "operator", "password": ADMIN_PASSWORD,
                                   "csrf_token": token, "next": "/"}).encode()
    opener.open(f"{base}/login", data=data)


def test_gunicorn_workers_serve_the_app_on_postgresql(postgres_url, tmp_path):
    with gunicorn_server(postgres_url, tmp_path, workers=2) as base:
        health = json.load(urllib.request.urlopen(f"{base}/health"))
        assert health["status"] == "ok"
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        _login(opener, base)
        # Several requests spread over both workers; each must accept the same session.
        for _ in range(6):
            layout = json.load(opener.open(f"{base}/_dash-layout"))
            assert "operator" in json.dumps(layout)
    log = (tmp_path / "gunicorn.log").read_text()
    assert log.count("Booting worker") == 2
    assert "Traceback" not in log
