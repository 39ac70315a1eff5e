"""Real-world-shaped emails, one test each: the text a person reads, files, automation.

Then the same mail through ingest_raw_email: files kept on disk, oversized mail refused
with nothing stored, loops stopped, and the per-conversation reply address threads.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from tests.conftest import WorkspaceFixture
from tests.support.email_inbound import (
    SUPPORT_ADDRESS,
    count_messages,
    give_email_inbox_an_address,
    simple_mail,
    stored_conversation,
    stored_message,
)
from tests.support.fixtures import fixture_names, load_fixture
from threadline.adapters.attachments import attachment_path
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.integrations.email.addresses import (
    conversation_from_address,
    is_our_reply_address,
    reply_address,
)
from threadline.integrations.email.automation import (
    automated_reason,
    bounce_details,
    bounce_failure,
)
from threadline.integrations.email.ingest import ingest_raw_email
from threadline.integrations.email.parsing import ParsedEmail, parse_email


def parsed(name: str) -> ParsedEmail:
    return parse_email(load_fixture("email", name))


def test_gmail_reply_shows_only_the_new_words_and_keeps_the_rest() -> None:
    mail = parsed("gmail_reply_polish.eml")
    assert mail.from_name == "Zofia Małecka"
    assert mail.subject == "Re: Zamówienie nr 4711 \u2013 zwrot"
    assert mail.in_reply_to == ["out-7f3a@acme.example.com"]
    assert mail.text == (
        "Dzień dobry,\n\npaczka dotarła, ale rozmiar się nie zgadza. Proszę o etykietę zwrotną."
    )
    assert "601 234 567" not in mail.text and "napisał(a)" not in mail.text
    assert "napisał(a)" in mail.full_text and "tel. 601 234 567" in mail.full_text
    assert automated_reason(mail) is None


def test_outlook_reply_in_windows_1250_loses_the_outlook_quote_header() -> None:
    mail = parsed("outlook_reply_cp1250.eml")
    assert "Nie widzę jej." in mail.text and "wiadomości" in mail.text
    assert "przesyłamy korektę" not in mail.text
    assert "Sent: Monday" in mail.full_text
    assert mail.html is not None
    assert "<style" not in mail.html and "MsoNormal" not in mail.html


def test_apple_mail_inline_image_is_kept_with_its_content_id() -> None:
    mail = parsed("apple_mail_inline_image.eml")
    assert mail.text == "Dzień dobry, w załączeniu zdjęcie pękniętego kubka."
    [image] = mail.files
    assert image.inline and image.content_type == "image/png"
    assert image.content_id == "F0E1D2C3-B4A5-4968-8776-655443322110"
    assert mail.html is not None and 'src="cid:F0E1D2C3' in mail.html


def test_rfc2231_filename_of_an_attachment_is_decoded() -> None:
    mail = parsed("attachment_rfc2231_pdf.eml")
    [pdf] = mail.files
    assert pdf.filename == "protokół reklamacji.pdf"
    assert pdf.data.startswith(b"%PDF-1.4") and not pdf.inline
    assert mail.text == "W załączniku protokół reklamacyjny."


def test_exchange_out_of_office_is_automated() -> None:
    mail = parsed("out_of_office_exchange.eml")
    assert automated_reason(mail) == "Auto-Submitted: auto-generated"
    assert mail.text.startswith("Jestem na urlopie")


def test_postfix_bounce_is_automated_and_keeps_the_report() -> None:
    mail = parsed("dsn_postfix_bounce.eml")
    assert automated_reason(mail) is not None
    assert "User unknown" in mail.text
    assert [f.content_type for f in mail.files] == [
        "message/delivery-status",
        "text/rfc822-headers",
    ]
    assert b"Status: 5.1.1" in mail.files[0].data
    assert bounce_details(mail) == ("nobody@example.org", ["out-5555@acme.example.com"])
    assert bounce_failure(mail) == (
        "bounced (5.1.1: smtp; 550 5.1.1 <nobody@example.org>: Recipient address rejected: "
        "User unknown)"
    )
    # A report that delivery is only delayed fails nothing.
    delayed = parse_email(
        load_fixture("email", "dsn_postfix_bounce.eml").replace(
            b"Action: failed", b"Action: delayed"
        )
    )
    assert bounce_failure(delayed) is None
    assert bounce_failure(parsed("out_of_office_exchange.eml")) is None


def test_forwarded_mail_is_kept_whole() -> None:
    mail = parsed("gmail_forwarded.eml")
    assert mail.forwarded
    assert "Przesyłka 00123 została doręczona." in mail.text
    assert "> Numer odbiorcy: 4711" in mail.text


def test_hostile_html_is_sanitised_and_read_as_text() -> None:
    mail = parsed("html_only_hostile.eml")
    assert mail.text == "Hello, where is my order?\n\nclick or track"
    assert mail.html is not None
    for forbidden in ("<script", "onload", "onerror", "javascript:", "<iframe", "<style"):
        assert forbidden not in mail.html
    assert "<b>where</b>" in mail.html
    assert 'href="https://acme.example.com/track"' in mail.html


def test_utf8_body_declared_as_us_ascii_still_reads() -> None:
    mail = parsed("mislabelled_charset.eml")
    assert mail.text == "Proszę zmienić adres dostawy na ul. Żółkiewskiego 5, Łódź."


def test_mailing_list_is_automated() -> None:
    assert automated_reason(parsed("mailing_list.eml")) == "Precedence: bulk"


def test_calendar_invite_keeps_text_and_the_ics() -> None:
    mail = parsed("calendar_invite.eml")
    assert mail.text == "Zapraszam na rozmowę o reklamacji."
    assert "text/calendar" in [f.content_type for f in mail.files]
    assert automated_reason(mail) is None


def test_iso_2022_jp_headers_and_body() -> None:
    mail = parsed("iso2022jp.eml")
    assert mail.from_name == "山田 太郎"
    assert mail.subject == "注文について"
    assert mail.text.startswith("お問い合わせありがとうございます。")


def test_a_text_part_with_a_filename_is_a_file_not_the_customers_words() -> None:
    # Thunderbird attaches .txt files as "Content-Disposition: inline; filename=...".
    mail = parsed("thunderbird_inline_text_file.eml")
    assert mail.text == (
        "Dzień dobry,\n\nw załączeniu log z aplikacji, błąd pojawia się przy płatności.\n\nPiotr"
    )
    assert "payment gateway" not in mail.full_text and "Zamówienie 4711" not in mail.full_text
    log, order = mail.files
    assert (log.filename, log.content_type, log.inline) == ("app-log.txt", "text/plain", False)
    assert log.data.startswith(b"2026-11-03 09:58:12 INFO  checkout started order=4711\n")
    assert order.filename == "zamowienie-4711.txt"
    assert order.data.decode() == "Zamówienie 4711: czajnik, 1 szt.\n"


def test_every_fixture_has_a_test() -> None:
    fixtures = fixture_names("email", "*.eml")
    source = Path(__file__).read_text()
    assert {name for name in fixtures if f'"{name}"' not in source} == set()


def test_reply_address_round_trip_and_forgery() -> None:
    address = reply_address("Support@Acme.example.com", 4711, "inbox-secret")
    assert address.startswith("support+") and address.endswith("@acme.example.com")
    assert conversation_from_address(address, "inbox-secret") == 4711
    # Mail systems may change the case of the local part; the token survives it.
    assert conversation_from_address(address.upper(), "inbox-secret") == 4711
    assert conversation_from_address(address, "another-secret") is None
    assert is_our_reply_address(address, SUPPORT_ADDRESS, "inbox-secret")
    assert not is_our_reply_address(address, "sales@acme.example.com", "inbox-secret")
    forged = address.replace("support+", "support+a")
    assert conversation_from_address(forged, "inbox-secret") is None
    assert conversation_from_address(SUPPORT_ADDRESS, "inbox-secret") is None
    assert conversation_from_address("support+@acme.example.com", "inbox-secret") is None


# --- through ingest_raw_email, on both databases -------------------------------------------


@pytest.fixture
def mail_runtime(runtime: Runtime, tmp_path: Path) -> Runtime:
    runtime.settings.attachments_dir = str(tmp_path / "files")
    return runtime


@pytest.fixture
async def inbox(mail_runtime: Runtime, workspace: WorkspaceFixture) -> t.Inbox:
    """The workspace's email inbox, at SUPPORT_ADDRESS."""
    return await give_email_inbox_an_address(mail_runtime, workspace)


@pytest.mark.anyio
async def test_ingested_mail_keeps_files_original_and_full_text(
    mail_runtime: Runtime, workspace: WorkspaceFixture, inbox: t.Inbox
) -> None:
    result = await ingest_raw_email(
        mail_runtime, inbox, load_fixture("email", "apple_mail_inline_image.eml")
    )
    assert result.stored and not result.duplicate and result.message_id is not None
    message = await stored_message(mail_runtime, result.message_id)
    assert message.channel == "email" and message.sender_identity == "marta@icloud.com"
    assert message.provider_message_id == "7C1D2E3F-4A5B-4C6D-8E9F-0A1B2C3D4E5F@icloud.com"
    [image] = message.attachments
    assert image["inline"] is True and image["filename"] == "IMG_0412.png"
    assert attachment_path(mail_runtime.settings, workspace.id, image["sha256"]) is not None
    original = message.meta["email"]["original"]
    original_path = attachment_path(mail_runtime.settings, workspace.id, original["sha256"])
    assert original_path is not None
    assert original_path.read_bytes() == load_fixture("email", "apple_mail_inline_image.eml")
    assert message.meta["email"]["full_text"].endswith("Wysłane z iPhone'a")
    conversation = await stored_conversation(mail_runtime, result.conversation_id or 0)
    assert conversation.subject == "Uszkodzony produkt"


@pytest.mark.anyio
async def test_oversized_attachment_is_refused_and_nothing_is_stored(
    mail_runtime: Runtime, workspace: WorkspaceFixture, inbox: t.Inbox
) -> None:
    mail_runtime.settings.max_attachment_bytes = 40
    result = await ingest_raw_email(
        mail_runtime, inbox.id, load_fixture("email", "attachment_rfc2231_pdf.eml")
    )
    assert result.rejection is not None
    assert "protokół reklamacji.pdf" in result.rejection and "limit is 40 bytes" in result.rejection
    assert await count_messages(mail_runtime, workspace.id) == 0
    assert not await anyio.Path(mail_runtime.settings.attachments_dir).exists()


@pytest.mark.anyio
async def test_our_own_loop_header_is_refused(
    mail_runtime: Runtime, workspace: WorkspaceFixture, inbox: t.Inbox
) -> None:
    raw = simple_mail(extra_headers=f"X-Threadline-Loop: {SUPPORT_ADDRESS}\r\n")
    result = await ingest_raw_email(mail_runtime, inbox, raw)
    assert result.rejection is not None and "mail loop" in result.rejection
    own = await ingest_raw_email(mail_runtime, inbox, simple_mail(sender=SUPPORT_ADDRESS))
    assert own.rejection is not None and "own address" in own.rejection
    assert await count_messages(mail_runtime, workspace.id) == 0


@pytest.mark.anyio
async def test_an_autoresponder_answering_itself_is_cut_off(
    mail_runtime: Runtime, workspace: WorkspaceFixture, inbox: t.Inbox
) -> None:
    outcomes = []
    for n in range(8):
        raw = simple_mail(
            sender="robot@example.net",
            subject="Auto: received",
            message_id=f"<auto-{n}@example.net>",
            extra_headers="Auto-Submitted: auto-replied\r\n",
        )
        outcomes.append(await ingest_raw_email(mail_runtime, inbox, raw))
    assert [o.stored for o in outcomes] == [True] * 5 + [False] * 3
    assert all(o.automated for o in outcomes)
    assert "mail loop" in (outcomes[-1].rejection or "")
    assert await count_messages(mail_runtime, workspace.id) == 5


@pytest.mark.anyio
async def test_reply_token_recipient_joins_its_conversation(
    mail_runtime: Runtime, workspace: WorkspaceFixture, inbox: t.Inbox
) -> None:
    first = await ingest_raw_email(mail_runtime, inbox, simple_mail(message_id="<a@example.net>"))
    assert first.conversation_id is not None
    # A second matter of the same customer (the first one resolved long ago is not needed:
    # a thread hint must win over "the active conversation" in any case).
    token_address = reply_address(SUPPORT_ADDRESS, first.conversation_id, inbox.secret or "")
    reply = simple_mail(to=f"Acme <{token_address}>", message_id="<b@example.net>", body="ok")
    second = await ingest_raw_email(mail_runtime, inbox, reply)
    assert second.conversation_id == first.conversation_id
    forged = token_address.replace("support+", "support+x")
    third = await ingest_raw_email(
        mail_runtime, inbox, simple_mail(to=forged, message_id="<c@example.net>")
    )
    assert third.stored  # still delivered to the inbox, just not steered by the token
    again = await ingest_raw_email(mail_runtime, inbox, reply)
    assert again.duplicate and again.message_id == second.message_id


@pytest.mark.anyio
async def test_a_bounce_lands_on_the_customer_it_is_about_and_reopens_nothing(
    mail_runtime: Runtime, workspace: WorkspaceFixture, inbox: t.Inbox
) -> None:
    first = await ingest_raw_email(mail_runtime, inbox, simple_mail(sender="nobody@example.org"))
    assert first.conversation_id is not None
    async with mail_runtime.sessionmaker() as session:
        conversation = await session.get(t.Conversation, first.conversation_id)
        assert conversation is not None
        conversation.status = "resolved"
        conversation.resolved_at = mail_runtime.clock.now()
        await session.commit()
    # Our reply went out with the Message-ID the report names.
    async with mail_runtime.sessionmaker() as session:
        reply = t.Message(
            workspace_id=workspace.id,
            conversation_id=first.conversation_id,
            inbox_id=inbox.id,
            channel="email",
            direction="outbound",
            text="Your order shipped.",
            provider_message_id="out-5555@acme.example.com",
            delivery_status="sent",
            meta={},
            created_at=mail_runtime.clock.now(),
        )
        session.add(reply)
        await session.commit()
        reply_id = reply.id
    bounce = await ingest_raw_email(
        mail_runtime, inbox, load_fixture("email", "dsn_postfix_bounce.eml")
    )
    assert bounce.automated and bounce.conversation_id == first.conversation_id
    # The reply it is about now shows as failed, with the receiving server's reason.
    failed = await stored_message(mail_runtime, reply_id)
    assert failed.delivery_status == "failed"
    assert failed.failure_reason is not None
    assert failed.failure_reason.startswith("bounced (5.1.1: smtp; 550 5.1.1 <nobody@example.org>")
    message = await stored_message(mail_runtime, bounce.message_id or 0)
    assert message.meta["email"]["bounce"]["recipient"] == "nobody@example.org"
    assert message.meta["automated"] is True
    assert (await stored_conversation(mail_runtime, first.conversation_id)).status == "resolved"
