"""The fixtures of the browser tests: a real headless Chromium (`browser`, in place of the
second HTTP client of that name in tests/conftest.py) and the served, seeded `world`."""

from __future__ import annotations

from tests.support.browser import browser, world

__all__ = ["browser", "world"]
