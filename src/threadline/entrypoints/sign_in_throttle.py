"""Slowing down password guessing, without letting a stranger lock an agent out.

Failed sign-ins are counted in a sliding window of WINDOW_SECONDS (15 minutes) under
three keys, and an attempt is refused when any key that applies to it is full:

- (account, client address), PAIR_FAILURES (10): what stops a guesser at one address,
  and only them. The agent signing in from their own address is counted apart, so
  someone hammering their account from elsewhere does not keep them out.
- client address, ADDRESS_FAILURES (100) over all accounts: one address trying many.
- account, ACCOUNT_FAILURES (100) from all addresses together: a guesser spread over
  many addresses is slowed to that many guesses per window. This key is not applied to an
  address from which the account signed in successfully within KNOWN_ADDRESS_SECONDS
  (30 days): a distributed attack can hold up sign-ins from new places (a new laptop or
  network waits for the window to free), never from the agent's usual ones.

IPv6 clients count by their /64, what one subscriber usually holds. Refused attempts
(HTTP 429, or the sign-in page says so) last until the oldest failure leaves the window,
the right password included, so a lucky guess gains nothing. Each attempt is counted
before the password is checked and taken back unless it ends on a wrong email or
password, so guesses sent at the same moment all count.

The counts live in runtime.attempts (adapters/attempts/): Redis when THREADLINE_REDIS_URL
is set, shared by every process, else in the process (each process allows the limits).
Accounts and addresses are kept only as HMACs under the secret key. Behind a reverse proxy,
run uvicorn with --proxy-headers so the client address is the client's.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from ipaddress import IPv6Address, ip_address, ip_network

import structlog
from fastapi import Request

from threadline.adapters.attempts import Limit, Refused
from threadline.bootstrap import Runtime
from threadline.domain.errors import DomainError
from threadline.workspace import AuthenticationFailed

log = structlog.get_logger(__name__)

PAIR_FAILURES = 10
ADDRESS_FAILURES = 100
ACCOUNT_FAILURES = 100
WINDOW_SECONDS = 15 * 60
KNOWN_ADDRESS_SECONDS = 30 * 24 * 3600


class SignInThrottled(DomainError):
    status = 429
    title = "Too many sign-in attempts"

    def __init__(self, wait_seconds: float) -> None:
        self.wait_seconds = math.ceil(wait_seconds)
        super().__init__(f"too many failed sign-ins; try again in {self.wait_seconds} s")


def client_address(request: Request) -> str:
    """The address sign-ins are counted by: the client's, an IPv6 one by its /64."""
    host = request.client.host if request.client else "unknown"
    try:
        address = ip_address(host)
    except ValueError:
        return host
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ip_network(f"{address}/64", strict=False))
    return str(address)


def _key(secret: str, kind: str, *parts: str) -> str:
    digest = hmac.new(secret.encode(), "\0".join(parts).encode(), hashlib.sha256).hexdigest()
    return f"sign-in:{kind}:{digest[:32]}"


@asynccontextmanager
async def sign_in_attempt(request: Request, runtime: Runtime, email: str) -> AsyncIterator[None]:
    """Around one sign-in: refuses it (SignInThrottled) when a limit is reached, counts it
    as a failure unless it ends otherwise than on a wrong email or password, and marks
    the address as known to the account when it succeeds."""
    now = runtime.clock.now().timestamp()
    secret = runtime.settings.secret_key
    account, address = email.strip().lower(), client_address(request)
    counter = runtime.attempts
    known = _key(secret, "known", account, address)
    limits = [
        Limit(_key(secret, "pair", account, address), PAIR_FAILURES),
        Limit(_key(secret, "address", address), ADDRESS_FAILURES),
    ]
    if not await counter.remembers(known, now):
        limits.append(Limit(_key(secret, "account", account), ACCOUNT_FAILURES))
    counted = await counter.acquire(limits, WINDOW_SECONDS, now)
    if isinstance(counted, Refused):
        full = sorted({key.split(":")[1] for key in counted.keys})
        log.warning(
            "auth.sign_in_throttled", wait_seconds=math.ceil(counted.wait_seconds), limits=full
        )
        raise SignInThrottled(counted.wait_seconds)
    failed = False
    try:
        yield
    except AuthenticationFailed:
        failed = True
        raise
    finally:
        if not failed:
            await counter.release(counted)
    await counter.remember(known, KNOWN_ADDRESS_SECONDS, now)
