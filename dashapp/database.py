"""Per-process SQLAlchemy engine and a request-scoped session for the Flask app."""
from __future__ import annotations

import os
from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from services.db import make_engine


class EngineHolder:
    """Creates the engine lazily in each process, so gunicorn workers never share a pool."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None
        self._pid: int | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None or self._pid != os.getpid():
            if self._engine is not None:
                self._engine.dispose(close=False)  # inherited pool: drop without closing the parent's sockets
            self._engine = make_engine(self.url)
            self._pid = os.getpid()
        return self._engine


def init_app(app: Flask, url: str) -> None:
    app.extensions["engine_holder"] = EngineHolder(url)
    app.teardown_appcontext(_close_session)


def get_engine() -> Engine:
    return current_app.extensions["engine_holder"].engine


def get_session() -> Session:
    """The session of the current request, opened on first use and closed at teardown."""
    if "db_session" not in g:
        g.db_session = Session(get_engine(), expire_on_commit=False)
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
