"""The public contact form: browser posts and JSON posts become the customer's message,
with the form's fields kept; bots and floods are turned away."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import WorkspaceFixture, customer_writes
from threadline.adapters.attachments import attachment_path
from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.domain.channels import Channel
from threadline.workspace.create import create_inbox

pytestmark = pytest.mark.anyio

# A filled-in contact form with one field of the site's own (order_number).
WARRANTY_CLAIM = {
    "name": "Jan Kowalski",
    "email": "Jan.Kowalski@Example.com",
    "phone": "+48 601 234 567",
    "subject": "Warranty",
    "message": "My kettle stopped working.",
    "order_number": "A-118",
}


async def form_inbox(
    runtime: Runtime, workspace: WorkspaceFixture, name: str = "Website form", **settings: Any
) -> int:
    async with runtime.uow() as uow:
        inbox = await create_inbox(
            uow, workspace.id, name=name, channel=Channel.FORM, settings=settings
        )
        await uow.commit()
    return inbox.id


@pytest.fixture
async def website_form(runtime: Runtime, workspace: WorkspaceFixture) -> int:
    """A form inbox with the default settings: its id."""
    return await form_inbox(runtime, workspace)


async def form_messages(runtime: Runtime) -> list[t.Message]:
    async with runtime.sessionmaker() as session:
        rows = await session.execute(
            select(t.Message).where(t.Message.channel == "form").order_by(t.Message.id)
        )
        return list(rows.scalars())


async def customer_identities(runtime: Runtime, conversation_id: int) -> list[tuple[str, str]]:
    async with runtime.sessionmaker() as session:
        conversation = await session.get(t.Conversation, conversation_id)
        assert conversation is not None
        rows = await session.execute(
            select(t.Identity.kind, t.Identity.value).where(
                t.Identity.customer_id == conversation.customer_id
            )
        )
        return sorted((kind, value) for kind, value in rows.all())


async def test_browser_post_is_stored_with_its_fields_and_thanked(
    runtime: Runtime, client: httpx.AsyncClient, website_form: int
) -> None:
    response = await client.post(
        f"/forms/{website_form}",
        # The honeypot field comes along empty, as from a person's browser.
        data={**WARRANTY_CLAIM, "website": ""},
        headers={"Referer": "https://acme.example.com/contact"},
    )

    assert response.status_code == 200, response.text
    assert "Thank you" in response.text
    [stored] = await form_messages(runtime)
    assert stored.text == "My kettle stopped working."
    assert stored.sender_identity == "jan.kowalski@example.com"
    assert stored.meta["form"] == WARRANTY_CLAIM
    assert stored.meta["form_custom_fields"] == ["order_number"]
    assert stored.meta["form_page"] == "https://acme.example.com/contact"
    assert await customer_identities(runtime, stored.conversation_id) == [
        ("email", "jan.kowalski@example.com"),
        ("phone", "+48601234567"),
    ]
    async with runtime.sessionmaker() as session:
        conversation = await session.get(t.Conversation, stored.conversation_id)
        assert conversation is not None and conversation.subject == "Warranty"


async def test_browser_post_redirects_to_the_thank_you_url(
    runtime: Runtime, client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    inbox_id = await form_inbox(runtime, workspace, thank_you_url="https://acme.example.com/thanks")

    response = await client.post(
        f"/forms/{inbox_id}", data={"email": "ann@example.com", "message": "Hi"}
    )

    assert response.status_code == 303
    assert response.headers["location"] == "https://acme.example.com/thanks"
    assert len(await form_messages(runtime)) == 1


async def test_multipart_post_with_a_file_stores_the_file(
    runtime: Runtime,
    client: httpx.AsyncClient,
    workspace: WorkspaceFixture,
    tmp_path: Path,
    website_form: int,
) -> None:
    runtime.settings.attachments_dir = str(tmp_path)
    content = b"\x89PNG\r\n\x1a\n\x00 receipt \r\n--not-a-boundary\r\n"

    response = await client.post(
        f"/forms/{website_form}",
        data={"name": "Zofia Łukasik", "email": "zofia@example.com", "message": "Zażółć gęślą"},
        files={"file": ("receipt.png", content, "image/png")},
    )

    assert response.status_code == 200, response.text
    [stored] = await form_messages(runtime)
    assert stored.text == "Zażółć gęślą"
    assert stored.meta["form"]["name"] == "Zofia Łukasik"
    [attachment] = stored.attachments
    assert attachment["filename"] == "receipt.png"
    assert attachment["content_type"] == "image/png"
    path = attachment_path(runtime.settings, workspace.id, attachment["sha256"])
    assert path is not None and path.read_bytes() == content

    runtime.settings.max_attachment_bytes = 10
    too_large = await client.post(
        f"/forms/{website_form}",
        data={"email": "zofia@example.com", "message": "again"},
        files={"file": ("receipt.png", content, "image/png")},
    )
    assert too_large.status_code == 413
    assert "the limit is 10 bytes" in too_large.text
    assert len(await form_messages(runtime)) == 1


async def test_json_post_answers_with_the_message_and_conversation(
    runtime: Runtime, client: httpx.AsyncClient, website_form: int
) -> None:
    response = await client.post(
        f"/forms/{website_form}",
        json={"name": "Piotr", "phone": "601 234 567", "message": "Call me", "newsletter": True},
    )

    assert response.status_code == 201, response.text
    body = response.json()
    [stored] = await form_messages(runtime)
    assert body == {"message_id": stored.id, "conversation_id": stored.conversation_id}
    assert stored.sender_identity == "+48601234567"
    assert stored.meta["form"]["newsletter"] == "yes"


async def test_without_email_or_phone_the_form_is_refused(
    runtime: Runtime, client: httpx.AsyncClient, website_form: int
) -> None:
    as_json = await client.post(f"/forms/{website_form}", json={"name": "Anon", "message": "Hi"})
    as_form = await client.post(
        f"/forms/{website_form}", data={"name": "<b>Anon</b>", "message": "x"}
    )
    bad_email = await client.post(
        f"/forms/{website_form}", json={"email": "not-an-address", "message": "Hi"}
    )

    assert as_json.status_code == 422
    assert as_json.headers["content-type"].startswith("application/problem+json")
    assert "email address or a phone number" in as_json.json()["detail"]
    assert as_form.status_code == 400
    assert as_form.headers["content-type"].startswith("text/html")
    assert "email address or a phone number" in as_form.text
    assert bad_email.status_code == 422
    assert "not-an-address" in bad_email.json()["detail"]
    assert await form_messages(runtime) == []


async def test_malformed_submissions_are_refused_with_the_reason(
    runtime: Runtime, client: httpx.AsyncClient, website_form: int
) -> None:
    url = f"/forms/{website_form}"
    json_type = {"Content-Type": "application/json"}

    broken = await client.post(url, content=b'{"email": ', headers=json_type)
    not_object = await client.post(url, content=b'["a"]', headers=json_type)
    nested = await client.post(url, json={"email": "a@example.com", "extra": {"x": 1}})
    plain = await client.post(url, content=b"hello", headers={"Content-Type": "text/plain"})
    no_parts = await client.post(
        url, content=b"junk", headers={"Content-Type": "multipart/form-data; boundary=zz"}
    )

    assert broken.status_code == 400 and "not valid JSON" in broken.json()["detail"]
    assert not_object.status_code == 400 and "object" in not_object.json()["detail"]
    assert nested.status_code == 422 and "'extra'" in nested.json()["detail"]
    assert plain.status_code == 415
    assert no_parts.status_code == 400 and "boundary" in no_parts.text
    assert await form_messages(runtime) == []


async def test_filled_honeypot_looks_accepted_but_stores_nothing(
    runtime: Runtime, client: httpx.AsyncClient, website_form: int
) -> None:
    browser = await client.post(
        f"/forms/{website_form}",
        data={"email": "bot@example.com", "message": "Buy now", "website": "http://spam.example"},
    )
    script = await client.post(
        f"/forms/{website_form}",
        json={"email": "bot@example.com", "message": "Buy now", "website": "x"},
    )

    assert browser.status_code == 200 and "Thank you" in browser.text
    assert script.status_code == 200
    assert await form_messages(runtime) == []


async def test_rate_limit_per_client_refuses_past_the_limit_until_the_window_passes(
    runtime: Runtime, client: httpx.AsyncClient, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    inbox_id = await form_inbox(runtime, workspace, rate_limit_per_minute=3)
    other_id = await form_inbox(runtime, workspace, name="Other form")
    body = {"email": "ann@example.com", "message": "Hello"}

    accepted = [(await client.post(f"/forms/{inbox_id}", json=body)).status_code for _ in range(3)]
    refused = await client.post(f"/forms/{inbox_id}", json=body)
    refused_page = await client.post(f"/forms/{inbox_id}", data=body)
    elsewhere = await client.post(f"/forms/{other_id}", json=body)

    assert accepted == [201, 201, 201]
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused_page.status_code == 429 and "try again" in refused_page.text
    assert elsewhere.status_code == 201
    assert len(await form_messages(runtime)) == 4

    clock.advance(timedelta(seconds=61))
    assert (await client.post(f"/forms/{inbox_id}", json=body)).status_code == 201


async def test_form_joins_the_open_conversation_of_the_customer_with_that_email(
    runtime: Runtime, client: httpx.AsyncClient, workspace: WorkspaceFixture, website_form: int
) -> None:
    earlier = await customer_writes(
        client, workspace, "email", "email", "ann@example.com", "Where is my order?"
    )
    response = await client.post(
        f"/forms/{website_form}", json={"email": "ANN@example.com", "message": "Any news?"}
    )

    assert response.status_code == 201, response.text
    assert response.json()["conversation_id"] == earlier["conversation_id"]
    async with runtime.sessionmaker() as session:
        conversation = await session.get(t.Conversation, response.json()["conversation_id"])
        assert conversation is not None
        assert conversation.customer_id == earlier["customer_id"]
        assert conversation.last_inbound_channel == "form"


async def test_only_form_inboxes_take_posts(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    body = {"email": "ann@example.com", "message": "Hello"}
    assert (await client.post("/forms/999999", json=body)).status_code == 404
    email_inbox = workspace.inboxes["email"]
    assert (await client.post(f"/forms/{email_inbox}", json=body)).status_code == 404
    assert (await client.get(f"/forms/{email_inbox}")).status_code == 404


async def test_form_page_is_plain_accessible_and_escaped(
    runtime: Runtime, client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    inbox_id = await form_inbox(
        runtime, workspace, form_title='Write to <script>alert("x")</script> us'
    )

    page = await client.get(f"/forms/{inbox_id}")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<script>" not in page.text
    assert "&lt;script&gt;" in page.text
    assert f'action="/forms/{inbox_id}"' in page.text
    assert '<label for="f-email">' in page.text
    assert 'name="website" tabindex="-1"' in page.text
    assert 'aria-hidden="true"' in page.text
