"""Continuity rule 4: merging two customers is audited and can be undone.

A merge moves everything the source customer owns (identities, conversations and with them
their messages, notes, offers, tasks, orders) to the target, and records in
`CustomerMerge.moved` exactly which rows moved and what the target's profile gained. Undo
moves those rows, and only those, back: whatever reached the target after the merge (a new
address, a new note) stays where it is.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.core.lookups import get_scoped
from threadline.core.unit_of_work import UnitOfWork
from threadline.core.views import customer_view, iso
from threadline.domain.errors import Conflict, DomainError
from threadline.domain.events import CustomerMerged, CustomerUnmerged
from threadline.domain.security.access import Principal, Role, require_role

# A table whose rows a customer owns through a `customer_id` column.
OwnedModel = type[t.Identity | t.Conversation | t.Note | t.Offer | t.Task | t.Order]

# What a customer owns through a `customer_id` column, by the key used in `moved`. A merge
# recorded before a key was added has no list under it; undo then has nothing to return.
OWNED_ROWS: dict[str, OwnedModel] = {
    "identities": t.Identity,
    "conversations": t.Conversation,
    "notes": t.Note,
    "offers": t.Offer,
    "tasks": t.Task,
    "orders": t.Order,
}


async def merge_customers(
    uow: UnitOfWork, principal: Principal, source_id: int, target_id: int
) -> t.CustomerMerge:
    """Fold `source_id` into `target_id`; the source stays as a pointer (merged_into_id)."""
    require_role(principal, Role.SUPERVISOR)
    if source_id == target_id:
        raise DomainError("a customer cannot be merged into itself")
    session = uow.session
    ws = principal.workspace_id
    source, target = await _lock_pair(session, ws, source_id, target_id)
    for customer in (source, target):
        if customer.merged_into_id is not None:
            raise Conflict(
                f"customer {customer.id} was already merged into customer {customer.merged_into_id}"
            )

    moved: dict[str, Any] = {}
    for key, model in OWNED_ROWS.items():
        moved[key] = await _move_rows(session, ws, model, source.id, target.id)

    # The target's own values win; the source's are kept here so undo can restore them.
    added_attributes = {k: v for k, v in source.attributes.items() if k not in target.attributes}
    added_labels = [label for label in source.labels if label not in target.labels]
    moved["attributes"] = dict(source.attributes)
    moved["attributes_added"] = sorted(added_attributes)
    moved["labels_added"] = added_labels
    moved["name_taken"] = not target.name and bool(source.name)

    now = uow.clock.now()
    if added_attributes:
        target.attributes = {**target.attributes, **added_attributes}
    if added_labels:
        target.labels = [*target.labels, *added_labels]
    if moved["name_taken"]:
        target.name = source.name
    target.updated_at = now
    source.merged_into_id = target.id
    source.updated_at = now

    merge = t.CustomerMerge(
        workspace_id=ws,
        source_customer_id=source.id,
        target_customer_id=target.id,
        actor_agent_id=principal.agent_id,
        moved=moved,
        created_at=now,
    )
    session.add(merge)
    await session.flush()
    uow.emit(
        ws,
        CustomerMerged(
            merge=merge_view(merge), source=customer_view(source), target=customer_view(target)
        ),
    )
    return merge


async def unmerge(uow: UnitOfWork, principal: Principal, merge_id: int) -> t.CustomerMerge:
    """Undo a merge: the moved rows that still exist go back to the source customer."""
    require_role(principal, Role.SUPERVISOR)
    session = uow.session
    ws = principal.workspace_id
    merge = await get_scoped(session, t.CustomerMerge, ws, merge_id, lock=True)
    if merge.undone_at is not None:
        raise Conflict(f"merge {merge.id} was already undone at {iso(merge.undone_at)}")
    source, target = await _lock_pair(
        session, ws, merge.source_customer_id, merge.target_customer_id
    )
    if target.merged_into_id is not None:
        # The moved rows now live on a third customer; undo the later merge first.
        raise Conflict(
            f"customer {target.id} was merged into customer {target.merged_into_id} since; "
            "undo that merge first"
        )

    moved = merge.moved
    restored: dict[str, list[int]] = {}
    for key, model in OWNED_ROWS.items():
        restored[key] = await _return_rows(session, ws, model, moved.get(key, []), source.id)

    now = uow.clock.now()
    # Take back what the target gained, unless an agent has changed it since the merge.
    gained = {k: moved["attributes"][k] for k in moved.get("attributes_added", [])}
    kept_attributes = {
        k: v for k, v in target.attributes.items() if k not in gained or gained[k] != v
    }
    if kept_attributes != target.attributes:
        target.attributes = kept_attributes
    labels_added = set(moved.get("labels_added", []))
    if labels_added:
        target.labels = [label for label in target.labels if label not in labels_added]
    if moved.get("name_taken") and target.name == source.name:
        target.name = None
    target.updated_at = now
    source.attributes = dict(moved.get("attributes", source.attributes))
    source.merged_into_id = None
    source.updated_at = now

    merge.undone_at = now
    merge.undone_by_agent_id = principal.agent_id
    await session.flush()
    uow.emit(
        ws,
        CustomerUnmerged(
            merge=merge_view(merge),
            restored=restored,
            source=customer_view(source),
            target=customer_view(target),
        ),
    )
    return merge


async def get_merge(session: AsyncSession, principal: Principal, merge_id: int) -> t.CustomerMerge:
    return await get_scoped(session, t.CustomerMerge, principal.workspace_id, merge_id)


async def list_merges(
    session: AsyncSession, principal: Principal, customer_id: int | None = None
) -> list[t.CustomerMerge]:
    """The workspace's merges, newest first; with `customer_id`, those it took part in."""
    query = select(t.CustomerMerge).where(t.CustomerMerge.workspace_id == principal.workspace_id)
    if customer_id is not None:
        await get_scoped(session, t.Customer, principal.workspace_id, customer_id)
        query = query.where(
            (t.CustomerMerge.source_customer_id == customer_id)
            | (t.CustomerMerge.target_customer_id == customer_id)
        )
    rows = await session.execute(query.order_by(t.CustomerMerge.id.desc()))
    return list(rows.scalars())


def merge_view(merge: t.CustomerMerge) -> dict[str, Any]:
    return {
        "id": merge.id,
        "source_customer_id": merge.source_customer_id,
        "target_customer_id": merge.target_customer_id,
        "actor_agent_id": merge.actor_agent_id,
        "moved": merge.moved,
        "created_at": iso(merge.created_at),
        "undone_at": iso(merge.undone_at),
        "undone_by_agent_id": merge.undone_by_agent_id,
    }


async def _lock_pair(
    session: AsyncSession, workspace_id: int, source_id: int, target_id: int
) -> tuple[t.Customer, t.Customer]:
    """Both customers, row-locked in id order so that two merges (or a merge and an inbound
    message, which locks its customer) cannot deadlock or interleave."""
    locked = {
        customer_id: await get_scoped(session, t.Customer, workspace_id, customer_id, lock=True)
        for customer_id in sorted({source_id, target_id})
    }
    return locked[source_id], locked[target_id]


async def _move_rows(
    session: AsyncSession,
    workspace_id: int,
    model: OwnedModel,
    from_customer_id: int,
    to_customer_id: int,
) -> list[int]:
    return await _reassign_where(
        session, workspace_id, model, model.customer_id == from_customer_id, to_customer_id
    )


async def _return_rows(
    session: AsyncSession,
    workspace_id: int,
    model: OwnedModel,
    ids: list[int],
    to_customer_id: int,
) -> list[int]:
    """Move the rows with `ids` that still exist back; returns the ids actually moved."""
    if not ids:
        return []
    return await _reassign_where(session, workspace_id, model, model.id.in_(ids), to_customer_id)


async def _reassign_where(
    session: AsyncSession,
    workspace_id: int,
    model: OwnedModel,
    which: ColumnElement[bool],
    to_customer_id: int,
) -> list[int]:
    """Give the workspace's rows of `model` that match `which` to the customer; returns
    their ids."""
    ids = list(
        (
            await session.execute(
                select(model.id).where(model.workspace_id == workspace_id, which).order_by(model.id)
            )
        ).scalars()
    )
    if ids:
        await _assign(session, workspace_id, model, ids, to_customer_id)
    return ids


async def _assign(
    session: AsyncSession,
    workspace_id: int,
    model: OwnedModel,
    ids: list[int],
    customer_id: int,
) -> None:
    await session.execute(
        update(model)
        .where(model.workspace_id == workspace_id, model.id.in_(ids))
        .values(customer_id=customer_id)
        .execution_options(synchronize_session="fetch")
    )
