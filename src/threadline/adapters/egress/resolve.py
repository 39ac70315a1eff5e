"""Resolve a host and check every address it stands for before anything connects."""

from __future__ import annotations

import asyncio
import socket
from ipaddress import ip_address

from threadline.domain.security.egress import EgressPolicy, IPAddress, literal_addresses


async def checked_addresses(
    host: str, port: int, policy: EgressPolicy, *, timeout_seconds: float | None
) -> list[IPAddress]:
    """The addresses `host` resolves to, in the resolver's order of preference, once every
    one of them passed the policy (EgressRefused otherwise). Address literals and the names
    that always mean this machine are judged as written, without DNS. Resolver failures
    raise OSError (socket.gaierror) and TimeoutError, as a connection attempt would."""
    literal = literal_addresses(host)
    if literal is not None:
        addresses = list(literal)
    else:
        loop = asyncio.get_running_loop()
        answers = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout_seconds
        )
        addresses = []
        for *_, sockaddr in answers:
            address = ip_address(sockaddr[0])
            if address not in addresses:
                addresses.append(address)
    policy.check_addresses(host, addresses)
    return addresses


async def connect_checked(
    host: str, port: int, policy: EgressPolicy, *, timeout_seconds: float | None
) -> socket.socket:
    """A non-blocking TCP socket connected to a checked address of `host` (the first that
    answers). The caller speaks TLS to it under the name `host`, not the address."""
    addresses = await checked_addresses(host, port, policy, timeout_seconds=timeout_seconds)
    loop = asyncio.get_running_loop()
    failure: OSError | None = None
    for address in addresses:
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await asyncio.wait_for(loop.sock_connect(sock, (str(address), port)), timeout_seconds)
        except OSError as exc:  # TimeoutError included
            sock.close()
            failure = exc
            continue
        return sock
    assert failure is not None  # checked_addresses never answers with no address
    raise failure
