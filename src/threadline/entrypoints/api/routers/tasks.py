"""Tasks: follow-ups and callbacks with a due time."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import Field

from threadline.core.views import task_view
from threadline.domain.channels import Channel
from threadline.domain.tasks import TaskKind, TaskStatus
from threadline.entrypoints.api.deps import PrincipalDep, RuntimeDep
from threadline.entrypoints.api.openapi import problem_responses
from threadline.entrypoints.api.schemas import Moment, RowId, StrictBody
from threadline.follow_ups import NewTask, TaskFilter, create_task, list_tasks, update_task

router = APIRouter(prefix="/api/v1", tags=["tasks"])


class TaskBody(StrictBody):
    title: str = Field(min_length=1, max_length=300)
    due_at: Moment
    kind: TaskKind = TaskKind.FOLLOW_UP
    note: str | None = Field(default=None, max_length=20_000)
    channel: Channel | None = None
    customer_id: RowId | None = None
    conversation_id: RowId | None = None
    assignee_id: RowId | None = None
    team_id: RowId | None = None


class TaskPatchBody(StrictBody):
    """Send `status` to complete or cancel, `due_at` to re-plan, `assignee_id` and/or
    `team_id` (null to clear) to reassign."""

    status: TaskStatus | None = None
    due_at: Moment | None = None
    assignee_id: RowId | None = None
    team_id: RowId | None = None
    title: str | None = Field(default=None, min_length=1, max_length=300)
    note: str | None = Field(default=None, max_length=20_000)


@router.get("/tasks")
async def get_tasks(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    status: Annotated[TaskStatus | None, Query()] = None,
    assignee_id: Annotated[RowId | None, Query()] = None,
    due_before: Annotated[Moment | None, Query()] = None,
    overdue: Annotated[bool | None, Query()] = None,
) -> list[dict[str, Any]]:
    """Tasks by due time, soonest first; `overdue=true` keeps the open ones past due."""
    now = runtime.clock.now()
    task_filter = TaskFilter(status, assignee_id, due_before, now if overdue else None)
    async with runtime.sessionmaker() as session:
        tasks = await list_tasks(session, principal, task_filter)
        return [task_view(k, now) for k in tasks]


@router.post("/tasks", status_code=status.HTTP_201_CREATED)
async def post_task(body: TaskBody, principal: PrincipalDep, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.uow() as uow:
        task = await create_task(
            uow,
            principal,
            NewTask(
                title=body.title,
                due_at=body.due_at,
                kind=body.kind,
                note=body.note,
                channel=body.channel,
                customer_id=body.customer_id,
                conversation_id=body.conversation_id,
                assignee_id=body.assignee_id,
                team_id=body.team_id,
            ),
        )
        await uow.commit()
        return task_view(task, runtime.clock.now())


@router.patch("/tasks/{task_id}", responses=problem_responses(409))
async def patch_task(
    task_id: RowId, body: TaskPatchBody, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.uow() as uow:
        task = await update_task(
            uow, principal, task_id, body.model_dump(include=body.model_fields_set)
        )
        await uow.commit()
        return task_view(task, runtime.clock.now())
