"""Delivery: outbound messages from the durable queue to the channel, and what the
providers report back.

Code outside the package imports from here. Inside:

- queue.py        the queued message and its durable send job
- outbound.py     deliver_due: due jobs handed to their channel adapters, once, in three
                  steps: envelopes.py (read what to send), attempts.py (send, or settle a
                  send in doubt first), outcomes.py (record it while the lease is ours)
- job_states.py   what an outcome does to the job and its message (sent, failed, held, due)
- policy.py       the delivery policy (lease, attempts, back-off) and a round's report
- status.py       delivery reports applied, never moving a status backwards
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from threadline.delivery.outbound import deliver_due
    from threadline.delivery.policy import DeliveryPolicy, DeliveryReport
    from threadline.delivery.status import (
        apply_delivery_report,
        mark_bounced,
        report_delivery_status,
    )
else:
    from threadline.core.faces import lazy_face

    __getattr__ = lazy_face(__name__, ["outbound", "policy", "status"])

__all__ = [
    "DeliveryPolicy",
    "DeliveryReport",
    "apply_delivery_report",
    "deliver_due",
    "mark_bounced",
    "report_delivery_status",
]
