"""Request dependencies: the runtime, and who is calling."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from threadline.audit import act_as, act_for_customer
from threadline.bootstrap import Runtime
from threadline.domain.security.access import Principal, Role, require_api_key, require_role
from threadline.entrypoints.web._session import CSRF_HEADER, SESSION_COOKIE, csrf_matches
from threadline.workspace import (
    API_KEY_PREFIX,
    AuthenticationFailed,
    decode_token,
    principal_for_agent,
    principal_for_api_key,
)

_bearer = HTTPBearer(auto_error=False, description="An agent token or a workspace API key")


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def resolve_principal(runtime: Runtime, credential: str) -> Principal:
    """Who calls, named as the actor of whatever this request changes (the audit log)."""
    async with runtime.sessionmaker() as session:
        if credential.startswith(API_KEY_PREFIX):
            principal = await principal_for_api_key(session, credential, runtime.clock.now())
        else:
            claims = decode_token(credential, runtime.settings.secret_key, runtime.clock.now())
            principal = await principal_for_agent(session, claims)
    act_as(principal, runtime.clock)
    return principal


async def current_credential(
    request: Request,
    runtime: RuntimeDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    x_api_key: Annotated[str | None, Header(description="A workspace API key")] = None,
) -> str:
    """The agent token or API key the request carries (bearer, key header, or the session
    cookie with its CSRF header)."""
    credential = bearer.credentials if bearer is not None else x_api_key
    if not credential:
        credential = session_cookie_credential(request, runtime)
    if not credential:
        raise AuthenticationFailed("sign in or send a workspace API key")
    return credential


CredentialDep = Annotated[str, Depends(current_credential)]


async def current_principal(runtime: RuntimeDep, credential: CredentialDep) -> Principal:
    return await resolve_principal(runtime, credential)


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def session_cookie_credential(request: Request, runtime: Runtime) -> str | None:
    """The agent workspace's session cookie counts only with its CSRF header: a page of ours
    can send both, another site cannot read the token it would need."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    if not csrf_matches(token, runtime.settings.secret_key, request.headers.get(CSRF_HEADER)):
        raise AuthenticationFailed(f"a session cookie needs its {CSRF_HEADER} header")
    return token


async def current_agent(principal: PrincipalDep) -> Principal:
    if principal.agent_id is None:
        raise AuthenticationFailed("this action is for signed-in agents, not API keys")
    return principal


AgentDep = Annotated[Principal, Depends(current_agent)]


async def current_admin(principal: PrincipalDep) -> Principal:
    require_role(principal, Role.ADMIN)
    return principal


AdminDep = Annotated[Principal, Depends(current_admin)]


async def current_supervisor(principal: PrincipalDep) -> Principal:
    require_role(principal, Role.SUPERVISOR)
    return principal


SupervisorDep = Annotated[Principal, Depends(current_supervisor)]


async def current_integration(principal: PrincipalDep) -> Principal:
    """An app relaying a customer (inbound messages, delivery reports): the key's use is its
    last use; what it relays is customer traffic, not an audited change."""
    require_api_key(principal)
    act_for_customer()
    return principal


IntegrationDep = Annotated[Principal, Depends(current_integration)]
