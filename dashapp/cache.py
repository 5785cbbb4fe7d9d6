"""Flask-Caching: Redis when REDIS_URL is set, a filesystem cache otherwise.

Keys carry a fingerprint of the code that computes the cached answers (`code_fingerprint`),
so a new release never serves an answer the previous one cached for the same data version.
"""
from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from flask import Flask, current_app
from flask_caching import Cache

from dashapp.settings import Settings


ROOT = Path(__file__).resolve().parent.parent
CODE_FOLDERS = ("services", "callbacks", "layouts", "dashapp")


@functools.cache
def code_fingerprint() -> str:
    """A short hash of the application's Python and SQL sources (the same in every worker of one release)."""
    digest = hashlib.sha256()
    for path in sorted(p for folder in CODE_FOLDERS for pattern in ("*.py", "*.sql")
                       for p in (ROOT / folder).rglob(pattern)):
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def cache_config(settings: Settings) -> dict:
    if settings.redis_url:
        return {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": settings.redis_url,
                "CACHE_KEY_PREFIX": "customerscope:", "CACHE_DEFAULT_TIMEOUT": 3600}
    return {"CACHE_TYPE": "FileSystemCache", "CACHE_DIR": str(settings.instance_dir / "cache"),
            "CACHE_DEFAULT_TIMEOUT": 3600, "CACHE_THRESHOLD": 5000}


def init_app(app: Flask, settings: Settings) -> None:
    app.extensions["app_cache"] = Cache(app, config=cache_config(settings))


def get_cache() -> Cache:
    """The app's cache; services receive it as a plain object."""
    return current_app.extensions["app_cache"]
