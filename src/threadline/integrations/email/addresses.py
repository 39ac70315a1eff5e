"""Per-conversation reply addresses: ``support+<token>@example.com``.

The token carries the conversation id and a truncated HMAC-SHA256 keyed with the inbox
secret, so a reply threads back even when the mail client dropped In-Reply-To, and nobody
can aim a message at another customer's conversation by guessing ids. Base32 (lower case,
no padding) survives mail systems that change the case of local parts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from threadline.domain.security.signatures import presented_matches

# 80 bits of MAC: unguessable, and the address stays well under the 64-character local part.
MAC_BYTES = 10
SUBADDRESS_SEPARATOR = "+"


def _mac(conversation_id: int, secret: str) -> bytes:
    message = f"threadline-reply-address:{conversation_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()[:MAC_BYTES]


def _id_bytes(conversation_id: int) -> bytes:
    return conversation_id.to_bytes(max(1, (conversation_id.bit_length() + 7) // 8), "big")


def reply_token(conversation_id: int, secret: str) -> str:
    if conversation_id < 0:
        raise ValueError("conversation ids are positive")
    payload = _id_bytes(conversation_id) + _mac(conversation_id, secret)
    return base64.b32encode(payload).decode("ascii").rstrip("=").lower()


def split_address(address: str) -> tuple[str, str, str | None] | None:
    """(base local part, domain, subaddress token or None), lower-cased; None if not an address."""
    cleaned = address.strip().strip("<>").strip()
    local, at, domain = cleaned.rpartition("@")
    if not at or not local or not domain:
        return None
    base, plus, token = local.partition(SUBADDRESS_SEPARATOR)
    return base.lower(), domain.lower(), (token.lower() if plus else None)


def reply_address(inbox_address: str, conversation_id: int, secret: str) -> str:
    """The address outbound mail of one conversation uses as From/Reply-To."""
    parts = split_address(inbox_address)
    if parts is None:
        raise ValueError(f"not an email address: {inbox_address!r}")
    base, domain, _ = parts
    return f"{base}{SUBADDRESS_SEPARATOR}{reply_token(conversation_id, secret)}@{domain}"


def conversation_from_token(token: str, secret: str) -> int | None:
    padded = token.upper() + "=" * (-len(token) % 8)
    try:
        payload = base64.b32decode(padded)
    except (binascii.Error, ValueError):
        return None
    if len(payload) <= MAC_BYTES:
        return None
    conversation_id = int.from_bytes(payload[:-MAC_BYTES], "big")
    # Compare in constant time so the MAC cannot be found byte by byte.
    if not presented_matches(payload[-MAC_BYTES:], _mac(conversation_id, secret)):
        return None
    return conversation_id


def conversation_from_address(address: str, secret: str) -> int | None:
    """The conversation a reply address names, or None when it has no token or a forged one."""
    parts = split_address(address)
    if parts is None or not parts[2]:
        return None
    return conversation_from_token(parts[2], secret)


def is_inbox_address(address: str, inbox_address: str) -> bool:
    """True for the inbox address itself and any ``+subaddress`` form of it."""
    mine = split_address(inbox_address)
    theirs = split_address(address)
    if mine is None or theirs is None:
        return False
    return (theirs[0], theirs[1]) == (mine[0], mine[1])


def is_our_reply_address(address: str, inbox_address: str, secret: str) -> bool:
    """True when `address` is a genuine per-conversation reply address of this inbox."""
    return (
        is_inbox_address(address, inbox_address)
        and conversation_from_address(address, secret) is not None
    )
