"""`/health`: JSON with the database status, 200 when usable, 503 otherwise."""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from sqlalchemy.exc import SQLAlchemyError

from dashapp.database import get_engine
from services.refresh import current_version

log = logging.getLogger(__name__)


def health():
    try:
        with get_engine().connect() as connection:
            version = current_version(connection)
    except SQLAlchemyError as exc:
        log.warning("health check: database unavailable: %s", exc.__class__.__name__)
        return jsonify(status="error", database="unavailable"), 503
    return jsonify(status="ok", database="ok", data_version=version), 200


def init_app(app: Flask) -> None:
    app.add_url_rule("/health", "health", health)
