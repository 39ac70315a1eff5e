"""The conversation status transitions, as pure rules: what resolving, setting aside and
re-opening each keep and clear. Every path (an agent's status change, a customer writing
again, a follow-up falling due, the demo seed) applies these."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from threadline.domain.conversations import (
    SNOOZED_UNTIL,
    ConversationStatus,
    Lifecycle,
    ReopenCause,
    check_snooze,
    reopen,
    resolve,
    set_aside,
)
from threadline.domain.errors import DomainError

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
EARLIER = NOW - timedelta(hours=3)
WAKE = "2026-12-08T09:00:00+00:00"
S = ConversationStatus


def lifecycle(
    status: ConversationStatus,
    *,
    resolved_at: datetime | None = None,
    wrap_up_code: str | None = None,
    wrap_up_summary: str | None = None,
    attributes: dict[str, object] | None = None,
) -> Lifecycle:
    return Lifecycle(
        status,
        resolved_at,
        wrap_up_code,
        wrap_up_summary,
        {"vip": True} if attributes is None else attributes,
    )


def test_resolving_stamps_the_time_takes_the_wrap_up_and_drops_a_snooze() -> None:
    snoozed = lifecycle(S.SNOOZED, attributes={"vip": True, SNOOZED_UNTIL: WAKE})
    after = resolve(snoozed, NOW, ("refund", "Refunded the kettle."))
    assert after == lifecycle(
        S.RESOLVED,
        resolved_at=NOW,
        wrap_up_code="refund",
        wrap_up_summary="Refunded the kettle.",
        attributes={"vip": True},
    )


def test_resolving_again_keeps_the_first_time_and_a_wrap_up_not_replaced() -> None:
    resolved = lifecycle(
        S.RESOLVED, resolved_at=EARLIER, wrap_up_code="refund", wrap_up_summary="Done."
    )
    assert resolve(resolved, NOW, None) == resolved
    assert resolve(resolved, NOW, ("exchange", "Swapped.")).resolved_at == EARLIER
    assert resolve(resolved, NOW, ("exchange", "Swapped.")).wrap_up_code == "exchange"


@pytest.mark.parametrize("to", [S.OPEN, S.PENDING])
def test_setting_aside_keeps_no_wake_up_time_unless_snoozed(to: ConversationStatus) -> None:
    snoozed = lifecycle(S.SNOOZED, attributes={"vip": True, SNOOZED_UNTIL: WAKE})
    assert set_aside(snoozed, to, WAKE) == lifecycle(to, attributes={"vip": True})


def test_snoozing_records_the_wake_up_time_and_keeps_other_attributes() -> None:
    after = set_aside(lifecycle(S.OPEN), S.SNOOZED, WAKE)
    assert after.status is S.SNOOZED
    assert after.attributes == {"vip": True, SNOOZED_UNTIL: WAKE}


def test_setting_aside_cannot_resolve() -> None:
    with pytest.raises(ValueError):
        set_aside(lifecycle(S.OPEN), S.RESOLVED)


def test_reopening_a_resolved_matter_clears_what_its_round_left() -> None:
    resolved = lifecycle(
        S.RESOLVED, resolved_at=EARLIER, wrap_up_code="refund", wrap_up_summary="Done."
    )
    reopening = reopen(resolved, ReopenCause.CUSTOMER_WROTE)
    assert reopening is not None
    assert reopening.after == lifecycle(S.OPEN)
    assert reopening.had_wrap_up


@pytest.mark.parametrize(
    ("snoozed_until", "to", "reason"),
    [
        (NOW + timedelta(hours=1), S.PENDING, "only with the snoozed status"),
        (datetime(2026, 12, 8, 9, 0), S.SNOOZED, "needs a time zone"),
        (NOW, S.SNOOZED, "must be in the future"),
    ],
)
def test_a_wake_up_time_is_refused_with_a_reason(
    snoozed_until: datetime, to: ConversationStatus, reason: str
) -> None:
    with pytest.raises(DomainError, match=reason):
        check_snooze(to, snoozed_until, NOW)


def test_a_wake_up_time_in_the_future_for_a_snooze_is_accepted() -> None:
    check_snooze(S.SNOOZED, NOW + timedelta(minutes=1), NOW)
    check_snooze(S.OPEN, None, NOW)
