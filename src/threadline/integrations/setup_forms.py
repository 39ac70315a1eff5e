"""What the console's guided form asks for each kind of channel, and which of our URLs the
admin pastes at the provider. Each field is an inbox column (`address`, `secret`) or one of
the settings the channel's integration reads (docs/channels/<kind>.md says what each does).
Secrets (the inbox secret and any setting named like a password or token) are write-only:
the form shows whether one is set and takes a new one, never the stored value."""

from __future__ import annotations

from dataclasses import dataclass

from threadline.domain.channels import Channel
from threadline.domain.security.secret_settings import is_secret_setting

COLUMNS = frozenset({"address", "secret"})


@dataclass(frozen=True, slots=True)
class FormField:
    name: str
    # text | email | tel | url | number | checkbox | secret
    kind: str = "text"
    required: bool = False
    # A checkbox's setting when not ticked (None: left to the default, e.g. STARTTLS when
    # the server offers it).
    off: bool | None = False

    @property
    def write_only(self) -> bool:
        return self.kind == "secret" or self.name == "secret" or is_secret_setting(self.name)


@dataclass(frozen=True, slots=True)
class ChannelForm:
    channel: Channel
    fields: tuple[FormField, ...]
    # Our URLs to give the provider ({inbox_id} filled in), with what each is for.
    webhooks: tuple[tuple[str, str], ...] = ()
    # The docs page that explains the provider's side.
    doc: str = ""

    def field(self, name: str) -> FormField | None:
        return next((f for f in self.fields if f.name == name), None)


_SECRET = FormField("secret", "secret", required=True)
_TWILIO_SID = FormField("account_sid", required=True)

FORMS: dict[Channel, ChannelForm] = {
    form.channel: form
    for form in (
        ChannelForm(
            Channel.EMAIL,
            (
                FormField("address", "email", required=True),
                FormField("display_name"),
                FormField("smtp_host"),
                FormField("smtp_port", "number"),
                FormField("smtp_username"),
                FormField("smtp_password", "secret"),
                FormField("starttls", "checkbox", off=None),
                FormField("ssl", "checkbox"),
                FormField("imap_host"),
                FormField("imap_port", "number"),
                FormField("imap_ssl", "checkbox"),
                FormField("imap_username"),
                FormField("imap_password", "secret"),
                FormField("imap_folder"),
            ),
            doc="docs/channels/email.md",
        ),
        ChannelForm(
            Channel.SMS,
            (
                _TWILIO_SID,
                FormField("from_number", "tel"),
                FormField("messaging_service_sid"),
                _SECRET,
            ),
            (("sms", "/webhooks/twilio/{inbox_id}/sms"),),
            "docs/channels/sms.md",
        ),
        ChannelForm(
            Channel.VOICE,
            (_TWILIO_SID, _SECRET),
            (
                ("voice", "/webhooks/twilio/{inbox_id}/voice"),
                ("voice_status", "/webhooks/twilio/{inbox_id}/voice-status"),
            ),
            "docs/channels/voice.md",
        ),
        ChannelForm(
            Channel.WHATSAPP,
            (
                FormField("phone_number_id", required=True),
                FormField("access_token", "secret", required=True),
                FormField("verify_token", "secret", required=True),
                _SECRET,
            ),
            (("meta", "/webhooks/whatsapp/{inbox_id}"),),
            "docs/channels/whatsapp.md",
        ),
        ChannelForm(
            Channel.MESSENGER,
            (
                FormField("access_token", "secret", required=True),
                FormField("verify_token", "secret", required=True),
                _SECRET,
            ),
            (("meta", "/webhooks/messenger/{inbox_id}"),),
            "docs/channels/messenger.md",
        ),
        ChannelForm(
            Channel.TELEGRAM,
            (_SECRET, FormField("webhook_secret", "secret", required=True)),
            (("telegram", "/webhooks/telegram/{inbox_id}"),),
            "docs/channels/telegram.md",
        ),
        ChannelForm(
            Channel.FORM,
            (FormField("thank_you_url", "url"), FormField("rate_limit_per_minute", "number")),
            (("form", "/forms/{inbox_id}"),),
            "docs/channels/forms.md",
        ),
        ChannelForm(
            Channel.API,
            (FormField("webhook_url", "url"), _SECRET),
            (("api", "/api/v1/inbound/messages"),),
            "docs/channels/api.md",
        ),
        ChannelForm(Channel.WEB_CHAT, (), doc="docs/channels/web-chat.md"),
    )
}


class FormProblem(ValueError):
    """A field the admin filled in that cannot be a setting (a port that is not a number)."""


def entered_values(form: ChannelForm, posted: dict[str, str], creating: bool) -> dict[str, object]:
    """The inbox changes a posted guided form asks for: `address`, `secret` and `settings`.
    A write-only field left empty keeps what is stored (and is refused when required on
    creation); a checkbox not posted is off; an empty text or number clears its setting
    (None in `settings`: see settings_after)."""
    settings: dict[str, object] = {}
    changes: dict[str, object] = {}
    for item in form.fields:
        raw = posted.get(f"f-{item.name}", "").strip()
        if item.kind == "checkbox":
            value: object = True if raw == "on" else item.off
        elif item.write_only:
            if not raw:
                if creating and item.required:
                    raise FormProblem(f"{item.name} is needed")
                continue
            value = raw
        elif not raw:
            if item.required:
                raise FormProblem(f"{item.name} is needed")
            value = None
        elif item.kind == "number":
            if not raw.isdigit() or not 0 < int(raw) < 65_536:
                raise FormProblem(f"{item.name} must be a whole number from 1 to 65535")
            value = int(raw)
        else:
            value = raw[:1000]
        if item.name in COLUMNS:
            changes[item.name] = value
        else:
            settings[item.name] = value
    changes["settings"] = settings
    return changes


def settings_after(shown: dict[str, object], entered: dict[str, object]) -> dict[str, object]:
    """The settings to store: the ones the form does not ask for kept as they are (routing
    rules, message templates, the widget's look), the form's own set or cleared (None).
    Stored secrets the form left empty are kept by the inbox's own merge."""
    merged = {**shown, **entered}
    return {name: value for name, value in merged.items() if value is not None}
