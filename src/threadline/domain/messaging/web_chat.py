"""Web-chat rules: widget settings, visitor tokens, signed user ids, invitations, languages.

Pure functions only: the services pass in keys, settings and clocks.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from threadline.domain.errors import DomainError, Forbidden
from threadline.domain.security.signatures import presented_matches

LANGUAGES = ("en", "pl", "uk")
DEFAULT_LANGUAGE = "en"
MAX_MESSAGE_CHARS = 5_000
MAX_INVITATIONS = 20
MAX_WELCOME_CHARS = 500
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_PUBLIC_KEY = re.compile(r"wc_([0-9]{1,18})_([A-Za-z0-9_-]{16,64})")
_TOKEN_CONTEXT = b"threadline-widget-visitor-v1:"


class InvalidWidgetSettings(DomainError):
    title = "Invalid widget settings"


class BadUserHash(Forbidden):
    title = "Bad user hash"


class InvalidVisitorToken(Forbidden):
    title = "Invalid visitor token"
    status = 401


@dataclass(frozen=True, slots=True)
class Invitation:
    """Open the widget with `message` after `seconds_on_page` on a page matching the pattern."""

    url_pattern: str
    seconds_on_page: int
    message: str


@dataclass(frozen=True, slots=True)
class WidgetSettings:
    prechat_enabled: bool = False
    prechat_email_required: bool = False
    welcome_text: str = ""
    primary_colour: str = "#1f6feb"
    text_colour: str = "#ffffff"
    invitations: tuple[Invitation, ...] = ()

    def public(self) -> dict[str, Any]:
        """What the frame may know (the invitations stay with the server's matcher)."""
        return {
            "prechat_enabled": self.prechat_enabled,
            "prechat_email_required": self.prechat_email_required,
            "welcome_text": self.welcome_text,
            "primary_colour": self.primary_colour,
            "text_colour": self.text_colour,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.public(),
            "invitations": [
                {
                    "url_pattern": i.url_pattern,
                    "seconds_on_page": i.seconds_on_page,
                    "message": i.message,
                }
                for i in self.invitations
            ],
        }


def parse_widget_settings(raw: Any) -> WidgetSettings:
    """Settings as stored under the inbox's settings["widget"]; missing keys take defaults,
    wrong ones are refused with the offending key named."""
    if raw is None:
        return WidgetSettings()
    if not isinstance(raw, dict):
        raise InvalidWidgetSettings("widget settings must be an object")
    known = {
        "prechat_enabled",
        "prechat_email_required",
        "welcome_text",
        "primary_colour",
        "text_colour",
        "invitations",
    }
    unknown = sorted(set(raw) - known)
    if unknown:
        raise InvalidWidgetSettings(f"unknown widget setting(s): {', '.join(unknown)}")
    defaults = WidgetSettings()
    return WidgetSettings(
        prechat_enabled=_bool(raw, "prechat_enabled", defaults.prechat_enabled),
        prechat_email_required=_bool(
            raw, "prechat_email_required", defaults.prechat_email_required
        ),
        welcome_text=_text(raw, "welcome_text", MAX_WELCOME_CHARS, defaults.welcome_text),
        primary_colour=_colour(raw, "primary_colour", defaults.primary_colour),
        text_colour=_colour(raw, "text_colour", defaults.text_colour),
        invitations=tuple(_invitation(i, n) for n, i in enumerate(_list(raw, "invitations"))),
    )


def _bool(raw: dict[str, Any], key: str, default: bool) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise InvalidWidgetSettings(f"{key} must be true or false")
    return value


def _text(raw: dict[str, Any], key: str, limit: int, default: str) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidWidgetSettings(f"{key} must be text of at most {limit} characters")
    return value


def _colour(raw: dict[str, Any], key: str, default: str) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str) or not _COLOUR.fullmatch(value):
        raise InvalidWidgetSettings(f"{key} must be a colour like #1f6feb")
    return value.lower()


def _list(raw: dict[str, Any], key: str) -> list[Any]:
    value = raw.get(key, [])
    if not isinstance(value, list) or len(value) > MAX_INVITATIONS:
        raise InvalidWidgetSettings(f"{key} must be a list of at most {MAX_INVITATIONS} rules")
    return value


def _invitation(raw: Any, index: int) -> Invitation:
    where = f"invitations[{index}]"
    if not isinstance(raw, dict):
        raise InvalidWidgetSettings(f"{where} must be an object")
    pattern = raw.get("url_pattern")
    if not isinstance(pattern, str) or not pattern.startswith("/") or len(pattern) > 300:
        raise InvalidWidgetSettings(f"{where}.url_pattern must be a path pattern like /checkout*")
    seconds = raw.get("seconds_on_page", 0)
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 <= seconds <= 3600:
        raise InvalidWidgetSettings(f"{where}.seconds_on_page must be 0..3600")
    message = raw.get("message")
    if not isinstance(message, str) or not message.strip() or len(message) > MAX_WELCOME_CHARS:
        raise InvalidWidgetSettings(
            f"{where}.message must be text of 1..{MAX_WELCOME_CHARS} characters"
        )
    return Invitation(pattern, seconds, message.strip())


def matching_invitation(invitations: tuple[Invitation, ...], path: str) -> Invitation | None:
    """The first rule whose pattern matches the page path (query and fragment ignored).

    Patterns are shell-style (`*` any run, `?` one character), case-sensitive, and match
    the whole path: `/checkout*` matches /checkout and /checkout/pay, `/checkout` only
    /checkout itself (a trailing slash is ignored).
    """
    clean = path.split("?", 1)[0].split("#", 1)[0] or "/"
    if len(clean) > 1:
        clean = clean.rstrip("/") or "/"
    for rule in invitations:
        pattern = rule.url_pattern
        if len(pattern) > 1 and not pattern.endswith("*"):
            pattern = pattern.rstrip("/") or "/"
        if fnmatch.fnmatchcase(clean, pattern):
            return rule
    return None


# --- Public keys of web-chat inboxes -----------------------------------------------------


def new_public_key(inbox_id: int) -> str:
    """The key a site embeds (data-inbox): names the inbox and carries a random part, so
    inbox ids cannot be walked to find other companies' widgets."""
    return f"wc_{inbox_id}_{secrets.token_urlsafe(18)}"


def parse_public_key(key: str) -> int | None:
    """The inbox id a well-formed key names (the random part is checked by the caller)."""
    found = _PUBLIC_KEY.fullmatch(key)
    return int(found.group(1)) if found else None


def same_secret(given: str, expected: str) -> bool:
    return presented_matches(given, expected)


# --- Signed user ids from the host site --------------------------------------------------


def user_hash(inbox_secret: str, user_id: str) -> str:
    """Hex HMAC-SHA256 of the user id, keyed with the inbox secret (what the host computes)."""
    return hmac.new(inbox_secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def verify_user_hash(inbox_secret: str, user_id: str, given_hash: str) -> None:
    expected = user_hash(inbox_secret, user_id)
    if not presented_matches(given_hash.strip().lower(), expected):
        raise BadUserHash(
            "data-user-hash does not match data-user-id: it must be the hex HMAC-SHA256 of "
            "the user id keyed with this inbox's secret, computed on your server"
        )


# --- Visitor tokens -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VisitorClaims:
    workspace_id: int
    inbox_id: int
    visitor_id: str
    # The host's user id, present only when it came with a valid user hash.
    user_id: str | None = None


def new_visitor_id() -> str:
    return "v_" + secrets.token_urlsafe(18)


def sign_visitor_token(key: str, claims: VisitorClaims) -> str:
    body = json.dumps(
        {
            "w": claims.workspace_id,
            "i": claims.inbox_id,
            "v": claims.visitor_id,
            "u": claims.user_id,
        },
        separators=(",", ":"),
    ).encode()
    encoded = base64.urlsafe_b64encode(body).rstrip(b"=")
    signature = hmac.new(key.encode(), _TOKEN_CONTEXT + encoded, hashlib.sha256).hexdigest()
    return encoded.decode() + "." + signature


def read_visitor_token(key: str, token: str) -> VisitorClaims:
    encoded, _, signature = token.partition(".")
    expected = hmac.new(key.encode(), _TOKEN_CONTEXT + encoded.encode(), hashlib.sha256)
    if not presented_matches(signature, expected.hexdigest()):
        raise InvalidVisitorToken("the visitor token is not valid; start a new session")
    try:
        data = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
        claims = VisitorClaims(int(data["w"]), int(data["i"]), str(data["v"]), data.get("u"))
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise InvalidVisitorToken("the visitor token is not valid; start a new session") from exc
    if claims.user_id is not None and not isinstance(claims.user_id, str):
        raise InvalidVisitorToken("the visitor token is not valid; start a new session")
    return claims


# --- Languages ----------------------------------------------------------------------------


def pick_language(requested: str | None, accept_language: str | None) -> str:
    """data-lang wins, then the browser's languages in order; English otherwise."""
    candidates: list[str] = []
    if requested:
        candidates.append(requested)
    for part in (accept_language or "").split(","):
        candidates.append(part.split(";", 1)[0])
    for candidate in candidates:
        primary = candidate.strip().lower().replace("_", "-").split("-", 1)[0]
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


# --- What a visitor may see ---------------------------------------------------------------


def visible_to_visitor(message: dict[str, Any]) -> bool:
    """Only the chat itself: the visitor's own messages and agents' chat replies.

    Notes and system entries are internal. Messages of other channels on the same matter
    (an email the address' owner sent, a call) are not shown either: an email address typed
    into the widget is unverified, so the widget must never become a window on that mailbox.
    """
    return message.get("channel") == "web_chat" and message.get("direction") in {
        "inbound",
        "outbound",
    }


def safe_photo_url(url: str | None) -> str | None:
    """Agent photos shown in the frame: our own paths, http(s) or inline images only."""
    if not url:
        return None
    lowered = url.strip().lower()
    if lowered.startswith(("https://", "http://", "data:image/png", "data:image/jpeg")):
        return url.strip()
    if lowered.startswith(("data:image/svg+xml", "data:image/webp", "data:image/gif")):
        return url.strip()
    if lowered.startswith("/") and not lowered.startswith("//"):
        return url.strip()
    return None
