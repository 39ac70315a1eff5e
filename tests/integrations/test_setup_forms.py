"""The console's guided channel forms turn what an admin typed into inbox changes: secrets
left empty are kept, settings the form does not ask for survive an edit, bad numbers are
refused with the field named."""

from __future__ import annotations

import pytest

from threadline.domain.channels import Channel
from threadline.integrations.setup_forms import (
    FORMS,
    FormProblem,
    entered_values,
    settings_after,
)

EMAIL = FORMS[Channel.EMAIL]


def test_an_edit_keeps_the_settings_the_form_does_not_show_and_clears_emptied_ones() -> None:
    stored = {
        "routing": {"required_skills": {"billing": 5}},
        "display_name": "Old",
        "smtp_port": 25,
    }
    changes = entered_values(
        EMAIL,
        {
            "f-address": "orders@kettles.example",
            "f-smtp_host": "relay.kettles.example",
            "f-ssl": "on",
        },
        creating=False,
    )
    assert changes["address"] == "orders@kettles.example"
    assert settings_after(stored, changes["settings"]) == {  # type: ignore[arg-type]
        "routing": {"required_skills": {"billing": 5}},
        "smtp_host": "relay.kettles.example",
        "ssl": True,
        "imap_ssl": False,
    }


def test_an_empty_secret_is_kept_on_edit_but_needed_when_connecting() -> None:
    sms = FORMS[Channel.SMS]
    posted = {"f-account_sid": "AC123", "f-from_number": "+48221002030"}
    assert "secret" not in entered_values(sms, posted, creating=False)
    with pytest.raises(FormProblem, match="secret is needed"):
        entered_values(sms, posted, creating=True)
    typed = entered_values(sms, {**posted, "f-secret": "token"}, creating=True)
    assert typed["secret"] == "token"


def test_a_port_must_be_a_port() -> None:
    for bad in ("abc", "0", "70000", "-1"):
        with pytest.raises(FormProblem, match="smtp_port must be a whole number"):
            entered_values(EMAIL, {"f-address": "a@b.example", "f-smtp_port": bad}, creating=False)
    ok = entered_values(EMAIL, {"f-address": "a@b.example", "f-smtp_port": "587"}, creating=False)
    assert ok["settings"]["smtp_port"] == 587  # type: ignore[index]


def test_starttls_left_unticked_means_when_the_server_offers_it() -> None:
    changes = entered_values(EMAIL, {"f-address": "a@b.example"}, creating=False)
    assert "starttls" not in settings_after({"starttls": True}, changes["settings"])  # type: ignore[arg-type]
