"""SMS through the Twilio stand-in (tests/support/twilio.py): the workspace's SMS inbox on
its number, and the customer's text that an agent then answers.

The SMS, delivery and journey tests all start from this; each then makes Twilio behave as
its case needs.
"""

from __future__ import annotations

import httpx
from sqlalchemy import select

from tests.conftest import WorkspaceFixture
from tests.support.delivery import agent_replies
from tests.support.twilio import FakeTwilio, configure_twilio_inbox, fixture_pairs, post_signed
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.domain.channels import Channel


async def sms_inbox_on(runtime: Runtime, workspace: WorkspaceFixture, twilio: FakeTwilio) -> int:
    """The workspace's SMS inbox, sending through `twilio`; with no public URL we give
    Twilio no StatusCallback. Returns the inbox id."""
    inbox_id = workspace.inboxes["sms"]
    await configure_twilio_inbox(runtime, inbox_id)
    runtime.settings.twilio_api_base = twilio.url
    runtime.settings.public_base_url = ""
    return inbox_id


async def post_sms(
    client: httpx.AsyncClient, inbox_id: int, pairs: list[tuple[str, str]] | None = None
) -> httpx.Response:
    """Twilio's signed inbound-SMS webhook; the recorded sms_inbound.form unless `pairs`."""
    form = fixture_pairs("sms_inbound.form") if pairs is None else pairs
    return await post_signed(client, f"/webhooks/twilio/{inbox_id}/sms", form)


async def answer_a_customer_sms(
    runtime: Runtime,
    client: httpx.AsyncClient,
    workspace: WorkspaceFixture,
    inbox_id: int,
    text: str,
) -> int:
    """The recorded customer SMS arrives (the first and only message stored), and the agent
    answers it by SMS with `text`; the id of the queued reply."""
    inbound = await post_sms(client, inbox_id)
    assert inbound.status_code == 200, inbound.text
    async with runtime.sessionmaker() as session:
        conversation_id = (await session.execute(select(t.Message.conversation_id))).scalar_one()
    return await agent_replies(runtime, workspace, conversation_id, text, Channel.SMS)
