"""Robustness: 60+ malformed or unusual emails through ingest_raw_email on both databases.

None may crash. Each is either stored (and then readable back from the database) or
refused with a human-readable reason and nothing stored.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import WorkspaceFixture
from tests.integrations.email.email_corpus import CORPUS
from tests.support.email_inbound import count_messages, give_email_inbox_an_address, stored_message
from threadline.bootstrap import Runtime
from threadline.integrations.email.ingest import ingest_raw_email

pytestmark = pytest.mark.anyio

# Cases that cannot be stored: there is nobody to attribute them to.
REFUSED = {
    "no_from_header": "no usable sender",
    "garbage_from_header": "no usable sender",
    "from_without_domain": "no usable sender",
    "binary_garbage": "no usable sender",
    "only_whitespace": "empty",
    # A bounce with From: <> and no envelope sender names no customer.
    "dsn_with_empty_from": "no usable sender",
}
AUTOMATED = {
    "dsn_multipart_report",
    "out_of_office_subject_only",
    "x_autoreply_header",
    "mailer_daemon_sender",
    "precedence_junk",
}


def test_the_corpus_is_big_enough() -> None:
    assert len(CORPUS) >= 50


async def test_every_corpus_mail_is_stored_or_refused_with_a_reason(
    runtime: Runtime, workspace: WorkspaceFixture, tmp_path: Path
) -> None:
    runtime.settings.attachments_dir = str(tmp_path)
    inbox = await give_email_inbox_an_address(runtime, workspace)
    refused: dict[str, str] = {}
    for name, build in CORPUS.items():
        before = await count_messages(runtime, workspace.id)
        result = await ingest_raw_email(runtime, inbox, build())
        after = await count_messages(runtime, workspace.id)
        if name in REFUSED:
            assert result.rejection is not None and REFUSED[name] in result.rejection, name
        if result.rejection is not None:
            assert len(result.rejection) > 10, name
            assert after == before, name
            refused[name] = result.rejection
            continue
        assert result.message_id is not None and not result.duplicate, name
        assert after == before + 1, name
        message = await stored_message(runtime, result.message_id)
        assert "\x00" not in message.text, name
        assert bool(message.meta.get("automated")) == (name in AUTOMATED), name
    assert set(refused) == set(REFUSED), refused


async def test_corpus_redelivered_stores_nothing_new(
    runtime: Runtime, workspace: WorkspaceFixture, tmp_path: Path
) -> None:
    runtime.settings.attachments_dir = str(tmp_path)
    inbox = await give_email_inbox_an_address(runtime, workspace)
    chosen = ["no_message_id", "null_bytes_in_headers", "nested_forward_40_deep", "emoji_subject"]
    first = [await ingest_raw_email(runtime, inbox, CORPUS[name]()) for name in chosen]
    count = await count_messages(runtime, workspace.id)
    again = [await ingest_raw_email(runtime, inbox, CORPUS[name]()) for name in chosen]
    assert all(r.duplicate for r in again)
    assert [r.message_id for r in again] == [r.message_id for r in first]
    assert await count_messages(runtime, workspace.id) == count
