"""What a request may carry: the base for bodies, and the bounded types every id, count,
duration and moment is declared with.

An integer or a date from a request reaches the database or date arithmetic; one outside what
they hold (domain/bounds.py) must be refused as invalid (422) before it gets there, not fail
there (500). So no route declares a bare `int` or `datetime`: it uses one of these, and the
OpenAPI document shows each bound.
"""

from __future__ import annotations

from typing import Annotated, Any

from annotated_types import Ge, Le
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, model_validator

from threadline.adapters.db.storable import has_unstorable_text, storable_json
from threadline.domain.bounds import MAX_COUNT, MAX_ROW_ID, MAX_SECONDS, checked_moment


class StrictBody(BaseModel):
    """Unknown fields are refused, not silently dropped. Text no database stores (NUL, lone
    surrogates) is replaced as it is read, as the database layer would replace it, so the
    route's answer shows what was stored (adapters/db/storable.py)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        return storable_json(data) if has_unstorable_text(data) else data


RowId = Annotated[int, Ge(1), Le(MAX_ROW_ID)]
# A position in a sequence (event seq, a cursor): 0 is "from the start".
Seq = Annotated[int, Ge(0), Le(MAX_ROW_ID)]
Seconds = Annotated[int, Ge(0), Le(MAX_SECONDS)]
PositiveSeconds = Annotated[int, Ge(1), Le(MAX_SECONDS)]
Count = Annotated[int, Ge(0), Le(MAX_COUNT)]
Position = Annotated[int, Ge(-MAX_COUNT), Le(MAX_COUNT)]
# A moment with its time zone (or offset), from EARLIEST to LATEST.
Moment = Annotated[AwareDatetime, AfterValidator(checked_moment)]
