"""Transient signals between agents and customers that are never stored: typing.

A typing signal goes straight to the workspace's pub/sub topic, not to the event table, so it
is never replayed. Its envelope is the one the chat widget's socket uses (seq 0, which every
stream has passed, and `ephemeral`):

    {"seq": 0, "ephemeral": True, "type": "typing", "workspace_id": W, "conversation_id": C,
     "audience": "everyone",
     "payload": {"conversation_id": C, "who": "agent" | "customer", "name": str | None}}

Agents' signals add the conversation's scope (`payload.conversation`) so the event stream
shows them only to those who may see the conversation. The event stream
(`/api/v1/events/ws`) passes typing on as `{"type": "typing", "conversation_id", "who",
"name"}`; the widget's socket shows agents' typing to the visitor.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response, status

from threadline.adapters.db import tables as t
from threadline.adapters.pubsub.base import PubSub, workspace_topic
from threadline.entrypoints.api.deps import AgentDep, RuntimeDep
from threadline.services.lookups import get_visible_conversation
from threadline.services.views import conversation_scope

router = APIRouter(prefix="/app", include_in_schema=False)

TYPING = "typing"


def typing_envelope(
    workspace_id: int,
    conversation: t.Conversation,
    who: Literal["agent", "customer"],
    name: str,
) -> dict[str, Any]:
    return {
        "seq": 0,
        "ephemeral": True,
        "type": TYPING,
        "workspace_id": workspace_id,
        "conversation_id": conversation.id,
        "audience": "everyone",
        "payload": {
            "conversation_id": conversation.id,
            "who": who,
            "name": name[:200],
            "conversation": conversation_scope(conversation),
        },
    }


async def publish_typing(
    pubsub: PubSub,
    workspace_id: int,
    conversation: t.Conversation,
    who: Literal["agent", "customer"],
    name: str,
) -> None:
    await pubsub.publish(
        workspace_topic(workspace_id), typing_envelope(workspace_id, conversation, who, name)
    )


@router.post("/conversations/{conversation_id}/typing", status_code=status.HTTP_204_NO_CONTENT)
async def agent_is_typing(
    conversation_id: int, request: Request, principal: AgentDep, runtime: RuntimeDep
) -> Response:
    """The signed-in agent is typing a reply (the page calls this at most every 2 s)."""
    async with runtime.sessionmaker() as session:
        conversation = await get_visible_conversation(session, principal, conversation_id)
        agent = await session.get(t.Agent, principal.agent_id)
        name = agent.name if agent is not None else ""
    await publish_typing(runtime.pubsub, principal.workspace_id, conversation, "agent", name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
