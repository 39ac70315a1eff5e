"""A generic telephony (CTI) endpoint for PBXs that are not Twilio.

POST /webhooks/cti/{inbox_id} with a JSON event, signed like the API channel:
`X-Threadline-Timestamp: <unix seconds>` and
`X-Threadline-Signature: v1=<hex HMAC-SHA256(inbox secret, "<timestamp>.<raw body>")>`.
See docs/channels/voice.md.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import Field, ValidationError

from threadline.adapters.db import tables as t
from threadline.conversations import CallDirection, CallEvent, record_call_event
from threadline.domain.channels import Channel
from threadline.domain.errors import DomainError, Forbidden, NotFound
from threadline.entrypoints.api.deps import RuntimeDep
from threadline.entrypoints.api.openapi import problem_responses
from threadline.entrypoints.api.schemas import Count, Moment, RowId, StrictBody
from threadline.integrations.api.sender import verify_signature

router = APIRouter(
    prefix="/webhooks/cti", tags=["webhooks: cti"], responses=problem_responses(400, 403, 413)
)


class MalformedPayload(DomainError):
    status = 400
    title = "Malformed payload"


class CtiEventBody(StrictBody):
    event: Literal["call.started", "call.answered", "call.ended", "call.missed"]
    call_id: str = Field(min_length=1, max_length=300)
    caller: str | None = Field(default=None, max_length=64)
    callee: str | None = Field(default=None, max_length=64)
    direction: Literal["inbound", "outbound"] = "inbound"
    duration_seconds: Count | None = None
    recording_url: str | None = Field(default=None, max_length=2000)
    occurred_at: Moment | None = None


def call_event(inbox_id: int, body: CtiEventBody) -> CallEvent:
    """The PBX's four events in the vocabulary every call report shares."""
    missed = body.event == "call.missed"
    status = {
        "call.started": "ringing",
        "call.answered": "in-progress",
        "call.ended": "completed",
        "call.missed": "no-answer",
    }[body.event]
    return CallEvent(
        inbox_id=inbox_id,
        call_id=body.call_id,
        direction=CallDirection(body.direction),
        from_number=body.caller,
        to_number=body.callee,
        status=status,
        duration_seconds=body.duration_seconds,
        recording_url=body.recording_url,
        # A missed call that left a recording is a voicemail.
        voicemail=missed and bool(body.recording_url),
        answered_by_agent=body.event == "call.answered",
        missed=missed,
        provider="cti",
    )


@router.post("/{inbox_id}")
async def cti_event(inbox_id: RowId, request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.sessionmaker() as session:
        inbox = await session.get(t.Inbox, inbox_id)
    if inbox is None or inbox.channel != Channel.VOICE.value:
        raise NotFound(f"no voice inbox {inbox_id}")
    raw = await request.body()
    if not inbox.secret or not verify_signature(
        inbox.secret,
        request.headers.get("x-threadline-timestamp", ""),
        raw,
        request.headers.get("x-threadline-signature", ""),
    ):
        raise Forbidden("the X-Threadline-Signature is missing, stale or does not match")
    try:
        body = CtiEventBody.model_validate_json(raw)
    except ValidationError as exc:
        reasons = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        raise MalformedPayload(reasons) from exc
    number = body.caller if body.direction == "inbound" else body.callee
    if not number:
        side = "caller" if body.direction == "inbound" else "callee"
        raise MalformedPayload(f"a {body.direction} call needs the {side}'s number")
    result = await record_call_event(runtime.uow, inbox.workspace_id, call_event(inbox.id, body))
    return {
        "message_id": result.message_id,
        "conversation_id": result.conversation_id,
        "customer_id": result.customer_id,
        "created": result.created,
        "outcome": result.outcome,
        "callback_task_id": result.callback_task_id,
    }
