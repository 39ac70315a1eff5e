"""The console's browser tests use the browser fixtures of tests/browser/."""

from __future__ import annotations

from tests.support.browser import browser, world

__all__ = ["browser", "world"]
