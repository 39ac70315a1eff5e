"""Typing notices between agents and customers: published, never stored.

A notice goes straight to the workspace's pub/sub topic, not to the event table, so it is
never replayed. It has no place in the sequence: seq 0 is one every stream has passed, so
resuming logic never waits on it. It carries the conversation's scope (assignee and team), so
the agents' event stream shows it only to those who may see the conversation, whichever side
is typing:

    {"seq": 0, "ephemeral": True, "type": "typing", "workspace_id": W, "conversation_id": C,
     "audience": "everyone", "payload": {"conversation_id": C, "who": "agent" | "customer",
     "name": str | None, "agent_id": int | None, "channel": str | None,
     "conversation": {...scope...}}}

`agent_id` is the typing agent's (None for the customer): another agent's page warns that a
colleague is writing a reply too; the typing agent's own pages ignore it. `channel` is the
channel the agent's reply will go by: the customer's chat widget shows an agent typing only
for a web-chat reply (not while an email to them is being written).
"""

from __future__ import annotations

from typing import Any, Literal

from threadline.adapters.db import tables as t
from threadline.adapters.pubsub.base import PubSub, workspace_topic
from threadline.core.views import conversation_scope

TYPING = "typing"
Typist = Literal["agent", "customer"]


def typing_envelope(
    conversation: t.Conversation,
    who: Typist,
    name: str | None,
    agent_id: int | None = None,
    channel: str | None = None,
) -> dict[str, Any]:
    return {
        "seq": 0,
        "ephemeral": True,
        "type": TYPING,
        "workspace_id": conversation.workspace_id,
        "conversation_id": conversation.id,
        "audience": "everyone",
        "payload": {
            "conversation_id": conversation.id,
            "who": who,
            "name": name[:200] if name is not None else None,
            "agent_id": agent_id,
            "channel": channel,
            "conversation": conversation_scope(conversation),
        },
    }


async def publish_typing(
    pubsub: PubSub,
    conversation: t.Conversation,
    who: Typist,
    name: str | None,
    agent_id: int | None = None,
    channel: str | None = None,
) -> None:
    await pubsub.publish(
        workspace_topic(conversation.workspace_id),
        typing_envelope(conversation, who, name, agent_id, channel),
    )
