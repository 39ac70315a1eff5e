"""CSAT answers: by the survey link (token) or by replying with a digit on SMS/WhatsApp.

Rules (docs/service-levels.md, "CSAT"):
- the first answer counts; a second one within an hour of it replaces it (a mis-tap fixed),
  later ones are refused and the first stands;
- after the survey expires nothing is accepted;
- a digit reply is still stored as a message in the timeline, but as an automated-like one:
  it never re-opens the resolved matter nor becomes the customer's latest channel.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.core.handlers import HandlerMap
from threadline.core.unit_of_work import UnitOfWork
from threadline.core.views import iso
from threadline.domain.channels import Channel
from threadline.domain.conversations import Direction
from threadline.domain.csat import (
    MAX_COMMENT_LENGTH,
    MAX_SCORE,
    MIN_SCORE,
    AnswerDecision,
    SurveyStyle,
    decide_answer,
    parse_digit_answer,
    survey_style,
)
from threadline.domain.errors import DomainError, NotFound
from threadline.domain.events import DomainEvent, EventType
from threadline.domain.inbound import InboundMessage


@dataclass(frozen=True, slots=True)
class AnswerOutcome:
    decision: AnswerDecision
    survey: t.CsatSurvey


def survey_view(s: t.CsatSurvey) -> dict[str, Any]:
    return {
        "id": s.id,
        "conversation_id": s.conversation_id,
        "agent_id": s.agent_id,
        "customer_id": s.customer_id,
        "channel": s.channel,
        "sent_at": iso(s.sent_at),
        "expires_at": iso(s.expires_at),
        "score": s.score,
        "comment": s.comment,
        "answered_at": iso(s.answered_at),
    }


async def survey_by_token(session: AsyncSession, token: str, *, lock: bool = False) -> t.CsatSurvey:
    """Tokens are random and unguessable; they are the customer's only credential."""
    query = select(t.CsatSurvey).where(t.CsatSurvey.token == token)
    if lock:
        query = query.with_for_update()
    survey = (await session.execute(query)).scalar_one_or_none()
    if survey is None:
        raise NotFound("this survey link is not known; it may have been mistyped")
    return survey


def _check_score(score: int, comment: str | None) -> str | None:
    if not MIN_SCORE <= score <= MAX_SCORE:
        raise DomainError(f"a score is a whole number from {MIN_SCORE} to {MAX_SCORE}")
    cleaned = (comment or "").strip()
    if len(cleaned) > MAX_COMMENT_LENGTH:
        raise DomainError(f"a comment is limited to {MAX_COMMENT_LENGTH} characters")
    return cleaned or None


def apply_answer(
    survey: t.CsatSurvey, score: int, comment: str | None, now: datetime
) -> AnswerDecision:
    decision = decide_answer(answered_at=survey.answered_at, expires_at=survey.expires_at, now=now)
    cleaned = _check_score(score, comment)
    if decision is AnswerDecision.RECORD:
        survey.answered_at = now
    if decision in (AnswerDecision.RECORD, AnswerDecision.UPDATE):
        survey.score = score
        survey.comment = cleaned
        survey.updated_at = now
    return decision


async def answer_by_token(
    uow: UnitOfWork, token: str, score: int, comment: str | None
) -> AnswerOutcome:
    survey = await survey_by_token(uow.session, token, lock=True)
    decision = apply_answer(survey, score, comment, uow.clock.now())
    await _recorded(uow, survey, decision)
    return AnswerOutcome(decision, survey)


async def _recorded(uow: UnitOfWork, survey: t.CsatSurvey, decision: AnswerDecision) -> None:
    if decision not in (AnswerDecision.RECORD, AnswerDecision.UPDATE):
        return
    await uow.session.flush()
    uow.emit(
        survey.workspace_id,
        DomainEvent(
            EventType.CSAT_RECORDED,
            {"csat": survey_view(survey), "decision": decision.value},
            conversation_id=survey.conversation_id,
        ),
    )


async def _answerable_survey(
    session: AsyncSession, workspace_id: int, customer_id: int, channel: Channel, now: datetime
) -> t.CsatSurvey | None:
    """The customer's latest survey sent on this channel that still takes a digit reply."""
    if survey_style(channel) is not SurveyStyle.DIGIT_OR_LINK:
        return None
    # Through the conversation, so a survey still finds its customer after a merge.
    survey = (
        await session.execute(
            select(t.CsatSurvey)
            .join(t.Conversation, t.Conversation.id == t.CsatSurvey.conversation_id)
            .where(
                t.CsatSurvey.workspace_id == workspace_id,
                t.Conversation.customer_id == customer_id,
                t.CsatSurvey.channel == channel.value,
                t.CsatSurvey.expires_at >= now,
            )
            .order_by(t.CsatSurvey.sent_at.desc(), t.CsatSurvey.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if survey is None:
        return None
    decision = decide_answer(answered_at=survey.answered_at, expires_at=survey.expires_at, now=now)
    if decision not in (AnswerDecision.RECORD, AnswerDecision.UPDATE):
        return None
    return survey


async def mark_survey_answer(
    session: AsyncSession,
    workspace_id: int,
    customer_id: int,
    channel: Channel,
    inbound: InboundMessage,
    now: datetime,
) -> InboundMessage:
    """receive_message's hook: a digit reply to a pending survey is an answer, not a new
    matter. It is stored like an automated message (no re-open, no channel switch) and
    tagged so that the message.created handler below records the score."""
    if inbound.automated or inbound.call is not None:
        return inbound
    answer = parse_digit_answer(inbound.text)
    if answer is None:
        return inbound
    survey = await _answerable_survey(session, workspace_id, customer_id, channel, now)
    if survey is None:
        return inbound
    tag = {"survey_id": survey.id, "score": answer.score, "comment": answer.comment}
    return replace(
        inbound,
        automated=True,
        thread_conversation_id=survey.conversation_id,
        meta={**inbound.meta, "csat_answer": tag},
    )


async def record_digit_answer(uow: UnitOfWork, workspace_id: int, event: DomainEvent) -> None:
    message = event.payload.get("message") or {}
    tag = (message.get("meta") or {}).get("csat_answer")
    if message.get("direction") != Direction.INBOUND.value or not isinstance(tag, dict):
        return
    survey = (
        await uow.session.execute(
            select(t.CsatSurvey)
            .where(t.CsatSurvey.id == tag["survey_id"], t.CsatSurvey.workspace_id == workspace_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if survey is None:
        return
    decision = apply_answer(survey, int(tag["score"]), tag.get("comment"), uow.clock.now())
    await _recorded(uow, survey, decision)


@dataclass(frozen=True, slots=True)
class ScoreList:
    items: list[dict[str, Any]]
    count: int
    average: float | None


async def list_scores(
    session: AsyncSession,
    workspace_id: int,
    *,
    agent_id: int | None = None,
    since: datetime | None = None,
    conversation_id: int | None = None,
) -> ScoreList:
    conditions = [t.CsatSurvey.workspace_id == workspace_id, t.CsatSurvey.score.is_not(None)]
    if agent_id is not None:
        conditions.append(t.CsatSurvey.agent_id == agent_id)
    if since is not None:
        conditions.append(t.CsatSurvey.answered_at >= since)
    if conversation_id is not None:
        conditions.append(t.CsatSurvey.conversation_id == conversation_id)
    rows = await session.execute(
        select(t.CsatSurvey).where(*conditions).order_by(t.CsatSurvey.answered_at.desc())
    )
    items = [survey_view(s) for s in rows.scalars()]
    average = (
        await session.execute(select(func.avg(t.CsatSurvey.score)).where(*conditions))
    ).scalar_one()
    return ScoreList(items, len(items), round(float(average), 2) if average is not None else None)


EVENT_HANDLERS: HandlerMap = {
    EventType.MESSAGE_CREATED: [record_digit_answer],
}
