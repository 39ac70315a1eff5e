"""Identity normalisation and the continuity rule: one person is found however they write.

Pure domain functions, so these run without a database; hypothesis generates the many ways a
customer, a provider or an agent writes the same address.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import phonenumbers
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from threadline.domain.channels import IdentityKind
from threadline.domain.conversations import (
    ACTIVE_STATUSES,
    ConversationStatus,
    ConversationSummary,
    Placement,
    place_inbound_message,
)
from threadline.domain.customers.identities import (
    MAX_IDENTITY_LENGTH,
    IdentityKey,
    normalise_email,
    normalise_identity,
    normalise_phone,
)
from threadline.domain.errors import InvalidIdentity

# ---------------------------------------------------------------------------------------------
# Email
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("jan@example.com", "jan@example.com"),
        ("Jan.Kowalski@Example.COM", "jan.kowalski@example.com"),
        ("  ola@example.com\t\n", "ola@example.com"),
        ("Jan@Bücher.DE", "jan@xn--bcher-kva.de"),
        ("anna@ŁÓDŹ.pl", "anna@xn--d-uga0v4h.pl"),
        # Plus-tags and dots are the provider's business, so they are kept.
        ("Anna+Orders@Example.com", "anna+orders@example.com"),
        ("agent@helpdesk.example", "agent@helpdesk.example"),
    ],
)
def test_email_is_lower_cased_trimmed_with_an_ascii_domain(raw: str, expected: str) -> None:
    assert normalise_email(raw) == expected
    assert normalise_identity(IdentityKind.EMAIL, raw, "PL") == IdentityKey(
        IdentityKind.EMAIL, expected
    )


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "jan", "jan@", "@example.com", "jan@@example.com", "jan kowalski@example.com"],
)
def test_invalid_email_is_refused_with_a_reason(raw: str) -> None:
    with pytest.raises(InvalidIdentity) as refused:
        normalise_identity(IdentityKind.EMAIL, raw, "PL")
    assert "email" in refused.value.reason
    assert refused.value.status == 422


local_parts = st.from_regex(r"[a-z0-9]([a-z0-9._+-]{0,20}[a-z0-9])?", fullmatch=True).filter(
    lambda s: ".." not in s
)
domains = st.lists(
    st.from_regex(r"[a-z][a-z0-9]{0,10}(-[a-z0-9]{1,5})?", fullmatch=True), min_size=1, max_size=3
).map(lambda labels: ".".join([*labels, "com"]))
padding = st.text(alphabet=" \t\n", max_size=3)


@given(local=local_parts, domain=domains, data=st.data())
def test_any_casing_and_padding_of_an_email_is_one_identity(
    local: str, domain: str, data: st.DataObject
) -> None:
    canonical = f"{local}@{domain}"
    flips = data.draw(st.lists(st.booleans(), min_size=len(canonical), max_size=len(canonical)))
    written = "".join(c.upper() if flip else c for c, flip in zip(canonical, flips, strict=True))
    raw = data.draw(padding) + written + data.draw(padding)

    assert normalise_email(raw) == canonical
    assert normalise_email(normalise_email(raw)) == canonical


# ---------------------------------------------------------------------------------------------
# Phone
# ---------------------------------------------------------------------------------------------

REGIONS = ["PL", "GB", "US", "DE", "UA"]
NUMBER_TYPES = [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]


@pytest.mark.parametrize(
    "raw",
    [
        "+48601234567",
        "+48 601 234 567",
        "0048601234567",
        "00 48 601 234 567",
        "601-234-567",
        "601 234 567",
        "601.234.567",
        "(601) 234 567",
        "+48 (601) 234-567",
        " +48-601-234-567 ",
    ],
)
def test_a_polish_mobile_written_every_way_is_one_e164(raw: str) -> None:
    assert normalise_identity(IdentityKind.PHONE, raw, "PL").value == "+48601234567"


def test_national_numbers_are_read_in_the_workspace_region() -> None:
    assert normalise_phone("07400 123456", "GB") == "+447400123456"
    assert normalise_phone("(201) 555-0123", "US") == "+12015550123"
    assert normalise_phone("030 123456", "DE") == "+4930123456"
    # An international number is the same wherever the workspace is.
    assert normalise_phone("+48 601 234 567", "US") == "+48601234567"
    assert normalise_phone("0048 601 234 567", "GB") == "+48601234567"


@pytest.mark.parametrize("raw", ["", "  ", "12", "phone me", "+48 123", "+999 123 456 789"])
def test_invalid_phone_is_refused_with_a_reason(raw: str) -> None:
    with pytest.raises(InvalidIdentity) as refused:
        normalise_identity(IdentityKind.PHONE, raw, "PL")
    assert "phone number" in refused.value.reason


@st.composite
def valid_numbers(draw: st.DrawFn) -> tuple[str, phonenumbers.PhoneNumber]:
    """A valid number of one of our regions: a known-valid example with its tail redrawn."""
    region = draw(st.sampled_from(REGIONS))
    example = phonenumbers.example_number_for_type(region, draw(st.sampled_from(NUMBER_TYPES)))
    assert example is not None, f"no example number for {region}"
    significant = phonenumbers.national_significant_number(example)
    tail_length = draw(st.integers(min_value=1, max_value=4))
    tail = draw(st.text(alphabet="0123456789", min_size=tail_length, max_size=tail_length))
    number = phonenumbers.parse(f"+{example.country_code}{significant[:-tail_length]}{tail}")
    assume(phonenumbers.is_valid_number(number))
    assume(phonenumbers.region_code_for_number(number) == region)
    return region, number


@st.composite
def regrouped(draw: st.DrawFn, digits: str) -> str:
    """The digits cut into groups joined by the separators people type, maybe one group in
    parentheses."""
    groups: list[str] = []
    rest = digits
    while rest:
        size = draw(st.integers(min_value=1, max_value=4))
        groups.append(rest[:size])
        rest = rest[size:]
    if len(groups) > 1 and draw(st.booleans()):
        at = draw(st.integers(min_value=0, max_value=len(groups) - 1))
        groups[at] = f"({groups[at]})"
    written = groups[0]
    for group in groups[1:]:
        written += draw(st.sampled_from(["", " ", "-", ".", " - "])) + group
    return written


@given(generated=valid_numbers(), data=st.data())
def test_every_written_format_of_a_valid_number_is_the_same_e164(
    generated: tuple[str, phonenumbers.PhoneNumber], data: st.DataObject
) -> None:
    region, number = generated
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    country = str(number.country_code)
    significant = phonenumbers.national_significant_number(number)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    national_digits = re.sub(r"\D", "", national)
    pad = data.draw(padding)

    writings = {
        "e164": e164,
        "international": phonenumbers.format_number(
            number, phonenumbers.PhoneNumberFormat.INTERNATIONAL
        ),
        "00 prefix": f"00{country}{significant}",
        "national": national,
        "international regrouped": f"+{country} " + data.draw(regrouped(significant)),
        "00 regrouped": f"00{country} " + data.draw(regrouped(significant)),
        "national regrouped": data.draw(regrouped(national_digits)),
        "padded": f"{pad}{e164}{pad}",
    }
    for how, raw in writings.items():
        assert normalise_phone(raw, region) == e164, f"{how}: {raw!r} in {region}"
    # Written internationally, the number is found from a workspace in any region.
    other_region = data.draw(st.sampled_from(REGIONS))
    assert normalise_phone(writings["international regrouped"], other_region) == e164
    assert normalise_phone(writings["00 regrouped"], other_region) == e164
    assert normalise_phone(e164, other_region) == e164


# ---------------------------------------------------------------------------------------------
# Opaque provider ids
# ---------------------------------------------------------------------------------------------

OPAQUE_KINDS = [
    IdentityKind.MESSENGER,
    IdentityKind.TELEGRAM,
    IdentityKind.WEB_VISITOR,
    IdentityKind.EXTERNAL,
]


@given(
    kind=st.sampled_from(OPAQUE_KINDS),
    value=st.text(min_size=1, max_size=200).map(str.strip).filter(bool),
    pad=padding,
)
def test_provider_ids_are_compared_exactly_apart_from_surrounding_space(
    kind: IdentityKind, value: str, pad: str
) -> None:
    assert normalise_identity(kind, f"{pad}{value}{pad}", "PL") == IdentityKey(kind, value)


def test_provider_ids_keep_their_case() -> None:
    upper = normalise_identity(IdentityKind.EXTERNAL, "CRM-AbC-1", "PL")
    lower = normalise_identity(IdentityKind.EXTERNAL, "crm-abc-1", "PL")
    assert upper.value == "CRM-AbC-1" and upper != lower


@pytest.mark.parametrize("kind", OPAQUE_KINDS)
def test_empty_or_overlong_ids_are_refused(kind: IdentityKind) -> None:
    with pytest.raises(InvalidIdentity, match="empty"):
        normalise_identity(kind, "   ", "PL")
    with pytest.raises(InvalidIdentity, match=str(MAX_IDENTITY_LENGTH)):
        normalise_identity(kind, "x" * (MAX_IDENTITY_LENGTH + 1), "PL")


# ---------------------------------------------------------------------------------------------
# Continuity: where an inbound message goes
# ---------------------------------------------------------------------------------------------

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
WINDOW = timedelta(days=7)
ages = st.integers(min_value=0, max_value=30 * 24 * 60).map(lambda m: timedelta(minutes=m))


@st.composite
def conversations(
    draw: st.DrawFn, statuses: tuple[ConversationStatus, ...] = tuple(ConversationStatus)
) -> list[ConversationSummary]:
    ids = draw(st.lists(st.integers(min_value=1, max_value=10_000), unique=True, max_size=8))
    summaries = []
    for conversation_id in ids:
        status = draw(st.sampled_from(statuses))
        last_activity = NOW - draw(ages)
        resolved_at = None
        if status is ConversationStatus.RESOLVED:
            resolved_at = last_activity + draw(ages)
            resolved_at = min(resolved_at, NOW)
        summaries.append(ConversationSummary(conversation_id, status, last_activity, resolved_at))
    return summaries


def _within_window(c: ConversationSummary) -> bool:
    assert c.resolved_at is not None
    return NOW - c.resolved_at <= WINDOW


@given(history=conversations())
def test_a_message_joins_the_most_recent_active_conversation(
    history: list[ConversationSummary],
) -> None:
    decision = place_inbound_message(history, now=NOW, reopen_window=WINDOW)
    active = [c for c in history if c.status in ACTIVE_STATUSES]
    if active:
        latest = max(active, key=lambda c: (c.last_activity_at, c.id))
        assert decision.placement is Placement.JOIN
        assert decision.conversation_id == latest.id
    else:
        assert decision.placement is not Placement.JOIN


@given(history=conversations())
def test_a_resolved_conversation_is_never_reopened_beyond_the_window(
    history: list[ConversationSummary],
) -> None:
    decision = place_inbound_message(history, now=NOW, reopen_window=WINDOW)
    by_id = {c.id: c for c in history}
    if decision.placement is Placement.NEW:
        assert decision.conversation_id is None
        assert not any(c.status in ACTIVE_STATUSES for c in history)
        return
    chosen = by_id[decision.conversation_id]  # type: ignore[index]
    if chosen.status is ConversationStatus.RESOLVED:
        assert decision.placement is Placement.REOPEN
        assert _within_window(chosen)
        # ...and it is the most recently resolved one.
        resolved = [c for c in history if c.status is ConversationStatus.RESOLVED]
        assert chosen == max(resolved, key=lambda c: (c.resolved_at, c.id))


@given(history=conversations(statuses=(ConversationStatus.RESOLVED,)))
def test_without_active_matters_a_recent_resolution_reopens_else_a_new_one_starts(
    history: list[ConversationSummary],
) -> None:
    decision = place_inbound_message(history, now=NOW, reopen_window=WINDOW)
    resolved = [c for c in history if c.status is ConversationStatus.RESOLVED]
    if resolved and _within_window(max(resolved, key=lambda c: (c.resolved_at, c.id))):
        assert decision.placement is Placement.REOPEN
    else:
        assert decision.placement is Placement.NEW


@given(history=conversations().filter(bool), data=st.data())
def test_an_email_thread_wins_unless_it_is_too_old_to_reopen(
    history: list[ConversationSummary], data: st.DataObject
) -> None:
    thread = data.draw(st.sampled_from(history))
    decision = place_inbound_message(
        history, now=NOW, reopen_window=WINDOW, threaded_conversation=thread
    )
    if thread.status in ACTIVE_STATUSES:
        assert (decision.placement, decision.conversation_id) == (Placement.JOIN, thread.id)
    elif _within_window(thread):
        assert (decision.placement, decision.conversation_id) == (Placement.REOPEN, thread.id)
    else:
        # A stale thread is ignored: the message goes where it would have gone anyway.
        assert decision == place_inbound_message(history, now=NOW, reopen_window=WINDOW)


def test_window_edge_is_inclusive() -> None:
    resolved = ConversationSummary(1, ConversationStatus.RESOLVED, NOW - WINDOW, NOW - WINDOW)
    assert place_inbound_message([resolved], now=NOW, reopen_window=WINDOW).placement is (
        Placement.REOPEN
    )
    a_second_late = NOW + timedelta(seconds=1)
    assert place_inbound_message([resolved], now=a_second_late, reopen_window=WINDOW).placement is (
        Placement.NEW
    )
