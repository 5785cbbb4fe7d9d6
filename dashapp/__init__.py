"""CustomerScope: the application factory. This is the only place the app is assembled."""
from __future__ import annotations

import logging
import sys

from flask import Flask

from dashapp import analytics, auth, cache, cli, database, dash_setup, health
from dashapp.settings import Settings, resolve_secret_key


def create_app(settings: Settings | None = None) -> Flask:
    """Build the Flask server with the Dash app mounted on it."""
    settings = settings or Settings()
    _configure_logging()
    server = Flask(__name__, instance_path=str(settings.instance_dir), instance_relative_config=True)
    server.config.update(
        SECRET_KEY=resolve_secret_key(settings),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.is_production,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=settings.is_production,
        WTF_CSRF_TIME_LIMIT=None,
        TESTING=settings.app_env.value == "test",
    )
    server.extensions["settings"] = settings
    database.init_app(server, settings.database_url)
    cache.init_app(server, settings)
    analytics.init_app(server, settings)
    auth.init_app(server)
    health.init_app(server)
    cli.init_app(server)
    dash_setup.init_app(server)
    return server


def _configure_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(stream=sys.stdout, level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
