"""Web-chat rules without I/O: invitations, settings, signed user ids, visitor tokens."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from threadline.domain.errors import DomainError
from threadline.domain.messaging.web_chat import (
    BadUserHash,
    InvalidVisitorToken,
    Invitation,
    VisitorClaims,
    matching_invitation,
    new_public_key,
    parse_public_key,
    parse_widget_settings,
    pick_language,
    read_visitor_token,
    safe_photo_url,
    sign_visitor_token,
    user_hash,
    verify_user_hash,
    visible_to_visitor,
)

CHECKOUT = Invitation("/checkout*", 30, "Need help paying?")
PRICING = Invitation("/pricing", 5, "Questions about plans?")
ANY_PRODUCT = Invitation("/products/*/reviews", 0, "Ask about this product")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/checkout", CHECKOUT),
        ("/checkout/", CHECKOUT),
        ("/checkout/payment?step=2", CHECKOUT),
        ("/checkout#top", CHECKOUT),
        ("/pricing", PRICING),
        ("/pricing/", PRICING),
        ("/pricing/enterprise", None),
        ("/Checkout", None),
        ("/products/kettle/reviews", ANY_PRODUCT),
        ("/products/kettle", None),
        ("/", None),
        ("", None),
    ],
)
def test_invitation_rule_matches_the_page_path(path: str, expected: Invitation | None) -> None:
    assert matching_invitation((CHECKOUT, PRICING, ANY_PRODUCT), path) == expected


def test_the_first_matching_rule_wins() -> None:
    # When it fires (seconds_on_page) is the frame's timer: tests/browser/test_widget_browser.py.
    everywhere = Invitation("/*", 60, "Hello")
    rule = matching_invitation((CHECKOUT, everywhere), "/checkout")
    assert rule == CHECKOUT
    assert matching_invitation((everywhere, CHECKOUT), "/checkout") == everywhere


def test_widget_settings_take_defaults_and_refuse_bad_values_by_name() -> None:
    parsed = parse_widget_settings(
        {
            "prechat_enabled": True,
            "primary_colour": "#AABBCC",
            "invitations": [
                {"url_pattern": "/checkout*", "seconds_on_page": 30, "message": " Help? "}
            ],
        }
    )
    assert parsed.prechat_enabled and parsed.primary_colour == "#aabbcc"
    assert parsed.invitations == (Invitation("/checkout*", 30, "Help?"),)
    assert parse_widget_settings(None).prechat_enabled is False
    for bad, named in [
        ({"primary_colour": "red; background:url(x)"}, "primary_colour"),
        ({"invitations": [{"url_pattern": "checkout", "message": "x"}]}, "url_pattern"),
        (
            {"invitations": [{"url_pattern": "/x", "seconds_on_page": -1, "message": "x"}]},
            "0..3600",
        ),
        ({"invitations": [{"url_pattern": "/x", "message": ""}]}, "message"),
        ({"colour": "#000000"}, "colour"),
    ]:
        with pytest.raises(DomainError, match=named):
            parse_widget_settings(bad)


def test_user_hash_is_hex_hmac_sha256_of_the_user_id_with_the_inbox_secret() -> None:
    # Computed independently, the way a host's server would.
    assert user_hash("secret", "42") == hmac.new(b"secret", b"42", hashlib.sha256).hexdigest()
    verify_user_hash("secret", "42", user_hash("secret", "42").upper())
    with pytest.raises(BadUserHash, match="HMAC-SHA256"):
        verify_user_hash("secret", "42", user_hash("secret", "43"))
    with pytest.raises(BadUserHash):
        verify_user_hash("other", "42", user_hash("secret", "42"))


def test_visitor_tokens_are_signed_and_tamper_evident() -> None:
    claims = VisitorClaims(1, 2, "v_abc", "user-7")
    token = sign_visitor_token("key", claims)
    assert read_visitor_token("key", token) == claims
    with pytest.raises(InvalidVisitorToken):
        read_visitor_token("another key", token)
    _, _, signature = token.partition(".")
    forged = sign_visitor_token("key", VisitorClaims(1, 2, "v_someone_else", None))
    with pytest.raises(InvalidVisitorToken):
        read_visitor_token("key", forged.partition(".")[0] + "." + signature)
    with pytest.raises(InvalidVisitorToken):
        read_visitor_token("key", "garbage")


def test_public_keys_name_their_inbox() -> None:
    key = new_public_key(17)
    assert parse_public_key(key) == 17
    assert new_public_key(17) != key
    assert parse_public_key("wc_17") is None
    assert parse_public_key("17") is None


def test_language_from_data_lang_then_browser_then_english() -> None:
    assert pick_language("pl", "en-US,en;q=0.9") == "pl"
    assert pick_language(None, "uk-UA,uk;q=0.9,en;q=0.8") == "uk"
    assert pick_language("de", "fr-FR, pl;q=0.5") == "pl"
    assert pick_language(None, None) == "en"
    assert pick_language("UK_ua", None) == "uk"


def test_visitors_see_only_chat_messages_never_notes_or_other_channels() -> None:
    assert visible_to_visitor({"channel": "web_chat", "direction": "inbound"})
    assert visible_to_visitor({"channel": "web_chat", "direction": "outbound"})
    assert not visible_to_visitor({"channel": "web_chat", "direction": "note"})
    assert not visible_to_visitor({"channel": "web_chat", "direction": "system"})
    assert not visible_to_visitor({"channel": "email", "direction": "inbound"})


def test_agent_photos_only_from_safe_schemes() -> None:
    assert safe_photo_url("javascript:alert(1)") is None
    assert safe_photo_url("//evil.example/x.png") is None
    assert safe_photo_url("https://cdn.example.com/a.png") == "https://cdn.example.com/a.png"
    assert safe_photo_url("/widget/static/avatar.svg") == "/widget/static/avatar.svg"
    assert safe_photo_url("data:image/svg+xml;base64,AAAA")
    assert safe_photo_url("data:text/html,<script>") is None
