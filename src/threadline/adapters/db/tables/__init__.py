"""The relational schema: typed SQLAlchemy 2 models, one module per capability. Every row
carries its workspace.

Import the package (`from threadline.adapters.db import tables as t`): importing it loads every
model, so `Base.metadata` is the whole schema Alembic compares the migrations with.
"""

from __future__ import annotations

from threadline.adapters.db.tables.audit import AuditEntry
from threadline.adapters.db.tables.base import Base
from threadline.adapters.db.tables.content import (
    CannedResponse,
    LabelScript,
    Product,
    ProductRelation,
    WrapUpCode,
)
from threadline.adapters.db.tables.conversations import (
    AttributeDefinition,
    Conversation,
    ConversationChannel,
    ConversationLabel,
    Label,
    Message,
    Notification,
)
from threadline.adapters.db.tables.csat import CsatSettings, CsatSurvey
from threadline.adapters.db.tables.customers import (
    Customer,
    CustomerMerge,
    Identity,
    Note,
    Offer,
    Order,
    OrderItem,
)
from threadline.adapters.db.tables.delivery import MailboxCursor, OutboundJob
from threadline.adapters.db.tables.events import Event, Timer
from threadline.adapters.db.tables.routing import (
    AgentLoad,
    Assignment,
    RoutingFillRequest,
    RoutingOffer,
    RoutingProgress,
    RoutingSettings,
    TeamRouting,
)
from threadline.adapters.db.tables.service_levels import BusinessCalendarRow, SlaClock, SlaPolicy
from threadline.adapters.db.tables.tasks import Task
from threadline.adapters.db.tables.workspace import (
    EMAIL_INBOXES,
    Agent,
    ApiKey,
    EmailDomain,
    Inbox,
    RevokedToken,
    SignUpLink,
    Team,
    TeamMember,
    Workspace,
)

__all__ = [
    "EMAIL_INBOXES",
    "Agent",
    "AgentLoad",
    "ApiKey",
    "Assignment",
    "AttributeDefinition",
    "AuditEntry",
    "Base",
    "BusinessCalendarRow",
    "CannedResponse",
    "Conversation",
    "ConversationChannel",
    "ConversationLabel",
    "CsatSettings",
    "CsatSurvey",
    "Customer",
    "CustomerMerge",
    "EmailDomain",
    "Event",
    "Identity",
    "Inbox",
    "Label",
    "LabelScript",
    "MailboxCursor",
    "Message",
    "Note",
    "Notification",
    "Offer",
    "Order",
    "OrderItem",
    "OutboundJob",
    "Product",
    "ProductRelation",
    "RevokedToken",
    "RoutingFillRequest",
    "RoutingOffer",
    "RoutingProgress",
    "RoutingSettings",
    "SignUpLink",
    "SlaClock",
    "SlaPolicy",
    "Task",
    "Team",
    "TeamMember",
    "TeamRouting",
    "Timer",
    "Workspace",
    "WrapUpCode",
]
