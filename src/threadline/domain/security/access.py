"""Who may see and do what inside a workspace."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from threadline.domain.errors import Forbidden


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"
    # A workspace API key used by an app or integration.
    INTEGRATION = "integration"


ROLE_RANK = {Role.AGENT: 1, Role.INTEGRATION: 1, Role.SUPERVISOR: 2, Role.ADMIN: 3}


@dataclass(frozen=True, slots=True)
class Principal:
    workspace_id: int
    role: Role
    agent_id: int | None
    team_ids: frozenset[int] = frozenset()
    # When false, plain agents see only their own, their teams' and unrouted conversations.
    agents_see_all: bool = True
    # The workspace API key an app called with (role integration); None for agents.
    api_key_id: int | None = None


def require_role(principal: Principal, minimum: Role) -> None:
    if ROLE_RANK[principal.role] < ROLE_RANK[minimum]:
        raise Forbidden(f"this action needs the {minimum.value} role")


def require_api_key(principal: Principal) -> None:
    """For what only an app may do (post a customer's message, report a delivery): an
    agent's sign-in must never be able to speak as a customer."""
    if principal.role is not Role.INTEGRATION:
        raise Forbidden(
            "this endpoint is for apps: send a workspace API key, not an agent's sign-in"
        )


def can_see_conversation(
    principal: Principal, *, assignee_id: int | None, team_id: int | None
) -> bool:
    if principal.role is not Role.AGENT or principal.agents_see_all:
        return True
    if assignee_id is not None and assignee_id == principal.agent_id:
        return True
    if team_id is not None:
        return team_id in principal.team_ids
    return assignee_id is None
