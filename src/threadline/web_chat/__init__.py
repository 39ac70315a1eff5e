"""Web chat: widget inboxes, visitor sessions, and what visitors send and see.

Code outside the package imports from here. Inside:

- visitors.py       widget settings, visitor sessions, messages, email and queue
- widget_reads.py   the visitor's claims, a workspace's widget key, a visitor's conversation
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from threadline.web_chat.visitors import (
        EmailOutcome,
        agent_card,
        authenticate_visitor,
        customer_conversation_ids,
        customer_events_between,
        find_widget_inbox,
        latest_conversation_id,
        note_offline_follow_up,
        record_visitor_email,
        send_visitor_message,
        start_visitor_session,
        update_widget_settings,
        visitor_customer_id,
        visitor_may_download,
        visitor_queue,
        visitor_state,
        widget_admin_view,
        widget_settings,
    )
    from threadline.web_chat.widget_reads import (
        conversation_in_workspace,
        presented_visitor,
        widget_key_of_workspace,
    )
else:
    from threadline.core.faces import lazy_face

    __getattr__ = lazy_face(__name__, ["visitors", "widget_reads"])

__all__ = [
    "EmailOutcome",
    "agent_card",
    "authenticate_visitor",
    "conversation_in_workspace",
    "customer_conversation_ids",
    "customer_events_between",
    "find_widget_inbox",
    "latest_conversation_id",
    "note_offline_follow_up",
    "presented_visitor",
    "record_visitor_email",
    "send_visitor_message",
    "start_visitor_session",
    "update_widget_settings",
    "visitor_customer_id",
    "visitor_may_download",
    "visitor_queue",
    "visitor_state",
    "widget_admin_view",
    "widget_key_of_workspace",
    "widget_settings",
]
