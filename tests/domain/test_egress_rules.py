"""The pure rules of where workspace-chosen outbound connections may go (domain/security/egress.py):
every internal range is refused with its name, in every spelling of an address, unless the
installation allows the network; public addresses pass."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from threadline.config import Settings
from threadline.domain.security.egress import (
    AddressRule,
    EgressPolicy,
    EgressRefused,
    carried_ipv4,
    inet_aton,
    literal_addresses,
    rule_for,
)

CLOSED = EgressPolicy()

REFUSED = [
    ("127.0.0.1", AddressRule.LOOPBACK),
    ("127.255.255.254", AddressRule.LOOPBACK),
    ("10.0.0.1", AddressRule.PRIVATE),
    ("10.255.255.255", AddressRule.PRIVATE),
    ("172.16.0.1", AddressRule.PRIVATE),
    ("172.31.255.255", AddressRule.PRIVATE),
    ("192.168.1.1", AddressRule.PRIVATE),
    ("169.254.0.1", AddressRule.LINK_LOCAL),
    ("169.254.169.254", AddressRule.METADATA),
    ("169.254.170.2", AddressRule.METADATA),
    ("100.100.100.200", AddressRule.METADATA),
    ("100.64.0.1", AddressRule.SHARED),
    ("100.127.255.255", AddressRule.SHARED),
    ("0.0.0.0", AddressRule.UNSPECIFIED),
    ("0.1.2.3", AddressRule.UNSPECIFIED),
    ("224.0.0.1", AddressRule.MULTICAST),
    ("239.255.255.250", AddressRule.MULTICAST),
    ("255.255.255.255", AddressRule.BROADCAST),
    ("240.0.0.1", AddressRule.RESERVED),
    ("198.18.0.1", AddressRule.RESERVED),
    ("192.0.0.8", AddressRule.RESERVED),
    ("::1", AddressRule.LOOPBACK),
    ("::", AddressRule.UNSPECIFIED),
    ("fc00::1", AddressRule.PRIVATE),
    ("fd12:3456:789a::1", AddressRule.PRIVATE),
    ("fec0::1", AddressRule.PRIVATE),
    ("fe80::1", AddressRule.LINK_LOCAL),
    ("fe80::1%eth0", AddressRule.LINK_LOCAL),
    ("ff02::1", AddressRule.MULTICAST),
    ("fd00:ec2::254", AddressRule.METADATA),
    ("fd20:ce::254", AddressRule.METADATA),
    ("2001:db8::1", AddressRule.RESERVED),
    # IPv6 spellings of internal IPv4 addresses: mapped, compatible, NAT64, 6to4, SIIT.
    ("::ffff:127.0.0.1", AddressRule.LOOPBACK),
    ("::ffff:7f00:1", AddressRule.LOOPBACK),
    ("::ffff:10.1.2.3", AddressRule.PRIVATE),
    ("::ffff:169.254.169.254", AddressRule.METADATA),
    ("::127.0.0.1", AddressRule.LOOPBACK),
    ("64:ff9b::a9fe:a9fe", AddressRule.METADATA),
    ("64:ff9b::192.168.0.1", AddressRule.PRIVATE),
    ("2002:7f00:1::", AddressRule.LOOPBACK),
    ("2002:a9fe:a9fe::1", AddressRule.METADATA),
    ("::ffff:0:10.0.0.1", AddressRule.PRIVATE),
]

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "172.32.0.1",
    "172.15.255.255",
    "100.128.0.1",
    "100.63.255.255",
    "169.253.255.255",
    "11.0.0.1",
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
]


@pytest.mark.parametrize(("address", "rule"), REFUSED)
def test_each_internal_range_is_refused_by_its_rule(address: str, rule: AddressRule) -> None:
    found = rule_for(ip_address(address))
    assert found is not None and found[0] is rule
    refusal = CLOSED.refusal(address, ip_address(address))
    assert refusal is not None
    assert rule.value in refusal.reason and "THREADLINE_OUTBOUND_ALLOWED_NETWORKS" in refusal.reason


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert rule_for(ip_address(address)) is None
    assert CLOSED.refusal(address, ip_address(address)) is None


BLOCKED_V4 = [ip_network(c) for c in ("10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16",
                                       "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                                       "224.0.0.0/4", "240.0.0.0/4", "0.0.0.0/8")]  # fmt: skip
BLOCKED_V6 = [ip_network(c) for c in ("fc00::/7", "fe80::/10", "ff00::/8", "::1/128")]


@st.composite
def address_in(
    draw: st.DrawFn, networks: list[IPv4Network | IPv6Network]
) -> IPv4Address | IPv6Address:
    network = draw(st.sampled_from(networks))
    offset = draw(st.integers(0, network.num_addresses - 1))
    return network[offset]


@given(address_in(BLOCKED_V4))
def test_every_address_of_an_internal_ipv4_range_is_refused_in_every_ipv6_spelling(
    address: IPv4Address,
) -> None:
    rule = rule_for(address)
    assert rule is not None
    for spelled in (
        IPv6Address(f"::ffff:{address}"),
        IPv6Address(f"64:ff9b::{address}"),
        IPv6Address((0x2002 << 112) | (int(address) << 80)),
    ):
        assert carried_ipv4(spelled) == address
        assert rule_for(spelled) == rule


@given(address_in(BLOCKED_V6))
def test_every_address_of_an_internal_ipv6_range_is_refused(address: IPv6Address) -> None:
    assert rule_for(address) is not None


@given(st.ip_addresses(v=4))
def test_nothing_python_calls_non_global_passes(address: IPv4Address) -> None:
    if rule_for(address) is None:
        assert address.is_global


@given(st.ip_addresses(v=6))
def test_no_non_global_ipv6_address_passes(address: IPv6Address) -> None:
    if carried_ipv4(address) is None and rule_for(address) is None:
        assert address.is_global


@given(st.ip_addresses(v=4), st.lists(st.sampled_from(["dec", "hex", "oct"]), min_size=4,
                                      max_size=4), st.integers(1, 4))  # fmt: skip
def test_loose_ipv4_spellings_read_as_the_c_resolver_reads_them(
    address: IPv4Address, styles: list[str], parts: int
) -> None:
    octets = list(address.packed)
    # The last part holds the remaining bytes as one number (127.1 = 127.0.0.1).
    numbers = [*octets[: parts - 1], int.from_bytes(bytes(octets[parts - 1 :]), "big")]

    def spell(number: int, style: str) -> str:
        return {"dec": str(number), "hex": hex(number), "oct": "0" + oct(number)[2:]}[style]

    text = ".".join(spell(n, s) for n, s in zip(numbers, styles, strict=False))
    assert inet_aton(text) == address
    assert literal_addresses(text) == (address,)


@pytest.mark.parametrize(
    "host",
    [
        "127.1",
        "0x7f.0.0.1",
        "0177.0.0.1",
        "2130706433",
        "0x7f000001",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "localhost",
        "LOCALHOST.",
        "app.localhost",
        "metadata.google.internal",
        "metadata.goog",
        "169.254.169.254",
        "0",
    ],
)
def test_hosts_that_mean_this_machine_or_a_metadata_service_are_refused_as_written(
    host: str,
) -> None:
    with pytest.raises(EgressRefused, match=r"loopback|cloud metadata|unspecified"):
        CLOSED.check_host(host)


@pytest.mark.parametrize("host", ["example.com", "smtp.example.com", "08.1.1.1", "1.2.3.4.5"])
def test_ordinary_names_wait_for_their_resolved_addresses(host: str) -> None:
    assert literal_addresses(host) is None
    CLOSED.check_host(host)


def test_a_url_is_judged_by_its_host_and_the_reason_names_host_address_and_rule() -> None:
    with pytest.raises(EgressRefused) as refused:
        CLOSED.check_url("http://user@localhost:8080/hook")
    assert refused.value.reason.startswith(
        "localhost (address 127.0.0.1) is in the loopback range 127.0.0.0/8"
    )
    CLOSED.check_url("https://app.example.com/hook")


def test_allowed_networks_open_exactly_those_networks_and_their_ipv6_spellings() -> None:
    lan = EgressPolicy.allowing(["192.168.10.0/24", "fd12::/16"])
    assert lan.refusal("h", ip_address("192.168.10.7")) is None
    assert lan.refusal("h", ip_address("::ffff:192.168.10.7")) is None
    assert lan.refusal("h", ip_address("fd12::5")) is None
    assert lan.refusal("h", ip_address("192.168.11.7")) is not None
    assert lan.refusal("h", ip_address("169.254.169.254")) is not None
    # One address outside the allowed networks refuses the whole name.
    with pytest.raises(EgressRefused, match=r"127\.0\.0\.1"):
        lan.check_addresses("both.example", [ip_address("192.168.10.7"), ip_address("127.0.0.1")])


@given(address_in(BLOCKED_V4))
def test_allowing_a_network_allows_every_address_in_it(address: IPv4Address) -> None:
    network = next(n for n in BLOCKED_V4 if address in n)
    assert EgressPolicy((network,)).refusal(str(address), address) is None


def test_the_setting_reads_commas_or_json_and_names_a_bad_entry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("THREADLINE_OUTBOUND_ALLOWED_NETWORKS", "10.0.0.0/8, fd00::/8")
    assert Settings(database_url="sqlite://").egress_policy().allowed == (
        IPv4Network("10.0.0.0/8"),
        IPv6Network("fd00::/8"),
    )
    monkeypatch.setenv("THREADLINE_OUTBOUND_ALLOWED_NETWORKS", '["192.168.0.0/16"]')
    assert Settings(database_url="sqlite://").outbound_allowed_networks == ["192.168.0.0/16"]
    monkeypatch.setenv("THREADLINE_OUTBOUND_ALLOWED_NETWORKS", "10.0.0.0/33")
    with pytest.raises(ValueError, match=r"'10.0.0.0/33' is not a network"):
        Settings(database_url="sqlite://")
    monkeypatch.delenv("THREADLINE_OUTBOUND_ALLOWED_NETWORKS")
    assert Settings(database_url="sqlite://").egress_policy() == EgressPolicy()
