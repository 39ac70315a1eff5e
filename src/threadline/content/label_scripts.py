"""Scripts per conversation label: what to say, and replies to suggest, for e.g. `warranty`.

Suggested replies are templates with the same {{variables}} as canned responses.
Admins and supervisors manage them; every agent reads them through the suggestions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.conversations.actions import normalise_labels
from threadline.core.lookups import delete_scoped, get_scoped, list_scoped
from threadline.core.unit_of_work import UnitOfWork
from threadline.core.views import iso
from threadline.domain.content.canned_responses import MAX_BODY_LENGTH, check_template
from threadline.domain.errors import DomainError
from threadline.domain.security.access import Principal, Role, require_role

MAX_SUGGESTED_REPLIES = 20


@dataclass(frozen=True, slots=True)
class LabelScriptFields:
    label: str
    script: str | None
    suggested_replies: tuple[str, ...]


def label_script_view(row: t.LabelScript) -> dict[str, Any]:
    return {
        "id": row.id,
        "label": row.label,
        "script": row.script,
        "suggested_replies": list(row.suggested_replies),
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


def _checked(fields: LabelScriptFields) -> LabelScriptFields:
    # Normalised exactly as a conversation's labels are, so the script matches them.
    labels = normalise_labels([fields.label])
    if not labels:
        raise DomainError("a label script needs a label")
    (label,) = labels
    script = (fields.script or "").strip() or None
    if script is not None and len(script) > MAX_BODY_LENGTH:
        raise DomainError(f"a script is limited to {MAX_BODY_LENGTH} characters")
    replies = tuple(r.strip() for r in fields.suggested_replies if r.strip())
    if len(replies) > MAX_SUGGESTED_REPLIES:
        raise DomainError(f"at most {MAX_SUGGESTED_REPLIES} suggested replies per label")
    if script is None and not replies:
        raise DomainError("a label script needs a script or at least one suggested reply")
    for template in (script or "", *replies):
        check_template(template)
    return LabelScriptFields(label, script, replies)


async def list_label_scripts(session: AsyncSession, principal: Principal) -> list[t.LabelScript]:
    return await list_scoped(session, t.LabelScript, principal.workspace_id, t.LabelScript.label)


async def get_label_script(
    session: AsyncSession, principal: Principal, script_id: int
) -> t.LabelScript:
    return await get_scoped(session, t.LabelScript, principal.workspace_id, script_id)


async def create_label_script(
    uow: UnitOfWork, principal: Principal, fields: LabelScriptFields
) -> t.LabelScript:
    require_role(principal, Role.SUPERVISOR)
    checked = _checked(fields)
    now = uow.clock.now()
    return await uow.add_or_conflict(
        t.LabelScript(
            workspace_id=principal.workspace_id,
            label=checked.label,
            script=checked.script,
            suggested_replies=list(checked.suggested_replies),
            created_at=now,
            updated_at=now,
        ),
        f"the label {checked.label!r} has a script already; edit that one",
    )


async def update_label_script(
    uow: UnitOfWork, principal: Principal, script_id: int, fields: LabelScriptFields
) -> t.LabelScript:
    row = await get_scoped(uow.session, t.LabelScript, principal.workspace_id, script_id)
    require_role(principal, Role.SUPERVISOR)
    checked = _checked(fields)
    row.label, row.script = checked.label, checked.script
    row.suggested_replies = list(checked.suggested_replies)
    row.updated_at = uow.clock.now()
    await uow.flush_or_conflict(f"the label {checked.label!r} has a script already; edit that one")
    return row


async def delete_label_script(uow: UnitOfWork, principal: Principal, script_id: int) -> None:
    await delete_scoped(uow.session, principal, t.LabelScript, script_id, Role.SUPERVISOR)
