"""WSGI entry point: `gunicorn wsgi:server` (and `flask --app wsgi ...` for the CLI).

With REDIS_URL set, background jobs (clustering runs) go to Celery: `celery --app wsgi:celery worker`.
"""
from dashapp import create_app
from dashapp.background import celery_of

server = create_app()
app = server  # `flask --app wsgi` looks for `app`
celery = celery_of(server)
