"""CSAT answers: by the survey link (token) or by replying with a digit on SMS/WhatsApp.

Rules (docs/service-levels.md, "CSAT"):
- the first answer counts; a second one within an hour of it replaces it (a mis-tap fixed),
  later ones are refused and the first stands;
- after the survey expires nothing is accepted;
- a digit reply is still stored as a message in the timeline, but as an automated-like one:
  it never re-opens the resolved matter nor becomes the customer's latest channel.

receive_message asks `digit_reply_to_survey` whether an inbound message answers a pending
survey, stores the message as `SurveyDigitReply.stored_as` says, and then records the score
with `record_digit_reply`, in the same unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.core.unit_of_work import UnitOfWork
from threadline.core.views import iso
from threadline.domain.channels import Channel
from threadline.domain.csat import (
    MAX_COMMENT_LENGTH,
    MAX_SCORE,
    MIN_SCORE,
    AnswerDecision,
    DigitAnswer,
    SurveyStyle,
    decide_answer,
    parse_digit_answer,
    survey_style,
)
from threadline.domain.errors import DomainError, NotFound
from threadline.domain.events import CsatRecorded
from threadline.domain.messaging.inbound import InboundMessage


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
    uow.emit(survey.workspace_id, CsatRecorded(survey_view(survey), decision))


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


@dataclass(frozen=True, slots=True)
class SurveyDigitReply:
    """A customer's message that answers their pending survey with a digit."""

    workspace_id: int
    survey_id: int
    conversation_id: int
    answer: DigitAnswer

    def stored_as(self, inbound: InboundMessage) -> InboundMessage:
        """The message as the timeline keeps it: an answer, not a new matter, so stored like
        an automated message (no re-open, no channel switch) in the survey's conversation,
        and tagged with the answer (`meta.csat_answer`)."""
        tag = {
            "survey_id": self.survey_id,
            "score": self.answer.score,
            "comment": self.answer.comment,
        }
        return replace(
            inbound,
            automated=True,
            thread_conversation_id=self.conversation_id,
            meta={**inbound.meta, "csat_answer": tag},
        )


async def digit_reply_to_survey(
    session: AsyncSession,
    workspace_id: int,
    customer_id: int,
    channel: Channel,
    inbound: InboundMessage,
    now: datetime,
) -> SurveyDigitReply | None:
    """The survey answer an inbound message gives: a digit ("5", "4 thanks") from the
    customer, on a channel that takes digit replies, while their latest survey there still
    takes an answer. None for anything else."""
    if inbound.automated or inbound.call is not None:
        return None
    answer = parse_digit_answer(inbound.text)
    if answer is None:
        return None
    survey = await _answerable_survey(session, workspace_id, customer_id, channel, now)
    if survey is None:
        return None
    return SurveyDigitReply(workspace_id, survey.id, survey.conversation_id, answer)


async def record_digit_reply(uow: UnitOfWork, reply: SurveyDigitReply) -> None:
    """Record the score of a digit reply that receive_message has just stored."""
    survey = (
        await uow.session.execute(
            select(t.CsatSurvey)
            .where(
                t.CsatSurvey.id == reply.survey_id,
                t.CsatSurvey.workspace_id == reply.workspace_id,
            )
            .with_for_update()
        )
    ).scalar_one_or_none()
    if survey is None:
        return
    decision = apply_answer(survey, reply.answer.score, reply.answer.comment, uow.clock.now())
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
