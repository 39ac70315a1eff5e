"""What Twilio's MessageStatus callbacks say about our replies, in our words."""

from __future__ import annotations

from collections.abc import Mapping

from threadline.domain.conversations import DeliveryStatus

# MessageStatus values of our replies. Twilio having accepted it (accepted, scheduled,
# queued, sending) is what we call sent; receiving and received are about inbound messages.
MESSAGE_STATUS = {
    "accepted": DeliveryStatus.SENT,
    "scheduled": DeliveryStatus.SENT,
    "queued": DeliveryStatus.SENT,
    "sending": DeliveryStatus.SENT,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "undelivered": DeliveryStatus.FAILED,
    "failed": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
}
# The common delivery errors, so the agent reads more than a number.
_ERROR_TEXT = {
    "21211": "invalid 'To' phone number",
    "21610": "the recipient has opted out (STOP)",
    "21614": "the number cannot receive SMS",
    "30003": "unreachable destination handset",
    "30004": "message blocked",
    "30005": "unknown destination handset",
    "30006": "landline or unreachable carrier",
    "30007": "message filtered by the carrier",
    "30008": "unknown error",
}


def failure_reason(params: Mapping[str, str], status: str) -> str | None:
    if MESSAGE_STATUS.get(status.lower()) is not DeliveryStatus.FAILED:
        return None
    code = params.get("ErrorCode", "").strip()
    reason = f"Twilio reported the SMS {status.lower()}"
    if code:
        reason += f": error {code}"
        if code in _ERROR_TEXT:
            reason += f" ({_ERROR_TEXT[code]})"
    if params.get("ErrorMessage"):
        reason += f": {params['ErrorMessage']}"
    return reason
