"""Which conversations a principal may see, as SQL."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, or_, true

from threadline.adapters.db import tables as t
from threadline.domain.security.access import Principal, Role


def visible_conversations(principal: Principal) -> ColumnElement[bool]:
    """The SQL form of `can_see_conversation`, for lists and timelines."""
    if principal.role is not Role.AGENT or principal.agents_see_all:
        return true()
    mine = (
        t.Conversation.assignee_id == principal.agent_id
        if principal.agent_id is not None
        else false()
    )
    my_teams = (
        t.Conversation.team_id.in_(sorted(principal.team_ids)) if principal.team_ids else false()
    )
    unrouted = and_(t.Conversation.team_id.is_(None), t.Conversation.assignee_id.is_(None))
    return or_(mine, my_teams, unrouted)
