"""What clients and subscribers see stays exactly as it was before the restructuring:
the OpenAPI document, the answers of a scripted admin session and every event it and the
demo seed publish, compared byte for byte with the snapshots in tests/snapshots/."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from tests.support.snapshot import (
    EVENTS_SNAPSHOT,
    OPENAPI_SNAPSHOT,
    RESPONSES_SNAPSHOT,
    demo_texts,
    openapi_text,
)

pytestmark = pytest.mark.anyio


def _difference(expected: Path, actual: str) -> str:
    lines = difflib.unified_diff(
        expected.read_text(encoding="utf-8").splitlines(),
        actual.splitlines(),
        fromfile=str(expected.name),
        tofile="now",
        lineterm="",
        n=1,
    )
    return "\n".join(line[:300] for line in list(lines)[:40])


def test_the_openapi_document_is_as_it_was() -> None:
    assert _difference(OPENAPI_SNAPSHOT, openapi_text()) == ""


async def test_the_api_answers_and_the_events_are_as_they_were(tmp_path: Path) -> None:
    answers, events = await demo_texts(tmp_path)
    assert _difference(RESPONSES_SNAPSHOT, answers) == ""
    assert _difference(EVENTS_SNAPSHOT, events) == ""
