"""One settings object for the whole process, read from THREADLINE_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_database_url() -> str:
    data_dir = Path.home() / ".threadline"
    return f"sqlite+aiosqlite:///{data_dir / 'threadline.db'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="THREADLINE_", extra="ignore")

    database_url: str = Field(default_factory=_default_database_url)
    # Empty means in-process pub/sub (one process); a redis:// URL fans events out
    # to every API process.
    redis_url: str = ""
    secret_key: str = "change-me-in-production-threadline-dev-key"
    token_ttl_seconds: int = 12 * 3600
    max_body_bytes: int = 1_000_000
    outbound_max_attempts: int = 5
    outbound_backoff_seconds: float = 2.0
    outbound_timeout_seconds: float = 10.0
    outbound_lease_seconds: float = 60.0
    run_outbound_worker: bool = True
    log_level: str = "INFO"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
