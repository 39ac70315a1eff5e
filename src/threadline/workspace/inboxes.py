"""Inboxes: the channel accounts of a workspace. Their signing secret and the secrets in their
settings can be set but are never shown back (core/views.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.core.lookups import get_scoped
from threadline.core.unit_of_work import UnitOfWork
from threadline.domain.channels import Channel
from threadline.domain.errors import Conflict, DomainError
from threadline.domain.messaging.inbox_addresses import normalise_inbox_address
from threadline.domain.security.access import Principal, Role, require_role
from threadline.domain.security.egress import EgressPolicy, EgressRefused
from threadline.domain.security.secret_settings import merge_settings
from threadline.workspace.create import create_inbox
from threadline.workspace.inbox_addresses import claim_email_address, save_inbox

# Settings an inbox of the API channel understands: where replies to the app are posted.
API_CHANNEL_SETTINGS = frozenset({"webhook_url"})
# Settings naming a host Threadline connects to (email inboxes' own SMTP relay and IMAP
# mailbox); with webhook_url they are checked against the installation's egress policy.
HOST_SETTINGS = ("smtp_host", "imap_host")


class InvalidInboxSettings(DomainError):
    title = "Invalid inbox settings"


def check_settings(
    channel: Channel, settings: dict[str, Any], egress: EgressPolicy
) -> dict[str, Any]:
    if channel is Channel.API:
        unknown = sorted(set(settings) - API_CHANNEL_SETTINGS)
        if unknown:
            raise InvalidInboxSettings(
                f"unknown settings for an API inbox: {', '.join(unknown)};"
                f" known: {', '.join(sorted(API_CHANNEL_SETTINGS))}"
            )
    webhook_url = settings.get("webhook_url")
    if webhook_url is not None:
        parts = urlsplit(str(webhook_url))
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise InvalidInboxSettings(
                f"webhook_url {webhook_url!r} must be an absolute http:// or https:// URL"
            )
        if parts.username is not None or parts.password is not None:
            # It would be shown back as a plain setting and written in request logs.
            raise InvalidInboxSettings(
                "webhook_url must not carry a user name or password; the app can verify our"
                " requests by the inbox's signing secret instead"
            )
        _check_reachable(egress, "webhook_url", parts.hostname or "")
    _check_callback_minutes(settings.get("callback_due_minutes"))
    for name in HOST_SETTINGS:
        host = settings.get(name)
        if isinstance(host, str) and host.strip():
            _check_reachable(egress, name, host.strip())
    return dict(settings)


# A missed call is returned within a week at the latest.
MAX_CALLBACK_MINUTES = 7 * 24 * 60


def _check_callback_minutes(minutes: Any) -> None:
    """How soon a missed call's callback is due: whole minutes, from at once to a week."""
    if minutes is None:
        return
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise InvalidInboxSettings("callback_due_minutes is a whole number of minutes")
    if not 0 <= minutes <= MAX_CALLBACK_MINUTES:
        raise InvalidInboxSettings(
            f"callback_due_minutes is from 0 (at once) to {MAX_CALLBACK_MINUTES} (a week)"
        )


def _check_reachable(egress: EgressPolicy, setting: str, host: str) -> None:
    """Refused now when the host is an internal address as written; a name is resolved
    and checked again each time Threadline connects (adapters/egress/)."""
    try:
        egress.check_host(host)
    except EgressRefused as exc:
        raise InvalidInboxSettings(f"{setting}: {exc.reason}") from exc


async def list_inboxes(session: AsyncSession, principal: Principal) -> list[t.Inbox]:
    rows = await session.execute(
        select(t.Inbox).where(t.Inbox.workspace_id == principal.workspace_id).order_by(t.Inbox.id)
    )
    return list(rows.scalars())


async def add_inbox(
    uow: UnitOfWork,
    principal: Principal,
    *,
    name: str,
    channel: Channel,
    address: str | None = None,
    settings: dict[str, Any] | None = None,
    secret: str | None = None,
    team_id: int | None = None,
    egress: EgressPolicy,
) -> t.Inbox:
    require_role(principal, Role.ADMIN)
    if team_id is not None:
        await get_scoped(uow.session, t.Team, principal.workspace_id, team_id)
    if not name.strip():
        raise DomainError("an inbox needs a name")
    return await create_inbox(
        uow,
        principal.workspace_id,
        name=name.strip(),
        channel=channel,
        address=address,
        settings=check_settings(channel, settings or {}, egress),
        secret=secret,
        team_id=team_id,
    )


async def update_inbox(
    uow: UnitOfWork,
    principal: Principal,
    inbox_id: int,
    changes: dict[str, Any],
    *,
    egress: EgressPolicy,
) -> t.Inbox:
    """`changes` holds only the fields to set (name, address, settings, secret, team_id)."""
    require_role(principal, Role.ADMIN)
    session = uow.session
    inbox = await get_scoped(session, t.Inbox, principal.workspace_id, inbox_id, lock=True)
    if "name" in changes:
        name = str(changes["name"]).strip()
        if not name:
            raise DomainError("an inbox needs a name")
        clash = await session.execute(
            select(t.Inbox.id).where(
                t.Inbox.workspace_id == principal.workspace_id,
                t.Inbox.name == name,
                t.Inbox.id != inbox.id,
            )
        )
        if clash.first():
            raise Conflict(f"an inbox named {name!r} exists already in this workspace")
        inbox.name = name
    if "address" in changes:
        inbox.address = await _new_address(session, inbox, changes["address"])
    if "settings" in changes:
        # Secrets left out are kept, so editing other settings never wipes a password; the
        # address rules apply to what the inbox will hold, kept values included.
        merged = merge_settings(inbox.settings, changes["settings"] or {})
        inbox.settings = check_settings(Channel(inbox.channel), merged, egress)
    if changes.get("secret"):
        inbox.secret = changes["secret"]
    if "team_id" in changes:
        if changes["team_id"] is not None:
            await get_scoped(session, t.Team, principal.workspace_id, changes["team_id"])
        inbox.team_id = changes["team_id"]
    await save_inbox(session, inbox)
    return inbox


async def _new_address(session: AsyncSession, inbox: t.Inbox, address: str | None) -> str | None:
    if inbox.channel != Channel.EMAIL.value or address is None:
        return address
    if normalise_inbox_address(address) == inbox.address:
        # Unchanged: an address kept from before domains were checked stays valid.
        return inbox.address
    return await claim_email_address(session, inbox.workspace_id, address, inbox_id=inbox.id)


async def mail_sending_inbox(session: AsyncSession, workspace_id: int) -> t.Inbox | None:
    """The email inbox the workspace's own mail (invitations, password resets) leaves from:
    the first with its own SMTP relay, else the first with an address (it then uses the
    installation's relay)."""
    rows = await session.execute(
        select(t.Inbox)
        .where(
            t.Inbox.workspace_id == workspace_id,
            t.Inbox.channel == Channel.EMAIL.value,
            t.Inbox.address.is_not(None),
        )
        .order_by(t.Inbox.id)
    )
    inboxes = list(rows.scalars())
    with_relay = [i for i in inboxes if (i.settings or {}).get("smtp_host")]
    chosen = with_relay or inboxes
    return chosen[0] if chosen else None


async def inbox_for_check(session: AsyncSession, principal: Principal, inbox_id: int) -> t.Inbox:
    """One inbox with its secrets, for the console (admins only): to try its relay or mailbox,
    or to show it through inbox_view, which leaves the secrets out."""
    require_role(principal, Role.ADMIN)
    return await get_scoped(session, t.Inbox, principal.workspace_id, inbox_id)
