"""Base for request bodies: unknown fields are refused, not silently dropped."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from threadline.adapters.db.storable import has_unstorable_text, storable_json


class StrictBody(BaseModel):
    """Unknown fields are refused, not silently dropped. Text no database stores (NUL, lone
    surrogates) is replaced as it is read, as the database layer would replace it, so the
    route's answer shows what was stored (adapters/db/storable.py)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        return storable_json(data) if has_unstorable_text(data) else data
