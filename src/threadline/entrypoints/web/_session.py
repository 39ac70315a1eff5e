"""The agent workspace's cookie session and its CSRF token.

The session cookie holds the same signed agent token as `Authorization: Bearer`, but HttpOnly
and SameSite=Strict, so page scripts cannot read it and other sites cannot send it. Every
change made with the cookie must also carry the CSRF token, an HMAC of the session token
that the pages embed (form field `csrf_token`, or the `X-CSRF-Token` header for fetch).
"""

from __future__ import annotations

import hashlib
import hmac

from threadline.domain.security.signatures import presented_matches

SESSION_COOKIE = "tl_session"
LOGIN_CSRF_COOKIE = "tl_login_csrf"
LANGUAGE_COOKIE = "tl_lang"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


def csrf_token_for(session_token: str, secret_key: str) -> str:
    return hmac.new(
        secret_key.encode(), b"csrf:" + session_token.encode(), hashlib.sha256
    ).hexdigest()


def csrf_matches(session_token: str, secret_key: str, presented: str | None) -> bool:
    return presented_matches(presented, csrf_token_for(session_token, secret_key))
