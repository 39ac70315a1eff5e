"""The web-chat widget as a visitor's page reaches it: the inbox's public embed key."""

from __future__ import annotations

from tests.conftest import WorkspaceFixture
from threadline.bootstrap import Runtime
from threadline.domain.security.access import Principal, Role
from threadline.web_chat.widget_inboxes import widget_admin_view


async def widget_key(runtime: Runtime, ws: WorkspaceFixture) -> str:
    """The embed key, as the admin's widget page makes it on first use."""
    async with runtime.uow() as uow:
        view = await widget_admin_view(
            uow, Principal(ws.id, Role.ADMIN, ws.admin_id), ws.inboxes["web_chat"]
        )
        await uow.commit()
    return str(view["public_key"])
