"""The end of a replayed matter: set pending, or resolved with its wrap-up, with the offer
the agent made and the follow-up task planned after it."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from threadline.adapters.db import tables as t
from threadline.conversations import apply_lifecycle, lifecycle_of
from threadline.core.unit_of_work import UnitOfWork, UnitOfWorkFactory
from threadline.core.views import conversation_view
from threadline.domain.channels import Channel
from threadline.domain.conversations import ConversationStatus, resolve, set_aside
from threadline.domain.events import ConversationUpdated
from threadline.seed import catalogue as cat
from threadline.seed.demo_workspace import DemoIds
from threadline.seed.plan import Matter, Step


async def replay_closing(
    uow_factory: UnitOfWorkFactory, ids: DemoIds, step: Step, rng: random.Random
) -> None:
    matter = step.matter
    assert matter.conversation_id is not None
    async with uow_factory() as uow:
        now = uow.clock.now()
        conversation = await uow.session.get(t.Conversation, matter.conversation_id)
        assert conversation is not None
        _settle(conversation, matter, now)
        if matter.offer is not None:
            _record_offer(uow, ids, conversation, matter.offer, rng)
        if matter.follow_up:
            _plan_follow_up(uow, ids, conversation, matter, rng)
        uow.emit(
            ids.workspace_id,
            ConversationUpdated(conversation_view(conversation)),
        )
        await uow.commit()


def _settle(conversation: t.Conversation, matter: Matter, now: datetime) -> None:
    current = lifecycle_of(conversation)
    if matter.outcome is ConversationStatus.PENDING:
        apply_lifecycle(conversation, set_aside(current, ConversationStatus.PENDING))
        return
    summary = f"{cat.SUBJECTS[matter.topic]['en']}: {matter.wrap_up_code.replace('_', ' ')}."
    apply_lifecycle(conversation, resolve(current, now, (matter.wrap_up_code, summary)))


def _record_offer(
    uow: UnitOfWork,
    ids: DemoIds,
    conversation: t.Conversation,
    offer: tuple[str, str],
    rng: random.Random,
) -> None:
    product, price = offer
    now = uow.clock.now()
    uow.session.add(
        t.Offer(
            workspace_id=ids.workspace_id,
            customer_id=conversation.customer_id,
            conversation_id=conversation.id,
            agent_id=conversation.assignee_id,
            product=product,
            price=price,
            currency="PLN",
            channel=conversation.last_inbound_channel,
            valid_until=now + timedelta(days=14),
            status=rng.choice(["proposed", "accepted", "declined"]),
            created_at=now,
        )
    )


def _plan_follow_up(
    uow: UnitOfWork,
    ids: DemoIds,
    conversation: t.Conversation,
    matter: Matter,
    rng: random.Random,
) -> None:
    now = uow.clock.now()
    channel = rng.choice([Channel.EMAIL, Channel.SMS, Channel.VOICE])
    due = now + timedelta(days=rng.randint(1, 7))
    # Follow-ups due before today were mostly done; a few are left overdue.
    done = due < ids.seeded_until and rng.random() < 0.85
    uow.session.add(
        t.Task(
            workspace_id=ids.workspace_id,
            customer_id=conversation.customer_id,
            conversation_id=conversation.id,
            kind="follow_up",
            title=f"Check that {matter.person.name} is satisfied",
            note="Ask whether the replacement works and how we did.",
            channel=channel.value,
            due_at=due,
            assignee_id=conversation.assignee_id,
            team_id=conversation.team_id,
            status="done" if done else "open",
            created_at=now,
            completed_at=due if done else None,
        )
    )
