"""Passwords: an agent changes their own (knowing the current one), or sets one through a
link (workspace/sign_up_links.py). Either way every session opened before is signed out."""

from __future__ import annotations

from datetime import datetime

from threadline.adapters.db import tables as t
from threadline.core.lookups import get_scoped
from threadline.core.unit_of_work import UnitOfWork
from threadline.domain.errors import DomainError, Forbidden
from threadline.domain.security.access import Principal
from threadline.workspace.auth import hash_password, verify_password

MIN_PASSWORD = 8
MAX_PASSWORD = 1000


class PasswordRefused(DomainError):
    title = "Password refused"


def check_new_password(password: str, repeated: str | None = None) -> str:
    if len(password) < MIN_PASSWORD:
        raise PasswordRefused(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise PasswordRefused(f"a password is limited to {MAX_PASSWORD} characters")
    if not password.strip():
        raise PasswordRefused("a password cannot be only spaces")
    if repeated is not None and repeated != password:
        raise PasswordRefused("the two new passwords differ")
    return password


def set_password(agent: t.Agent, password: str, now: datetime) -> None:
    agent.password_hash = hash_password(password)
    agent.password_changed_at = now


async def change_own_password(
    uow: UnitOfWork, principal: Principal, current: str, new: str, repeated: str
) -> t.Agent:
    if principal.agent_id is None:
        raise Forbidden("only an agent has a password to change")
    agent = await get_scoped(
        uow.session, t.Agent, principal.workspace_id, principal.agent_id, lock=True
    )
    if not verify_password(current[:MAX_PASSWORD], agent.password_hash):
        raise PasswordRefused("the current password is not right")
    check_new_password(new, repeated)
    if new == current:
        raise PasswordRefused("the new password is the one you have now")
    set_password(agent, new, uow.clock.now())
    return agent
