"""Long work outside the request: Dash background callbacks and what their jobs run on.

A job runs in another process (a diskcache-managed process by default, a Celery worker when
REDIS_URL is set), without Flask's request or application context. It gets:
- who asked, through Dash's `callback_context.custom_data` (filled during the request by the
  hook below, from the server-side user record, never from the browser);
- a `JobEnvironment`: plain settings from which it opens its own database engine and snapshot.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dash
from dash import CeleryManager, DiskcacheManager
from dash.background_callback.managers import BaseBackgroundCallbackManager

from dashapp.settings import Settings
from services.analytics.snapshot import ensure_snapshot, open_snapshot
from services.analytics.warehouse import Warehouse
from services.db import make_engine

JOB_RESULT_SECONDS = 3600  # how long a finished job's result waits to be collected
REQUESTER = "customerscope"  # the custom_data namespace naming who asked


@dataclass(frozen=True)
class Requester:
    user_id: int
    username: str
    role: str
    scope: tuple[str, ...] | None
    data_version: int


@dataclass(frozen=True)
class JobEnvironment:
    database_url: str
    analytics_dir: Path
    runs_dir: Path
    memory_limit: str
    threads: int

    @classmethod
    def from_settings(cls, settings: Settings) -> "JobEnvironment":
        return cls(settings.database_url, settings.analytics_dir, settings.instance_dir / "runs",
                   settings.analytics_memory_limit, settings.analytics_threads)

    @contextmanager
    def warehouse(self) -> Iterator[Warehouse]:
        """A warehouse of the job's own on the current snapshot (engine and connection closed after)."""
        engine = make_engine(self.database_url)
        connection = open_snapshot(ensure_snapshot(engine, self.analytics_dir), self.memory_limit, self.threads)
        try:
            yield Warehouse(connection.cursor(), engine)
        finally:
            connection.close()
            engine.dispose()


def requester_of_request() -> dict | None:
    """Who is asking, from the server-side session (the custom_data hook, run inside the request)."""
    from flask_login import current_user  # noqa: PLC0415 - jobs import this module without a request

    from dashapp.context import RequestContext  # noqa: PLC0415 - the context imports this module

    if not current_user.is_authenticated:
        return None
    return {"user_id": current_user.id, "username": current_user.username, "role": current_user.role,
            "scope": list(current_user.country_scope) if current_user.country_scope is not None else None,
            "data_version": RequestContext().data_version()}


def requester_key() -> str:
    """A background job's cache key part: one user's results never answer another's (scopes differ)."""
    data = requester_of_request()
    return "" if data is None else f"{data['user_id']}|{data['scope']}|v{data['data_version']}"


dash.hooks.custom_data(REQUESTER)(lambda _context: requester_of_request())


def requester() -> Requester | None:
    """Who asked for the running callback (inside a job or a request)."""
    data = dash.callback_context.custom_data.get(REQUESTER)
    return Requester(**{**data, "scope": tuple(data["scope"]) if data["scope"] is not None else None}) if data else None


def manager(settings: Settings) -> BaseBackgroundCallbackManager:
    if settings.redis_url:
        return CeleryManager(celery_app(settings), cache_by=[requester_key], expire=JOB_RESULT_SECONDS)
    import diskcache  # noqa: PLC0415 - only the default manager needs it

    directory = settings.instance_dir / "background"
    directory.mkdir(parents=True, exist_ok=True)
    return DiskcacheManager(diskcache.Cache(str(directory)), cache_by=[requester_key], expire=JOB_RESULT_SECONDS)


def celery_of(server) -> object | None:
    """The Celery app that runs this server's jobs (REDIS_URL set), for `celery --app wsgi:celery worker`."""
    jobs_manager = server.extensions["background_manager"]
    return jobs_manager.handle if isinstance(jobs_manager, CeleryManager) else None


def celery_app(settings: Settings):
    from celery import Celery  # noqa: PLC0415 - only deployments with Redis import Celery

    app = Celery("customerscope", broker=settings.redis_url, backend=settings.redis_url)
    app.conf.update(task_track_started=True, worker_prefetch_multiplier=1, broker_connection_retry_on_startup=True)
    return app

