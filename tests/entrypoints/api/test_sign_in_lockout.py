"""Password guessing is slowed per (account, address), per address and, for addresses the
account has not signed in from, per account: a stranger cannot keep an agent out, and the
limits hold across processes sharing Redis. Every test runs with the in-process counts and
with Redis; Redis keys are unique per test (a fresh workspace and fresh client addresses),
so parallel workers and earlier runs never share a count."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from ipaddress import IPv6Address

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import PASSWORD, WorkspaceFixture, make_workspace
from threadline.adapters.clock import ManualClock
from threadline.bootstrap import Runtime, build_runtime
from threadline.config import Settings
from threadline.entrypoints.api.app import create_app
from threadline.entrypoints.sign_in_throttle import ACCOUNT_FAILURES, PAIR_FAILURES

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["memory", "redis"])
def store_url(request: pytest.FixtureRequest) -> str:
    """Where the counts live: "" for this process, else a Redis URL."""
    if request.param == "memory":
        return ""
    url: str = request.getfixturevalue("redis_url")
    return url


@pytest.fixture
async def counted_runtime(
    settings: Settings, clock: ManualClock, store_url: str
) -> AsyncIterator[Runtime]:
    built = build_runtime(settings.model_copy(update={"redis_url": store_url}), clock=clock)
    yield built
    await built.close()


@pytest.fixture
async def ws(counted_runtime: Runtime) -> WorkspaceFixture:
    return await make_workspace(counted_runtime, f"lock{uuid.uuid4().hex[:10]}")


def fresh_address() -> str:
    """An address no other test uses: its own /64 of the documentation range."""
    bits = uuid.uuid4().int
    return str(IPv6Address((0x20010DB8 << 96) | ((bits & 0xFFFFFFFF) << 64) | 1))


@pytest.fixture
def app(counted_runtime: Runtime) -> FastAPI:
    """One API process: every browser below talks to this same app."""
    return create_app(runtime=counted_runtime)


@asynccontextmanager
async def browser_at(app: FastAPI, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 50123))
    async with httpx.AsyncClient(transport=transport, base_url="http://threadline.test") as c:
        yield c


async def sign_in(client: httpx.AsyncClient, ws: WorkspaceFixture, password: str) -> int:
    response = await client.post(
        "/api/v1/auth/login",
        json={"workspace": ws.slug, "email": f"agent@{ws.slug}.example.com", "password": password},
    )
    return response.status_code


async def test_a_stranger_hammering_an_account_does_not_keep_the_agent_out(
    app: FastAPI, ws: WorkspaceFixture
) -> None:
    async with browser_at(app, fresh_address()) as stranger:
        for _ in range(PAIR_FAILURES):
            assert await sign_in(stranger, ws, "a guess") == 401
        assert await sign_in(stranger, ws, "another guess") == 429
        # The stranger's own lucky guess gains nothing.
        assert await sign_in(stranger, ws, PASSWORD) == 429

    async with browser_at(app, fresh_address()) as agent:
        assert await sign_in(agent, ws, PASSWORD) == 200


async def test_guesses_from_many_places_slow_new_places_but_not_the_agents_usual_one(
    app: FastAPI, ws: WorkspaceFixture
) -> None:
    usual = fresh_address()
    async with browser_at(app, usual) as agent:
        assert await sign_in(agent, ws, PASSWORD) == 200

    for _ in range(ACCOUNT_FAILURES // PAIR_FAILURES):
        async with browser_at(app, fresh_address()) as stranger:
            for _ in range(PAIR_FAILURES):
                assert await sign_in(stranger, ws, "a guess") == 401
    # The account has had its fill of failures from strangers: a place it never signed in
    # from waits, even with the right password ...
    async with browser_at(app, fresh_address()) as newcomer:
        assert await sign_in(newcomer, ws, PASSWORD) == 429
    # ... but the agent's usual address still gets in.
    async with browser_at(app, usual) as agent:
        assert await sign_in(agent, ws, PASSWORD) == 200


async def test_fifteen_guesses_sent_at_once_give_ten_refusals_and_five_throttles(
    app: FastAPI, ws: WorkspaceFixture
) -> None:
    async with browser_at(app, fresh_address()) as guesser:
        codes = await asyncio.gather(
            *(sign_in(guesser, ws, "a guess") for _ in range(PAIR_FAILURES + 5))
        )
    assert sorted(codes) == [401] * PAIR_FAILURES + [429] * 5


async def test_one_ipv6_subscriber_counts_as_one_address(
    app: FastAPI, ws: WorkspaceFixture
) -> None:
    first = IPv6Address(fresh_address())
    async with browser_at(app, str(first)) as guesser:
        for _ in range(PAIR_FAILURES):
            assert await sign_in(guesser, ws, "a guess") == 401
    async with browser_at(app, str(first + 0xBEEF)) as same_network:
        assert await sign_in(same_network, ws, PASSWORD) == 429


async def test_the_limit_holds_across_two_app_instances_sharing_redis(
    settings: Settings, clock: ManualClock, redis_url: str
) -> None:
    shared = settings.model_copy(update={"redis_url": redis_url})
    one, two = build_runtime(shared, clock=clock), build_runtime(shared, clock=clock)
    app_one, app_two = create_app(runtime=one), create_app(runtime=two)
    try:
        ws = await make_workspace(one, f"lock{uuid.uuid4().hex[:10]}")
        address = fresh_address()
        async with browser_at(app_one, address) as on_one, browser_at(app_two, address) as on_two:
            for attempt in range(PAIR_FAILURES):
                instance = on_one if attempt % 2 else on_two
                assert await sign_in(instance, ws, "a guess") == 401
            assert await sign_in(on_one, ws, "a guess") == 429
            assert await sign_in(on_two, ws, PASSWORD) == 429

        together = fresh_address()
        async with (
            browser_at(app_one, together) as on_one,
            browser_at(app_two, together) as on_two,
        ):
            codes = await asyncio.gather(
                *(
                    sign_in(on_one if n % 2 else on_two, ws, "a guess")
                    for n in range(PAIR_FAILURES + 5)
                )
            )
        assert sorted(codes) == [401] * PAIR_FAILURES + [429] * 5
    finally:
        await one.close()
        await two.close()
