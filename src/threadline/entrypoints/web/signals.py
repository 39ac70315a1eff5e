"""The agent's typing notice (see core/typing_signals.py): the page posts it while the
agent writes a reply."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from threadline.core.lookups import get_visible_conversation
from threadline.core.typing_signals import publish_typing
from threadline.domain.channels import Channel
from threadline.entrypoints.api.deps import AgentDep, RuntimeDep
from threadline.entrypoints.api.schemas import RowId
from threadline.workspace import signed_in_agent

router = APIRouter(prefix="/app", include_in_schema=False)


@router.post("/conversations/{conversation_id}/typing", status_code=status.HTTP_204_NO_CONTENT)
async def agent_is_typing(
    conversation_id: RowId, request: Request, principal: AgentDep, runtime: RuntimeDep
) -> Response:
    """The signed-in agent is typing a reply (the page calls this at most every 2 s), by the
    channel in the optional JSON body ({"channel": "web_chat"})."""
    channel = await _reply_channel(request)
    async with runtime.sessionmaker() as session:
        conversation = await get_visible_conversation(session, principal, conversation_id)
        agent = await signed_in_agent(session, principal)
        name = agent.name if agent is not None else ""
    await publish_typing(runtime.pubsub, conversation, "agent", name, principal.agent_id, channel)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _reply_channel(request: Request) -> str | None:
    """The channel named in the body, if it is one of ours; anything else counts as none."""
    try:
        body = await request.json() if await request.body() else {}
    except ValueError:
        return None
    channel = body.get("channel") if isinstance(body, dict) else None
    return channel if channel in Channel._value2member_map_ else None
