"""Which tables the audit log watches, under what name, and what of them it may not show.

A table missing here is not audited: the bookkeeping ones (events, timers, outbound jobs, SLA
clocks, agent loads, routing progress) change as a consequence of an audited change, and
would only repeat it. The test that walks the API's write operations
(tests/audit/test_every_write_is_audited.py) fails when a new operation changes nothing here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Values = Mapping[str, Any]
# (what the action would be named by default, before, after) -> the action's verb
Verb = Callable[[str, Values, Values], str]


@dataclass(frozen=True, slots=True)
class Audited:
    object_type: str
    # Customer content: the entry says it changed, never what it was (domain/audit.py).
    withheld: frozenset[str] = frozenset()
    verb: Verb | None = None
    # Rows this table holds that are not anyone's action (a customer's inbound message).
    counts: Callable[[Any], bool] | None = None


# Columns that move by themselves whenever something else changes.
BOOKKEEPING = frozenset(
    {
        "updated_at",
        "last_message_at",
        "last_inbound_at",
        "last_inbound_channel",
        "last_inbound_inbox_id",
        "event_seq",
        "last_used_at",
    }
)


def _switched(column: str, on: str, off: str) -> Verb:
    """Name the action `on`/`off` when `column` goes from empty to set (or back)."""

    def verb(default: str, before: Values, after: Values) -> str:
        if column not in after:
            return default
        if not before.get(column) and after.get(column):
            return on
        if before.get(column) and not after.get(column):
            return off
        return default

    return verb


def _agent_verb(default: str, before: Values, after: Values) -> str:
    if "active" in after and set(after) <= {"active"}:
        return "reactivated" if after["active"] else "deactivated"
    if "role" in after and before.get("role") != after.get("role"):
        return "role_changed"
    return default


def _not_inbound(row: Any) -> bool:
    return getattr(row, "direction", None) != "inbound"


_PERSONAL_MESSAGE = frozenset(
    {"text", "html", "attachments", "sender_identity", "call", "meta", "failure_reason"}
)

AUDITED: dict[str, Audited] = {
    "workspaces": Audited("workspace"),
    "agents": Audited("agent", verb=_agent_verb),
    "teams": Audited("team"),
    "team_members": Audited("team_member"),
    "api_keys": Audited("api_key", verb=_switched("revoked_at", "revoked", "restored")),
    "inboxes": Audited("inbox"),
    "email_domains": Audited("email_domain"),
    "routing_settings": Audited("routing_settings"),
    "team_routing": Audited("team_routing"),
    "csat_settings": Audited("csat_settings"),
    "business_calendars": Audited("business_calendar"),
    "sla_policies": Audited("sla_policy"),
    "wrap_up_codes": Audited("wrap_up_code"),
    "canned_responses": Audited("canned_response"),
    "label_scripts": Audited("label_script"),
    "products": Audited("product"),
    "product_relations": Audited("product_relation"),
    "customers": Audited("customer", withheld=frozenset({"name", "attributes"})),
    "identities": Audited("identity", withheld=frozenset({"value"})),
    "notes": Audited("note", withheld=frozenset({"text"})),
    "offers": Audited("offer"),
    "orders": Audited("order"),
    "order_items": Audited("order_item"),
    "customer_merges": Audited("customer_merge", verb=_switched("undone_at", "undone", "redone")),
    "conversations": Audited(
        "conversation", withheld=frozenset({"subject", "attributes", "wrap_up_summary"})
    ),
    "conversation_labels": Audited("conversation_label"),
    "messages": Audited("message", withheld=_PERSONAL_MESSAGE, counts=_not_inbound),
    "tasks": Audited("task", withheld=frozenset({"note"})),
    "notifications": Audited("notification", withheld=frozenset({"excerpt"})),
    "routing_offers": Audited("routing_offer"),
}
