"""Flask-Caching: Redis when REDIS_URL is set, a filesystem cache otherwise."""
from __future__ import annotations

from flask import Flask, current_app
from flask_caching import Cache

from dashapp.settings import Settings


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
