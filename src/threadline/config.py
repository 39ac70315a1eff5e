"""One settings object for the whole process, read from THREADLINE_* environment variables."""

from __future__ import annotations

import json
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from threadline.domain.security.egress import EgressPolicy, parse_networks

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
    # PostgreSQL connections this process keeps open. All are kept (no overflow): a burst
    # that opened and closed extra connections would pay PostgreSQL's start of a backend
    # for each. Several processes together must stay under the server's max_connections.
    database_pool_size: int = 30
    # Empty means in-process pub/sub (one process); a redis:// URL fans events out
    # to every API process.
    redis_url: str = ""
    secret_key: str = Field(default_factory=_local_secret_key, repr=False)
    token_ttl_seconds: int = 12 * 3600
    # How often an open event socket checks its credential again: a token signed out or
    # expired, an agent deactivated or a key revoked closes it (1008) within this time.
    socket_recheck_seconds: float = 30.0
    max_body_bytes: int = 1_000_000
    outbound_max_attempts: int = 5
    outbound_backoff_seconds: float = 2.0
    outbound_timeout_seconds: float = 10.0
    outbound_lease_seconds: float = 60.0
    # A WhatsApp or Messenger send whose answer was lost waits this long for Meta's status
    # webhook to say whether it went out; then it is failed with a reason, never resent.
    outbound_report_wait_seconds: float = 600.0
    run_outbound_worker: bool = True
    log_level: str = "INFO"
    # "json": one JSON object a line, for log collectors; "text" for people.
    log_format: Literal["text", "json"] = "text"
    # When set, GET /metrics wants `Authorization: Bearer <this>`; empty leaves it open to
    # whoever reaches the listen address (it shows volumes, never content).
    metrics_token: str = Field(default="", repr=False)
    # Where received attachments are kept, by content hash; empty means beside the database.
    attachments_dir: str = ""
    max_attachment_bytes: int = 25 * 1024 * 1024
    # Meta Graph API (WhatsApp Cloud API, Messenger): sends and media downloads go here.
    meta_graph_base: str = "https://graph.facebook.com"
    meta_graph_version: str = "v21.0"
    # Provider webhooks (Twilio) sign the public URL they call; behind a proxy that rewrites
    # it, set this to the externally visible base (https://support.example.com).
    public_base_url: str = ""
    # Only behind a proxy we control may X-Forwarded-Proto/Host stand for the public URL.
    trust_forwarded_headers: bool = False
    twilio_api_base: str = "https://api.twilio.com"

    # Telegram Bot API; point at a self-hosted Bot API server or a local fake in tests.
    telegram_api_base: str = "https://api.telegram.org"
    # The provider bases above and the SMTP relay below are the operator's own choice and
    # are not checked; what a workspace chooses (webhook_url, smtp_host, imap_host) and the
    # media URLs in provider payloads never reach internal networks (domain/security/egress.py)
    # except these: CIDRs, comma-separated or a JSON list, e.g. 192.168.10.0/24,fd12::/16.
    outbound_allowed_networks: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Outbound email: the SMTP relay used by email inboxes without their own smtp_host.
    smtp_relay_host: str = ""
    smtp_relay_port: int = 587
    smtp_relay_username: str = ""
    smtp_relay_password: str = Field(default="", repr=False)
    smtp_relay_starttls: bool = True
    # From address of a workspace's own mail (invitations, password resets) when it has no
    # email inbox to send from.
    account_mail_from: str = ""
    smtp_timeout_seconds: float = 30.0
    # IMAP polling of email inboxes with imap_host set (runs in `serve` and `worker`).
    imap_poll_enabled: bool = True
    imap_poll_interval_seconds: float = 60.0
    # Inbound SMTP (MX or forwarding target) for email inboxes; `serve` starts it when enabled.
    smtp_enabled: bool = False
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 2525
    # Whole-message limit announced in EHLO SIZE; larger mail is refused with 552.
    smtp_max_message_bytes: int = 40 * 1024 * 1024

    @field_validator("outbound_allowed_networks", mode="before")
    @classmethod
    def _split_networks(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part for part in text.replace(",", " ").split() if part]
        return value

    @field_validator("outbound_allowed_networks")
    @classmethod
    def _check_networks(cls, value: list[str]) -> list[str]:
        parse_networks(value)  # a typo fails at start-up, naming the entry
        return value

    def egress_policy(self) -> EgressPolicy:
        return EgressPolicy.allowing(self.outbound_allowed_networks)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
