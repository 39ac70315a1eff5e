"""The command-line tests' shared set-up."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from threadline.config import get_settings


@pytest.fixture(autouse=True)
def isolated_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # The CLI writes --database-url into the environment for the processes it starts;
    # monkeypatch puts the test process's own value back afterwards.
    monkeypatch.setenv("THREADLINE_DATABASE_URL", "sqlite+aiosqlite:///unused-by-tests.db")
    monkeypatch.setenv("THREADLINE_RUN_OUTBOUND_WORKER", "false")
    yield
    get_settings.cache_clear()
