"""Per process: the open, read-only connection to the analytics snapshot of the current data version."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import duckdb
from flask import Flask, current_app, g
from sqlalchemy import Engine

from dashapp.database import get_engine
from dashapp.settings import Settings
from services.analytics.snapshot import ensure_snapshot, open_snapshot, snapshot_path
from services.analytics.warehouse import Warehouse


class SnapshotHolder:
    """Opens the snapshot of a data version on first use (building it if this host has none yet)
    and keeps it open until a newer version is asked for. Each process has its own connection."""

    def __init__(self, directory: Path, memory_limit: str, threads: int) -> None:
        self.directory = directory
        self.memory_limit, self.threads = memory_limit, threads
        self._lock = threading.Lock()
        self._path: Path | None = None
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._pid: int | None = None

    def cursor(self, engine: Engine, version: int) -> duckdb.DuckDBPyConnection:
        """A new cursor (for one thread) on the snapshot of `version`."""
        with self._lock:
            path = snapshot_path(self.directory, version)
            if self._connection is None or self._path != path or self._pid != os.getpid():
                if not path.exists():
                    path = ensure_snapshot(engine, self.directory)
                if self._connection is not None and self._pid == os.getpid():
                    self._connection.close()
                self._connection = open_snapshot(path, self.memory_limit, self.threads)
                self._path, self._pid = path, os.getpid()
            return self._connection.cursor()


def init_app(app: Flask, settings: Settings) -> None:
    app.extensions["snapshot_holder"] = SnapshotHolder(
        settings.analytics_dir, settings.analytics_memory_limit, settings.analytics_threads)
    app.teardown_appcontext(_close_warehouse)


def get_warehouse(version: int) -> Warehouse:
    """The request's warehouse on the snapshot of `version`, opened on first use."""
    if "warehouse" not in g:
        engine = get_engine()
        g.warehouse = Warehouse(current_app.extensions["snapshot_holder"].cursor(engine, version), engine)
    return g.warehouse


def _close_warehouse(_exc: BaseException | None) -> None:
    warehouse = g.pop("warehouse", None)
    if warehouse is not None:
        warehouse.snapshot.close()
