"""Web chat: widget inboxes, visitor sessions, and what visitors send and see.

Code outside the package imports from here. Inside:

- widget_inboxes.py         a widget's inbox by its embed key; its settings and key (admins)
- visitor_sessions.py       a visitor's session started or resumed, and the state it shows
- visitor_messages.py       what a visitor sends: messages, a typed email, an offline note
- visitor_wait.py           the visitor's place in the queue, or the agent helping them
- visitor_conversations.py  the visitor's conversations, their events and files
- widget_reads.py           the visitor's claims, a workspace's widget key, a visitor's conversation
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from threadline.web_chat.visitor_conversations import (
        customer_conversation_ids,
        customer_events_between,
        latest_conversation_id,
        visitor_may_download,
    )
    from threadline.web_chat.visitor_messages import (
        EmailOutcome,
        note_offline_follow_up,
        record_visitor_email,
        send_visitor_message,
    )
    from threadline.web_chat.visitor_sessions import (
        authenticate_visitor,
        start_visitor_session,
        visitor_customer_id,
        visitor_state,
    )
    from threadline.web_chat.visitor_wait import agent_card, visitor_queue
    from threadline.web_chat.widget_inboxes import (
        find_widget_inbox,
        update_widget_settings,
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

    __getattr__ = lazy_face(
        __name__,
        [
            "widget_inboxes",
            "visitor_sessions",
            "visitor_messages",
            "visitor_wait",
            "visitor_conversations",
            "widget_reads",
        ],
    )

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
