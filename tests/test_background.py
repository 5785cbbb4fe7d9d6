"""Background jobs: diskcache by default, Celery with Redis when REDIS_URL is set, and who asked."""
from __future__ import annotations

from dash import CeleryManager, DiskcacheManager

from dashapp.background import celery_of
from tests.conftest import make_app


def test_jobs_run_under_diskcache_without_redis(app_database, tmp_path):
    server = make_app(app_database, tmp_path)
    assert isinstance(server.extensions["background_manager"], DiskcacheManager)
    assert celery_of(server) is None
    assert (tmp_path / "background").is_dir()


def test_jobs_go_to_celery_when_redis_is_configured(app_database, tmp_path):
    server = make_app(app_database, tmp_path, redis_url="redis://127.0.0.1:6379/15")
    assert isinstance(server.extensions["background_manager"], CeleryManager)
    celery = celery_of(server)
    assert celery.conf.broker_url == "redis://127.0.0.1:6379/15"
    jobs = [name for name in celery.tasks if name.startswith("background_callback_")]
    assert len(jobs) == 3  # the k scan, the clustering run and the value models training, for the worker
