"""Fixtures the inbound email test modules share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.email_smtp import running_smtp_server
from threadline.bootstrap import Runtime
from threadline.entrypoints.smtp_server import SmtpServerHandle


@pytest.fixture
async def smtp(runtime: Runtime, tmp_path: Path) -> AsyncIterator[SmtpServerHandle]:
    """The built-in SMTP server of `runtime`, on a free port of 127.0.0.1."""
    async with running_smtp_server(runtime, tmp_path) as handle:
        yield handle
