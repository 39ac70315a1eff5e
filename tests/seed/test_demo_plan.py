"""The demo's planned history keeps the providers' rules whatever day it is seeded on: an
agent's free-text answer on WhatsApp or Messenger comes within 24 hours of the customer's
last message there (`make demo` once failed on a Messenger answer planned 30 hours late)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from threadline.domain.channels import Channel
from threadline.entrypoints.cli import DEMO_CONVERSATIONS, DEMO_CUSTOMERS
from threadline.seed.people import make_people
from threadline.seed.plan import SPAN, plan_steps

WINDOWED = (Channel.WHATSAPP, Channel.MESSENGER)
WINDOW = timedelta(hours=24)


def late_answers(end: datetime) -> list[str]:
    rng = random.Random(2026)
    people = make_people(rng, DEMO_CUSTOMERS)
    steps = plan_steps(rng, people, DEMO_CONVERSATIONS, end - SPAN, end)
    last_from_customer: dict[tuple[int, Channel], datetime] = {}
    late = []
    for step in sorted(steps, key=lambda s: (s.at, s.order)):
        if step.channel not in WINDOWED:
            continue
        key = (id(step.matter), step.channel)
        if step.kind == "inbound":
            last_from_customer[key] = step.at
        elif step.kind == "reply":
            asked = last_from_customer.get(key)
            if asked is None or step.at - asked > WINDOW:
                late.append(f"{step.channel.value} answer at {step.at} (asked {asked})")
    return late


def test_windowed_answers_come_within_a_day_on_any_seeding_day() -> None:
    start = datetime(2026, 12, 8, 1, 21, 30, tzinfo=UTC)
    for hours in range(0, 24 * 14, 5):
        end = start + timedelta(hours=hours, minutes=hours % 60)
        assert late_answers(end) == [], end
