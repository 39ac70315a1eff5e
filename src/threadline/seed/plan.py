"""The demo's timeline: how many matters each customer has over the month, when each one
starts, the journey it takes and how it ends, as steps in time order."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from threadline.domain.channels import Channel
from threadline.domain.conversations import ConversationStatus
from threadline.seed import catalogue as cat
from threadline.seed.journeys import (
    JOURNEYS,
    LONGEST_JOURNEY,
    WHATSAPP_JOURNEY,
    A,
    C,
    Leg,
)
from threadline.seed.people import Person

SPAN = timedelta(days=30)
# Shorter than the default week, so one customer can have several matters in a month.
REOPEN_WINDOW = timedelta(days=2)
MAX_CONVERSATIONS_PER_CUSTOMER = 8


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


def plan_steps(
    rng: random.Random, people: list[Person], total: int, start: datetime, end: datetime
) -> list[Step]:
    """Every message, reply and closing of `total` matters between `start` and `end`."""
    counts = _conversation_counts(rng, people, total)
    steps: list[Step] = []
    for person, count in zip(people, counts, strict=True):
        if count == 0:
            continue
        slot = SPAN / count
        for number in range(count):
            steps.extend(
                _matter_steps(
                    rng, person, start + slot * number, slot, number == count - 1, end, len(steps)
                )
            )
    steps.sort()
    return steps


def _conversation_counts(rng: random.Random, people: list[Person], total: int) -> list[int]:
    """Everyone has one matter; the rest go to a few customers who write often (Pareto)."""
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
    return counts


def _matter_steps(
    rng: random.Random,
    person: Person,
    slot_start: datetime,
    slot: timedelta,
    is_last: bool,
    end: datetime,
    order: int,
) -> list[Step]:
    """One matter of `person` within its slot of the month; `order` steps came before."""
    # The last matter may start late in its slot, so the last days have open work.
    begin = slot_start + slot * rng.uniform(0.0, 0.6 if is_last else 0.1)
    if is_last:
        # Nothing follows the customer's last matter, so it may run up to today.
        latest_end = slot_start + slot - timedelta(hours=3)
    else:
        latest_end = slot_start + slot * 0.8 - REOPEN_WINDOW - timedelta(hours=3)
    begin = _in_opening_hours(rng, begin, latest_end)
    matter, legs = _matter(rng, person, recent=is_last and begin > end - timedelta(days=6))
    # A free-text WhatsApp or Messenger answer is only allowed within 24 hours of the
    # customer's message, so a journey with one plays out within a day (real agents would too).
    windowed = {(Channel.WHATSAPP, A, None), (Channel.MESSENGER, A, None)}
    longest = WHATSAPP_JOURNEY if windowed & set(legs) else LONGEST_JOURNEY
    budget = min(latest_end - begin, longest)
    offsets = sorted(budget * rng.uniform(0.02, 1.0) for _ in range(len(legs) - 1))
    moments = [begin, *(begin + offset for offset in offsets)]
    steps: list[Step] = []
    for position, ((channel, who, outcome), moment) in enumerate(zip(legs, moments, strict=True)):
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
    agent = pick_agent(rng, topic, legs[0][0])
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


def pick_agent(rng: random.Random, topic: str, channel: Channel) -> cat.DemoAgent:
    """Skill- and competence-weighted, as the router would, so the dashboards look plausible."""
    weights = [
        (spec.skills.get(topic, 0) * spec.channel_competences.get(channel.value, 3)) or 1
        for spec in cat.AGENTS
    ]
    return rng.choices(cat.AGENTS, weights=weights)[0]
