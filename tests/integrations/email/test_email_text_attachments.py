"""A text file a customer attaches to an email is kept as a file, not read as their words.

Mail clients attach .txt files as `text/plain` parts with `Content-Disposition: inline;
filename=…` (Thunderbird) or `attachment; filename=…`: such a part is stored like any
attachment and shown on the message; a text part without a filename stays the body.
The mail (tests/integrations/email/fixtures/thunderbird_inline_text_file.eml) goes through the built-in
SMTP server over a real socket, on both databases.
"""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import WorkspaceFixture, login
from tests.support.email_inbound import (
    SUPPORT_ADDRESS,
    give_email_inbox_an_address,
)
from tests.support.email_smtp import send_mail
from tests.support.fixtures import load_fixture
from threadline.bootstrap import Runtime
from threadline.entrypoints.smtp_server import SmtpServerHandle

pytestmark = pytest.mark.anyio

FIXTURE = "thunderbird_inline_text_file.eml"
LOG_LINES = (
    "2026-11-03 09:58:12 INFO  checkout started order=4711\n"
    "2026-11-03 09:58:14 ERROR payment gateway answered 502 (retry 1/3)\n"
    "2026-11-03 09:58:19 ERROR payment gateway answered 502 (retry 2/3)\n"
    "2026-11-03 09:58:25 ERROR płatność odrzucona: timeout\n"
)


async def test_an_inline_text_file_is_an_attachment_on_the_message_and_not_in_its_text(
    runtime: Runtime, client: httpx.AsyncClient, workspace: WorkspaceFixture, smtp: SmtpServerHandle
) -> None:
    await give_email_inbox_an_address(runtime, workspace)
    refused, answer = await send_mail(
        smtp, "piotr.nowak@example.pl", [SUPPORT_ADDRESS], load_fixture("email", FIXTURE)
    )
    assert refused == {} and answer.endswith("OK: stored")  # 250: stored first

    agent = await login(client, workspace.slug, "agent")
    [conversation] = (await client.get("/api/v1/conversations", headers=agent)).json()["items"]
    timeline = await client.get(
        f"/api/v1/conversations/{conversation['id']}/messages", headers=agent
    )
    [message] = timeline.json()["items"]
    assert message["text"] == (
        "Dzień dobry,\n\nw załączeniu log z aplikacji, błąd pojawia się przy płatności.\n\nPiotr"
    )
    assert "payment gateway" not in message["meta"]["email"]["full_text"]
    files = {a["filename"]: a for a in message["attachments"]}
    assert set(files) == {"app-log.txt", "zamowienie-4711.txt"}
    log = files["app-log.txt"]
    assert log["content_type"] == "text/plain" and not log.get("inline")
    download = await client.get(
        f"/api/v1/attachments/{log['sha256']}", params={"filename": "app-log.txt"}, headers=agent
    )
    assert download.status_code == 200
    assert download.content.decode() == LOG_LINES
