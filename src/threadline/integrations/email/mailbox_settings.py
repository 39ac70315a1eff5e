"""Reading an email inbox's own mail-server settings (IMAP for the poller, SMTP for the
sender): the values an admin typed, tolerated as they come."""

from __future__ import annotations

from typing import Any


def setting_text(value: Any) -> str | None:
    """A non-blank string setting, stripped; anything else is unset."""
    return value.strip() if isinstance(value, str) and value.strip() else None


def setting_port(value: Any, default: int) -> int:
    """A TCP port setting; anything that is not a port number gets the protocol's default."""
    try:
        port = int(value)
    except (TypeError, ValueError):
        return default
    return port if 0 < port < 65536 else default
