"""What the channel pages show about one inbox: its guided form's fields with their current
values (secrets only as set / not set), the URLs to paste at the provider, and its latest
traffic in words ("last message 3 min ago", "last send failed: ...")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from threadline.domain.channels import Channel
from threadline.integrations.setup_forms import FORMS, ChannelForm
from threadline.workspace import InboxTraffic

# Bootstrap Icons for each kind of channel.
ICONS = {
    "email": "bi-envelope",
    "sms": "bi-chat-text",
    "voice": "bi-telephone",
    "whatsapp": "bi-whatsapp",
    "messenger": "bi-messenger",
    "telegram": "bi-telegram",
    "web_chat": "bi-chat-dots",
    "form": "bi-ui-checks",
    "api": "bi-code-slash",
}


def ago(moment: datetime | None, now: datetime, t: Any) -> str:
    if moment is None:
        return str(t("channels.never"))
    minutes = max(0, int((now - moment).total_seconds() // 60))
    if minutes < 1:
        return str(t("channels.just_now"))
    if minutes < 120:
        return str(t("channels.minutes_ago", count=minutes))
    if minutes < 48 * 60:
        return str(t("channels.hours_ago", count=minutes // 60))
    return str(t("channels.days_ago", count=minutes // (24 * 60)))


def traffic_lines(traffic: InboxTraffic | None, now: datetime, t: Any) -> dict[str, str | None]:
    traffic = traffic or InboxTraffic()
    failed = traffic.last_out_status == "failed"
    return {
        "inbound": t("channels.last_in", when=ago(traffic.last_in_at, now, t)),
        "outbound": (
            t("channels.last_out", when=ago(traffic.last_out_at, now, t))
            if traffic.last_out_at
            else None
        ),
        "failure": (
            t("channels.last_failed", reason=traffic.last_out_error or "") if failed else None
        ),
    }


def webhook_urls(form: ChannelForm, base_url: str, inbox_id: int) -> list[dict[str, str]]:
    base = base_url.rstrip("/")
    return [
        {"key": key, "url": base + path.format(inbox_id=inbox_id)} for key, path in form.webhooks
    ]


def field_rows(form: ChannelForm, inbox: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One row per form field: its current value, or for a secret whether one is set."""
    settings = (inbox or {}).get("settings") or {}
    secrets_set = set((inbox or {}).get("write_only_settings_set") or [])
    rows = []
    for field in form.fields:
        if field.name == "secret":
            is_set = bool((inbox or {}).get("has_secret"))
        else:
            is_set = field.name in secrets_set
        value = (
            (inbox or {}).get("address") if field.name == "address" else settings.get(field.name)
        )
        rows.append(
            {
                "name": field.name,
                "kind": field.kind,
                "required": field.required,
                "write_only": field.write_only,
                "is_set": is_set,
                "value": "" if field.write_only or value is None else value,
            }
        )
    return rows


def channel_kinds() -> list[str]:
    return [channel.value for channel in Channel if channel in FORMS]
