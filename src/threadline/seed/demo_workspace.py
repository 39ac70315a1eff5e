"""The demo workspace before any traffic: its teams, agents, inboxes, labels, wrap-up codes,
service levels and web-chat widget, set up in one transaction as an operator would."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from threadline.adapters.db import tables as t
from threadline.core.unit_of_work import UnitOfWork, UnitOfWorkFactory
from threadline.domain.channels import Channel
from threadline.seed import catalogue as cat
from threadline.seed.plan import REOPEN_WINDOW
from threadline.seed.web_chat import seed_web_chat
from threadline.service_levels import seed_default_sla
from threadline.workspace import (
    allow_email_domain,
    create_agent,
    create_inbox,
    create_workspace,
    hash_password,
)

DEMO_SLUG = "demo"
DEMO_NAME = "Demo Appliances"
DEMO_PASSWORD = "demo-password"
DEMO_PHONE = "+48 22 307 40 00"
# The demo mailbox's domain, allowed for the demo workspace as an operator would allow one.
DEMO_MAIL_DOMAIN = "demo.example.com"
# (channel, name, address, team, settings) of each inbox, in the order they are made.
INBOXES: tuple[tuple[Channel, str, str | None, str, dict[str, Any]], ...] = (
    (Channel.EMAIL, "Support mailbox", f"support@{DEMO_MAIL_DOMAIN}", cat.CONSUMER_TEAM, {}),
    (Channel.SMS, "SMS +48 22 307 40 00", DEMO_PHONE, cat.PHONE_TEAM, {}),
    (Channel.VOICE, "Hotline +48 22 307 40 00", DEMO_PHONE, cat.PHONE_TEAM, {}),
    (Channel.WHATSAPP, "WhatsApp +48 22 307 40 00", DEMO_PHONE, cat.PHONE_TEAM, {}),
    (Channel.WEB_CHAT, "Web chat (shop)", "shop.demo.example.com", cat.CONSUMER_TEAM, {}),
    (Channel.MESSENGER, "Messenger page", "demo-appliances", cat.CONSUMER_TEAM, {}),
    (Channel.API, "Shop app (API)", None, cat.B2B_TEAM, {"webhook_url": None}),
)


@dataclass
class DemoIds:
    """What the replayed traffic refers to: the workspace, its agents (by email), teams and
    inboxes (by channel), and the moment the history ends."""

    workspace_id: int
    agents: dict[str, t.Agent]
    teams: dict[str, int]
    inboxes: dict[Channel, int]
    seeded_until: datetime


async def create_demo_workspace(uow_factory: UnitOfWorkFactory, seeded_until: datetime) -> DemoIds:
    async with uow_factory() as uow:
        workspace = await create_workspace(
            uow, name=DEMO_NAME, slug=DEMO_SLUG, default_region="PL", timezone="Europe/Warsaw"
        )
        workspace.reopen_window_seconds = int(REOPEN_WINDOW.total_seconds())
        ws = workspace.id
        teams = await _add_teams(uow, ws)
        agents = await _add_agents(uow, ws, teams)
        await allow_email_domain(uow, ws, DEMO_MAIL_DOMAIN, allowed_by="demo seed")
        inboxes = await _add_inboxes(uow, ws, teams)
        _add_labels_and_wrap_up_codes(uow, ws)
        # Before the history is replayed, so past conversations carry SLA measurements too.
        await seed_default_sla(uow, ws)
        await seed_web_chat(uow, ws, inboxes[Channel.WEB_CHAT])
        await uow.commit()
    return DemoIds(ws, agents, teams, inboxes, seeded_until)


async def _add_teams(uow: UnitOfWork, ws: int) -> dict[str, int]:
    teams: dict[str, int] = {}
    for name in cat.TEAMS:
        team = t.Team(workspace_id=ws, name=name, created_at=uow.clock.now())
        uow.session.add(team)
        await uow.session.flush()
        teams[name] = team.id
    return teams


async def _add_agents(uow: UnitOfWork, ws: int, teams: dict[str, int]) -> dict[str, t.Agent]:
    agents: dict[str, t.Agent] = {}
    # One hash for the shared demo password: argon2 is slow on purpose.
    password_hash = hash_password(DEMO_PASSWORD)
    for index, spec in enumerate(cat.AGENTS):
        agent = await create_agent(
            uow,
            ws,
            email=spec.email,
            name=spec.name,
            role=spec.role,
            photo_url=cat.avatar_data_url(spec.name, index),
            skills=spec.skills,
            channel_competences=spec.channel_competences,
            languages=list(spec.languages),
            capacity=_capacity(spec),
        )
        agent.password_hash = password_hash
        agent.presence = "online" if index % 3 else "away"
        agents[spec.email] = agent
        for team_name in spec.teams:
            uow.session.add(
                t.TeamMember(team_id=teams[team_name], agent_id=agent.id, workspace_id=ws)
            )
    return agents


def _capacity(spec: cat.DemoAgent) -> dict[str, Any]:
    # An email costs 20 of the budget: `max_conversations` emails at once, or a mix with
    # chats (at most 2 or 3) and one call.
    return {
        "budget": 20 * spec.max_conversations,
        "channel_limits": {
            "web_chat": 3 if spec.channel_competences.get("web_chat", 0) >= 7 else 2,
            "voice": 1,
        },
    }


async def _add_inboxes(uow: UnitOfWork, ws: int, teams: dict[str, int]) -> dict[Channel, int]:
    inboxes: dict[Channel, int] = {}
    for channel, name, address, team_name, settings in INBOXES:
        inbox = await create_inbox(
            uow,
            ws,
            name=name,
            channel=channel,
            address=address,
            settings=settings,
            team_id=teams[team_name],
        )
        inboxes[channel] = inbox.id
    return inboxes


def _add_labels_and_wrap_up_codes(uow: UnitOfWork, ws: int) -> None:
    for label, colour in cat.LABELS.items():
        uow.session.add(t.Label(workspace_id=ws, name=label, color=colour))
    # The codes the demo history is wrapped up with, so agents are offered the same list.
    for code in sorted({c for codes in cat.WRAP_UP_CODES.values() for c in codes}):
        uow.session.add(
            t.WrapUpCode(
                workspace_id=ws,
                team_id=None,
                code=code,
                label=code.replace("_", " ").capitalize(),
                active=True,
                created_at=uow.clock.now(),
            )
        )
