"""An httpx client for URLs a workspace or a request chose (webhooks, media downloads).

Every connection it opens, the first and each redirect hop alike, goes through
`CheckingBackend`: the host is resolved, all its addresses are checked, and the TCP
connection is made to a checked address. httpcore then speaks TLS over it with the URL's
host name as SNI and for certificate verification, and the Host header is the URL's, so
nothing changes for the far side. Environment proxies are ignored (trust_env=False): a
proxy would make the connection on our behalf to an address nobody checked.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from threadline.adapters.egress.resolve import checked_addresses
from threadline.domain.security.egress import EgressPolicy

_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)


class CheckingBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, resolving and checking before it connects."""

    def __init__(self, policy: EgressPolicy) -> None:
        self.policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await checked_addresses(host, port, self.policy, timeout_seconds=timeout)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(f"could not resolve {host}: {exc}") from exc
        failure: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:
                failure = exc
        assert failure is not None  # checked_addresses never answers with no address
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("a checked connection never goes to a local socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class CheckingTransport(httpx.AsyncHTTPTransport):
    def __init__(self, policy: EgressPolicy, verify: ssl.SSLContext | None = None) -> None:
        super().__init__(trust_env=False, limits=_LIMITS)
        # httpx offers no way to choose its pool's network backend (proposed upstream), so
        # the pool it built is replaced by the same one with the checking backend. Should a
        # new httpx rename `_pool`, tests/delivery/test_outbound_address_checks.py fails loudly.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=verify or httpx.create_ssl_context(trust_env=False),
            max_connections=_LIMITS.max_connections,
            max_keepalive_connections=_LIMITS.max_keepalive_connections,
            keepalive_expiry=_LIMITS.keepalive_expiry,
            network_backend=CheckingBackend(policy),
        )


def checked_client(
    policy: EgressPolicy,
    timeout: float,
    *,
    verify: ssl.SSLContext | None = None,
    **options: Any,
) -> httpx.AsyncClient:
    """A client for workspace-chosen URLs; refusals raise domain.egress.EgressRefused.
    `verify` replaces the default certificate authorities (certifi's), never the checks."""
    return httpx.AsyncClient(
        transport=CheckingTransport(policy, verify), timeout=timeout, trust_env=False, **options
    )
