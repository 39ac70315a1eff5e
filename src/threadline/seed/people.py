"""The demo's customers: names, addresses in every shape customers write them, attributes,
labels and notes, drawn from the catalogue."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from threadline.domain.channels import Channel, IdentityKind
from threadline.domain.messaging.inbound import SenderIdentity
from threadline.seed import catalogue as cat


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


def make_people(rng: random.Random, count: int) -> list[Person]:
    """`count` customers, each drawn in turn from `rng` (the order of the draws is the demo)."""
    used_emails: set[str] = set()
    used_phones: set[str] = set()
    return [_person(rng, index, used_emails, used_phones) for index in range(count)]


def _person(rng: random.Random, index: int, used_emails: set[str], used_phones: set[str]) -> Person:
    language = rng.choices(["pl", "en", "uk"], weights=[65, 20, 15])[0]
    first, first_ascii = rng.choice(cat.FIRST_NAMES[language])
    last, last_ascii = rng.choice(cat.LAST_NAMES[language])
    company = None
    if rng.random() < 0.12:
        company, domain = rng.choice(cat.COMPANIES)
    else:
        domain = rng.choice(cat.EMAIL_DOMAINS)
    email = _unique_email(f"{first_ascii}.{last_ascii}", domain, used_emails)
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
    return Person(
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


def _unique_email(local: str, domain: str, used: set[str]) -> str:
    email = f"{local}@{domain}"
    suffix = 2
    while email in used:
        email = f"{local}{suffix}@{domain}"
        suffix += 1
    used.add(email)
    return email


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
