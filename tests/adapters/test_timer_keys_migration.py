"""Migration 0015: SLA and routing timers armed under their old keys are renamed to the one
format (core/timers.py: timer_key), so the new code still moves and cancels them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command

from tests.conftest import make_workspace, settings_for
from tests.support.own_database import add_workspace, database_at_revision, run
from tests.support.routing import (
    add_agent,
    arrive,
    pending_offer_id,
    resolve,
    set_steps,
    skill_inbox,
)
from threadline.adapters.clock import ManualClock
from threadline.adapters.db.migrate import alembic_config, upgrade_to_head
from threadline.bootstrap import Runtime, build_runtime
from threadline.domain.channels import Channel
from threadline.domain.security.access import Principal, Role
from threadline.routing import decline_offer
from threadline.service_levels.calendars import list_calendars, update_calendar
from threadline.service_levels.defaults import seed_default_sla

BEFORE = "0014_assignment_channel_index"


@pytest.fixture(params=["sqlite", "postgresql"])
def own_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own at head, free to be downgraded (the shared ones are not)."""
    yield from database_at_revision(request, tmp_path)


def keys_by_status(url: str) -> set[tuple[str, str, str]]:
    return {
        (kind, key, status)
        for kind, key, status in run(url, "SELECT kind, key, status FROM timers")
    }


def test_old_keys_are_renamed_whatever_their_status_and_back_on_downgrade(
    own_database: str,
) -> None:
    command.downgrade(alembic_config(own_database), BEFORE)
    workspace_id = add_workspace(own_database, "acme", name="Acme")
    before = {
        ("sla.warning", "sla:12:warning", "armed"),
        ("sla.breach", "sla:12:breach", "armed"),
        ("sla.breach", "sla:3:breach", "fired"),
        ("routing.offer", "routing-offer:7", "armed"),
        ("routing.step", "routing-step:5", "cancelled"),
        # Already in the one format: left as they are.
        ("task.due", "task.due:9", "armed"),
        ("offer.expire", "offer.expire:4", "armed"),
        ("csat.send", "csat.send:5:1793611800.000000", "armed"),
    }
    for kind, key, status in before:
        run(
            own_database,
            "INSERT INTO timers (workspace_id, kind, key, fire_at, payload, status, attempts,"
            " created_at) VALUES (:ws, :kind, :key, '2026-11-02 12:00:00', '{}', :status, 0,"
            " '2026-11-02 09:00:00')",
            ws=workspace_id,
            kind=kind,
            key=key,
            status=status,
        )

    upgrade_to_head(own_database)
    assert keys_by_status(own_database) == {
        ("sla.warning", "sla.warning:12", "armed"),
        ("sla.breach", "sla.breach:12", "armed"),
        ("sla.breach", "sla.breach:3", "fired"),
        ("routing.offer", "routing.offer:7", "armed"),
        ("routing.step", "routing.step:5", "cancelled"),
        ("task.due", "task.due:9", "armed"),
        ("offer.expire", "offer.expire:4", "armed"),
        ("csat.send", "csat.send:5:1793611800.000000", "armed"),
    }

    command.downgrade(alembic_config(own_database), BEFORE)
    assert keys_by_status(own_database) == before


async def _armed_before_the_upgrade(runtime: Runtime) -> dict[str, int]:
    """A workspace with the demo SLA policies in offer mode: a mail nobody may take (its step
    timer and its SLA clock's timers) and a chat offered to Ola (its offer timer)."""
    workspace = await make_workspace(runtime, "acme")
    ws = workspace.id
    async with runtime.uow() as uow:
        await seed_default_sla(uow, ws)
        await uow.commit()
    inbox = await skill_inbox(runtime, ws, "billing mail", Channel.EMAIL, {"billing": 8})
    await set_steps(runtime, ws, offer_mode=True, offer_timeout_seconds=30, relax_after_seconds=120)
    ola = await add_agent(runtime, ws, "Ola Chat", competences={"web_chat": 9})
    mail = await arrive(runtime, ws, inbox, Channel.EMAIL, "anna@example.com")
    chat = await arrive(runtime, ws, workspace.inboxes["web_chat"], Channel.WEB_CHAT, "v-1")
    return {
        "ws": ws,
        "admin": workspace.admin_id,
        "ola": ola,
        "mail": mail,
        "mail_inbox": inbox,
        "chat": chat,
        "offer": await pending_offer_id(runtime, chat),
    }


@pytest.mark.anyio
async def test_timers_armed_under_the_old_keys_are_still_moved_and_cancelled(
    own_database: str,
) -> None:
    clock = ManualClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))  # Monday 10:00 in Warsaw
    runtime = build_runtime(settings_for(own_database), clock=clock)
    try:
        ids = await _armed_before_the_upgrade(runtime)
    finally:
        await runtime.close()
    [(mail_clock,)] = run(
        own_database, "SELECT id FROM sla_clocks WHERE conversation_id = :c", c=ids["mail"]
    )

    # At the previous revision the timers carry the keys the old code armed them under.
    command.downgrade(alembic_config(own_database), BEFORE)
    armed = {key for (key,) in run(own_database, "SELECT key FROM timers WHERE status = 'armed'")}
    assert {
        f"sla:{mail_clock}:warning",
        f"sla:{mail_clock}:breach",
        f"routing-step:{ids['mail']}",
        f"routing-offer:{ids['offer']}",
    } <= armed
    upgrade_to_head(own_database)

    runtime = build_runtime(settings_for(own_database), clock=clock)
    try:
        await _moved_and_cancelled_after_the_upgrade(runtime, clock, own_database, ids, mail_clock)
    finally:
        await runtime.close()
    # Nothing is left under an old key for the old code's spelling to find.
    assert (
        run(
            own_database,
            "SELECT key FROM timers WHERE key LIKE 'sla:%' OR key LIKE 'routing-%'",
        )
        == []
    )


def _timer(url: str, key: str) -> tuple[str, str]:
    [(status, fire_at)] = run(url, "SELECT status, fire_at FROM timers WHERE key = :key", key=key)
    return str(status), str(fire_at)


async def _moved_and_cancelled_after_the_upgrade(
    runtime: Runtime, clock: ManualClock, url: str, ids: dict[str, int], mail_clock: int
) -> None:
    ws, admin = ids["ws"], Principal(ids["ws"], Role.ADMIN, ids["admin"])
    step_before = _timer(url, f"routing.step:{ids['mail']}")
    breach_before = _timer(url, f"sla.breach:{mail_clock}")

    # Mondays end at noon: the mail's deadline and both its timers move to Tuesday.
    async with runtime.uow() as uow:
        calendars = await list_calendars(uow, admin)
        office = next(c for c in calendars if c.name == "Office hours (Warsaw)")
        weekly = {**office.weekly, "0": [["08:00", "12:00"]]}
        _, moved = await update_calendar(uow, admin, office.id, {"weekly": weekly})
        await uow.commit()
    assert moved == 1
    breach_after = _timer(url, f"sla.breach:{mail_clock}")
    assert breach_after[0] == "armed" and breach_after[1] != breach_before[1]

    # The customer writes again while the mail waits: the step armed for it keeps its time
    # (found under its key), instead of a second step timer being armed.
    clock.advance(timedelta(seconds=30))
    await arrive(runtime, ws, ids["mail_inbox"], Channel.EMAIL, "anna@example.com")
    assert _timer(url, f"routing.step:{ids['mail']}") == step_before
    armed_steps = run(
        url, "SELECT key FROM timers WHERE kind = 'routing.step' AND status = 'armed'"
    )
    assert armed_steps == [(f"routing.step:{ids['mail']}",)]

    # Ola declines the chat: its offer timer is cancelled. Resolving the mail stops its clock
    # and cancels the clock's timers.
    async with runtime.uow() as uow:
        await decline_offer(uow, Principal(ws, Role.AGENT, ids["ola"]), ids["offer"])
        await uow.commit()
    assert _timer(url, f"routing.offer:{ids['offer']}")[0] == "cancelled"
    await resolve(runtime, ws, ids["mail"])
    assert _timer(url, f"sla.breach:{mail_clock}")[0] == "cancelled"
    assert _timer(url, f"sla.warning:{mail_clock}")[0] == "cancelled"
