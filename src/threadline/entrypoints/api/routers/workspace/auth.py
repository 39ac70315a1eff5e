"""Signing in and out."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import Field

from threadline.core.views import agent_view
from threadline.entrypoints.api.deps import AgentDep, CredentialDep, PrincipalDep, RuntimeDep
from threadline.entrypoints.api.openapi import problem_responses
from threadline.entrypoints.api.schemas import StrictBody
from threadline.entrypoints.sign_in_throttle import sign_in_attempt
from threadline.workspace import issue_token, sign_in, sign_out

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class LoginBody(StrictBody):
    workspace: str = Field(min_length=1, max_length=100, description="The workspace slug")
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1000)


@router.post("/login", responses=problem_responses(401, 429))
async def login(body: LoginBody, request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    async with sign_in_attempt(request, runtime, body.email):
        async with runtime.sessionmaker() as session:
            agent = await sign_in(
                session, body.workspace, body.email, body.password, runtime.clock.now()
            )
    token = issue_token(
        agent, runtime.settings.secret_key, runtime.clock.now(), runtime.settings.token_ttl_seconds
    )
    return {"access_token": token, "token_type": "bearer", "agent": agent_view(agent)}


@router.get("/me")
async def me(principal: PrincipalDep) -> dict[str, Any]:
    return {
        "workspace_id": principal.workspace_id,
        "agent_id": principal.agent_id,
        "role": principal.role.value,
        "team_ids": sorted(principal.team_ids),
    }


@router.post("/logout", status_code=204)
async def logout(_agent: AgentDep, credential: CredentialDep, runtime: RuntimeDep) -> Response:
    """Sign out the agent token this request carries (bearer or session cookie): it is
    refused from now on; the agent's other tokens, on other devices, stay signed in."""
    async with runtime.sessionmaker() as session:
        await sign_out(session, credential, runtime.settings.secret_key, runtime.clock.now())
    return Response(status_code=204)
