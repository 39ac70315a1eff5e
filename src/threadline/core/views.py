"""JSON-ready views of stored rows, shared by the API and by event payloads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from threadline.adapters.db import tables as t
from threadline.domain.customers.offers import OfferStatus, effective_status
from threadline.domain.security.secret_settings import secret_paths, without_secrets
from threadline.domain.tasks import TaskStatus, is_overdue


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def message_view(m: t.Message) -> dict[str, Any]:
    return {
        "id": m.id,
        "conversation_id": m.conversation_id,
        "inbox_id": m.inbox_id,
        "channel": m.channel,
        "direction": m.direction,
        "author_agent_id": m.author_agent_id,
        "sender_identity": m.sender_identity,
        "text": m.text,
        "html": m.html,
        "attachments": m.attachments,
        "provider_message_id": m.provider_message_id,
        "delivery_status": m.delivery_status,
        "failure_reason": m.failure_reason,
        "call": m.call,
        "meta": m.meta,
        "created_at": iso(m.created_at),
    }


def conversation_view(
    c: t.Conversation, labels: list[str] | None = None, channels: list[str] | None = None
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": c.id,
        "customer_id": c.customer_id,
        "subject": c.subject,
        "status": c.status,
        "priority": c.priority,
        "assignee_id": c.assignee_id,
        "team_id": c.team_id,
        "attributes": c.attributes,
        "last_inbound_channel": c.last_inbound_channel,
        "last_inbound_at": iso(c.last_inbound_at),
        "last_message_at": iso(c.last_message_at),
        "created_at": iso(c.created_at),
        "resolved_at": iso(c.resolved_at),
        "wrap_up_code": c.wrap_up_code,
        "wrap_up_summary": c.wrap_up_summary,
    }
    if labels is not None:
        view["labels"] = sorted(labels)
    if channels is not None:
        view["channels"] = sorted(channels)
    return view


def identity_view(i: t.Identity) -> dict[str, Any]:
    return {"id": i.id, "kind": i.kind, "value": i.value, "created_at": iso(i.created_at)}


def customer_view(c: t.Customer, identities: list[t.Identity] | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": c.id,
        "name": c.name,
        "attributes": c.attributes,
        "labels": c.labels,
        "merged_into_id": c.merged_into_id,
        "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at),
    }
    if identities is not None:
        view["identities"] = [identity_view(i) for i in identities]
    return view


def agent_view(a: t.Agent, team_ids: list[int] | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": a.id,
        "email": a.email,
        "name": a.name,
        "photo_url": a.photo_url,
        "role": a.role,
        "skills": a.skills,
        "channel_competences": a.channel_competences,
        "languages": a.languages,
        "capacity": a.capacity,
        "presence": a.presence,
        "active": a.active,
    }
    if team_ids is not None:
        view["team_ids"] = sorted(team_ids)
    return view


def note_view(n: t.Note) -> dict[str, Any]:
    return {
        "id": n.id,
        "customer_id": n.customer_id,
        "author_agent_id": n.author_agent_id,
        "text": n.text,
        "created_at": iso(n.created_at),
    }


def offer_view(o: t.Offer, now: datetime) -> dict[str, Any]:
    """The status is the offer's at `now`: an expired proposal shows as expired at once."""
    return {
        "id": o.id,
        "customer_id": o.customer_id,
        "conversation_id": o.conversation_id,
        "agent_id": o.agent_id,
        "product": o.product,
        "price": o.price,
        "currency": o.currency,
        "channel": o.channel,
        "valid_until": iso(o.valid_until),
        "status": effective_status(OfferStatus(o.status), o.valid_until, now).value,
        "created_at": iso(o.created_at),
    }


def task_view(k: t.Task, now: datetime | None = None) -> dict[str, Any]:
    """With `now`, the view says whether the task is overdue (open and past due)."""
    view: dict[str, Any] = {
        "id": k.id,
        "customer_id": k.customer_id,
        "conversation_id": k.conversation_id,
        "kind": k.kind,
        "title": k.title,
        "note": k.note,
        "channel": k.channel,
        "due_at": iso(k.due_at),
        "assignee_id": k.assignee_id,
        "team_id": k.team_id,
        "status": k.status,
        "created_at": iso(k.created_at),
        "completed_at": iso(k.completed_at),
    }
    if now is not None:
        view["overdue"] = is_overdue(TaskStatus(k.status), k.due_at, now)
    return view


def inbox_view(i: t.Inbox) -> dict[str, Any]:
    """Secrets are never shown back, to anyone: not the signing secret (`has_secret` says
    whether one is set), not the passwords and tokens in the settings (left out of
    `settings`; `write_only_settings_set` lists the ones that are set)."""
    return {
        "id": i.id,
        "name": i.name,
        "channel": i.channel,
        "address": i.address,
        "settings": without_secrets(i.settings),
        "write_only_settings_set": secret_paths(i.settings),
        "has_secret": bool(i.secret),
        "team_id": i.team_id,
        "created_at": iso(i.created_at),
    }


def team_view(team: t.Team, member_ids: list[int] | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {"id": team.id, "name": team.name, "created_at": iso(team.created_at)}
    if member_ids is not None:
        view["member_ids"] = sorted(member_ids)
    return view


def conversation_scope(c: t.Conversation) -> dict[str, Any]:
    """The part of a conversation that decides who may see events about it."""
    return {"id": c.id, "assignee_id": c.assignee_id, "team_id": c.team_id}
