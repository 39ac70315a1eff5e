"""Secrets kept in an inbox's settings (a mailbox password, a provider's access token).

They are write-only: stored and used, never shown back. A view of the settings leaves them
out and lists the ones that are set (`secret_paths`); writing settings back without them
keeps the stored ones (`merge_settings`), so an admin editing another field never wipes a
password, and `null` clears one.

A setting is a secret by its name, at any depth: anything called a password, a secret, a
token, a credential or a key, except names that say they are public (`widget_public_key`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_SECRET_WORDS = ("password", "passwd", "secret", "token", "credential")


def is_secret_setting(name: str) -> bool:
    lowered = name.lower()
    if "public" in lowered:
        return False
    return any(word in lowered for word in _SECRET_WORDS) or lowered.endswith("key")


def without_secrets(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings as they may be shown: every secret left out."""
    shown: dict[str, Any] = {}
    for name, value in settings.items():
        if is_secret_setting(name):
            continue
        shown[name] = without_secrets(value) if isinstance(value, Mapping) else value
    return shown


def secret_paths(settings: Mapping[str, Any], prefix: str = "") -> list[str]:
    """The secrets that are set, as dotted paths (`smtp_password`, `relay.password`)."""
    paths: list[str] = []
    for name, value in settings.items():
        path = f"{prefix}{name}"
        if is_secret_setting(name):
            if value is not None:
                paths.append(path)
        elif isinstance(value, Mapping):
            paths.extend(secret_paths(value, f"{path}."))
    return sorted(paths)


def merge_settings(stored: Mapping[str, Any], incoming: Mapping[str, Any]) -> dict[str, Any]:
    """New settings from `incoming`, which replaces the stored ones except for secrets: a
    secret it leaves out keeps its stored value, one it sets to null is removed."""
    merged: dict[str, Any] = {}
    for name, value in incoming.items():
        if is_secret_setting(name):
            if value is not None:
                merged[name] = value
            continue
        if isinstance(value, Mapping):
            kept = stored.get(name)
            merged[name] = merge_settings(kept if isinstance(kept, Mapping) else {}, value)
        else:
            merged[name] = value
    for name, value in stored.items():
        if is_secret_setting(name) and name not in incoming and value is not None:
            merged[name] = value
    return merged
