"""X-Hub-Signature-256: how Meta signs the webhook requests it sends us.

The header is "sha256=" + hex HMAC-SHA256 keyed with the app secret over the raw request
body bytes. The bytes must be the ones received: Meta escapes non-ASCII characters in its
JSON (\\u00f3), so re-serialising a parsed payload would produce different bytes.
"""

from __future__ import annotations

import hashlib
import hmac

from threadline.domain.security.signatures import presented_matches

HEADER = "X-Hub-Signature-256"
PREFIX = "sha256="


def sign(app_secret: str, raw_body: bytes) -> str:
    """The header value Meta sends for `raw_body`."""
    digest = hmac.new(app_secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()
    return PREFIX + digest


def verify(app_secret: str | None, raw_body: bytes, header: str | None) -> bool:
    """True only when `header` signs exactly these bytes with this secret (constant time)."""
    if not app_secret or not header or not header.startswith(PREFIX):
        return False
    expected = sign(app_secret, raw_body)
    return presented_matches(header.strip().lower(), expected)
