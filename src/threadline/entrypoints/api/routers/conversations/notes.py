"""Notes on a customer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from pydantic import Field

from threadline.core.views import note_view
from threadline.customers import add_note, list_notes
from threadline.entrypoints.api.deps import PrincipalDep, RuntimeDep
from threadline.entrypoints.api.schemas import RowId, StrictBody

router = APIRouter(prefix="/api/v1", tags=["notes"])


class CustomerNoteBody(StrictBody):
    text: str = Field(min_length=1, max_length=20_000)


@router.get("/customers/{customer_id}/notes")
async def get_notes(
    customer_id: RowId, principal: PrincipalDep, runtime: RuntimeDep
) -> list[dict[str, Any]]:
    """The customer's notes, newest first."""
    async with runtime.sessionmaker() as session:
        return [note_view(n) for n in await list_notes(session, principal, customer_id)]


@router.post("/customers/{customer_id}/notes", status_code=status.HTTP_201_CREATED)
async def post_note(
    customer_id: RowId, body: CustomerNoteBody, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.uow() as uow:
        note = await add_note(uow, principal, customer_id, body.text)
        await uow.commit()
        return note_view(note)
