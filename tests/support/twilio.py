"""Twilio's side in tests: a real HTTP server on 127.0.0.1 speaking Twilio's REST format,
and helpers that sign webhook requests the way Twilio does.

The server answers POST /2010-04-01/Accounts/{sid}/Messages.json with Twilio's message
resource (201) or a scripted error, keeps every message it accepted, and lists them on
GET of the same path as Twilio's Messages list resource does: filtered by To, From and
DateSent / DateSent< / DateSent> (a GMT day), newest first, paged by PageSize and Page with
Twilio's page fields (next_page_uri, ...). It serves MMS media files at Twilio's media
paths, checking HTTP basic auth (AccountSid:AuthToken) on everything, as Twilio does.

To stand for the failures that make a send ambiguous it can be told, per request, to
accept a message and then answer only after the client has given up ("hang"), to accept
it and close the connection without an answer ("drop"), or to hang without ever taking
the message ("lose"); and to wait a moment before every answer (`answer_delay`), so that
a worker can be killed while Twilio has messages it has not answered for yet. A message
counts as sent by Twilio (status "sent", DateSent set) the moment it is accepted.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import httpx
from sqlalchemy import update

from tests.support.fixtures import load_fixture
from tests.support.local_http import (
    QuietHandler,
    ignoring_client_hang_ups,
    respond,
    respond_json,
    serving,
)
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.integrations.twilio.signature import compute_signature

ACCOUNT_SID = "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
AUTH_TOKEN = "twilio-auth-token-for-tests-0123456789"
OUR_NUMBER = "+15017122661"
CUSTOMER_NUMBER = "+14155552671"
BASE_URL = "http://threadline.test"


def fixture_pairs(name: str, **placeholders: str) -> list[tuple[str, str]]:
    """A form-encoded fixture as Twilio would post it, placeholders filled in."""
    text = load_fixture("twilio", name).decode().strip()
    for key, value in placeholders.items():
        text = text.replace("{" + key + "}", quote(value, safe=""))
    return parse_qsl(text, keep_blank_values=True)


def fixture_json(name: str, **placeholders: str) -> dict[str, Any]:
    text = load_fixture("twilio", name).decode()
    for key, value in placeholders.items():
        text = text.replace("{" + key + "}", value)
    data: dict[str, Any] = json.loads(text)
    return data


async def post_signed(
    client: httpx.AsyncClient,
    path: str,
    pairs: list[tuple[str, str]],
    *,
    token: str = AUTH_TOKEN,
    signature: str | None = None,
) -> httpx.Response:
    """POST the form as Twilio does: X-Twilio-Signature over the full URL + sorted params."""
    if signature is None:
        signature = compute_signature(token, BASE_URL + path, pairs)
    return await post_form(client, path, pairs, {"X-Twilio-Signature": signature})


async def post_form(
    client: httpx.AsyncClient,
    path: str,
    pairs: list[tuple[str, str]],
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST the pairs form-encoded, with `headers` (a signature, proxy headers) if any."""
    sent = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
    return await client.post(path, content=urlencode(pairs), headers=sent)


async def configure_twilio_inbox(runtime: Runtime, inbox_id: int, **settings: Any) -> None:
    values = {"account_sid": ACCOUNT_SID, "from_number": OUR_NUMBER, **settings}
    async with runtime.sessionmaker() as session:
        await session.execute(
            update(t.Inbox).where(t.Inbox.id == inbox_id).values(secret=AUTH_TOKEN, settings=values)
        )
        await session.commit()


@dataclass
class TwilioRequestSeen:
    method: str
    path: str
    form: dict[str, str]
    authorized: bool
    query: dict[str, str] = field(default_factory=dict)


MESSAGES_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
# What to do with the next message POSTs, in order (see the module's docstring).
AFTER_ACCEPT_MODES = frozenset({"hang", "drop", "lose"})


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class FakeTwilio:
    url: str = ""
    requests: list[TwilioRequestSeen] = field(default_factory=list)
    # (status, json body) answers for the Messages API; a 201 resource when empty.
    script: deque[tuple[int, dict[str, Any]]] = field(default_factory=deque)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    sent: int = 0
    # Every message accepted, as Twilio's message resource, oldest first.
    accepted: list[dict[str, Any]] = field(default_factory=list)
    # "hang", "drop" or "lose" for the next message POSTs.
    misbehave: deque[str] = field(default_factory=deque)
    # Set to let hanging requests answer (or give up); they wait at most hang_seconds.
    release: threading.Event = field(default_factory=threading.Event)
    hang_seconds: float = 10.0
    # Seconds between accepting any message and answering for it.
    answer_delay: float = 0.0
    # Accepted messages not answered for yet.
    unanswered: int = 0
    # Twilio's clock, for date_created and date_sent (tests pass their ManualClock's now).
    clock: Callable[[], datetime] = _utc_now

    def answer_next(self, *answers: tuple[int, dict[str, Any]]) -> None:
        with self.lock:
            self.script.extend(answers)

    def misbehave_next(self, *modes: str) -> None:
        assert set(modes) <= AFTER_ACCEPT_MODES, modes
        with self.lock:
            self.misbehave.extend(modes)

    def messages_posted(self) -> list[TwilioRequestSeen]:
        with self.lock:
            return [r for r in self.requests if r.method == "POST" and r.path == MESSAGES_PATH]

    def lookups(self) -> list[TwilioRequestSeen]:
        """GETs of the Messages list resource."""
        with self.lock:
            return [
                r
                for r in self.requests
                if r.method == "GET" and urlsplit(r.path).path == MESSAGES_PATH
            ]

    def accepted_bodies(self) -> list[str]:
        with self.lock:
            return [str(m["body"]) for m in self.accepted]

    def _authorized(self, handler: BaseHTTPRequestHandler) -> bool:
        expected = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        return handler.headers.get("Authorization") == f"Basic {expected}"

    def handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        data = handler.rfile.read(length)
        if len(data) < length:
            # The client went away mid-request (killed): there is no request to act on.
            handler.close_connection = True
            return None
        raw = data.decode()
        authorized = self._authorized(handler)
        split = urlsplit(handler.path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        seen = TwilioRequestSeen(method, handler.path, dict(parse_qsl(raw)), authorized, query)
        with self.lock:
            self.requests.append(seen)
        if not authorized:
            return respond_json(handler, 401, fixture_json("rest_error_20003.json"))
        if method == "GET" and handler.path in self.media:
            data, content_type = self.media[handler.path]
            return respond(handler, 200, data, content_type)
        if method == "GET" and split.path == MESSAGES_PATH:
            return respond_json(handler, 200, self._list_page(query))
        if method == "POST" and handler.path == MESSAGES_PATH:
            return self._create(handler, seen.form)
        return respond_json(handler, 404, {"code": 20404, "message": "not found", "status": 404})

    def _create(self, handler: BaseHTTPRequestHandler, form: dict[str, str]) -> None:
        if not form.get("To"):
            error = {"code": 21604, "message": "A 'To' phone number is required.", "status": 400}
            return respond_json(handler, 400, error)
        with self.lock:
            mode = self.misbehave.popleft() if self.misbehave else None
            answer = self.script.popleft() if self.script and mode is None else None
        if mode == "lose":
            # The request arrived, but Twilio never took the message nor answered.
            self.release.wait(self.hang_seconds)
            handler.close_connection = True
            return None
        if answer is None:
            answer = (201, self._accept(form))
        if mode == "drop":
            # Taken, then the connection closes before any answer is written.
            self._answered()
            handler.close_connection = True
            return None
        if mode == "hang":
            self.release.wait(self.hang_seconds)
        elif self.answer_delay and answer[0] == 201:
            time.sleep(self.answer_delay)
        try:
            return respond_json(handler, *answer)
        finally:
            if answer[0] == 201:
                self._answered()

    def _accept(self, form: dict[str, str]) -> dict[str, Any]:
        now = self.clock()
        with self.lock:
            self.sent += 1
            sid = f"SM{self.sent:032x}"
            resource = fixture_json("rest_message_created.json", SID=sid, BODY="")
            resource.update(
                body=form.get("Body", ""),
                to=form.get("To", ""),
                date_created=format_datetime(now),
                date_updated=format_datetime(now),
            )
            if form.get("From"):
                resource["from"] = form["From"]
            if form.get("MessagingServiceSid"):
                resource["messaging_service_sid"] = form["MessagingServiceSid"]
            listed = {**resource, "status": "sent", "date_sent": format_datetime(now)}
            self.accepted.append(listed)
            self.unanswered += 1
        return resource

    def _answered(self) -> None:
        with self.lock:
            self.unanswered -= 1

    def _list_page(self, query: dict[str, str]) -> dict[str, Any]:
        """Twilio's Messages list: filtered, newest first, one page of it."""
        with self.lock:
            found = [m for m in self.accepted if _listed(m, query)]
        found.sort(key=lambda m: _date(m["date_sent"]), reverse=True)
        size = min(int(query.get("PageSize") or 50), 1000)
        page = int(query.get("Page") or 0)
        chunk = found[page * size : (page + 1) * size]
        filters = {k: v for k, v in query.items() if k not in {"Page", "PageSize", "PageToken"}}

        def page_uri(number: int, token: str | None = None) -> str:
            params = {**filters, "PageSize": str(size), "Page": str(number)}
            if token:
                params["PageToken"] = token
            return f"{MESSAGES_PATH}?{urlencode(params)}"

        more = len(found) > (page + 1) * size
        return {
            "end": page * size + max(len(chunk) - 1, 0),
            "first_page_uri": page_uri(0),
            "messages": chunk,
            "next_page_uri": page_uri(page + 1, f"PA{chunk[-1]['sid']}") if more else None,
            "page": page,
            "page_size": size,
            "previous_page_uri": page_uri(page - 1) if page else None,
            "start": page * size,
            "uri": page_uri(page, query.get("PageToken")),
        }


def _date(rfc2822: str) -> datetime:
    return parsedate_to_datetime(rfc2822)


def _day(value: str) -> date:
    # Twilio documents YYYY-MM-DD; it takes a full timestamp too.
    return date.fromisoformat(value[:10])


def _listed(message: dict[str, Any], query: dict[str, str]) -> bool:
    if "To" in query and message["to"] != query["To"]:
        return False
    if "From" in query and message["from"] != query["From"]:
        return False
    sent = message.get("date_sent")
    if any(key in query for key in ("DateSent", "DateSent<", "DateSent>")):
        if not sent:
            return False
        day = _date(sent).astimezone(UTC).date()
        if "DateSent" in query and day != _day(query["DateSent"]):
            return False
        if "DateSent<" in query and day > _day(query["DateSent<"]):
            return False
        if "DateSent>" in query and day < _day(query["DateSent>"]):
            return False
    return True


class _Handler(QuietHandler[FakeTwilio]):
    def do_POST(self) -> None:
        with ignoring_client_hang_ups():  # a timeout we were told to cause
            self.server.state.handle(self, "POST")

    def do_GET(self) -> None:
        self.server.state.handle(self, "GET")


@contextmanager
def running_fake_twilio() -> Iterator[FakeTwilio]:
    """A FakeTwilio listening on a free port of 127.0.0.1."""
    fake = FakeTwilio()
    with serving(_Handler, fake, on_stop=fake.release.set) as base_url:
        fake.url = base_url
        yield fake
