"""A workspace's Twilio inbox ready for signed webhooks posted straight to the app."""

from __future__ import annotations

from tests.conftest import WorkspaceFixture
from tests.support.twilio import configure_twilio_inbox
from threadline.bootstrap import Runtime


async def twilio_inbox(runtime: Runtime, ws: WorkspaceFixture, channel: str) -> int:
    """The id of `ws`'s `channel` inbox, configured for Twilio. With no public base URL the
    signature is checked against the URL the test client asked for."""
    inbox_id = ws.inboxes[channel]
    await configure_twilio_inbox(runtime, inbox_id)
    runtime.settings.public_base_url = ""
    return inbox_id
