"""Comparing what a request presents (a signature, a token, a CSRF value) with what we expect.

Whatever arrives is compared, in constant time, as bytes: a header decoded from Latin-1 or a
form value may hold any character, and `hmac.compare_digest` raises TypeError for text that
is not ASCII. A missing or malformed value is simply no match, so the caller answers 401/403
with its reason, never a 500.
"""

from __future__ import annotations

import hmac


def presented_matches(presented: str | bytes | None, expected: str | bytes | None) -> bool:
    """True only when `presented` equals `expected` and neither is empty."""
    if not presented or not expected:
        return False
    return hmac.compare_digest(_as_bytes(presented), _as_bytes(expected))


def _as_bytes(value: str | bytes) -> bytes:
    # surrogatepass: even half a UTF-16 pair from a JSON body compares (unequal), not fails.
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
