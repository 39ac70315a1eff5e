"""Workspace API keys for apps and integrations: shown once, stored hashed, revocable."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.core.lookups import get_scoped, list_scoped
from threadline.core.unit_of_work import UnitOfWork
from threadline.core.views import iso
from threadline.domain.errors import DomainError
from threadline.domain.security.access import Principal, Role, require_role
from threadline.workspace.auth import create_api_key


def api_key_view(key: t.ApiKey) -> dict[str, Any]:
    # Only the prefix: enough to tell keys apart, useless to an attacker.
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "created_at": iso(key.created_at),
        "revoked_at": iso(key.revoked_at),
        "last_used_at": iso(key.last_used_at),
        "active": key.revoked_at is None,
    }


async def list_api_keys(session: AsyncSession, principal: Principal) -> list[t.ApiKey]:
    require_role(principal, Role.ADMIN)
    return await list_scoped(session, t.ApiKey, principal.workspace_id, t.ApiKey.id)


async def issue_api_key(uow: UnitOfWork, principal: Principal, name: str) -> tuple[t.ApiKey, str]:
    """Returns the key and its plaintext; the plaintext is not stored and cannot be shown again."""
    require_role(principal, Role.ADMIN)
    if not name.strip():
        raise DomainError("an API key needs a name that says who uses it")
    return await create_api_key(uow.session, principal.workspace_id, name.strip(), uow.clock.now())


async def revoke_api_key(uow: UnitOfWork, principal: Principal, key_id: int) -> t.ApiKey:
    require_role(principal, Role.ADMIN)
    key = await get_scoped(uow.session, t.ApiKey, principal.workspace_id, key_id, lock=True)
    if key.revoked_at is None:
        key.revoked_at = uow.clock.now()
        await uow.session.flush()
    return key
