"""The provider stand-ins the journeys share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.twilio import FakeTwilio, running_fake_twilio


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with running_fake_twilio() as fake:
        yield fake
