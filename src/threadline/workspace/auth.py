"""Agent sign-in, tokens and workspace API keys."""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import delete, false, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.adapters.db.inserts import insert_ignoring_conflict
from threadline.audit.facts import record_fact, record_sign_in
from threadline.domain.audit import Actor, ActorKind
from threadline.domain.errors import DomainError
from threadline.domain.security.access import Principal, Role

API_KEY_PREFIX = "tlk_"
# The test suite signs in thousands of times; with the recommended argon2id cost (64 MiB,
# 3 passes) that alone took most of its CPU. Tests set this variable to hash with argon2id at
# a trivial cost; nothing else may, and a server started with it says so in its log.
FAST_HASHING_VARIABLE = "THREADLINE_INSECURE_FAST_PASSWORD_HASHING_FOR_TESTS"


def build_hasher(fast: bool) -> PasswordHash:
    if fast:
        return PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    return PasswordHash.recommended()


FAST_HASHING = os.environ.get(FAST_HASHING_VARIABLE) == "1"
_hasher = build_hasher(FAST_HASHING)
# Verifying against this keeps sign-in time the same whether or not the email exists.
_DUMMY_HASH = _hasher.hash("threadline-no-such-agent")


class AuthenticationFailed(DomainError):
    status = 401
    title = "Authentication failed"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    return _hasher.verify(password, password_hash or _DUMMY_HASH) and password_hash is not None


def issue_token(agent: t.Agent, secret_key: str, now: datetime, ttl_seconds: int) -> str:
    claims: dict[str, Any] = {
        "sub": str(agent.id),
        "ws": agent.workspace_id,
        "role": agent.role,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl_seconds)).timestamp()),
        # Its id, so that signing out can revoke this token and no other.
        "jti": secrets.token_urlsafe(16),
    }
    return jwt.encode(claims, secret_key, algorithm="HS256")


@dataclass(frozen=True, slots=True)
class TokenClaims:
    agent_id: int
    workspace_id: int
    # None for tokens issued before tokens had ids: they cannot be revoked, only expire.
    token_id: str | None
    expires_at: datetime
    issued_at: datetime


def decode_token(token: str, secret_key: str, now: datetime) -> TokenClaims:
    """Expiry is judged by the runtime's clock, the one that issued the token, so a token is
    valid for exactly its lifetime whatever clock the process runs on. Whether it was revoked
    is checked with its agent (`principal_for_agent`)."""
    try:
        claims = jwt.decode(
            token,
            secret_key,
            algorithms=["HS256"],
            options={"require": ["exp", "iat"], "verify_exp": False, "verify_iat": False},
        )
        if int(claims["exp"]) <= int(now.timestamp()):
            raise jwt.ExpiredSignatureError("the token has expired")
        token_id = claims.get("jti")
        return TokenClaims(
            agent_id=int(claims["sub"]),
            workspace_id=int(claims["ws"]),
            token_id=str(token_id) if token_id is not None else None,
            expires_at=datetime.fromtimestamp(int(claims["exp"]), tz=UTC),
            issued_at=datetime.fromtimestamp(int(claims["iat"]), tz=UTC),
        )
    except (jwt.PyJWTError, KeyError, ValueError) as exc:
        raise AuthenticationFailed("the token is invalid or has expired") from exc


async def sign_in(
    session: AsyncSession, workspace_slug: str, email: str, password: str, now: datetime
) -> t.Agent:
    """The agent these credentials belong to. The attempt, whichever way it goes, is an audit
    entry of the workspace (committed here: a refusal must stay recorded)."""
    agent = (
        await session.execute(
            select(t.Agent)
            .join(t.Workspace, t.Workspace.id == t.Agent.workspace_id)
            .where(t.Workspace.slug == workspace_slug, t.Agent.email == email.strip().lower())
        )
    ).scalar_one_or_none()
    refusal: str | None = None
    if not verify_password(password, agent.password_hash if agent else None) or agent is None:
        refusal = "unknown workspace, email or password"
    elif not agent.active:
        refusal = "this agent account is deactivated"
    await record_sign_in(
        session,
        workspace_slug=workspace_slug,
        email=email,
        agent=agent,
        succeeded=refusal is None,
        now=now,
    )
    if refusal is not None or agent is None:
        raise AuthenticationFailed(refusal or "unknown workspace, email or password")
    return agent


async def principal_for_agent(session: AsyncSession, claims: TokenClaims) -> Principal:
    workspace_id = claims.workspace_id
    revoked = (
        select(t.RevokedToken.jti).where(t.RevokedToken.jti == claims.token_id).exists()
        if claims.token_id is not None
        else false()
    )
    found = (
        await session.execute(
            select(t.Agent, revoked).where(
                t.Agent.id == claims.agent_id, t.Agent.workspace_id == workspace_id
            )
        )
    ).one_or_none()
    if found is None or not found[0].active:
        raise AuthenticationFailed("the agent of this token no longer exists or is deactivated")
    agent, signed_out = found
    if signed_out:
        raise AuthenticationFailed("this token was signed out; sign in again")
    if issued_before_password_change(claims, agent):
        raise AuthenticationFailed("the password was changed since this token was issued")
    workspace = await session.get(t.Workspace, workspace_id)
    assert workspace is not None
    team_ids = (
        await session.execute(select(t.TeamMember.team_id).where(t.TeamMember.agent_id == agent.id))
    ).scalars()
    return Principal(
        workspace_id=workspace_id,
        role=Role(agent.role),
        agent_id=agent.id,
        team_ids=frozenset(team_ids),
        agents_see_all=workspace.agents_see_all,
    )


def issued_before_password_change(claims: TokenClaims, agent: t.Agent) -> bool:
    # `iat` has whole seconds: a token issued in the second of the change (the changing
    # session's new one) still counts as after it.
    changed = agent.password_changed_at
    return changed is not None and claims.issued_at < changed.replace(microsecond=0)


async def sign_out(session: AsyncSession, token: str, secret_key: str, now: datetime) -> None:
    """Revoke this agent token: refused from now on, until it would have expired anyway
    (then its row is no longer needed, and revocations past their expiry are cleared here).
    A token that is invalid or expired already, or has no id (issued before tokens had
    them), is left as it is."""
    try:
        claims = decode_token(token, secret_key, now)
    except AuthenticationFailed:
        return
    if claims.token_id is None:
        return
    await session.execute(delete(t.RevokedToken).where(t.RevokedToken.expires_at <= now))
    await insert_ignoring_conflict(
        session,
        t.RevokedToken,
        {
            "jti": claims.token_id,
            "workspace_id": claims.workspace_id,
            "agent_id": claims.agent_id,
            "expires_at": claims.expires_at,
        },
    )
    name = (
        await session.execute(select(t.Agent.name).where(t.Agent.id == claims.agent_id))
    ).scalar_one_or_none()
    actor = Actor(ActorKind.AGENT, claims.agent_id, name or "")
    await record_fact(
        session, claims.workspace_id, actor, now, "sign_out", "agent", str(claims.agent_id)
    )
    await session.commit()


def token_digest(token: str) -> str:
    # Keys and link tokens are long random strings, so a fast hash is enough to keep them
    # unreadable at rest.
    return hashlib.sha256(token.encode()).hexdigest()


def hash_api_key(key: str) -> str:
    return token_digest(key)


async def create_api_key(
    session: AsyncSession, workspace_id: int, name: str, now: datetime
) -> tuple[t.ApiKey, str]:
    """Returns the stored key and its plaintext, which is shown once and never again."""
    plaintext = API_KEY_PREFIX + secrets.token_urlsafe(32)
    row = t.ApiKey(
        workspace_id=workspace_id,
        name=name,
        prefix=plaintext[:10],
        key_hash=hash_api_key(plaintext),
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row, plaintext


# An app's use of its key is audited as the key's last use, to the minute: one write a minute
# per key at most, however often the app calls.
LAST_USE_RESOLUTION = timedelta(minutes=1)


async def principal_for_api_key(session: AsyncSession, key: str, now: datetime) -> Principal:
    row = (
        await session.execute(
            select(t.ApiKey).where(
                t.ApiKey.key_hash == hash_api_key(key), t.ApiKey.revoked_at.is_(None)
            )
        )
    ).scalar_one_or_none()
    if row is None:
        raise AuthenticationFailed("unknown or revoked API key")
    if row.last_used_at is None or now - row.last_used_at >= LAST_USE_RESOLUTION:
        # Core, not the ORM: this is bookkeeping, not a change anyone made (no audit entry).
        await session.execute(
            update(t.ApiKey).where(t.ApiKey.id == row.id).values(last_used_at=now)
        )
        await session.commit()
    return Principal(
        workspace_id=row.workspace_id, role=Role.INTEGRATION, agent_id=None, api_key_id=row.id
    )
