"""The re-open window: how long after resolving a customer's new message re-opens the
conversation instead of starting a new one (continuity rule 2)."""

from __future__ import annotations

from datetime import timedelta

from threadline.adapters.db import tables as t
from threadline.core.unit_of_work import UnitOfWork
from threadline.domain.errors import DomainError
from threadline.domain.security.access import Principal, Role, require_role

MAX_REOPEN_WINDOW = timedelta(days=365)


async def current_reopen_window(uow: UnitOfWork, principal: Principal) -> timedelta:
    workspace = await uow.session.get(t.Workspace, principal.workspace_id)
    assert workspace is not None, "a principal's workspace exists"
    return timedelta(seconds=workspace.reopen_window_seconds)


async def set_reopen_window(uow: UnitOfWork, principal: Principal, window: timedelta) -> None:
    """From now on, messages after a resolution re-open it within `window` (0: never)."""
    require_role(principal, Role.ADMIN)
    if not timedelta(0) <= window <= MAX_REOPEN_WINDOW:
        raise DomainError("the re-open window is between 0 and 365 days")
    workspace = await uow.session.get(t.Workspace, principal.workspace_id, with_for_update=True)
    assert workspace is not None, "a principal's workspace exists"
    workspace.reopen_window_seconds = int(window.total_seconds())
    await uow.session.flush()
