"""Timer keys have one spelling, core/timers.py: timer_key (no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from threadline.core.timers import timer_key
from threadline.csat.survey import CSAT_SEND, survey_timer_key
from threadline.customers.offers import OFFER_EXPIRE, expiry_timer_key
from threadline.follow_ups.due import TASK_DUE, task_timer_key
from threadline.routing.offers.offers import OFFER_TIMER, offer_timer_key
from threadline.routing.steps import STEP_TIMER, step_timer_key
from threadline.service_levels.clocks.timers import BREACH_TIMER, WARNING_TIMER, clock_timer_key


def test_a_key_is_the_kind_then_its_parts_joined_by_colons() -> None:
    assert timer_key("task.due", 42) == "task.due:42"
    assert timer_key("csat.send", 7, "1793609400.000000") == "csat.send:7:1793609400.000000"


def test_a_key_names_one_timer_and_no_part_can_blur_the_parts() -> None:
    with pytest.raises(ValueError, match="at least one part"):
        timer_key("task.due")
    # "a:b" + "c" and "a" + "b:c" would be one key for two timers.
    for kind, parts in (("task.due", ("1:2",)), ("task:due", (1,)), ("task.due", ("",))):
        with pytest.raises(ValueError, match="non-empty"):
            timer_key(kind, *parts)


def test_every_capability_spells_its_keys_through_the_one_format() -> None:
    assert expiry_timer_key(5) == timer_key(OFFER_EXPIRE, 5) == "offer.expire:5"
    assert task_timer_key(5) == timer_key(TASK_DUE, 5) == "task.due:5"
    assert offer_timer_key(5) == timer_key(OFFER_TIMER, 5) == "routing.offer:5"
    assert step_timer_key(5) == timer_key(STEP_TIMER, 5) == "routing.step:5"
    assert clock_timer_key(5, WARNING_TIMER) == timer_key(WARNING_TIMER, 5) == "sla.warning:5"
    assert clock_timer_key(5, BREACH_TIMER) == timer_key(BREACH_TIMER, 5) == "sla.breach:5"
    resolved_at = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    assert (
        survey_timer_key(5, resolved_at)
        == timer_key(CSAT_SEND, 5, "1793611800.000000")
        == "csat.send:5:1793611800.000000"
    )
