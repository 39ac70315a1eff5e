"""Text and JSON made storable, at the one place every value passes on its way to the database.

PostgreSQL cannot hold a NUL character in text or jsonb, no driver can encode a lone UTF-16
surrogate, and JSON has no NaN or Infinity, yet all of them arrive from outside: `\\u0000` in a
JSON body, `%00` in a form, a provider's webhook. Refusing them would lose messages a provider
redelivers forever, so they are replaced instead: NUL and lone surrogates by U+FFFD (the
replacement character), non-finite numbers in JSON by null.

The replacement happens on the statement's parameters (every INSERT, UPDATE and WHERE, ORM or
Core) and in the JSON serialiser, on both databases, so what is stored and what a lookup
compares it with are cleaned the same way: a search for "a\\x00b" finds the "a\\ufffdb" stored.
API bodies are made storable the same way as they are read (entrypoints/api/schemas.py), so
what a route answers is what it stored.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# How json.dumps writes what needs replacing: NUL, a surrogate escape (\ud83d; pairs are
# looked at again, and kept), NaN and the infinities.
_JSON_SUSPECT = re.compile(r"\\u0000|\\ud[89a-f]|NaN|Infinity")


def storable_text(value: str) -> str:
    """`value` with NUL characters and lone surrogates replaced by U+FFFD."""
    if value.isascii():
        return value.replace("\x00", REPLACEMENT) if "\x00" in value else value
    if _UNSTORABLE.search(value) is None:
        return value
    # Re-encoding keeps the (rare) valid surrogate pairs a JSON escape can produce.
    repaired = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return repaired.replace("\x00", REPLACEMENT)


def storable_json(value: Any) -> Any:
    """A JSON value with every string (keys too) storable and non-finite numbers as null."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {storable_text(str(k)): storable_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable_json(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dump_json(value: Any) -> str:
    """The engine's JSON serialiser: as json.dumps, with the value made storable first when
    its text shows anything that needs it (rare, so the common case costs one search)."""
    text = json.dumps(value)
    if _JSON_SUSPECT.search(text) is None:
        return text
    return json.dumps(storable_json(value), allow_nan=False)


def has_unstorable_text(value: Any) -> bool:
    """Whether any string in `value` (a parameter list, or JSON with its keys) needs replacing."""
    if isinstance(value, str):
        return _UNSTORABLE.search(value) is not None
    if isinstance(value, dict):
        return any(has_unstorable_text(k) or has_unstorable_text(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_unstorable_text(item) for item in value)
    return False


def _storable_parameters(parameters: Any) -> Any:
    if isinstance(parameters, str):
        return storable_text(parameters)
    if isinstance(parameters, dict):
        return {key: _storable_parameters(value) for key, value in parameters.items()}
    if isinstance(parameters, list | tuple):
        return type(parameters)(_storable_parameters(value) for value in parameters)
    return parameters


def make_parameters_storable(engine: AsyncEngine) -> None:
    """Clean every statement's string parameters (single, many, nested) before they are sent."""

    @event.listens_for(engine.sync_engine, "before_cursor_execute", retval=True)
    def _clean(
        _conn: Any,
        _cursor: Any,
        statement: str,
        parameters: Any,
        _context: Any,
        _executemany: bool,
    ) -> tuple[str, Any]:
        if parameters and has_unstorable_text(parameters):
            parameters = _storable_parameters(parameters)
        return statement, parameters
