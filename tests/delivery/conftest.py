"""Fixtures every delivery test module uses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.receiver import Receiver, running_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """The app behind an API inbox: a real HTTP server on 127.0.0.1 that records what it got."""
    with running_receiver() as running:
        yield running
