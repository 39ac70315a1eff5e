"""One settings object for the whole process, read from THREADLINE_* environment variables."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DATA_DIR = Path.home() / ".threadline"


def _default_database_url() -> str:
    return f"sqlite+aiosqlite:///{DATA_DIR / 'threadline.db'}"


def _local_secret_key() -> str:
    """A random key kept beside the embedded database, so a laptop install never signs
    tokens with a key everybody knows. Several processes or machines must share one key:
    set THREADLINE_SECRET_KEY there."""
    path = DATA_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(key)
    return key


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="THREADLINE_", extra="ignore")

    database_url: str = Field(default_factory=_default_database_url)
    # Empty means in-process pub/sub (one process); a redis:// URL fans events out
    # to every API process.
    redis_url: str = ""
    secret_key: str = Field(default_factory=_local_secret_key, repr=False)
    token_ttl_seconds: int = 12 * 3600
    max_body_bytes: int = 1_000_000
    outbound_max_attempts: int = 5
    outbound_backoff_seconds: float = 2.0
    outbound_timeout_seconds: float = 10.0
    outbound_lease_seconds: float = 60.0
    run_outbound_worker: bool = True
    log_level: str = "INFO"
    # Where received attachments are kept, by content hash; empty means beside the database.
    attachments_dir: str = ""
    max_attachment_bytes: int = 25 * 1024 * 1024


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
