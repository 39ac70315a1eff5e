"""X-Twilio-Signature, computed and checked the way Twilio documents it.

Twilio signs the exact URL it called (scheme, host, port, path, query string) followed,
for form-encoded POSTs, by every parameter sorted by name as name+value with no separators
(a repeated name contributes all its values, sorted). The digest is HMAC-SHA1 keyed with
the account's auth token, base64-encoded. JSON webhooks instead carry a `bodySHA256` query
parameter (hex SHA-256 of the raw body) and the signature covers the URL alone.

Some of Twilio's callers include the default port in the signed URL and some do not, so,
like Twilio's own helper libraries, a request is accepted if it matches the URL as received,
without its port, or with the scheme's default port added.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from threadline.domain.security.signatures import presented_matches

DEFAULT_PORTS = {"https": "443", "http": "80"}
_HOST_PORT = re.compile(r"^(?P<host>.*?)(?::(?P<port>\d*))?$")


def compute_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]] = ()) -> str:
    """Base64 HMAC-SHA1 of the URL followed by the sorted name+value pairs."""
    payload = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode("utf-8"), payload.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def body_sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def url_variants(url: str) -> list[str]:
    """The URL as received, without its port, and with the scheme's default port."""
    parts = urlsplit(url)
    userinfo, at, host_port = parts.netloc.rpartition("@")
    match = _HOST_PORT.match(host_port)
    host, port = (match.group("host"), match.group("port")) if match else (host_port, None)
    if ":" in host and not host.startswith("["):
        # A bare IPv6 literal without brackets cannot carry a port; leave it alone.
        host, port = host_port, None
    prefix = userinfo + at
    without_port = urlunsplit(parts._replace(netloc=prefix + host))
    variants = [url, without_port]
    default = DEFAULT_PORTS.get(parts.scheme.lower())
    if not port and default:
        variants.append(urlunsplit(parts._replace(netloc=f"{prefix}{host}:{default}")))
    return list(dict.fromkeys(variants))


def validate_form_request(
    auth_token: str, url: str, params: Iterable[tuple[str, str]], signature: str | None
) -> bool:
    """A form-encoded (or GET) request: the URL plus every POST parameter is signed."""
    if not signature or not auth_token:
        return False
    pairs = list(params)
    return any(
        presented_matches(signature, compute_signature(auth_token, candidate, pairs))
        for candidate in url_variants(url)
    )


def validate_json_request(auth_token: str, url: str, body: bytes, signature: str | None) -> bool:
    """A JSON request: the body's hash must match `bodySHA256`, and the URL is signed."""
    if not signature or not auth_token:
        return False
    query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    claimed = query.get("bodySHA256", "")
    if not presented_matches(claimed.lower(), body_sha256(body)):
        return False
    return any(
        presented_matches(signature, compute_signature(auth_token, candidate))
        for candidate in url_variants(url)
    )
