"""The demo workspace: a month of a small appliance shop's customer service, replayed.

Every customer message goes through `receive_message` and every agent answer through `reply`,
with a manual clock moved through the last 30 days, so the demo data has exactly the shape
real traffic would leave (identities, continuity, channels, events). Classification, tasks
and offers are written alongside, as the agent screens would.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.bootstrap import unit_of_work_factory
from threadline.conversations.receive import receive_message
from threadline.conversations.reply import ReplyRequest, reply
from threadline.core.unit_of_work import UnitOfWork, UnitOfWorkFactory
from threadline.core.views import conversation_view
from threadline.domain.channels import Channel, IdentityKind
from threadline.domain.conversations import ConversationStatus, DeliveryStatus, Placement
from threadline.domain.events import ConversationUpdated
from threadline.domain.messaging.inbound import InboundMessage, SenderIdentity
from threadline.domain.security.access import Principal, Role
from threadline.seed import catalogue as cat
from threadline.seed.agent_content import seed_agent_content
from threadline.seed.web_chat import seed_web_chat
from threadline.service_levels.admin import seed_default_sla
from threadline.workspace.auth import hash_password
from threadline.workspace.create import create_agent, create_inbox, create_workspace
from threadline.workspace.email_domains import allow_email_domain

DEMO_SLUG = "demo"
DEMO_NAME = "Demo Appliances"
DEMO_PASSWORD = "demo-password"
DEMO_PHONE = "+48 22 307 40 00"
# The demo mailbox's domain, allowed for the demo workspace as an operator would allow one.
DEMO_MAIL_DOMAIN = "demo.example.com"
SPAN = timedelta(days=30)
# Shorter than the default week, so one customer can have several matters in a month.
REOPEN_WINDOW = timedelta(days=2)
MAX_CONVERSATIONS_PER_CUSTOMER = 8
# Seeded replies count as already delivered: the demo must not try to send a month of mail.
SEEDED_JOB_STATUS = "done"


@dataclass(frozen=True)
class SeedProgress:
    """How far the replay is, for a progress bar: steps are messages, replies and closings."""

    steps_done: int
    steps_total: int
    conversations: int
    messages: int


Progress = Callable[[SeedProgress], None]


@dataclass(frozen=True)
class SeedSize:
    """How much to build; the CLI's options hold the demo's default size."""

    customers: int
    conversations: int


@dataclass(frozen=True)
class SeedResult:
    workspace_id: int
    agents: int
    customers: int
    conversations: int
    messages: int
    seconds: float


@dataclass
class Person:
    index: int
    language: str
    name: str
    email: str
    phone: str
    web_visitor: str | None
    messenger: str | None
    external_id: str | None
    company: str | None
    attributes: dict[str, Any]
    labels: list[str]
    note: str | None
    contacted: bool = False

    def kinds(self) -> set[IdentityKind]:
        kinds = {IdentityKind.EMAIL, IdentityKind.PHONE}
        if self.web_visitor:
            kinds.add(IdentityKind.WEB_VISITOR)
        if self.messenger:
            kinds.add(IdentityKind.MESSENGER)
        if self.external_id:
            kinds.add(IdentityKind.EXTERNAL)
        return kinds

    def identity_for(self, channel: Channel) -> SenderIdentity:
        if channel in (Channel.SMS, Channel.VOICE, Channel.WHATSAPP):
            return SenderIdentity(IdentityKind.PHONE, self.phone)
        if channel is Channel.WEB_CHAT and self.web_visitor:
            return SenderIdentity(IdentityKind.WEB_VISITOR, self.web_visitor)
        if channel is Channel.MESSENGER and self.messenger:
            return SenderIdentity(IdentityKind.MESSENGER, self.messenger)
        if channel is Channel.API and self.external_id:
            return SenderIdentity(IdentityKind.EXTERNAL, self.external_id)
        return SenderIdentity(IdentityKind.EMAIL, self.email)

    def all_identities(self) -> list[SenderIdentity]:
        found = [
            SenderIdentity(IdentityKind.EMAIL, self.email),
            SenderIdentity(IdentityKind.PHONE, self.phone),
        ]
        if self.web_visitor:
            found.append(SenderIdentity(IdentityKind.WEB_VISITOR, self.web_visitor))
        if self.messenger:
            found.append(SenderIdentity(IdentityKind.MESSENGER, self.messenger))
        if self.external_id:
            found.append(SenderIdentity(IdentityKind.EXTERNAL, self.external_id))
        return found


# A journey is the order of channels one matter took: (channel, who, call outcome).
Leg = tuple[Channel, str, str | None]

LONGEST_JOURNEY = timedelta(hours=36)
WHATSAPP_JOURNEY = timedelta(hours=20)
C, A = "customer", "agent"
JOURNEYS: list[tuple[frozenset[IdentityKind], list[Leg]]] = [
    (
        frozenset({IdentityKind.WEB_VISITOR}),
        [
            (Channel.VOICE, C, "answered"),
            (Channel.EMAIL, A, None),
            (Channel.EMAIL, C, None),
            (Channel.WEB_CHAT, C, None),
            (Channel.WEB_CHAT, A, None),
        ],
    ),
    (
        frozenset(),
        [
            (Channel.VOICE, C, "answered"),
            (Channel.EMAIL, A, None),
            (Channel.EMAIL, C, None),
            (Channel.EMAIL, A, None),
        ],
    ),
    (
        frozenset(),
        [
            (Channel.VOICE, C, "missed"),
            (Channel.SMS, A, None),
            (Channel.SMS, C, None),
            (Channel.VOICE, C, "answered"),
        ],
    ),
    (
        frozenset(),
        [
            (Channel.EMAIL, C, None),
            (Channel.EMAIL, A, None),
            (Channel.WHATSAPP, C, None),
            (Channel.WHATSAPP, A, None),
        ],
    ),
    (
        frozenset({IdentityKind.WEB_VISITOR}),
        [
            (Channel.WEB_CHAT, C, None),
            (Channel.WEB_CHAT, A, None),
            (Channel.EMAIL, C, None),
            (Channel.EMAIL, A, None),
            (Channel.VOICE, C, "answered"),
        ],
    ),
    (
        frozenset(),
        [
            (Channel.WHATSAPP, C, None),
            (Channel.WHATSAPP, A, None),
            (Channel.VOICE, C, "voicemail"),
            (Channel.SMS, A, None),
        ],
    ),
    (
        frozenset({IdentityKind.MESSENGER}),
        [
            (Channel.MESSENGER, C, None),
            (Channel.MESSENGER, A, None),
            (Channel.EMAIL, C, None),
            (Channel.EMAIL, A, None),
        ],
    ),
    (
        frozenset({IdentityKind.EXTERNAL}),
        [
            (Channel.API, C, None),
            (Channel.EMAIL, A, None),
            (Channel.EMAIL, C, None),
            (Channel.VOICE, C, "answered"),
            (Channel.EMAIL, A, None),
        ],
    ),
    (
        frozenset(),
        [
            (Channel.SMS, C, None),
            (Channel.SMS, A, None),
            (Channel.EMAIL, C, None),
            (Channel.EMAIL, A, None),
        ],
    ),
    (frozenset(), [(Channel.EMAIL, C, None), (Channel.EMAIL, A, None)]),
]


@dataclass
class Matter:
    """One planned conversation."""

    person: Person
    topic: str
    outcome: ConversationStatus
    assignee: str | None
    team: str
    priority: str
    labels: list[str]
    wrap_up_code: str
    offer: tuple[str, str] | None
    follow_up: bool
    conversation_id: int | None = None


@dataclass(order=True)
class Step:
    at: datetime
    order: int
    kind: str = field(compare=False)  # inbound | reply | close
    matter: Matter = field(compare=False)
    channel: Channel | None = field(compare=False, default=None)
    call_outcome: str | None = field(compare=False, default=None)
    first_in_matter: bool = field(compare=False, default=False)


@dataclass
class _Ids:
    workspace_id: int
    agents: dict[str, t.Agent]
    teams: dict[str, int]
    inboxes: dict[Channel, int]
    seeded_until: datetime


async def _no_publish(_workspace_id: int, _events: list[dict[str, Any]]) -> None:
    # Nobody is subscribed while seeding; the events stay in the outbox for resuming clients.
    return None


async def demo_workspace_exists(sessionmaker: async_sessionmaker[AsyncSession]) -> bool:
    async with sessionmaker() as session:
        found = await session.execute(select(t.Workspace.id).where(t.Workspace.slug == DEMO_SLUG))
        return found.first() is not None


async def seed_demo(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    size: SeedSize,
    seed: int = 2026,
    now: datetime | None = None,
    on_progress: Progress | None = None,
) -> SeedResult:
    started = time.perf_counter()
    end = (now or datetime.now(UTC)).replace(microsecond=0)
    start = end - SPAN
    rng = random.Random(seed)
    clock = ManualClock(start - timedelta(days=1))
    uow_factory = unit_of_work_factory(sessionmaker, clock, _no_publish)

    ids = await _create_workspace(uow_factory, end)
    people = _make_people(rng, size.customers)
    steps = _plan(rng, people, size.conversations, start, end)
    messages = 0
    conversations = 0
    for done, step in enumerate(steps, start=1):
        clock.set(step.at)
        conversations += step.first_in_matter
        if step.kind == "inbound":
            await _inbound(uow_factory, ids, step, rng)
            messages += 1
        elif step.kind == "reply":
            await _reply(uow_factory, ids, step, rng)
            messages += 1
        else:
            await _close(uow_factory, ids, step, rng)
        if on_progress is not None:
            on_progress(SeedProgress(done, len(steps), conversations, messages))
    await seed_agent_content(uow_factory, ids.workspace_id, random.Random(seed))
    matters = {id(s.matter): s.matter for s in steps}
    return SeedResult(
        workspace_id=ids.workspace_id,
        agents=len(ids.agents),
        customers=sum(1 for p in people if p.contacted),
        conversations=len({m.conversation_id for m in matters.values()}),
        messages=messages,
        seconds=time.perf_counter() - started,
    )


async def _create_workspace(uow_factory: UnitOfWorkFactory, seeded_until: datetime) -> _Ids:
    async with uow_factory() as uow:
        workspace = await create_workspace(
            uow, name=DEMO_NAME, slug=DEMO_SLUG, default_region="PL", timezone="Europe/Warsaw"
        )
        workspace.reopen_window_seconds = int(REOPEN_WINDOW.total_seconds())
        ws = workspace.id
        teams: dict[str, int] = {}
        for name in cat.TEAMS:
            team = t.Team(workspace_id=ws, name=name, created_at=uow.clock.now())
            uow.session.add(team)
            await uow.session.flush()
            teams[name] = team.id
        agents: dict[str, t.Agent] = {}
        # One hash for the shared demo password: argon2 is slow on purpose.
        password_hash = hash_password(DEMO_PASSWORD)
        for index, spec in enumerate(cat.AGENTS):
            agent = await create_agent(
                uow,
                ws,
                email=spec.email,
                name=spec.name,
                role=spec.role,
                photo_url=cat.avatar_data_url(spec.name, index),
                skills=spec.skills,
                channel_competences=spec.channel_competences,
                languages=list(spec.languages),
                # An email costs 20 of the budget: `max_conversations` emails at once, or a
                # mix with chats (at most 2 or 3) and one call.
                capacity={
                    "budget": 20 * spec.max_conversations,
                    "channel_limits": {
                        "web_chat": 3 if spec.channel_competences.get("web_chat", 0) >= 7 else 2,
                        "voice": 1,
                    },
                },
            )
            agent.password_hash = password_hash
            agent.presence = "online" if index % 3 else "away"
            agents[spec.email] = agent
            for team_name in spec.teams:
                uow.session.add(
                    t.TeamMember(team_id=teams[team_name], agent_id=agent.id, workspace_id=ws)
                )
        inbox_specs = [
            (
                Channel.EMAIL,
                "Support mailbox",
                f"support@{DEMO_MAIL_DOMAIN}",
                cat.CONSUMER_TEAM,
                {},
            ),
            (Channel.SMS, "SMS +48 22 307 40 00", DEMO_PHONE, cat.PHONE_TEAM, {}),
            (Channel.VOICE, "Hotline +48 22 307 40 00", DEMO_PHONE, cat.PHONE_TEAM, {}),
            (Channel.WHATSAPP, "WhatsApp +48 22 307 40 00", DEMO_PHONE, cat.PHONE_TEAM, {}),
            (Channel.WEB_CHAT, "Web chat (shop)", "shop.demo.example.com", cat.CONSUMER_TEAM, {}),
            (Channel.MESSENGER, "Messenger page", "demo-appliances", cat.CONSUMER_TEAM, {}),
            (Channel.API, "Shop app (API)", None, cat.B2B_TEAM, {"webhook_url": None}),
        ]
        await allow_email_domain(uow, ws, DEMO_MAIL_DOMAIN, allowed_by="demo seed")
        inboxes: dict[Channel, int] = {}
        for channel, name, address, team_name, settings in inbox_specs:
            inbox = await create_inbox(
                uow,
                ws,
                name=name,
                channel=channel,
                address=address,
                settings=settings,
                team_id=teams[team_name],
            )
            inboxes[channel] = inbox.id
        for label, colour in cat.LABELS.items():
            uow.session.add(t.Label(workspace_id=ws, name=label, color=colour))
        # The codes the demo history is wrapped up with, so agents are offered the same list.
        for code in sorted({c for codes in cat.WRAP_UP_CODES.values() for c in codes}):
            uow.session.add(
                t.WrapUpCode(
                    workspace_id=ws,
                    team_id=None,
                    code=code,
                    label=code.replace("_", " ").capitalize(),
                    active=True,
                    created_at=uow.clock.now(),
                )
            )
        # Before the history is replayed, so past conversations carry SLA measurements too.
        await seed_default_sla(uow, ws)
        await seed_web_chat(uow, ws, inboxes[Channel.WEB_CHAT])
        await uow.commit()
    return _Ids(ws, agents, teams, inboxes, seeded_until)


def _make_people(rng: random.Random, count: int) -> list[Person]:
    people: list[Person] = []
    used_emails: set[str] = set()
    used_phones: set[str] = set()
    for index in range(count):
        language = rng.choices(["pl", "en", "uk"], weights=[65, 20, 15])[0]
        first, first_ascii = rng.choice(cat.FIRST_NAMES[language])
        last, last_ascii = rng.choice(cat.LAST_NAMES[language])
        company = None
        if rng.random() < 0.12:
            company, domain = rng.choice(cat.COMPANIES)
        else:
            domain = rng.choice(cat.EMAIL_DOMAINS)
        local = f"{first_ascii}.{last_ascii}"
        email = f"{local}@{domain}"
        suffix = 2
        while email in used_emails:
            email = f"{local}{suffix}@{domain}"
            suffix += 1
        used_emails.add(email)
        phone = _phone(rng, language, used_phones)
        attributes: dict[str, Any] = {
            "tier": rng.choice(cat.TIERS),
            "city": rng.choice(cat.CITIES[language]),
            "language": language,
        }
        note = None
        if rng.random() < 0.08:
            attributes["children"] = 4
            note = cat.NOTES[0]
        elif rng.random() < 0.2:
            note = rng.choice(cat.NOTES[1:])
        if company:
            attributes["company"] = company
        labels = ["vip"] if attributes["tier"] == "platinum" else []
        if company:
            labels.append("b2b")
        people.append(
            Person(
                index=index,
                language=language,
                name=f"{first} {last}",
                email=email,
                phone=phone,
                web_visitor=f"wv_{rng.getrandbits(48):012x}" if rng.random() < 0.5 else None,
                messenger=str(rng.randrange(10**15, 10**16)) if rng.random() < 0.15 else None,
                external_id=f"erp-{10_000 + index}" if company else None,
                company=company,
                attributes=attributes,
                labels=labels,
                note=note,
            )
        )
    return people


def _phone(rng: random.Random, language: str, used: set[str]) -> str:
    while True:
        if language == "en" and rng.random() < 0.6:
            phone = f"+44 7400 {rng.randrange(100000, 999999)}"
        elif language == "uk" and rng.random() < 0.6:
            phone = f"+380 67 {rng.randrange(1000000, 9999999)}"
        else:
            prefix = rng.choice(["501", "602", "693", "721", "784", "512", "660", "880"])
            digits = f"{rng.randrange(0, 1_000_000):06d}"
            # Customers write Polish numbers in every way; normalisation makes them one.
            phone = rng.choice(
                [
                    f"+48 {prefix} {digits[:3]} {digits[3:]}",
                    f"{prefix}-{digits[:3]}-{digits[3:]}",
                    f"0048{prefix}{digits}",
                ]
            )
        key = "".join(ch for ch in phone if ch.isdigit())[-9:]
        if key not in used:
            used.add(key)
            return phone


def _plan(
    rng: random.Random, people: list[Person], total: int, start: datetime, end: datetime
) -> list[Step]:
    counts = [0] * len(people)
    for index in range(min(total, len(people))):
        counts[index] = 1
    weights = [rng.paretovariate(1.6) for _ in people]
    remaining = total - sum(counts)
    while remaining > 0 and any(c < MAX_CONVERSATIONS_PER_CUSTOMER for c in counts):
        index = rng.choices(range(len(people)), weights=weights)[0]
        if counts[index] < MAX_CONVERSATIONS_PER_CUSTOMER:
            counts[index] += 1
            remaining -= 1

    steps: list[Step] = []
    order = 0
    for person, count in zip(people, counts, strict=True):
        if count == 0:
            continue
        slot = SPAN / count
        for number in range(count):
            slot_start = start + slot * number
            is_last = number == count - 1
            # The last matter may start late in its slot, so the last days have open work.
            begin = slot_start + slot * rng.uniform(0.0, 0.6 if is_last else 0.1)
            if is_last:
                # Nothing follows the customer's last matter, so it may run up to today.
                latest_end = slot_start + slot - timedelta(hours=3)
            else:
                latest_end = slot_start + slot * 0.8 - REOPEN_WINDOW - timedelta(hours=3)
            begin = _in_opening_hours(rng, begin, latest_end)
            matter, legs = _matter(rng, person, recent=is_last and begin > end - timedelta(days=6))
            # A free-text WhatsApp answer is only allowed within 24 hours of the customer's
            # message, so a journey with one plays out within a day (real agents would too).
            longest = WHATSAPP_JOURNEY if (Channel.WHATSAPP, A, None) in legs else LONGEST_JOURNEY
            budget = min(latest_end - begin, longest)
            offsets = sorted(budget * rng.uniform(0.02, 1.0) for _ in range(len(legs) - 1))
            moments = [begin, *(begin + offset for offset in offsets)]
            for position, ((channel, who, outcome), moment) in enumerate(
                zip(legs, moments, strict=True)
            ):
                order += 1
                steps.append(
                    Step(
                        at=moment,
                        order=order,
                        kind="inbound" if who == C else "reply",
                        matter=matter,
                        channel=channel,
                        call_outcome=outcome,
                        first_in_matter=position == 0,
                    )
                )
            if matter.outcome is not ConversationStatus.OPEN:
                order += 1
                closing = moments[-1] + timedelta(minutes=rng.randint(5, 120))
                steps.append(Step(at=closing, order=order, kind="close", matter=matter))
    steps.sort()
    return steps


def _in_opening_hours(rng: random.Random, moment: datetime, latest: datetime) -> datetime:
    """Most contacts arrive between 7:00 and 20:00 in Warsaw (UTC+1 in winter)."""
    if 6 <= moment.hour < 19:
        return moment
    day = moment if moment.hour >= 19 else moment - timedelta(days=1)
    shifted = (day + timedelta(days=1)).replace(hour=6) + timedelta(minutes=rng.randint(0, 600))
    # Keep the slot's room for the matter to play out and the re-open window to pass.
    return shifted if shifted + timedelta(hours=1) < latest else moment


def _matter(rng: random.Random, person: Person, *, recent: bool) -> tuple[Matter, list[Leg]]:
    kinds = person.kinds()
    journeys = [legs for needs, legs in JOURNEYS if needs <= kinds]
    legs = list(rng.choice(journeys))
    if person.company and rng.random() < 0.7:
        topic = "b2b"
    else:
        topic = rng.choice(cat.TOPICS[:3])
    outcome = ConversationStatus.RESOLVED
    if recent:
        outcome = rng.choices(
            [ConversationStatus.OPEN, ConversationStatus.PENDING, ConversationStatus.RESOLVED],
            weights=[45, 25, 30],
        )[0]
    if outcome is ConversationStatus.OPEN:
        cut = rng.randint(1, len(legs))
        legs = legs[:cut]
        while len(legs) > 1 and legs[-1][1] == A:
            legs.pop()
    elif outcome is ConversationStatus.PENDING:
        while len(legs) > 2 and legs[-1][1] == C:
            legs.pop()
    agent = _pick_agent(rng, topic, legs[0][0])
    assignee = agent.email if rng.random() < 0.9 else None
    labels: list[str] = []
    if topic in ("kettles", "coffee_machines") and rng.random() < 0.5:
        labels.append("warranty")
    if topic == "b2b":
        labels.append("b2b")
    if rng.random() < 0.1:
        labels.append("complaint")
    priority = rng.choices(["low", "normal", "high", "urgent"], weights=[10, 70, 15, 5])[0]
    if priority == "urgent":
        labels.append("urgent")
    offer = rng.choice(cat.OFFERS[topic]) if rng.random() < 0.25 else None
    follow_up = rng.random() < 0.25
    if follow_up:
        labels.append("follow-up")
    matter = Matter(
        person=person,
        topic=topic,
        outcome=outcome,
        assignee=assignee,
        team=agent.teams[0],
        priority=priority,
        labels=labels,
        wrap_up_code=rng.choice(cat.WRAP_UP_CODES[topic]),
        offer=offer,
        follow_up=follow_up,
    )
    return matter, legs


def _pick_agent(rng: random.Random, topic: str, channel: Channel) -> cat.DemoAgent:
    """Skill- and competence-weighted, as the router would, so the dashboards look plausible."""
    weights = [
        (spec.skills.get(topic, 0) * spec.channel_competences.get(channel.value, 3)) or 1
        for spec in cat.AGENTS
    ]
    return rng.choices(cat.AGENTS, weights=weights)[0]


async def _inbound(
    uow_factory: UnitOfWorkFactory, ids: _Ids, step: Step, rng: random.Random
) -> None:
    matter, person = step.matter, step.matter.person
    assert step.channel is not None
    lang = person.language
    if step.first_in_matter:
        text = rng.choice(cat.OPENERS[matter.topic][lang])
    else:
        text = rng.choice(cat.FOLLOW_UPS[lang])
    call = None
    if step.channel is Channel.VOICE:
        outcome = step.call_outcome or "answered"
        duration = rng.randint(45, 900) if outcome == "answered" else 0
        call = {"outcome": outcome, "duration_seconds": duration, "recording_url": None}
        if outcome == "voicemail":
            duration = rng.randint(10, 60)
            call["duration_seconds"] = duration
        text = f"{cat.CALL_TRANSCRIPTS[outcome]} {text}" if outcome != "missed" else ""
    sender = person.identity_for(step.channel)
    others: tuple[SenderIdentity, ...] = ()
    if not person.contacted:
        others = tuple(i for i in person.all_identities() if i != sender)
    subject = cat.SUBJECTS[matter.topic][lang]
    inbound = InboundMessage(
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
    received = await receive_message(uow_factory, ids.workspace_id, inbound)
    matter.conversation_id = received.conversation_id
    new_conversation = received.placement is Placement.NEW
    first_contact = not person.contacted
    person.contacted = True
    callback = step.call_outcome in ("missed", "voicemail")
    if not (new_conversation or first_contact or callback):
        return
    async with uow_factory() as uow:
        session = uow.session
        now = uow.clock.now()
        if first_contact:
            customer = await session.get(t.Customer, received.customer_id)
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
        if new_conversation:
            conversation = await session.get(t.Conversation, received.conversation_id)
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
        if callback:
            # A missed call is called back within the hour (the field's response target).
            due = now + timedelta(hours=1)
            resolved = matter.outcome is not ConversationStatus.OPEN
            session.add(
                t.Task(
                    workspace_id=ids.workspace_id,
                    customer_id=received.customer_id,
                    conversation_id=received.conversation_id,
                    kind="callback",
                    title=f"Call back {person.name}",
                    channel=Channel.VOICE.value,
                    due_at=due,
                    assignee_id=ids.agents[matter.assignee].id if matter.assignee else None,
                    team_id=ids.teams[matter.team],
                    status="done" if resolved else "open",
                    created_at=now,
                    completed_at=now + timedelta(minutes=rng.randint(5, 55)) if resolved else None,
                )
            )
        await uow.commit()


async def _reply(uow_factory: UnitOfWorkFactory, ids: _Ids, step: Step, rng: random.Random) -> None:
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
    uow: UnitOfWork, ids: _Ids, conversation: t.Conversation, matter: Matter
) -> t.Agent:
    if conversation.assignee_id is None:
        # An unassigned matter is picked up by whoever answers it first.
        spec = _pick_agent(random.Random(conversation.id), matter.topic, Channel.EMAIL)
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


async def _close(uow_factory: UnitOfWorkFactory, ids: _Ids, step: Step, rng: random.Random) -> None:
    matter = step.matter
    assert matter.conversation_id is not None
    async with uow_factory() as uow:
        session = uow.session
        now = uow.clock.now()
        conversation = await session.get(t.Conversation, matter.conversation_id)
        assert conversation is not None
        agent_id = conversation.assignee_id
        if matter.outcome is ConversationStatus.PENDING:
            conversation.status = ConversationStatus.PENDING.value
        else:
            conversation.status = ConversationStatus.RESOLVED.value
            conversation.resolved_at = now
            conversation.wrap_up_code = matter.wrap_up_code
            conversation.wrap_up_summary = (
                f"{cat.SUBJECTS[matter.topic]['en']}: {matter.wrap_up_code.replace('_', ' ')}."
            )
        if matter.offer is not None:
            product, price = matter.offer
            session.add(
                t.Offer(
                    workspace_id=ids.workspace_id,
                    customer_id=conversation.customer_id,
                    conversation_id=conversation.id,
                    agent_id=agent_id,
                    product=product,
                    price=price,
                    currency="PLN",
                    channel=conversation.last_inbound_channel,
                    valid_until=now + timedelta(days=14),
                    status=rng.choice(["proposed", "accepted", "declined"]),
                    created_at=now,
                )
            )
        if matter.follow_up:
            channel = rng.choice([Channel.EMAIL, Channel.SMS, Channel.VOICE])
            due = now + timedelta(days=rng.randint(1, 7))
            # Follow-ups due before today were mostly done; a few are left overdue.
            done = due < ids.seeded_until and rng.random() < 0.85
            session.add(
                t.Task(
                    workspace_id=ids.workspace_id,
                    customer_id=conversation.customer_id,
                    conversation_id=conversation.id,
                    kind="follow_up",
                    title=f"Check that {matter.person.name} is satisfied",
                    note="Ask whether the replacement works and how we did.",
                    channel=channel.value,
                    due_at=due,
                    assignee_id=agent_id,
                    team_id=conversation.team_id,
                    status="done" if done else "open",
                    created_at=now,
                    completed_at=due if done else None,
                )
            )
        uow.emit(
            ids.workspace_id,
            ConversationUpdated(conversation_view(conversation)),
        )
        await uow.commit()
