"""The visitor's WebSocket: only their own chat, resumable without loss or repeats.

The same pattern as the agents' stream (entrypoints/api/routers/events.py): subscribe to the
workspace topic first, back-fill from the event table after the client's `since`, then pass
live events on. Sequence numbers are the workspace's; the visitor sees a subset of them, so
the stream tracks the raw position it has looked at and back-fills only this customer's
events (everything below a published seq is committed: seq order is commit order). Gaps in
the live sequence are repaired by the workspace's hub (_hub.py), once for all sockets.

Protocol (JSON frames):
  server -> visitor
    {"type": "message", "seq", "id", "conversation_id", "direction": "inbound"|"outbound",
     "text", "attachments": [{"sha256", "filename", "size", "content_type"}],
     "author": {"name", "photo_url"} | null, "created_at"}
    {"type": "ready", "seq"}       caught up; resume later with since = the last seq seen
    {"type": "queue", "waiting", "position", "estimated_wait_seconds", "agent"}
                                   when the chat's conversation, its assignee, status or team
                                   change, an agent first answers, or it is assigned (the
                                   session and GET /status give it at any time)
    {"type": "typing", "who": "agent", "name"}
  visitor -> server
    {"type": "typing"}             the visitor is typing (told to agents, at most every 2 s)
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import anyio
import structlog
from anyio import CancelScope
from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect, status

from threadline.adapters.metrics import WEBSOCKET_CONNECTIONS, WIDGET_VISITOR_SOCKET
from threadline.bootstrap import Runtime
from threadline.core.event_feed import latest_seq
from threadline.core.typing_signals import publish_typing
from threadline.domain.channels import Channel
from threadline.domain.conversations import Direction
from threadline.domain.errors import DomainError
from threadline.domain.events import EventType
from threadline.domain.messaging.web_chat import VisitorClaims, visible_to_visitor
from threadline.entrypoints.widget._hub import (
    Hubs,
    Listener,
    WorkspaceHub,
    created_conversation,
)
from threadline.web_chat import (
    agent_card,
    authenticate_visitor,
    conversation_in_workspace,
    customer_conversation_ids,
    customer_events_between,
    visitor_customer_id,
    visitor_queue,
)

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/api/v1/widget", tags=["web chat"])

BACKFILL_BATCH = 500
TYPING_EVERY_SECONDS = 2.0
# Closed with this when the visitor has not written yet: there is nothing to stream.
NO_CHAT_YET = 4404
# Events whose payload carries the conversation's state (assignee, status, team).
SCOPE_EVENTS = {
    EventType.CONVERSATION_CREATED.value,
    EventType.CONVERSATION_UPDATED.value,
}


@router.websocket("/ws")
async def visitor_stream(
    websocket: WebSocket,
    token: Annotated[str, Query(max_length=2000)],
    since: Annotated[int, Query(ge=0)] = 0,
) -> None:
    """The visitor's chat, live. Connect with `?token=<visitor token>&since=<last seq seen>`
    (0 for the whole chat). Closes with 1008 for a bad token, 4404 before the first message."""
    await websocket.accept()
    runtime: Runtime = websocket.app.state.runtime
    try:
        async with runtime.sessionmaker() as session:
            try:
                claims, _ = await authenticate_visitor(session, runtime.settings.secret_key, token)
            except DomainError as exc:
                await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason=exc.reason[:100])
                return
            customer_id = await visitor_customer_id(session, claims)
            if customer_id is None:
                await websocket.close(code=NO_CHAT_YET, reason="no chat yet: send a message first")
                return
        with WEBSOCKET_CONNECTIONS.labels(socket=WIDGET_VISITOR_SOCKET).track_inprogress():
            await _VisitorStream(websocket, runtime, claims, customer_id).run(since)
    except* WebSocketDisconnect:
        pass


# What a conversation's queue state depends on besides answers: (assignee, status, team).
Scope = tuple[Any, Any, Any]


class _VisitorStream:
    def __init__(
        self,
        websocket: WebSocket,
        runtime: Runtime,
        claims: VisitorClaims,
        customer_id: int,
    ) -> None:
        self.websocket = websocket
        self.runtime = runtime
        self.claims = claims
        self.workspace_id = claims.workspace_id
        self.customer_id = customer_id
        self.listener = Listener(customer_id)
        self.conversations = self.listener.conversations
        self.hub: WorkspaceHub | None = None
        # Position in the workspace's sequence up to which this visitor has everything.
        self.last_seen = 0
        self.authors: dict[int, dict[str, Any]] = {}
        self.last_typing = 0.0
        # The chat's conversation, as /session and /status have it (web_chat's
        # latest_conversation_id): read with the catch-up, then the one of each live message.
        self.current: int | None = None
        # The queue frame is sent only when its conversation's state changes: the last
        # (assignee, status, team) seen per conversation, and those an agent answered in.
        self.scopes: dict[int, Scope] = {}
        self.answered: set[int] = set()
        self.live = False

    async def run(self, since: int) -> None:
        hubs = _hubs_of(self.websocket)
        async with hubs.listening(self.runtime, self.workspace_id, self.listener) as hub:
            self.hub = hub
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(self._read_visitor, tasks.cancel_scope)
                await self._catch_up(since)
                await self._stream_live()
                tasks.cancel_scope.cancel()

    async def _catch_up(self, since: int) -> None:
        # Follow the customer's conversations first, then read the latest seq: an event of
        # theirs committed after that read reaches the mailbox (the hub already hands it on),
        # and one committed before it is in the back-fill. A conversation created meanwhile is
        # followed by the hub (it files listeners by customer). The latest seq is read in a
        # transaction of its own: SQLite's would still see the moment of the first read.
        async with self.runtime.sessionmaker() as session:
            conversations = await customer_conversation_ids(
                session, self.workspace_id, self.customer_id
            )
        self.current = conversations[0] if conversations else None
        for conversation_id in conversations:
            self._follow(conversation_id)
        async with self.runtime.sessionmaker() as session:
            latest = await latest_seq(session, self.workspace_id)
        self.last_seen = min(since, latest)
        await self._backfill_until(latest)
        self.live = True
        await self.websocket.send_json({"type": "ready", "seq": self.last_seen})

    def _follow(self, conversation_id: int) -> None:
        assert self.hub is not None
        self.hub.follow(self.listener, conversation_id)

    async def _stream_live(self) -> None:
        while True:
            kind, item = await self.listener.queue.get()
            if kind == "overflow":
                await self.websocket.close(code=1013, reason="too far behind: reconnect")
                return
            if kind == "typing":
                await self._typing(item)
            elif item["seq"] > self.last_seen and await self._consider(item):
                await self._send_queue()

    async def _backfill_until(self, upto: int) -> None:
        # The queue frame is the conversation's state now, not at the event: however many
        # changes the back-fill passes, one frame after it says all of them.
        queue_changed = False
        while self.last_seen < upto:
            async with self.runtime.sessionmaker() as session:
                batch = await customer_events_between(
                    session,
                    self.workspace_id,
                    self.customer_id,
                    self.last_seen,
                    upto,
                    BACKFILL_BATCH,
                )
            for envelope in batch:
                created = created_conversation(envelope)
                if created is not None and created[0] == self.customer_id:
                    self._follow(created[1])
                queue_changed |= await self._consider(envelope)
            if len(batch) < BACKFILL_BATCH:
                self.last_seen = max(self.last_seen, upto)
        if queue_changed:
            await self._send_queue()

    async def _consider(self, envelope: dict[str, Any]) -> bool:
        """Passes the visitor's messages on; True when the event changes their queue state
        (the caller sends the queue frame)."""
        self.last_seen = envelope["seq"]
        payload = envelope.get("payload") or {}
        kind = envelope.get("type")
        conversation_id = envelope.get("conversation_id")
        if conversation_id not in self.conversations:
            return False
        if kind == EventType.MESSAGE_CREATED.value:
            message = payload.get("message") or {}
            if visible_to_visitor(message):
                await self.websocket.send_json(await self._message_frame(envelope, message))
            return self._note_message(conversation_id, message)
        if kind in SCOPE_EVENTS:
            conversation = payload.get("conversation")
            if not isinstance(conversation, dict):
                return False
            scope = (
                conversation.get("assignee_id"),
                conversation.get("status"),
                conversation.get("team_id"),
            )
            known = self.scopes.get(conversation_id)
            self.scopes[conversation_id] = scope
            # A change of the chat's conversation, seen before or not, is sent; a new
            # conversation becomes the chat's with its first live message (_note_message).
            return (
                kind == EventType.CONVERSATION_UPDATED.value
                and conversation_id == self.current
                and known != scope
            )
        if kind == EventType.ASSIGNMENT_CREATED.value:
            # Usually after a conversation.updated naming the same assignee, in the same
            # transaction: one frame for both.
            agent_id = (payload.get("assignment") or {}).get("agent_id")
            known = self.scopes.get(conversation_id)
            if known is not None:
                self.scopes[conversation_id] = (agent_id, known[1], known[2])
            return conversation_id == self.current and (known is None or known[0] != agent_id)
        return False

    def _note_message(self, conversation_id: int, message: dict[str, Any]) -> bool:
        """Whether the message changes the visitor's queue state: a live message in another
        of their conversations makes it the chat's; an agent's first answer ends the wait
        (web_chat's visitor_queue)."""
        changed = False
        # Every message but a note moves its conversation's last_message_at.
        if self.live and message.get("direction") != Direction.NOTE.value:
            changed = self.current != conversation_id
            self.current = conversation_id
        if (
            message.get("direction") == Direction.OUTBOUND.value
            and isinstance(message.get("author_agent_id"), int)
            and conversation_id not in self.answered
        ):
            self.answered.add(conversation_id)
            changed |= conversation_id == self.current
        return changed

    async def _message_frame(
        self, envelope: dict[str, Any], message: dict[str, Any]
    ) -> dict[str, Any]:
        author = None
        agent_id = message.get("author_agent_id")
        if message.get("direction") == "outbound" and isinstance(agent_id, int):
            if agent_id not in self.authors:
                async with self.runtime.sessionmaker() as session:
                    self.authors[agent_id] = await agent_card(session, self.workspace_id, agent_id)
            author = self.authors[agent_id]
        return {
            "type": "message",
            "seq": envelope["seq"],
            "id": message.get("id"),
            "conversation_id": envelope.get("conversation_id"),
            "direction": message.get("direction"),
            "text": message.get("text") or "",
            "attachments": [
                {k: a.get(k) for k in ("sha256", "filename", "size", "content_type")}
                for a in message.get("attachments") or []
                if isinstance(a, dict)
            ],
            "author": author,
            "created_at": message.get("created_at"),
        }

    async def _send_queue(self) -> None:
        if self.current is None:
            return
        async with self.runtime.sessionmaker() as session:
            queue = await visitor_queue(
                session, self.claims, self.current, self.runtime.clock.now()
            )
        await self.websocket.send_json({"type": "queue", **queue})

    async def _typing(self, envelope: dict[str, Any]) -> None:
        # The hub hands on only this workspace's typing notices of the visitor's conversations.
        payload = envelope.get("payload") or {}
        # Only a reply the visitor will see here: not an email to them being written.
        if payload.get("who") != "agent" or payload.get("channel") != Channel.WEB_CHAT.value:
            return
        name = payload.get("name")
        await self.websocket.send_json(
            {"type": "typing", "who": "agent", "name": name if isinstance(name, str) else None}
        )

    async def _read_visitor(self, scope: CancelScope) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            if text and '"typing"' in text and self.current is not None:
                now = time.monotonic()
                if now - self.last_typing >= TYPING_EVERY_SECONDS:
                    self.last_typing = now
                    await self._customer_typing(self.current)
        scope.cancel()

    async def _customer_typing(self, conversation_id: int) -> None:
        # The conversation's scope goes with it, so its assignee sees it even where agents
        # do not see every conversation.
        async with self.runtime.sessionmaker() as session:
            conversation = await conversation_in_workspace(
                session, self.workspace_id, conversation_id
            )
        if conversation is not None:
            await publish_typing(self.runtime.pubsub, conversation, "customer", None)


def _hubs_of(websocket: WebSocket) -> Hubs:
    state = websocket.app.state
    hubs = getattr(state, "widget_hubs", None)
    if hubs is None:
        hubs = Hubs()
        state.widget_hubs = hubs
    return hubs
