"""Stored attachments: kept once by content, refused past the size limit, never cross workspaces."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import WorkspaceFixture, login
from threadline.adapters.attachments import AttachmentTooLarge, safe_filename, store_attachment
from threadline.bootstrap import Runtime

pytestmark = pytest.mark.anyio


@pytest.fixture
def runtime_with_files(runtime: Runtime, tmp_path: object) -> Runtime:
    runtime.settings.attachments_dir = str(tmp_path)
    runtime.settings.max_attachment_bytes = 1024
    return runtime


async def test_an_agent_downloads_own_workspace_files_only(
    client: httpx.AsyncClient,
    runtime_with_files: Runtime,
    workspace: WorkspaceFixture,
    other_workspace: WorkspaceFixture,
) -> None:
    stored = store_attachment(
        runtime_with_files.settings,
        other_workspace.id,
        b"invoice 2026/11",
        filename="../../etc/passwd",
        content_type="text/plain",
    )
    assert stored["filename"] == "passwd"
    outsider = await client.get(
        f"/api/v1/attachments/{stored['sha256']}", headers=await login(client, "acme", "agent")
    )
    assert outsider.status_code == 404
    owner = await client.get(
        f"/api/v1/attachments/{stored['sha256']}", headers=await login(client, "globex", "agent")
    )
    assert owner.status_code == 200
    assert owner.content == b"invoice 2026/11"
    assert owner.headers["content-type"] == "application/octet-stream"


async def test_a_file_over_the_limit_is_refused_with_its_size(runtime_with_files: Runtime) -> None:
    with pytest.raises(AttachmentTooLarge, match="limit is 1024 bytes"):
        store_attachment(
            runtime_with_files.settings, 1, b"x" * 2048, filename="big.bin", content_type=None
        )


def test_filenames_are_made_safe() -> None:
    windows_path = safe_filename("..\\..\\boot.ini")
    assert "\\" not in windows_path and "/" not in windows_path
    assert not windows_path.startswith(".")
    assert safe_filename("\x00\x1b[31mred.txt") == "_31mred.txt"
    assert safe_filename(None) == "attachment"
