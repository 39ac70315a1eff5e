"""The real-time event stream (WebSocket) and its polling twin.

Resuming loses nothing and repeats nothing: the stream subscribes to pub/sub first (so live
events queue up), then back-fills from the event table everything after the client's `since`,
then passes live events on, skipping those already delivered. Pub/sub is only the fast path:
whenever a live event's seq jumps ahead, or the stream has been quiet for a while, the missing
events are read from the table, which is the truth.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

import anyio
import structlog
from anyio import CancelScope
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect, status

from threadline.adapters.metrics import AGENT_EVENTS_SOCKET, WEBSOCKET_CONNECTIONS
from threadline.adapters.pubsub.base import Subscription, workspace_topic
from threadline.bootstrap import Runtime
from threadline.core.event_feed import event_frame, events_since, latest_seq, visible_to
from threadline.core.typing_signals import TYPING
from threadline.domain.security.access import Principal
from threadline.entrypoints.api.deps import PrincipalDep, RuntimeDep, resolve_principal
from threadline.entrypoints.api.schemas import Seq
from threadline.entrypoints.web._session import SESSION_COOKIE
from threadline.workspace import AuthenticationFailed

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/api/v1", tags=["events"])

BACKFILL_BATCH = 500
# Live events waiting for a slow client; beyond this they are dropped and back-filled later.
LIVE_BUFFER = 1_000
# A publish can fail after commit; a quiet stream checks the table this often.
IDLE_RECHECK_SECONDS = 10.0
AUTH_TIMEOUT_SECONDS = 10.0


@router.get("/events")
async def poll_events(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    since: Annotated[Seq, Query(description="The last seq you have seen")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Events after `since` that you may see, oldest first. Continue with `since` = the
    returned `seq` (the last event looked at, shown to you or not) while `has_more`."""
    async with runtime.sessionmaker() as session:
        envelopes = await events_since(session, principal.workspace_id, since, limit)
    return {
        "events": [event_frame(e) for e in envelopes if visible_to(principal, e)],
        "seq": envelopes[-1]["seq"] if envelopes else since,
        "has_more": len(envelopes) == limit,
    }


@router.websocket("/events/ws")
async def event_stream(
    websocket: WebSocket,
    token: Annotated[str | None, Query()] = None,
    since: Annotated[Seq | None, Query()] = None,
) -> None:
    """Authenticate with `?token=` (agent token or API key) or a first message
    `{"type": "auth", "token": ...}`. Frames: `{"type": "event", "seq", "event",
    "conversation_id", "payload"}` and, once caught up, `{"type": "ready", "seq"}`.
    To resume, reconnect with `since` = the seq of the last frame you received."""
    # Accept first: a close before accepting becomes a bare HTTP 403 without a close code.
    await websocket.accept()
    runtime: Runtime = websocket.app.state.runtime
    try:
        authenticated = await _authenticate(websocket, runtime, token)
        if authenticated is None:
            return
        principal, credential = authenticated
        with WEBSOCKET_CONNECTIONS.labels(socket=AGENT_EVENTS_SOCKET).track_inprogress():
            await _EventStream(websocket, runtime, principal, credential).run(since)
    except* WebSocketDisconnect:
        pass


def _same_origin(websocket: WebSocket, runtime: Runtime) -> bool:
    """Browsers send cookies with cross-site WebSocket handshakes; the Origin header tells
    our own pages (same host, or the configured public URL) from another site's."""
    origin = websocket.headers.get("origin")
    if not origin:
        return False
    origin_host = urlsplit(origin).netloc.lower()
    allowed = {websocket.headers.get("host", "").lower()}
    if runtime.settings.public_base_url:
        allowed.add(urlsplit(runtime.settings.public_base_url).netloc.lower())
    return origin_host in allowed


async def _authenticate(
    websocket: WebSocket, runtime: Runtime, token: str | None
) -> tuple[Principal, str] | None:
    """Who is connecting, and the credential they connected with (checked again later)."""
    try:
        if token is None and websocket.cookies.get(SESSION_COOKIE):
            # The agent workspace's session cookie, accepted only from our own pages.
            if not _same_origin(websocket, runtime):
                raise AuthenticationFailed("a session cookie is accepted only from this site")
            token = websocket.cookies[SESSION_COOKIE]
        if token is None:
            with anyio.fail_after(AUTH_TIMEOUT_SECONDS):
                message = await websocket.receive_json()
            if isinstance(message, dict) and message.get("type") == "auth":
                token = message.get("token")
            if not isinstance(token, str):
                raise AuthenticationFailed('send {"type": "auth", "token": ...} first')
        return await resolve_principal(runtime, token), token
    except (AuthenticationFailed, TimeoutError, ValueError, KeyError) as exc:
        reason = exc.reason if isinstance(exc, AuthenticationFailed) else "authentication required"
        # Close reasons must fit in a control frame (123 bytes).
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason=reason[:100])
        return None


class _EventStream:
    def __init__(
        self, websocket: WebSocket, runtime: Runtime, principal: Principal, credential: str
    ) -> None:
        self.websocket = websocket
        self.runtime = runtime
        self.principal = principal
        self.credential = credential
        # Why the credential stopped being valid while the socket was open, if it did.
        self.refused: str | None = None
        # Position in the workspace's raw event stream, counting events filtered out too:
        # gaps are judged against this, never against what this client was sent.
        self.last_seen = 0

    async def run(self, since: int | None) -> None:
        topic = workspace_topic(self.principal.workspace_id)
        async with self.runtime.pubsub.subscribe(topic) as subscription:
            to_stream, live = anyio.create_memory_object_stream[dict[str, Any]](LIVE_BUFFER)
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(_pump, subscription, to_stream)
                tasks.start_soon(self._watch_for_disconnect, tasks.cancel_scope)
                tasks.start_soon(self._recheck_credential, tasks.cancel_scope)
                await self._catch_up_from(since)
                await self._stream_live(live)
                tasks.cancel_scope.cancel()
        if self.refused is not None:
            await self.websocket.close(
                code=status.WS_1008_POLICY_VIOLATION, reason=self.refused[:100]
            )

    async def _recheck_credential(self, scope: CancelScope) -> None:
        """A signed-out or expired token (or a deactivated agent, a revoked key) ends the
        stream; a changed role or team applies to what it shows from then on."""
        while True:
            await anyio.sleep(self.runtime.settings.socket_recheck_seconds)
            try:
                self.principal = await resolve_principal(self.runtime, self.credential)
            except AuthenticationFailed as exc:
                self.refused = exc.reason
                scope.cancel()
                return

    async def _catch_up_from(self, since: int | None) -> None:
        async with self.runtime.sessionmaker() as session:
            latest = await latest_seq(session, self.principal.workspace_id)
        # A `since` beyond the latest (say, from before a restore) would hide new events.
        self.last_seen = latest if since is None else min(since, latest)
        await self._backfill()
        await self.websocket.send_json({"type": "ready", "seq": self.last_seen})

    async def _stream_live(self, live: MemoryObjectReceiveStream[dict[str, Any]]) -> None:
        while True:
            envelope = None
            with anyio.move_on_after(IDLE_RECHECK_SECONDS):
                try:
                    envelope = await live.receive()
                except anyio.EndOfStream:
                    await self.websocket.close(
                        code=status.WS_1011_INTERNAL_ERROR, reason="event feed interrupted"
                    )
                    return
            if envelope is not None and envelope.get("type") == TYPING:
                await self._pass_typing_on(envelope)
                continue
            if envelope is None or envelope["seq"] > self.last_seen + 1:
                await self._backfill()
            if envelope is not None and envelope["seq"] == self.last_seen + 1:
                await self._deliver(envelope)

    async def _backfill(self) -> None:
        while True:
            # A fresh session per batch, so no transaction stays open while a client is slow.
            async with self.runtime.sessionmaker() as session:
                batch = await events_since(
                    session, self.principal.workspace_id, self.last_seen, BACKFILL_BATCH
                )
            for envelope in batch:
                await self._deliver(envelope)
            if len(batch) < BACKFILL_BATCH:
                return

    async def _deliver(self, envelope: dict[str, Any]) -> None:
        self.last_seen = envelope["seq"]
        if visible_to(self.principal, envelope):
            await self.websocket.send_json(event_frame(envelope))

    async def _pass_typing_on(self, envelope: dict[str, Any]) -> None:
        """Typing is not stored and has no seq: shown live or never."""
        payload = envelope.get("payload")
        if not isinstance(payload, dict) or not visible_to(self.principal, envelope):
            return
        if payload.get("agent_id") is not None and payload["agent_id"] == self.principal.agent_id:
            return  # the agent's own notice, from this or another tab: nothing to show them
        await self.websocket.send_json(
            {
                "type": TYPING,
                "conversation_id": envelope.get("conversation_id"),
                "who": payload.get("who"),
                "name": payload.get("name"),
                "agent_id": payload.get("agent_id"),
            }
        )

    async def _watch_for_disconnect(self, scope: CancelScope) -> None:
        # Clients send nothing after auth; reading is how we learn that they left.
        while (await self.websocket.receive())["type"] != "websocket.disconnect":
            pass
        scope.cancel()


async def _pump(subscription: Subscription, sink: MemoryObjectSendStream[dict[str, Any]]) -> None:
    async with sink:
        async for envelope in subscription:
            try:
                sink.send_nowait(envelope)
            except anyio.WouldBlock:
                log.warning("events.client_lagging", seq=envelope.get("seq"))
