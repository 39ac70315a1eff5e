"""The replayed traffic: a customer's message goes in through `receive_message` and is then
classified as an agent's screen would (customer card, assignment, a callback after a missed
call); an agent's answer goes out through `reply`, counted as delivered."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from threadline.adapters.db import tables as t
from threadline.conversations import ReceivedMessage, ReplyRequest, receive_message, reply
from threadline.core.unit_of_work import UnitOfWork, UnitOfWorkFactory
from threadline.core.views import conversation_view
from threadline.domain.channels import Channel
from threadline.domain.conversations import ConversationStatus, DeliveryStatus, Placement
from threadline.domain.events import ConversationUpdated
from threadline.domain.messaging.inbound import InboundMessage, SenderIdentity
from threadline.domain.security.access import Principal, Role
from threadline.seed import catalogue as cat
from threadline.seed.demo_workspace import DemoIds
from threadline.seed.people import Person
from threadline.seed.plan import Matter, Step, pick_agent

# Seeded replies count as already delivered: the demo must not try to send a month of mail.
SEEDED_JOB_STATUS = "done"


async def replay_inbound(
    uow_factory: UnitOfWorkFactory, ids: DemoIds, step: Step, rng: random.Random
) -> None:
    matter, person = step.matter, step.matter.person
    received = await receive_message(uow_factory, ids.workspace_id, _inbound(ids, step, rng))
    matter.conversation_id = received.conversation_id
    new_conversation = received.placement is Placement.NEW
    first_contact = not person.contacted
    person.contacted = True
    callback = step.call_outcome in ("missed", "voicemail")
    if not (new_conversation or first_contact or callback):
        return
    async with uow_factory() as uow:
        if first_contact:
            await _fill_in_customer(uow, ids, person, received.customer_id, rng)
        if new_conversation:
            await _classify_conversation(uow, ids, matter, received.conversation_id)
        if callback:
            _plan_callback(uow, ids, matter, received, rng)
        await uow.commit()


def _inbound(ids: DemoIds, step: Step, rng: random.Random) -> InboundMessage:
    """The message as its channel's adapter would have parsed it."""
    matter, person = step.matter, step.matter.person
    assert step.channel is not None
    lang = person.language
    if step.first_in_matter:
        text = rng.choice(cat.OPENERS[matter.topic][lang])
    else:
        text = rng.choice(cat.FOLLOW_UPS[lang])
    call = None
    if step.channel is Channel.VOICE:
        call, text = _call(rng, step.call_outcome or "answered", text)
    sender = person.identity_for(step.channel)
    others: tuple[SenderIdentity, ...] = ()
    if not person.contacted:
        others = tuple(i for i in person.all_identities() if i != sender)
    subject = cat.SUBJECTS[matter.topic][lang]
    return InboundMessage(
        inbox_id=ids.inboxes[step.channel],
        sender=sender,
        text=text,
        channel=step.channel,
        sender_name=person.name,
        subject=subject if step.first_in_matter else None,
        provider_message_id=(
            f"<{rng.getrandbits(64):016x}@{person.email.split('@')[1]}>"
            if step.channel is Channel.EMAIL
            else None
        ),
        other_identities=others,
        call=call,
    )


def _call(rng: random.Random, outcome: str, text: str) -> tuple[dict[str, Any], str]:
    """A call's details, and its text: the transcript's gist (none for a missed call)."""
    duration = rng.randint(45, 900) if outcome == "answered" else 0
    call: dict[str, Any] = {"outcome": outcome, "duration_seconds": duration, "recording_url": None}
    if outcome == "voicemail":
        duration = rng.randint(10, 60)
        call["duration_seconds"] = duration
    text = f"{cat.CALL_TRANSCRIPTS[outcome]} {text}" if outcome != "missed" else ""
    return call, text


async def _fill_in_customer(
    uow: UnitOfWork, ids: DemoIds, person: Person, customer_id: int, rng: random.Random
) -> None:
    """A new customer's card: attributes, labels and, for some, an agent's note."""
    session = uow.session
    now = uow.clock.now()
    customer = await session.get(t.Customer, customer_id)
    assert customer is not None
    customer.attributes = dict(person.attributes)
    customer.labels = list(person.labels)
    customer.updated_at = now
    if person.note:
        author = ids.agents[rng.choice(cat.AGENTS).email]
        session.add(
            t.Note(
                workspace_id=ids.workspace_id,
                customer_id=customer.id,
                author_agent_id=author.id,
                text=person.note,
                created_at=now,
            )
        )


async def _classify_conversation(
    uow: UnitOfWork, ids: DemoIds, matter: Matter, conversation_id: int
) -> None:
    """A new conversation's assignee, team, priority and labels, as planned."""
    session = uow.session
    conversation = await session.get(t.Conversation, conversation_id)
    assert conversation is not None
    conversation.assignee_id = ids.agents[matter.assignee].id if matter.assignee else None
    conversation.team_id = ids.teams[matter.team]
    conversation.priority = matter.priority
    for label in matter.labels:
        session.add(
            t.ConversationLabel(
                conversation_id=conversation.id, label=label, workspace_id=ids.workspace_id
            )
        )
    uow.emit(
        ids.workspace_id,
        ConversationUpdated(conversation_view(conversation)),
    )


def _plan_callback(
    uow: UnitOfWork, ids: DemoIds, matter: Matter, received: ReceivedMessage, rng: random.Random
) -> None:
    # A missed call is called back within the hour (the field's response target).
    now = uow.clock.now()
    due = now + timedelta(hours=1)
    resolved = matter.outcome is not ConversationStatus.OPEN
    uow.session.add(
        t.Task(
            workspace_id=ids.workspace_id,
            customer_id=received.customer_id,
            conversation_id=received.conversation_id,
            kind="callback",
            title=f"Call back {matter.person.name}",
            channel=Channel.VOICE.value,
            due_at=due,
            assignee_id=ids.agents[matter.assignee].id if matter.assignee else None,
            team_id=ids.teams[matter.team],
            status="done" if resolved else "open",
            created_at=now,
            completed_at=now + timedelta(minutes=rng.randint(5, 55)) if resolved else None,
        )
    )


async def replay_reply(
    uow_factory: UnitOfWorkFactory, ids: DemoIds, step: Step, rng: random.Random
) -> None:
    matter = step.matter
    assert matter.conversation_id is not None and step.channel is not None
    async with uow_factory() as uow:
        conversation = await uow.session.get(t.Conversation, matter.conversation_id)
        assert conversation is not None
        agent = await _answering_agent(uow, ids, conversation, matter)
        principal = Principal(
            workspace_id=ids.workspace_id, role=Role(agent.role), agent_id=agent.id
        )
        text = rng.choice(cat.AGENT_REPLIES[matter.person.language])
        message = await reply(
            uow, principal, ReplyRequest(matter.conversation_id, text, channel=step.channel)
        )
        await _mark_delivered(uow, message)
        await uow.commit()


async def _answering_agent(
    uow: UnitOfWork, ids: DemoIds, conversation: t.Conversation, matter: Matter
) -> t.Agent:
    if conversation.assignee_id is None:
        # An unassigned matter is picked up by whoever answers it first.
        spec = pick_agent(random.Random(conversation.id), matter.topic, Channel.EMAIL)
        conversation.assignee_id = ids.agents[spec.email].id
    agent = await uow.session.get(t.Agent, conversation.assignee_id)
    assert agent is not None
    return agent


async def _mark_delivered(uow: UnitOfWork, message: t.Message) -> None:
    message.delivery_status = DeliveryStatus.DELIVERED.value
    job = (
        await uow.session.execute(
            select(t.OutboundJob).where(t.OutboundJob.message_id == message.id)
        )
    ).scalar_one()
    job.status = SEEDED_JOB_STATUS
    job.attempts = 1
    job.finished_at = uow.clock.now()
    uow.outbound_queued = False
