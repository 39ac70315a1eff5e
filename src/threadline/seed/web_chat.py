"""The demo workspace's web-chat widget: its embed key, look, welcome and an invitation at
the demo shop's checkout (see /demo/shop)."""

from __future__ import annotations

from threadline.adapters.db import tables as t
from threadline.domain.web_chat import parse_widget_settings
from threadline.services.unit_of_work import UnitOfWork
from threadline.services.web_chat import WIDGET_SETTING, ensure_public_key

DEMO_WIDGET = {
    "prechat_enabled": False,
    "welcome_text": "Hi! Questions about an appliance or an order? Write to us.",
    "primary_colour": "#2d6a4f",
    "text_colour": "#ffffff",
    "invitations": [
        {
            "url_pattern": "/demo/shop/checkout*",
            "seconds_on_page": 30,
            "message": "Need a hand with your order? We are here to help.",
        }
    ],
}


async def seed_web_chat(uow: UnitOfWork, workspace_id: int, inbox_id: int) -> str:
    """Configure the demo's web-chat inbox; returns the key the shop page embeds."""
    inbox = await uow.session.get(t.Inbox, inbox_id)
    assert inbox is not None and inbox.workspace_id == workspace_id
    key = ensure_public_key(inbox)
    inbox.settings = {
        **inbox.settings,
        WIDGET_SETTING: parse_widget_settings(DEMO_WIDGET).as_dict(),
    }
    await uow.session.flush()
    return key
