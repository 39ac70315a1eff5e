"""Read-side queries for the API: searching, the customer card, timelines and lists.

Reads open no unit of work and emit nothing; every query is scoped to the principal's
workspace and, for conversations, to what the principal may see.

Code outside the package imports from here. Inside, from lowest to highest:

- paging.py               page sizes, pages and id cursors
- visibility.py           which conversations a principal may see, as SQL
- conversation_views.py   conversations with their labels and channels, one query each
- customer_search.py      customers by name or identity, and their identities
- customer_card.py        the card shown on every new contact
- conversation_list.py    the filtered, paged conversation list
- conversation_detail.py  one conversation or one message
- timelines.py            a conversation's messages page by page; a customer's timeline
"""

from threadline.conversations.queries.conversation_detail import (
    conversation_detail,
    message_detail,
)
from threadline.conversations.queries.conversation_list import (
    ConversationFilters,
    decode_conversation_cursor,
    encode_conversation_cursor,
    list_conversation_rows,
    list_conversations,
)
from threadline.conversations.queries.customer_card import CARD_LIST_LIMIT, customer_card
from threadline.conversations.queries.customer_search import search_customers
from threadline.conversations.queries.paging import MAX_PAGE, Page, page_size
from threadline.conversations.queries.timelines import (
    TIMELINE_PAGE,
    MessageOrder,
    Timeline,
    conversation_messages,
    conversation_timeline,
    customer_timeline,
)
from threadline.conversations.queries.visibility import visible_conversations

__all__ = [
    "CARD_LIST_LIMIT",
    "MAX_PAGE",
    "TIMELINE_PAGE",
    "ConversationFilters",
    "MessageOrder",
    "Page",
    "Timeline",
    "conversation_detail",
    "conversation_messages",
    "conversation_timeline",
    "customer_card",
    "customer_timeline",
    "decode_conversation_cursor",
    "encode_conversation_cursor",
    "list_conversation_rows",
    "list_conversations",
    "message_detail",
    "page_size",
    "search_customers",
    "visible_conversations",
]
