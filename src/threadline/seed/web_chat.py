"""The demo workspace's web-chat widget: its embed key, look, welcome and an invitation at
the demo shop's checkout (see /demo/shop)."""

from __future__ import annotations

from threadline.core.unit_of_work import UnitOfWork
from threadline.domain.security.access import Principal, Role
from threadline.web_chat import update_widget_settings

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
    """Configure the demo's web-chat inbox as an admin would; returns the key the shop page
    embeds."""
    admin = Principal(workspace_id, Role.ADMIN, None)
    view = await update_widget_settings(uow, admin, inbox_id, DEMO_WIDGET)
    return str(view["public_key"])
