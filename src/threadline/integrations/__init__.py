"""One folder per channel provider: its webhook (verify and parse), its sender and its wire
format. Adding a channel touches its folder here, one line in `senders.py` and one in the
API app's router list (docs/architecture.md, "Adding a channel")."""

# The providers' webhooks, each exposing `router`, in the order the API docs list them.
WEBHOOK_MODULES = [
    "threadline.integrations.cti.webhook",
    "threadline.integrations.forms.webhook",
    "threadline.integrations.meta.webhook",
    "threadline.integrations.telegram.webhook",
    "threadline.integrations.twilio.webhook",
]
