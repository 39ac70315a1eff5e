"""Downloading the files customers send, the Graph API way.

WhatsApp: GET {graph}/{version}/{media-id} with the access token answers JSON with a
short-lived `url`; GET that url, again with the token, gives the bytes.
Messenger: the webhook carries a CDN url that is fetched directly (no token sent).
The Graph API base is the operator's setting; a url found in a payload or an answer is
fetched with the checking client (adapters/egress/http.py), which refuses internal
addresses (domain.egress.EgressRefused) at every redirect hop.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from threadline.domain.errors import DomainError


class MediaUnavailable(DomainError):
    """The file could not be fetched now; Meta redelivers the webhook, and we try again."""

    status = 502
    title = "Media not available"


@dataclass(frozen=True, slots=True)
class Downloaded:
    data: bytes
    content_type: str | None


@dataclass(frozen=True, slots=True)
class GraphEndpoint:
    base: str
    version: str

    def url(self, *parts: str) -> str:
        return "/".join([self.base.rstrip("/"), self.version.strip("/"), *parts])


async def download_whatsapp_media(
    graph_client: httpx.AsyncClient,
    file_client: httpx.AsyncClient,
    graph: GraphEndpoint,
    access_token: str | None,
    media_id: str,
) -> Downloaded:
    """`graph_client` asks the Graph API where the file is; `file_client` (a checking one)
    fetches it from there."""
    if not access_token:
        raise MediaUnavailable(
            "the WhatsApp inbox has no access_token setting, so media cannot be downloaded"
        )
    auth = {"Authorization": f"Bearer {access_token}"}
    described = await _get(graph_client, graph.url(media_id), auth, f"WhatsApp media {media_id}")
    try:
        url = described.json()["url"]
    except (ValueError, KeyError, TypeError) as exc:
        raise MediaUnavailable(f"the Graph API described media {media_id} without a url") from exc
    if not isinstance(url, str):
        raise MediaUnavailable(f"the Graph API described media {media_id} without a url")
    response = await _get(file_client, url, auth, f"WhatsApp media {media_id}")
    return Downloaded(response.content, _content_type(response))


async def download_url(client: httpx.AsyncClient, url: str, what: str) -> Downloaded:
    response = await _get(client, url, {}, what)
    return Downloaded(response.content, _content_type(response))


async def _get(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], what: str
) -> httpx.Response:
    try:
        response = await client.get(url, headers=headers, follow_redirects=True)
    except httpx.HTTPError as exc:
        # The exception text may hold the URL but never the token, which sits in a header.
        raise MediaUnavailable(f"could not download {what}: {type(exc).__name__}") from exc
    if response.status_code != 200:
        raise MediaUnavailable(f"could not download {what}: HTTP {response.status_code}")
    return response


def _content_type(response: httpx.Response) -> str | None:
    value = response.headers.get("Content-Type")
    return value.split(";")[0].strip() if value else None
