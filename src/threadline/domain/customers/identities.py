"""Normalising customer addresses so that one person is found however they were written."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from threadline.domain.channels import IdentityKind
from threadline.domain.errors import InvalidIdentity

MAX_IDENTITY_LENGTH = 320


@dataclass(frozen=True, slots=True)
class IdentityKey:
    kind: IdentityKind
    value: str


def normalise_email(raw: str) -> str:
    """Lower-case, trimmed, with an ASCII (IDNA) domain; the local part is kept as written
    apart from case, because providers differ on dots and plus-tags."""
    return _normalised_email(raw, allow_test_domains=False)


def normalise_sign_in_email(raw: str) -> str:
    """An agent's sign-in address, normalised as customers' are. It may also be on a `.test`
    domain (admin@shop.test), as local and trial installations use: signing in sends it
    nothing, and a customer's address on such a domain could never be written back to."""
    return _normalised_email(raw, allow_test_domains=True)


def _normalised_email(raw: str, *, allow_test_domains: bool) -> str:
    candidate = raw.strip()
    if not candidate:
        raise InvalidIdentity("email address is empty")
    try:
        # Intranet domains (mail@intranet, corp.internal) are real addresses of agents and
        # staff; the reserved special-use names (.local, .invalid) are still refused.
        checked = validate_email(
            candidate,
            check_deliverability=False,
            globally_deliverable=False,
            test_environment=allow_test_domains,
        )
    except EmailNotValidError as exc:
        raise InvalidIdentity(f"invalid email address {candidate!r}: {exc}") from exc
    domain = checked.ascii_domain.lower()
    return f"{checked.local_part.lower()}@{domain}"


def normalise_phone(raw: str, default_region: str) -> str:
    """E.164, so SMS, voice and WhatsApp from one number meet on one customer.

    `00` international prefixes are accepted whatever the region, because customers
    type them everywhere.
    """
    candidate = raw.strip()
    if not candidate:
        raise InvalidIdentity("phone number is empty")
    if candidate.startswith("00"):
        candidate = "+" + candidate[2:]
    try:
        parsed = phonenumbers.parse(candidate, default_region.upper() or None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidIdentity(f"invalid phone number {raw.strip()!r}: {exc}") from exc
    if not phonenumbers.is_possible_number(parsed) or not phonenumbers.is_valid_number(parsed):
        raise InvalidIdentity(f"invalid phone number {raw.strip()!r}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalise_identity(kind: IdentityKind, raw: str, default_region: str) -> IdentityKey:
    if len(raw) > MAX_IDENTITY_LENGTH:
        raise InvalidIdentity(f"{kind.value} identity longer than {MAX_IDENTITY_LENGTH} characters")
    if kind is IdentityKind.EMAIL:
        return IdentityKey(kind, normalise_email(raw))
    if kind is IdentityKind.PHONE:
        return IdentityKey(kind, normalise_phone(raw, default_region))
    # Provider ids are opaque: compared exactly, only surrounding whitespace dropped.
    value = raw.strip()
    if not value:
        raise InvalidIdentity(f"{kind.value} identity is empty")
    return IdentityKey(kind, value)
