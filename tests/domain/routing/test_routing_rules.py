"""Routing rules (pure): capacity, eligibility, scoring with reasons, queue order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tests.support.agent_states import agent_state
from threadline.domain.channels import Channel
from threadline.domain.conversations import Priority
from threadline.domain.routing.capacity import Capacity
from threadline.domain.routing.queue import QueuePolicy, Waiting, queue_order
from threadline.domain.routing.scoring import AgentState, Weights, Work, choose_agent

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def test_three_chats_and_one_email_fill_a_budget_of_100() -> None:
    capacity = Capacity()
    assert capacity.can_take({Channel.WEB_CHAT: 3}, Channel.EMAIL)
    assert not capacity.can_take({Channel.WEB_CHAT: 3, Channel.EMAIL: 1}, Channel.EMAIL)
    assert not capacity.can_take({Channel.WEB_CHAT: 3, Channel.EMAIL: 1}, Channel.WEB_CHAT)


def test_a_call_takes_the_whole_budget() -> None:
    capacity = Capacity()
    assert capacity.can_take({}, Channel.VOICE)
    assert not capacity.can_take({Channel.VOICE: 1}, Channel.EMAIL)
    assert not capacity.can_take({Channel.EMAIL: 1}, Channel.VOICE)


def test_a_channel_limit_binds_before_the_budget() -> None:
    capacity = Capacity.from_settings({"budget": 100, "channel_limits": {"web_chat": 2}})
    assert capacity.can_take({Channel.WEB_CHAT: 1}, Channel.WEB_CHAT)
    assert not capacity.can_take({Channel.WEB_CHAT: 2}, Channel.WEB_CHAT)
    assert capacity.can_take({Channel.WEB_CHAT: 2}, Channel.EMAIL)


@given(
    st.dictionaries(st.sampled_from(list(Channel)), st.integers(0, 6)),
    st.sampled_from(list(Channel)),
)
def test_taking_work_never_exceeds_the_budget(
    open_work: dict[Channel, int], channel: Channel
) -> None:
    capacity = Capacity()
    if capacity.can_take(open_work, channel):
        after = dict(open_work)
        after[channel] = after.get(channel, 0) + 1
        assert capacity.load(after) <= capacity.budget


def agent(agent_id: int, name: str, **overrides: object) -> AgentState:
    return agent_state(agent_id, name, NOW, **overrides)


def test_the_scenario_a_supervisor_would_expect() -> None:
    """A Polish customer writes in chat about a coffee machine (skill level 5 required)."""
    work = Work(channel=Channel.WEB_CHAT, required_skills={"coffee_machines": 5}, language="pl")
    team = [
        # Knows coffee machines best but is poor on chat: still eligible, ranked by the score.
        agent(1, "Kasia", skills={"coffee_machines": 9}, competences={Channel.WEB_CHAT: 2}),
        # Handled this customer three times this month, good on chat, knows the product well.
        agent(
            2,
            "Tomasz",
            skills={"coffee_machines": 7},
            competences={Channel.WEB_CHAT: 8},
            past_contacts=(
                NOW - timedelta(days=2),
                NOW - timedelta(days=9),
                NOW - timedelta(days=20),
            ),
        ),
        # Great on chat but does not know the product well enough.
        agent(3, "Olena", skills={"coffee_machines": 3}, competences={Channel.WEB_CHAT: 10}),
        # Speaks only English.
        agent(4, "James", skills={"coffee_machines": 8}, languages=frozenset({"en"})),
        # Busy: three chats and an email open.
        agent(
            5,
            "Magda",
            skills={"coffee_machines": 8},
            open_work={Channel.WEB_CHAT: 3, Channel.EMAIL: 1},
        ),
        agent(6, "Piotr", skills={"coffee_machines": 8}, online=False),
    ]
    best, refused = choose_agent(team, work, NOW, Weights())
    assert best is not None and best.agent_id == 2
    assert "handled this customer 3 time(s) before" in best.explanation("Tomasz")
    assert refused == {
        3: "coffee_machines level 3 below the required 5",
        4: "does not speak pl",
        5: "at capacity (95/100)",
        6: "not online",
    }


def test_without_history_the_stronger_chat_agent_wins_and_load_breaks_ties() -> None:
    work = Work(channel=Channel.WEB_CHAT)
    strong = agent(1, "A", competences={Channel.WEB_CHAT: 9})
    weak = agent(2, "B", competences={Channel.WEB_CHAT: 3})
    best, _ = choose_agent([weak, strong], work, NOW, Weights())
    assert best is not None and best.agent_id == 1

    busy_twin = agent(3, "C", competences={Channel.WEB_CHAT: 9}, open_work={Channel.WEB_CHAT: 2})
    best, _ = choose_agent([busy_twin, strong], work, NOW, Weights())
    assert best is not None and best.agent_id == 1


def test_weights_change_the_outcome() -> None:
    work = Work(channel=Channel.EMAIL)
    knows_customer = agent(
        1, "A", competences={Channel.EMAIL: 4}, past_contacts=(NOW - timedelta(days=1),)
    )
    email_expert = agent(2, "B", competences={Channel.EMAIL: 10})
    relationship_first = Weights(affinity=5.0, competence=1.0)
    competence_first = Weights(affinity=0.5, competence=5.0)
    best, _ = choose_agent([knows_customer, email_expert], work, NOW, relationship_first)
    assert best is not None and best.agent_id == 1
    best, _ = choose_agent([knows_customer, email_expert], work, NOW, competence_first)
    assert best is not None and best.agent_id == 2


def test_urgent_first_then_calls_before_email_then_oldest_first() -> None:
    policy = QueuePolicy(aging_step=None)
    email_old = Waiting(1, Priority.NORMAL, Channel.EMAIL, NOW - timedelta(minutes=50))
    email_new = Waiting(2, Priority.NORMAL, Channel.EMAIL, NOW - timedelta(minutes=5))
    call = Waiting(3, Priority.NORMAL, Channel.VOICE, NOW - timedelta(minutes=1))
    urgent_email = Waiting(4, Priority.URGENT, Channel.EMAIL, NOW)
    order = queue_order([email_new, call, email_old, urgent_email], NOW, policy)
    assert [w.conversation_id for w in order] == [4, 3, 1, 2]


def test_waiting_raises_priority_up_to_a_limit() -> None:
    policy = QueuePolicy(aging_step=timedelta(minutes=15), max_aging_steps=2)
    long_low = Waiting(1, Priority.LOW, Channel.EMAIL, NOW - timedelta(hours=3))
    fresh_high = Waiting(2, Priority.HIGH, Channel.EMAIL, NOW - timedelta(minutes=1))
    fresh_normal = Waiting(3, Priority.NORMAL, Channel.EMAIL, NOW - timedelta(minutes=1))
    order = queue_order([fresh_normal, fresh_high, long_low], NOW, policy)
    # Low climbs two steps (to high) and, being older, goes before the fresh high one.
    assert [w.conversation_id for w in order] == [1, 2, 3]
