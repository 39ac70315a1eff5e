"""The typed domain events (no database): one class per event type, each building the wire
payload the use-cases used to write out as dict literals, key for key and in the same order,
as docs/events.md documents it."""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from threadline.domain.conversations import Placement
from threadline.domain.csat import AnswerDecision
from threadline.domain.events import (
    EVENT_CLASSES,
    AgentMentioned,
    AgentUpdated,
    AssignmentCreated,
    AssignmentOffered,
    AssignmentOfferEnded,
    Audience,
    ConversationCreated,
    ConversationUpdated,
    CsatRecorded,
    CustomerCreated,
    CustomerMerged,
    CustomerUnmerged,
    CustomerUpdated,
    DomainEvent,
    EventType,
    MessageCreated,
    MessageUpdated,
    NoteCreated,
    OfferRecorded,
    OfferUpdated,
    OrderRecorded,
    OrderUpdated,
    SlaBreached,
    SlaEscalated,
    SlaWarning,
    TaskCreated,
    TaskUpdated,
    WireEvent,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "events.md"

CONVERSATION = {"id": 7, "status": "open", "assignee_id": 2, "team_id": None}
SCOPE = {"id": 7, "assignee_id": 2, "team_id": None}
MESSAGE = {"id": 40, "conversation_id": 7, "channel": "sms", "direction": "inbound", "meta": {}}
CUSTOMER = {"id": 3, "name": "Ola"}
OTHER_CUSTOMER = {"id": 4, "name": "Ola N."}
MERGE = {"id": 1, "source_id": 3, "target_id": 4}
REOPENED = {"cause": "customer_wrote", "previous_status": "resolved", "wrap_up": None}
TASK = {"id": 5, "conversation_id": 7, "status": "open"}
AGENT = {"id": 2, "presence": "online"}
CLOCK = {"id": 9, "kind": "first_response"}
SURVEY = {"id": 11, "conversation_id": 7, "score": 5}
ASSIGNMENT = {"id": 12, "conversation_id": 7, "agent_id": 2}
ROUTING_OFFER = {"id": 13, "conversation_id": 7, "agent_id": 2}
NOTIFICATION = {"id": 14, "conversation_id": 7, "agent_id": 2}
ORDER = {"id": 15, "number": "A-1"}
NOTE = {"id": 16, "customer_id": 3}
OFFER = {"id": 17, "customer_id": 3, "conversation_id": 7}


# Each event with the payload that the emit site wrote as a literal before the events were
# typed, and its conversation. The first sample of a class has every optional key set, the
# last none of them.
SAMPLES: list[tuple[DomainEvent, dict[str, Any], int | None]] = [
    (CustomerCreated(CUSTOMER), CUSTOMER, None),
    (CustomerUpdated(CUSTOMER), CUSTOMER, None),
    (
        CustomerMerged(merge=MERGE, source=CUSTOMER, target=OTHER_CUSTOMER),
        {"merge": MERGE, "source": CUSTOMER, "target": OTHER_CUSTOMER},
        None,
    ),
    (
        CustomerUnmerged(
            merge=MERGE, restored={"notes": [1]}, source=CUSTOMER, target=OTHER_CUSTOMER
        ),
        {"merge": MERGE, "restored": {"notes": [1]}, "source": CUSTOMER, "target": OTHER_CUSTOMER},
        None,
    ),
    (
        ConversationCreated(CONVERSATION),
        {"conversation": CONVERSATION, "placement": Placement.NEW, "status_changed": True},
        7,
    ),
    # No emit site sets them all at once; the order they take when set.
    (
        ConversationUpdated(
            CONVERSATION,
            placement=Placement.JOIN,
            reason="sla.warning",
            routing=True,
            status_changed=True,
            reopened=REOPENED,
        ),
        {
            "conversation": CONVERSATION,
            "placement": Placement.JOIN,
            "reason": "sla.warning",
            "routing": True,
            "status_changed": True,
            "reopened": REOPENED,
        },
        7,
    ),
    # receive_message, the customer writing back to a resolved matter.
    (
        ConversationUpdated(
            CONVERSATION, placement=Placement.REOPEN, status_changed=True, reopened=REOPENED
        ),
        {
            "conversation": CONVERSATION,
            "placement": Placement.REOPEN,
            "status_changed": True,
            "reopened": REOPENED,
        },
        7,
    ),
    # receive_message, a message joining an open matter.
    (
        ConversationUpdated(CONVERSATION, placement=Placement.JOIN, status_changed=False),
        {"conversation": CONVERSATION, "placement": Placement.JOIN, "status_changed": False},
        7,
    ),
    # a follow-up falling due (reply.py and the status change give no reason).
    (
        ConversationUpdated(CONVERSATION, reason="follow_up_due", reopened=REOPENED),
        {
            "conversation": CONVERSATION,
            "reason": "follow_up_due",
            "status_changed": True,
            "reopened": REOPENED,
        },
        7,
    ),
    (
        ConversationUpdated(CONVERSATION, reason="sla.breach"),
        {"conversation": CONVERSATION, "reason": "sla.breach"},
        7,
    ),
    (
        ConversationUpdated(CONVERSATION, routing=True, status_changed=False),
        {"conversation": CONVERSATION, "routing": True, "status_changed": False},
        7,
    ),
    (
        ConversationUpdated(CONVERSATION, reopened=REOPENED),
        {"conversation": CONVERSATION, "status_changed": True, "reopened": REOPENED},
        7,
    ),
    (ConversationUpdated(CONVERSATION), {"conversation": CONVERSATION}, 7),
    (MessageCreated(MESSAGE, SCOPE), {"message": MESSAGE, "conversation": SCOPE}, 7),
    (MessageUpdated(MESSAGE, SCOPE), {"message": MESSAGE, "conversation": SCOPE}, 7),
    # A reply whose conversation is gone still names it.
    (MessageUpdated(MESSAGE, None), {"message": MESSAGE, "conversation": None}, 7),
    (NoteCreated(NOTE), {"note": NOTE}, None),
    # Offers to customers are not tied to their conversation: every agent hears of them.
    (OfferRecorded(OFFER), {"offer": OFFER}, None),
    (OfferUpdated(OFFER), {"offer": OFFER}, None),
    (TaskCreated(TASK), {"task": TASK}, None),
    (
        TaskUpdated(TASK, reason="follow_up_due"),
        {"task": TASK, "reason": "follow_up_due"},
        None,
    ),
    (TaskUpdated(TASK), {"task": TASK}, None),
    (
        AgentUpdated(AGENT, "missed 3 offers in a row"),
        {"agent": AGENT, "why": "missed 3 offers in a row"},
        None,
    ),
    (AgentUpdated(AGENT), {"agent": AGENT}, None),
    (
        SlaWarning(
            clock=CLOCK, policy="Default", actions=["notify_supervisor"], conversation=SCOPE
        ),
        {
            "clock": CLOCK,
            "policy": "Default",
            "actions": ["notify_supervisor"],
            "conversation": SCOPE,
        },
        7,
    ),
    (
        SlaBreached(clock=CLOCK, policy=None, actions=[], conversation=SCOPE),
        {"clock": CLOCK, "policy": None, "actions": [], "conversation": SCOPE},
        7,
    ),
    (
        SlaEscalated(
            action="notify_supervisor",
            stage="warning",
            notify_roles=["supervisor", "admin"],
            notify_agent_ids=[1, 3],
            clock=CLOCK,
            conversation=SCOPE,
        ),
        {
            "action": "notify_supervisor",
            "stage": "warning",
            "notify": {"roles": ["supervisor", "admin"], "agent_ids": [1, 3]},
            "clock": CLOCK,
            "conversation": SCOPE,
        },
        7,
    ),
    (
        CsatRecorded(SURVEY, AnswerDecision.UPDATE),
        {"csat": SURVEY, "decision": "update"},
        7,
    ),
    (AssignmentCreated(ASSIGNMENT), {"assignment": ASSIGNMENT}, 7),
    (AgentMentioned(2, NOTIFICATION), {"agent_id": 2, "notification": NOTIFICATION}, 7),
    (OrderRecorded(ORDER), {"order": ORDER}, None),
    (OrderUpdated(ORDER), {"order": ORDER}, None),
    (AssignmentOffered(ROUTING_OFFER), {"offer": ROUTING_OFFER}, 7),
    (
        AssignmentOfferEnded(ROUTING_OFFER, "not answered in time"),
        {"offer": ROUTING_OFFER, "why": "not answered in time"},
        7,
    ),
]


def _event_classes_defined() -> set[type]:
    """Every public event class the events package defines (private ones are shared bases)."""
    found: set[type] = set()
    pending: list[type] = list(DomainEvent.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        module = sys.modules[cls.__module__]
        # dataclass(slots=True) replaces the class it decorates: only the one bound counts.
        if getattr(module, cls.__name__, None) is not cls:
            continue
        if cls.__module__.startswith("threadline.domain.events") and cls.__name__[0] != "_":
            found.add(cls)
    return found


def test_each_event_type_has_exactly_one_class() -> None:
    assert Counter(c.type for c in EVENT_CLASSES) == Counter(EventType)
    assert [c.type for c in EVENT_CLASSES] == list(EventType)
    assert _event_classes_defined() == set(EVENT_CLASSES)


def test_every_event_class_is_sampled() -> None:
    assert {type(event) for event, _, _ in SAMPLES} == set(EVENT_CLASSES)


@pytest.mark.parametrize(("event", "payload", "conversation_id"), SAMPLES)
def test_the_wire_payload_is_the_documented_dict_in_its_order(
    event: DomainEvent, payload: dict[str, Any], conversation_id: int | None
) -> None:
    built = event.payload()
    # Same keys, values and key order (a WebSocket frame is the dict as serialised).
    assert list(built.items()) == list(payload.items())
    assert event.conversation_id == conversation_id
    assert event.wire() == WireEvent(
        event.type.value, event.audience.value, conversation_id, payload
    )


def test_only_mentions_are_for_one_agent() -> None:
    audiences = {c: c.audience for c in EVENT_CLASSES}
    assert {c for c, a in audiences.items() if a is not Audience.EVERYONE} == {AgentMentioned}
    assert AgentMentioned.audience is Audience.AGENT


def test_a_customer_event_s_payload_is_the_customer_view_itself() -> None:
    assert CustomerCreated(CUSTOMER).payload() is CUSTOMER
    assert CustomerUpdated(CUSTOMER).payload() is CUSTOMER


def test_a_reopened_conversation_cannot_say_its_status_is_unchanged() -> None:
    with pytest.raises(ValueError, match="re-opened"):
        ConversationUpdated(CONVERSATION, status_changed=False, reopened=REOPENED)


def test_message_events_say_who_wrote() -> None:
    customer = MessageCreated(MESSAGE, SCOPE)
    automated = MessageCreated({**MESSAGE, "meta": {"automated": True}}, SCOPE)
    reply = MessageCreated({**MESSAGE, "direction": "outbound", "author_agent_id": 2}, SCOPE)
    auto_reply = MessageCreated(
        {**MESSAGE, "direction": "outbound", "author_agent_id": None}, SCOPE
    )
    call = MessageUpdated(
        {**MESSAGE, "direction": "inbound", "call": {"outcome": "answered"}}, SCOPE
    )
    missed = MessageUpdated({**MESSAGE, "call": {"outcome": "missed"}}, SCOPE)
    assert (customer.from_customer, customer.agent_reply, customer.answered_call) == (
        True,
        False,
        False,
    )
    assert (automated.from_customer, automated.agent_reply) == (False, False)
    assert (reply.from_customer, reply.agent_reply) == (False, True)
    assert auto_reply.agent_reply is False
    assert (call.from_customer, call.answered_call) == (True, True)
    assert missed.answered_call is False
    assert customer.channel == "sms"


def test_agent_and_task_events_give_their_ids() -> None:
    assert (AgentUpdated(AGENT).agent_id, AgentUpdated(AGENT).presence) == (2, "online")
    assert (AgentUpdated({}).agent_id, AgentUpdated({}).presence) == (None, None)
    assert TaskCreated(TASK).task_id == TaskUpdated(TASK).task_id == 5
    assert TaskUpdated({}).task_id is None


# -- docs/events.md ----------------------------------------------------------------------------

_ROW = re.compile(
    r"^\| `(?P<type>[a-z_.]+)` \| `(?P<cls>\w+)` \| (?P<audience>\w+) \| (?P<payload>.+) \|$"
)


def _documented() -> dict[str, tuple[str, str, list[str]]]:
    rows: dict[str, tuple[str, str, list[str]]] = {}
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        match = _ROW.match(line)
        if match is not None:
            keys = re.findall(r"`(\w+\??)`", match["payload"])
            rows[match["type"]] = (match["cls"], match["audience"], keys)
    return rows


def test_the_documentation_lists_every_event_with_its_class_and_audience() -> None:
    documented = _documented()
    assert list(documented) == [t.value for t in EventType]
    for cls in EVENT_CLASSES:
        name, audience, _ = documented[cls.type.value]
        assert (name, audience) == (cls.__name__, cls.audience.value)


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=lambda c: c.__name__)
def test_the_documented_payload_keys_are_the_class_s(cls: type[DomainEvent]) -> None:
    _, _, keys = _documented()[cls.type.value]
    samples = [event.payload() for event, _, _ in SAMPLES if type(event) is cls]
    if not keys:
        # Documented as the customer's view itself.
        assert cls in (CustomerCreated, CustomerUpdated)
        return
    every_key = [key.rstrip("?") for key in keys]
    always = [key for key in keys if not key.endswith("?")]
    assert list(samples[0]) == every_key
    assert list(samples[-1]) == always
    for payload in samples:
        assert set(always) <= set(payload) <= set(every_key)
        assert list(payload) == [key for key in every_key if key in payload]
