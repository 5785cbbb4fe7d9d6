"""Real gunicorn servers on loopback, for the benchmarks and the browser and deployment tests."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_healthy(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not become healthy")


@contextmanager
def gunicorn_server(database_url: str, instance_dir: Path, workers: int = 1, **env: str):
    """`gunicorn wsgi:server` with the project's gunicorn.conf.py on a free loopback port."""
    port = free_port()
    environment = {
        **os.environ, "DATABASE_URL": database_url, "APP_ENV": "test", "SECRET_KEY": "browser-test-secret",
        "HOST": "127.0.0.1", "PORT": str(port), "WEB_WORKERS": str(workers), "INSTANCE_DIR": str(instance_dir),
        **env,
    }
    environment.pop("REDIS_URL", None)
    log = open(instance_dir / "gunicorn.log", "a")  # append: gunicorn reopens stdout for its error log
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "wsgi:server"], cwd=PROJECT_ROOT,
                               env=environment, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
