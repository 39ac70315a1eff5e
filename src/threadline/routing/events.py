"""What routing tells everyone: how an assignment and an offer look to clients, and the
events that carry them (assigned, offer ended, conversation changed by routing)."""

from __future__ import annotations

from typing import Any

from threadline.adapters.db import tables as t
from threadline.core.unit_of_work import UnitOfWork
from threadline.core.views import conversation_view, iso
from threadline.domain.events import AssignmentCreated, AssignmentOfferEnded, ConversationUpdated


def offer_view(o: t.RoutingOffer, agent_name: str | None = None) -> dict[str, Any]:
    return {
        "id": o.id,
        "conversation_id": o.conversation_id,
        "agent_id": o.agent_id,
        "agent_name": agent_name,
        "channel": o.channel,
        # The room the offer holds, at the capacity the agent had when it was made.
        "cost": o.cost,
        "status": o.status,
        "reason": o.reason,
        "offered_at": iso(o.offered_at),
        "expires_at": iso(o.expires_at),
        "answered_at": iso(o.answered_at),
    }


def assignment_view(a: t.Assignment, agent_name: str | None = None) -> dict[str, Any]:
    return {
        "id": a.id,
        "conversation_id": a.conversation_id,
        "agent_id": a.agent_id,
        "agent_name": agent_name,
        "channel": a.channel,
        "cost": a.cost,
        "mode": a.mode,
        "reason": a.reason,
        "assigned_at": iso(a.assigned_at),
        "released_at": iso(a.released_at),
    }


def emit_routing_update(uow: UnitOfWork, conversation: t.Conversation) -> None:
    """Routing changed the conversation (assignee, team): marked so that `reconcile` (via
    on_conversation_updated) knows the assignment history is already in line with it."""
    uow.emit(
        conversation.workspace_id,
        # Routing never changes the status: SLA clocks have nothing to do with it.
        ConversationUpdated(conversation_view(conversation), routing=True, status_changed=False),
    )


def emit_assignment(uow: UnitOfWork, assignment: t.Assignment, agent_name: str) -> None:
    uow.emit(
        assignment.workspace_id,
        AssignmentCreated(assignment_view(assignment, agent_name)),
    )


def emit_offer_ended(uow: UnitOfWork, offer: t.RoutingOffer, why: str) -> None:
    uow.emit(
        offer.workspace_id,
        AssignmentOfferEnded(offer_view(offer), why),
    )
