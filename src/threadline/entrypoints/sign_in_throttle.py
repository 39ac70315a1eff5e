"""Slowing down password guessing: failed sign-ins counted per account and per address.

After ACCOUNT_FAILURES failed sign-ins for one email within WINDOW_SECONDS, or
ADDRESS_FAILURES from one client address, further attempts are refused (HTTP 429, or the
sign-in page says so) until the oldest failure leaves the window; a correct password does
not get through meanwhile either, so guessing gains nothing by being lucky. Counted per
process, like the contact form's limit: with several API processes each allows the limit.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import structlog
from fastapi import Request

from threadline.bootstrap import Runtime
from threadline.domain.errors import DomainError
from threadline.entrypoints.sliding_window import app_limiter
from threadline.services.auth import AuthenticationFailed

log = structlog.get_logger(__name__)

ACCOUNT_FAILURES = 10
ADDRESS_FAILURES = 100
WINDOW_SECONDS = 15 * 60


class SignInThrottled(DomainError):
    status = 429
    title = "Too many sign-in attempts"

    def __init__(self, wait_seconds: float) -> None:
        self.wait_seconds = math.ceil(wait_seconds)
        super().__init__(f"too many failed sign-ins; try again in {self.wait_seconds} s")


def _keys(request: Request, email: str) -> list[tuple[tuple[str, str], int]]:
    # Behind a reverse proxy, run uvicorn with --proxy-headers so this is the client's.
    address = request.client.host if request.client else "unknown"
    return [
        (("account", email.strip().lower()), ACCOUNT_FAILURES),
        (("address", address), ADDRESS_FAILURES),
    ]


@contextmanager
def sign_in_attempt(request: Request, runtime: Runtime, email: str) -> Iterator[None]:
    """Around one sign-in: refuses it (SignInThrottled) when the limits are reached, and
    counts it as a failure unless it ends otherwise than on a wrong email or password.

    The attempt is counted before anything is awaited and taken back afterwards: counted
    only once it had failed, guesses sent at the same moment all passed the check."""
    now = runtime.clock.now().timestamp()
    limiter = app_limiter(request, "sign_in_limiter")
    limits = _keys(request, email)
    keys = [key for key, _limit in limits]
    waits = [
        wait
        for key, limit in limits
        if (wait := limiter.wait(key, limit, WINDOW_SECONDS, now)) is not None
    ]
    if waits:
        log.warning("auth.sign_in_throttled", wait_seconds=math.ceil(max(waits)))
        raise SignInThrottled(max(waits))
    for key in keys:
        limiter.record(key, WINDOW_SECONDS, now)
    failed = False
    try:
        yield
    except AuthenticationFailed:
        failed = True
        raise
    finally:
        if not failed:
            for key in keys:
                limiter.forget(key, now)
