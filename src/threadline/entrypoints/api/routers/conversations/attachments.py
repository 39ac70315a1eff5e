"""Downloading stored attachments, only from one's own workspace."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from threadline.adapters.attachments import attachment_path
from threadline.domain.errors import NotFound
from threadline.entrypoints.api.deps import PrincipalDep, RuntimeDep
from threadline.entrypoints.api.openapi import DOWNLOAD

router = APIRouter(prefix="/api/v1/attachments", tags=["attachments"])


@router.get("/{sha256}", responses=DOWNLOAD)
async def download_attachment(
    sha256: str, principal: PrincipalDep, runtime: RuntimeDep, filename: str = "attachment"
) -> FileResponse:
    path = attachment_path(runtime.settings, principal.workspace_id, sha256)
    if path is None:
        raise NotFound(f"attachment {sha256} not found")
    # Served as a download, never rendered inline, so stored HTML or SVG cannot run scripts.
    return FileResponse(
        path,
        media_type="application/octet-stream",
        filename=filename,
        headers={"X-Content-Type-Options": "nosniff"},
    )
