"""How the send jobs are worked (lease, attempts, back-off, how long to wait for a report)
and what one round of them did."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    lease: timedelta
    max_attempts: int
    backoff_seconds: float
    max_backoff_seconds: float = 3600.0
    batch_size: int = 20
    # How long a send in doubt waits for the provider's delivery report (WhatsApp,
    # Messenger) before it is failed with a reason.
    report_wait: timedelta = timedelta(minutes=10)

    def backoff(self, attempts: int) -> timedelta:
        """Exponential: backoff, 2x, 4x, ... after the 1st, 2nd, 3rd failed attempt; capped."""
        exponent = max(attempts - 1, 0)
        seconds = min(self.backoff_seconds * 2.0 ** min(exponent, 32), self.max_backoff_seconds)
        return timedelta(seconds=seconds)


@dataclass
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    # Sends in doubt, held until a lookup or a delivery report settles them.
    unconfirmed: int = 0
    # Sends in doubt that the provider turned out to have: taken over, not sent again.
    adopted: int = 0
    # Outcomes dropped because another worker (or a delivery report) settled the job meanwhile.
    overtaken: int = 0
    failures: list[str] = field(default_factory=list)
