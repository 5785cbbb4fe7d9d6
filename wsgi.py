"""WSGI entry point: `gunicorn wsgi:server` (and `flask --app wsgi ...` for the CLI)."""
from dashapp import create_app

server = create_app()
app = server  # `flask --app wsgi` looks for `app`
