"""Which addresses an outbound connection chosen by a workspace (or a request) may reach.

A workspace admin picks where Threadline connects: an API inbox's webhook_url, an email
inbox's smtp_host and imap_host; provider payloads name media URLs to download. None of
them may reach the installation's own network (loopback, private and link-local ranges,
carrier-grade NAT, multicast, reserved ranges) or a cloud provider's metadata service,
unless the installation allows that network (a self-hoster on a LAN). IPv6 forms that carry
an IPv4 address (mapped ::ffff:a.b.c.d, compatible ::a.b.c.d, NAT64 64:ff9b::/96, 6to4,
Teredo) are judged by the IPv4 address they carry.

These are the pure rules: the connecting side (adapters/egress/) resolves a name, checks
every address with `EgressPolicy.refusal` and connects to the address it checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from ipaddress import (
    IPv4Address,
    IPv4Network,
    IPv6Address,
    IPv6Network,
    ip_address,
    ip_network,
)
from urllib.parse import urlsplit

from threadline.domain.errors import DomainError

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

ALLOW_SETTING = "THREADLINE_OUTBOUND_ALLOWED_NETWORKS"


class AddressRule(StrEnum):
    LOOPBACK = "loopback"
    PRIVATE = "private"
    LINK_LOCAL = "link-local"
    SHARED = "carrier-grade NAT"
    MULTICAST = "multicast"
    UNSPECIFIED = "unspecified"
    BROADCAST = "broadcast"
    METADATA = "cloud metadata"
    RESERVED = "reserved"


def _ranges(*pairs: tuple[str, AddressRule]) -> tuple[tuple[IPNetwork, AddressRule], ...]:
    return tuple((ip_network(cidr), rule) for cidr, rule in pairs)


# Most specific first: the first range that holds an address names its rule.
_IPV4_RANGES = _ranges(
    # AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle …; ECS task and EKS pod credentials.
    ("169.254.169.254/32", AddressRule.METADATA),
    ("169.254.170.2/32", AddressRule.METADATA),
    ("169.254.170.23/32", AddressRule.METADATA),
    # Alibaba Cloud's metadata service sits inside the shared range.
    ("100.100.100.200/32", AddressRule.METADATA),
    ("0.0.0.0/8", AddressRule.UNSPECIFIED),
    ("10.0.0.0/8", AddressRule.PRIVATE),
    ("100.64.0.0/10", AddressRule.SHARED),
    ("127.0.0.0/8", AddressRule.LOOPBACK),
    ("169.254.0.0/16", AddressRule.LINK_LOCAL),
    ("172.16.0.0/12", AddressRule.PRIVATE),
    ("192.0.0.0/24", AddressRule.RESERVED),
    ("192.0.2.0/24", AddressRule.RESERVED),
    ("192.88.99.0/24", AddressRule.RESERVED),
    ("192.168.0.0/16", AddressRule.PRIVATE),
    ("198.18.0.0/15", AddressRule.RESERVED),
    ("198.51.100.0/24", AddressRule.RESERVED),
    ("203.0.113.0/24", AddressRule.RESERVED),
    ("224.0.0.0/4", AddressRule.MULTICAST),
    ("255.255.255.255/32", AddressRule.BROADCAST),
    ("240.0.0.0/4", AddressRule.RESERVED),
)
_IPV6_RANGES = _ranges(
    # AWS's metadata service and EKS pod credentials over IPv6; GCP's.
    ("fd00:ec2::254/128", AddressRule.METADATA),
    ("fd00:ec2::23/128", AddressRule.METADATA),
    ("fd20:ce::254/128", AddressRule.METADATA),
    ("::/128", AddressRule.UNSPECIFIED),
    ("::1/128", AddressRule.LOOPBACK),
    ("fc00::/7", AddressRule.PRIVATE),
    ("fec0::/10", AddressRule.PRIVATE),
    ("fe80::/10", AddressRule.LINK_LOCAL),
    ("ff00::/8", AddressRule.MULTICAST),
    ("64:ff9b:1::/48", AddressRule.PRIVATE),
    ("100::/64", AddressRule.RESERVED),
    ("2001:db8::/32", AddressRule.RESERVED),
    # IETF protocol assignments (Teredo, benchmarking, ORCHID …): nothing to post to.
    ("2001::/23", AddressRule.RESERVED),
    ("3fff::/20", AddressRule.RESERVED),
)
# IPv6 ranges whose last 32 bits are an IPv4 address a connection ends up at.
_IPV4_IN_LOW_BITS = tuple(
    ip_network(cidr) for cidr in ("::ffff:0:0/96", "::/96", "64:ff9b::/96", "::ffff:0:0:0/96")
)

# Names that always mean this machine or a metadata service, whatever DNS would say.
_LOOPBACK_ADDRESSES: tuple[IPAddress, ...] = (IPv4Address("127.0.0.1"), IPv6Address("::1"))
_METADATA_ADDRESSES: tuple[IPAddress, ...] = (IPv4Address("169.254.169.254"),)
_NAMED: dict[str, tuple[IPAddress, ...]] = {
    "localhost": _LOOPBACK_ADDRESSES,
    "localhost.localdomain": _LOOPBACK_ADDRESSES,
    "ip6-localhost": _LOOPBACK_ADDRESSES,
    "ip6-loopback": _LOOPBACK_ADDRESSES,
    "metadata": _METADATA_ADDRESSES,
    "metadata.google.internal": _METADATA_ADDRESSES,
    "metadata.goog": _METADATA_ADDRESSES,
    "instance-data": _METADATA_ADDRESSES,
    "instance-data.ec2.internal": _METADATA_ADDRESSES,
}

_AATON_PART = re.compile(r"0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*")


class EgressRefused(DomainError):
    """An outbound connection would reach an address the installation does not allow."""

    title = "Address not allowed"

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.reason)
        self.refusal = refusal


@dataclass(frozen=True, slots=True)
class Refusal:
    host: str
    address: IPAddress
    rule: AddressRule
    network: IPNetwork

    @property
    def reason(self) -> str:
        where = (
            str(self.address)
            if self.host == str(self.address)
            else f"{self.host} (address {self.address})"
        )
        return (
            f"{where} is in the {self.rule.value} range {self.network}: outbound connections "
            f"there are refused unless the installation allows it in {ALLOW_SETTING}"
        )


def rule_for(address: IPAddress) -> tuple[AddressRule, IPNetwork] | None:
    """The rule that keeps connections away from `address`, with its range; None when
    the address is a public one."""
    if isinstance(address, IPv6Address):
        carried = carried_ipv4(address)
        found = rule_for(carried) if carried is not None else None
        if found is not None:
            return found
        ranges = _IPV6_RANGES
    else:
        ranges = _IPV4_RANGES
    for network, rule in ranges:
        if address in network:
            return rule, network
    return None


def carried_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, compatible, NAT64, 6to4, Teredo)."""
    plain = IPv6Address(address.packed)  # without a zone (%eth0)
    if plain in _IPV4_IN_LOW_BITS[1] and int(plain) <= 1:
        return None  # :: and ::1 are IPv6's own unspecified and loopback
    if any(plain in network for network in _IPV4_IN_LOW_BITS):
        return IPv4Address(int(plain) & 0xFFFFFFFF)
    if plain.sixtofour is not None:
        return plain.sixtofour
    if plain.teredo is not None:
        return plain.teredo[1]
    return None


def parse_networks(cidrs: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Networks written as CIDRs (10.0.0.0/8, fd00::/8) or single addresses; ValueError
    names the entry that is neither."""
    networks: list[IPNetwork] = []
    for cidr in cidrs:
        text = cidr.strip()
        if not text:
            continue
        try:
            networks.append(ip_network(text, strict=False))
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a network (e.g. 192.168.0.0/16): {exc}") from exc
    return tuple(networks)


@dataclass(frozen=True, slots=True)
class EgressPolicy:
    """The installation's exceptions: networks connections may reach despite the rules."""

    allowed: tuple[IPNetwork, ...] = ()

    @classmethod
    def allowing(cls, cidrs: Iterable[str]) -> EgressPolicy:
        return cls(parse_networks(cidrs))

    def allows(self, address: IPAddress) -> bool:
        candidates: list[IPAddress] = [address]
        if isinstance(address, IPv6Address):
            candidates[0] = IPv6Address(address.packed)
            carried = carried_ipv4(address)
            if carried is not None:
                candidates.append(carried)
        return any(
            candidate in network
            for candidate in candidates
            for network in self.allowed
            if candidate.version == network.version
        )

    def refusal(self, host: str, address: IPAddress) -> Refusal | None:
        found = rule_for(address)
        if found is None or self.allows(address):
            return None
        rule, network = found
        return Refusal(host, address, rule, network)

    def check_addresses(self, host: str, addresses: Iterable[IPAddress]) -> None:
        """Raises EgressRefused for the first address not allowed: one bad answer among
        several refuses the name, or a connection could be steered to it."""
        for address in addresses:
            refusal = self.refusal(host, address)
            if refusal is not None:
                raise EgressRefused(refusal)

    def check_host(self, host: str) -> None:
        """A host as written (an address literal in any form inet_aton reads, or a name
        that always means this machine or a metadata service); other names are checked
        when they are resolved."""
        addresses = literal_addresses(host)
        if addresses is not None:
            self.check_addresses(host, addresses)

    def check_url(self, url: str) -> None:
        try:
            host = urlsplit(url).hostname
        except ValueError:
            return  # not a URL: the caller's own format check says so
        if host:
            self.check_host(host)


def literal_addresses(host: str) -> tuple[IPAddress, ...] | None:
    """The addresses a host stands for without asking DNS, or None for an ordinary name."""
    name = host.strip().lower().removeprefix("[").removesuffix("]").rstrip(".")
    try:
        return (ip_address(name),)
    except ValueError:
        pass
    loose = inet_aton(name)
    if loose is not None:
        return (loose,)
    if name.endswith(".localhost"):
        return _LOOPBACK_ADDRESSES
    return _NAMED.get(name)


def inet_aton(text: str) -> IPv4Address | None:
    """IPv4 written the loose ways the C resolver also accepts (127.1, 0x7f.0.0.1,
    0177.0.0.1, 2130706433), or None when `text` is not one."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values: list[int] = []
    for part in parts:
        value = _aton_number(part)
        if value is None:
            return None
        values.append(value)
    *leading, last = values
    if any(value > 0xFF for value in leading) or last >= 1 << (8 * (4 - len(leading))):
        return None
    number = last
    for index, value in enumerate(leading):
        number |= value << (8 * (3 - index))
    return IPv4Address(number)


def _aton_number(part: str) -> int | None:
    if not _AATON_PART.fullmatch(part):
        return None
    if part[:2].lower() == "0x":
        return int(part[2:], 16) if len(part) > 2 else None
    return int(part, 8) if part.startswith("0") else int(part)
