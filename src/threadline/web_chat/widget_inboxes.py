"""Widget inboxes: the web-chat inbox a site's embed key names, and its settings and key as
an admin sees and changes them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.core.lookups import get_scoped
from threadline.core.unit_of_work import UnitOfWork
from threadline.domain.channels import Channel
from threadline.domain.errors import DomainError, NotFound
from threadline.domain.messaging.web_chat import (
    WidgetSettings,
    new_public_key,
    parse_public_key,
    parse_widget_settings,
    same_secret,
)
from threadline.domain.security.access import Principal, Role, require_role

PUBLIC_KEY_SETTING = "widget_public_key"
WIDGET_SETTING = "widget"


async def find_widget_inbox(session: AsyncSession, public_key: str) -> t.Inbox:
    """The web-chat inbox a site's embed key names; any mismatch is one "not found"."""
    inbox_id = parse_public_key(public_key)
    inbox = await session.get(t.Inbox, inbox_id) if inbox_id is not None else None
    stored = inbox.settings.get(PUBLIC_KEY_SETTING) if inbox is not None else None
    if (
        inbox is None
        or inbox.channel != Channel.WEB_CHAT.value
        or not isinstance(stored, str)
        or not same_secret(public_key, stored)
    ):
        raise NotFound("no web-chat widget has this key; copy the embed code again")
    return inbox


def widget_settings(inbox: t.Inbox) -> WidgetSettings:
    try:
        return parse_widget_settings(inbox.settings.get(WIDGET_SETTING))
    except DomainError:
        # Settings are validated when written; a hand-edited row falls back to defaults.
        return WidgetSettings()


async def _web_chat_inbox(session: AsyncSession, principal: Principal, inbox_id: int) -> t.Inbox:
    inbox = await get_scoped(session, t.Inbox, principal.workspace_id, inbox_id)
    if inbox.channel != Channel.WEB_CHAT.value:
        raise DomainError(f"inbox {inbox.id} is a {inbox.channel} inbox, not web_chat")
    return inbox


async def widget_admin_view(uow: UnitOfWork, principal: Principal, inbox_id: int) -> dict[str, Any]:
    """The widget's settings and embed key, making the key on first use. Admins only."""
    require_role(principal, Role.ADMIN)
    inbox = await _web_chat_inbox(uow.session, principal, inbox_id)
    key = ensure_public_key(inbox)
    return {
        "inbox_id": inbox.id,
        "public_key": key,
        "settings": widget_settings(inbox).as_dict(),
    }


def ensure_public_key(inbox: t.Inbox) -> str:
    key = inbox.settings.get(PUBLIC_KEY_SETTING)
    if isinstance(key, str) and parse_public_key(key) == inbox.id:
        return key
    key = new_public_key(inbox.id)
    # A new dict, so the JSON column is seen as changed.
    inbox.settings = {**inbox.settings, PUBLIC_KEY_SETTING: key}
    return key


async def update_widget_settings(
    uow: UnitOfWork, principal: Principal, inbox_id: int, raw: dict[str, Any]
) -> dict[str, Any]:
    require_role(principal, Role.ADMIN)
    inbox = await _web_chat_inbox(uow.session, principal, inbox_id)
    parsed = parse_widget_settings(raw)
    key = ensure_public_key(inbox)
    inbox.settings = {**inbox.settings, WIDGET_SETTING: parsed.as_dict()}
    return {"inbox_id": inbox.id, "public_key": key, "settings": parsed.as_dict()}
