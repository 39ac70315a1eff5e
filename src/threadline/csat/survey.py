"""CSAT: after a resolution, ask the customer how it went, on the channel they use.

Resolving plans a `csat.send` timer (the workspace's delay, default 30 minutes). When it
fires and the conversation is still resolved by that same resolution, one survey is created
and sent through the normal outbound pipeline (a queued message plus its OutboundJob).
A conversation re-opened meanwhile gets no survey for the old resolution; resolving it again
plans a new one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.core.lookups import first_inbox
from threadline.core.timers import TimerHandlerMap, schedule_timer, timer_key
from threadline.core.unit_of_work import UnitOfWork
from threadline.core.views import iso
from threadline.delivery.queue import queue_outbound_message
from threadline.domain.channels import IDENTITY_FOR_CHANNEL, Channel
from threadline.domain.conversations import ConversationStatus
from threadline.domain.csat import SurveyStyle, survey_channel, survey_style
from threadline.domain.errors import DomainError

CSAT_SEND = "csat.send"
DEFAULT_DELAY = timedelta(minutes=30)
DEFAULT_VALIDITY = timedelta(days=7)
DEFAULT_LINK_BASE = "http://127.0.0.1:8000"
MAX_DELAY = timedelta(days=30)


def survey_timer_key(conversation_id: int, resolved_at: datetime) -> str:
    return timer_key(CSAT_SEND, conversation_id, f"{resolved_at.timestamp():.6f}")


@dataclass(frozen=True, slots=True)
class CsatConfig:
    enabled: bool
    delay: timedelta
    validity: timedelta
    link_base_url: str


async def csat_config(session: AsyncSession, workspace_id: int) -> CsatConfig:
    row = await session.get(t.CsatSettings, workspace_id)
    if row is None:
        return CsatConfig(True, DEFAULT_DELAY, DEFAULT_VALIDITY, DEFAULT_LINK_BASE)
    return CsatConfig(
        row.enabled,
        timedelta(seconds=row.delay_seconds),
        timedelta(seconds=row.valid_seconds),
        row.link_base_url or DEFAULT_LINK_BASE,
    )


def csat_config_view(config: CsatConfig) -> dict[str, Any]:
    return {
        "enabled": config.enabled,
        "delay_seconds": int(config.delay.total_seconds()),
        "valid_seconds": int(config.validity.total_seconds()),
        "link_base_url": config.link_base_url,
    }


async def update_csat_config(
    uow: UnitOfWork, workspace_id: int, changes: dict[str, Any]
) -> CsatConfig:
    session = uow.session
    current = await csat_config(session, workspace_id)
    row = await session.get(t.CsatSettings, workspace_id)
    if row is None:
        row = t.CsatSettings(
            workspace_id=workspace_id,
            enabled=current.enabled,
            delay_seconds=int(current.delay.total_seconds()),
            valid_seconds=int(current.validity.total_seconds()),
            link_base_url=None,
        )
        session.add(row)
    if changes.get("enabled") is not None:
        row.enabled = bool(changes["enabled"])
    if changes.get("delay_seconds") is not None:
        delay = int(changes["delay_seconds"])
        if not 0 <= delay <= MAX_DELAY.total_seconds():
            raise DomainError("the survey delay is between 0 seconds and 30 days")
        row.delay_seconds = delay
    if changes.get("valid_seconds") is not None:
        valid = int(changes["valid_seconds"])
        if valid < 3600:
            raise DomainError("a survey stays open for at least an hour")
        row.valid_seconds = valid
    if "link_base_url" in changes:
        base = (changes["link_base_url"] or "").strip().rstrip("/")
        if base and not base.startswith(("https://", "http://")):
            raise DomainError("the survey link base is an http(s) URL, e.g. https://help.acme.com")
        row.link_base_url = base or None
    await session.flush()
    return await csat_config(session, workspace_id)


async def plan_survey(uow: UnitOfWork, conversation: t.Conversation) -> None:
    """Called when a conversation becomes resolved: arm the survey for this resolution."""
    config = await csat_config(uow.session, conversation.workspace_id)
    if not config.enabled or conversation.resolved_at is None:
        return
    resolved_at = conversation.resolved_at
    await schedule_timer(
        uow,
        conversation.workspace_id,
        kind=CSAT_SEND,
        # One timer per resolution: a later resolution never moves an earlier one's survey.
        key=survey_timer_key(conversation.id, resolved_at),
        fire_at=resolved_at + config.delay,
        payload={
            "conversation_id": conversation.id,
            "resolved_at": iso(resolved_at),
            # Scores belong to whoever handled the matter when it was resolved.
            "agent_id": conversation.assignee_id,
        },
    )


async def send_survey(
    uow: UnitOfWork, workspace_id: int, payload: dict[str, Any], fired_at: datetime
) -> None:
    session = uow.session
    conversation = (
        await session.execute(
            select(t.Conversation)
            .where(
                t.Conversation.id == payload["conversation_id"],
                t.Conversation.workspace_id == workspace_id,
            )
            .with_for_update()
        )
    ).scalar_one_or_none()
    if conversation is None or conversation.status != ConversationStatus.RESOLVED.value:
        return
    if iso(conversation.resolved_at) != payload["resolved_at"]:
        return  # re-opened and resolved again since: that resolution has its own survey
    if conversation.last_inbound_channel is None:
        return  # the customer never wrote: nobody to ask
    channel = survey_channel(Channel(conversation.last_inbound_channel))
    recipient = await _recipient(session, workspace_id, conversation.customer_id, channel)
    inbox = await _survey_inbox(session, workspace_id, conversation, channel)
    if recipient is None or inbox is None:
        return  # no way to reach the customer on their channel; never switch channels
    config = await csat_config(session, workspace_id)
    token = secrets.token_urlsafe(24)
    link = f"{config.link_base_url.rstrip('/')}/csat/{token}"
    survey = t.CsatSurvey(
        workspace_id=workspace_id,
        conversation_id=conversation.id,
        agent_id=payload.get("agent_id"),
        customer_id=conversation.customer_id,
        token=token,
        channel=channel.value,
        resolved_at=conversation.resolved_at,
        sent_at=fired_at,
        expires_at=fired_at + config.validity,
    )
    session.add(survey)
    await session.flush()
    style = survey_style(channel)
    csat_meta: dict[str, Any] = {"survey_id": survey.id, "style": style.value, "url": link}
    if style is SurveyStyle.INLINE:
        csat_meta.update(inline=True, scale=[1, 5])
    # Unlike an agent's reply, the survey leaves the matter resolved.
    message = await queue_outbound_message(
        uow,
        conversation,
        inbox,
        channel,
        text=survey_text(style, link),
        meta={"recipient": recipient, "csat": csat_meta},
        author_agent_id=None,
        now=fired_at,
        key_prefix="tl-csat",
    )
    survey.message_id = message.id


def survey_text(style: SurveyStyle, link: str) -> str:
    question = "How did we do? Please rate the help you got from 1 (poor) to 5 (excellent)"
    if style is SurveyStyle.INLINE:
        return f"{question}."
    if style is SurveyStyle.DIGIT_OR_LINK:
        return (
            "How did we do? Reply with one digit from 1 (poor) to 5 (excellent), "
            f"optionally followed by a comment, or rate us here: {link}"
        )
    return f"{question}:\n{link}\n\nThank you for helping us improve."


async def _recipient(
    session: AsyncSession, workspace_id: int, customer_id: int, channel: Channel
) -> str | None:
    return (
        await session.execute(
            select(t.Identity.value)
            .where(
                t.Identity.workspace_id == workspace_id,
                t.Identity.customer_id == customer_id,
                t.Identity.kind == IDENTITY_FOR_CHANNEL[channel].value,
            )
            .order_by(t.Identity.created_at.desc(), t.Identity.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def _survey_inbox(
    session: AsyncSession, workspace_id: int, conversation: t.Conversation, channel: Channel
) -> t.Inbox | None:
    """The inbox the customer last wrote to, if it speaks the channel; else the first one."""
    if conversation.last_inbound_inbox_id is not None:
        last = await session.get(t.Inbox, conversation.last_inbound_inbox_id)
        if last is not None and last.channel == channel.value:
            return last
    return await first_inbox(session, workspace_id, channel)


TIMER_HANDLERS: TimerHandlerMap = {
    CSAT_SEND: send_survey,
}
