"""Email inbox addresses: one normal form, so an address names one inbox in the installation.

An inbox address is normalised the way customer email identities are (lower case, an ASCII
domain). Its `+subaddress` forms (``support+<token>@example.com``, the per-conversation
reply addresses) belong to the same inbox, so an inbox address itself carries no `+` part,
and a recipient is looked up by the address without its `+` part.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from threadline.domain.customers.identities import normalise_email
from threadline.domain.errors import DomainError, InvalidIdentity

SUBADDRESS_SEPARATOR = "+"


class InvalidInboxAddress(DomainError):
    title = "Invalid inbox address"


def normalise_inbox_address(raw: str) -> str:
    """The stored form of an email inbox's address; refuses what cannot be one."""
    try:
        address = normalise_email(raw)
    except InvalidIdentity as exc:
        raise InvalidInboxAddress(exc.reason) from exc
    local, _, _ = address.rpartition("@")
    if SUBADDRESS_SEPARATOR in local:
        raise InvalidInboxAddress(
            f"an inbox address cannot contain {SUBADDRESS_SEPARATOR!r} ({address}): the part"
            f" after it is kept for the per-conversation reply addresses; use"
            f" {local.partition(SUBADDRESS_SEPARATOR)[0]}@{address_domain(address)} instead"
        )
    return address


def address_domain(address: str) -> str:
    """The domain of a normalised address."""
    return address.rpartition("@")[2]


def normalise_mail_domain(raw: str) -> str:
    """A mail domain as inbox addresses carry it: lower case, ASCII (IDNA), no `@`."""
    candidate = raw.strip().lower().removeprefix("@").rstrip(".")
    if not candidate or "@" in candidate:
        raise InvalidInboxAddress(f"{raw.strip()!r} is not a mail domain (e.g. example.com)")
    try:
        # A domain is usable when an address on it is: checked on a stand-in address.
        checked = validate_email(
            f"postmaster@{candidate}", check_deliverability=False, globally_deliverable=False
        )
    except EmailNotValidError as exc:
        raise InvalidInboxAddress(f"{raw.strip()!r} is not a usable mail domain: {exc}") from exc
    return checked.ascii_domain.lower()


def recipient_inbox_address(recipient: str) -> str | None:
    """The inbox address an SMTP recipient is for (its `+` part dropped), or None when the
    recipient is not an address any inbox could have."""
    cleaned = recipient.strip().strip("<>").strip()
    local, at, domain = cleaned.rpartition("@")
    if not at:
        return None
    base = local.partition(SUBADDRESS_SEPARATOR)[0]
    try:
        return normalise_email(f"{base}@{domain}")
    except InvalidIdentity:
        return None
