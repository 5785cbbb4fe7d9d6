"""Application settings read from the environment (and an optional `.env` file)."""
from __future__ import annotations

import os
import secrets
from enum import Enum
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"


class AppEnv(str, Enum):
    development = "development"
    production = "production"
    test = "test"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(default="", description="SQLAlchemy URL; default a SQLite file in instance/")
    secret_key: str = ""
    redis_url: str | None = None
    app_env: AppEnv = AppEnv.development
    admin_username: str = "admin"
    admin_password: str | None = None
    instance_dir: Path = INSTANCE_DIR
    analytics_memory_limit: str = "128MB"  # DuckDB's buffer pool per worker process
    analytics_threads: int = 2  # DuckDB threads per query

    @model_validator(mode="after")
    def _defaults(self) -> "Settings":
        if self.app_env is AppEnv.production and not self.secret_key:
            raise ValueError("SECRET_KEY must be set when APP_ENV=production")
        if not self.database_url:
            self.database_url = f"sqlite:///{self.instance_dir / 'customerscope.db'}"
        return self

    @property
    def analytics_dir(self) -> Path:
        """Where the analytics snapshots (one DuckDB file per data version) live."""
        return self.instance_dir / "analytics"

    @property
    def is_production(self) -> bool:
        return self.app_env is AppEnv.production


def resolve_secret_key(settings: Settings) -> str:
    """The configured key, or one generated once and kept in instance/ so every worker shares it."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.instance_dir / "secret_key"
    if not path.exists():
        settings.instance_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(secrets.token_hex(32), encoding="utf-8")
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)  # atomic: the first worker's key wins, the others read it
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text(encoding="utf-8").strip()
