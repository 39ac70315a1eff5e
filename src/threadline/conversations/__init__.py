"""Conversations: one matter of one customer across channels, from the message in to the
reply out, with what agents do to it on the way.

Code outside the package imports from here. Inside:

- receive.py         receive_message, the one way in for every channel
- replies.py         reply, on the channel the agent chooses (through the outbox);
                     reply_channel.py and reply_rules.py say which, reply_box.py what the
                     reply box offers (reply_options)
- actions.py         status, assignment, priority and labels
- wrap_up.py         resolving with a classification and a planned next step
- internal_notes.py  notes between agents; notifications.py their @mentions
- calls.py, channels.py  calls in the timeline, channels used
- reopen.py          status transitions written onto the row, and re-opening
- queries/           the read side: lists, search, timelines, the customer card (a face of
                     its own: `from threadline.conversations import queries`)
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from threadline.conversations.actions import (
        KEEP,
        MAX_LABEL_LENGTH,
        assign,
        change_status,
        set_labels,
        set_priority,
    )
    from threadline.conversations.calls import (
        KNOWN_STATUSES,
        CallDirection,
        CallEvent,
        record_call_event,
    )
    from threadline.conversations.internal_notes import add_internal_note
    from threadline.conversations.notifications import (
        list_notifications,
        mark_all_read,
        mark_read,
        notification_view,
    )
    from threadline.conversations.receive import ReceivedMessage, receive_message
    from threadline.conversations.reopen import apply_lifecycle, lifecycle_of
    from threadline.conversations.replies import MAX_REPLY_LENGTH, ReplyRequest, reply
    from threadline.conversations.reply_box import reply_options
    from threadline.conversations.reply_rules import ReplyTemplate
    from threadline.conversations.wrap_up import (
        FollowUpOwner,
        PlannedFollowUp,
        wrap_up_conversation,
    )
else:
    from threadline.core.faces import lazy_face

    __getattr__ = lazy_face(
        __name__,
        [
            "actions",
            "calls",
            "internal_notes",
            "notifications",
            "receive",
            "reopen",
            "replies",
            "reply_box",
            "reply_rules",
            "wrap_up",
        ],
    )

__all__ = [
    "KEEP",
    "KNOWN_STATUSES",
    "MAX_LABEL_LENGTH",
    "MAX_REPLY_LENGTH",
    "CallDirection",
    "CallEvent",
    "FollowUpOwner",
    "PlannedFollowUp",
    "ReceivedMessage",
    "ReplyRequest",
    "ReplyTemplate",
    "add_internal_note",
    "apply_lifecycle",
    "assign",
    "change_status",
    "lifecycle_of",
    "list_notifications",
    "mark_all_read",
    "mark_read",
    "notification_view",
    "receive_message",
    "record_call_event",
    "reply",
    "reply_options",
    "set_labels",
    "set_priority",
    "wrap_up_conversation",
]
