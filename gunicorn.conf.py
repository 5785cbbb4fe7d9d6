"""gunicorn settings; WEB_WORKERS, WEB_THREADS, WEB_TIMEOUT and PORT come from the environment."""
import multiprocessing
import os

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_WORKERS", min(4, multiprocessing.cpu_count() * 2)))
threads = int(os.environ.get("WEB_THREADS", 2))
timeout = int(os.environ.get("WEB_TIMEOUT", 60))
graceful_timeout = 30
keepalive = 5
accesslog = "-"
errorlog = "/dev/stdout"  # everything on stdout ("-" would mean stderr here)
loglevel = os.environ.get("LOG_LEVEL", "info")
# No preload: each worker builds its own app and database engine after the fork.
preload_app = False
