"""Keeping received files (email attachments, WhatsApp media, Telegram photos) on disk.

Files are stored once per workspace by SHA-256 of their content, so a redelivered or
forwarded file costs no extra space; the message keeps a small JSON description.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from threadline.config import DATA_DIR, Settings
from threadline.domain.errors import DomainError

_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


class AttachmentTooLarge(DomainError):
    status = 413
    title = "Attachment too large"


def attachments_root(settings: Settings) -> Path:
    return Path(settings.attachments_dir) if settings.attachments_dir else DATA_DIR / "attachments"


def safe_filename(name: str | None) -> str:
    """A display name that cannot climb out of a folder or carry control characters."""
    cleaned = _UNSAFE.sub("_", os.path.basename(name or "")).strip(" .")
    return cleaned[:200] or "attachment"


def store_attachment(
    settings: Settings,
    workspace_id: int,
    data: bytes,
    *,
    filename: str | None,
    content_type: str | None,
    inline: bool = False,
    content_id: str | None = None,
) -> dict[str, Any]:
    """Write the file durably (fsync, atomic rename) before anything is acknowledged."""
    if len(data) > settings.max_attachment_bytes:
        raise AttachmentTooLarge(
            f"attachment {safe_filename(filename)!r} is {len(data)} bytes; "
            f"the limit is {settings.max_attachment_bytes} bytes"
        )
    digest = hashlib.sha256(data).hexdigest()
    folder = attachments_root(settings) / str(workspace_id) / digest[:2]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / digest
    if not path.exists():
        with tempfile.NamedTemporaryFile(dir=folder, delete=False) as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    description: dict[str, Any] = {
        "sha256": digest,
        "filename": safe_filename(filename),
        "content_type": (content_type or "application/octet-stream").lower()[:200],
        "size": len(data),
    }
    if inline:
        description["inline"] = True
    if content_id:
        description["content_id"] = content_id.strip("<>")[:300]
    return description


def attachment_path(settings: Settings, workspace_id: int, sha256: str) -> Path | None:
    """The stored file for a workspace, or None; the hash is checked so no path can be forged."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        return None
    path = attachments_root(settings) / str(workspace_id) / sha256[:2] / sha256
    return path if path.is_file() else None
