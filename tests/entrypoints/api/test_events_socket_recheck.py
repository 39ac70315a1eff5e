"""An open event socket checks its credential again: signing out closes the sockets opened
with that token (1008, with the reason), and only those."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.conftest import WorkspaceFixture, customer_writes, login, settings_for
from tests.support.server import events_until_message, subscribed, wait_ready
from threadline.config import Settings

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(database_url: str) -> Settings:
    # Checked often, so the test need not wait the default 30 s.
    return settings_for(database_url, socket_recheck_seconds=0.2)


async def test_signing_out_closes_the_sockets_of_that_token(
    server: str, client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    laptop = await login(client, workspace.slug, "agent")
    phone = await login(client, workspace.slug, "agent")
    token_of = {
        name: headers["Authorization"].removeprefix("Bearer ")
        for name, headers in (("laptop", laptop), ("phone", phone))
    }
    async with (
        subscribed(server, token=token_of["laptop"]) as on_laptop,
        subscribed(server, token=token_of["phone"]) as on_phone,
    ):
        await wait_ready(on_laptop)
        await wait_ready(on_phone)
        async with httpx.AsyncClient(base_url=f"http://{server}") as http:
            out = await http.post("/api/v1/auth/logout", headers=laptop)
        assert out.status_code == 204

        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(5):
                while True:
                    await on_laptop.recv()
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (
            1008,
            "this token was signed out; sign in again",
        )
        # The phone's socket stays open and live.
        await customer_writes(client, workspace, "web_chat", "web_visitor", "v-1", "Still there?")
        frames = await events_until_message(on_phone, "Still there?")
        assert frames[-1]["payload"]["message"]["text"] == "Still there?"
