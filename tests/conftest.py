"""Shared fixtures: real databases (SQLite always, PostgreSQL when reachable; required under CI)."""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from services.analytics.snapshot import build_snapshot, open_snapshot
from services.db import make_engine, upgrade_schema
from services.models import Base

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, dropped afterwards."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "not reachable"
        admin.dispose()
        if IN_CI:
            pytest.fail(f"PostgreSQL must be reachable under CI: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    name = f"customerscope_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def fresh_database(backend: str, tmp_path_factory, name: str = "test") -> Iterator[str]:
    """A migrated, empty database of its own: a SQLite file, or a PostgreSQL database dropped afterwards."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp(name) / f'{name}.db'}"
        upgrade_schema(url)
        yield url
    else:
        for url in _postgres_database():
            upgrade_schema(url)
            yield url


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory) -> Iterator[str]:
    """A migrated, empty database of each backend, shared by the session."""
    yield from fresh_database(request.param, tmp_path_factory)


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'app.db'}"
    upgrade_schema(url)
    return url


def clear_tables(engine: Engine) -> None:
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())


@pytest.fixture
def engine(database_url) -> Iterator[Engine]:
    """An empty database on each backend; emptied again after the test."""
    engine = make_engine(database_url)
    clear_tables(engine)
    yield engine
    clear_tables(engine)
    engine.dispose()


# ---------------------------------------------------------------- the web app
ADMIN_PASSWORD = "correct horse battery"


def make_app(database_url: str, instance_dir, **settings):
    from dashapp import create_app
    from dashapp.settings import Settings

    values = {"app_env": "test", "secret_key": "test-secret", "redis_url": None, **settings}
    return create_app(Settings(database_url=database_url, instance_dir=instance_dir, **values))


@pytest.fixture(scope="session")
def app_database(tmp_path_factory) -> str:
    """A SQLite database with a small refreshed data set and one user per role."""
    from services import users
    from services.db import session_scope
    from services.refresh import refresh
    from tests.sample_data import load_sample

    url = f"sqlite:///{tmp_path_factory.mktemp('appdb') / 'app.db'}"
    upgrade_schema(url)
    engine = make_engine(url)
    load_sample(engine)
    refresh(engine)
    with session_scope(engine) as session:
        users.create_user(session, "admin", ADMIN_PASSWORD, "admin")
        users.create_user(session, "viewer", ADMIN_PASSWORD, "viewer")
        users.create_user(session, "aussie", ADMIN_PASSWORD, "analyst", ["Australia"])
    engine.dispose()
    return url


@pytest.fixture
def app(app_database, tmp_path):
    return make_app(app_database, tmp_path)


@pytest.fixture
def client(app):
    return app.test_client()


class AuthActions:
    def __init__(self, client):
        self.client = client

    def csrf_token(self, path: str = "/login") -> str:
        import re

        page = self.client.get(path).get_data(as_text=True)
        return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)

    def login(self, username: str = "admin", password: str = ADMIN_PASSWORD, next_url: str = ""):
        return self.client.post("/login", data={"username": username, "password": password,
                                                "next": next_url, "csrf_token": self.csrf_token()})

    def layout_csrf_token(self) -> str:
        """The token the shell's logout form carries."""
        def walk(node):
            if isinstance(node, dict):
                props = node.get("props", {})
                if props.get("name") == "csrf_token":
                    return props["value"]
                return next((t for t in map(walk, node.values()) if t), None)
            if isinstance(node, list):
                return next((t for t in map(walk, node) if t), None)
            return None

        return walk(self.client.get("/_dash-layout").get_json())

    def logout(self):
        return self.client.post("/logout", data={"csrf_token": self.layout_csrf_token()})


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


@contextmanager
def opened_snapshot(engine: Engine, directory: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A fresh analytics snapshot of the database, built in `directory` and open (read-only) for the block."""
    path = Path(directory) / "analytics.duckdb"
    build_snapshot(engine, path)
    database = open_snapshot(path)
    try:
        yield database
    finally:
        database.close()
