"""Satisfaction surveys: how an answer is read and which answers count."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from threadline.domain.channels import Channel, text_channels_for

MIN_SCORE = 1
MAX_SCORE = 5
MAX_COMMENT_LENGTH = 2000
# A customer who taps the wrong digit gets this long to correct it; after it the first
# answer stands, so a score cannot be rewritten days later.
CORRECTION_WINDOW = timedelta(hours=1)

# "5", "4 quick and friendly", "3. took too long", "2 - meh": a digit 1-5 alone or followed by
# a separator and a comment. "10", "1st of May" or "5kg" are not answers.
_DIGIT_ANSWER = re.compile(r"^\s*([1-5])(?:\s*$|[\s.,:;!)/-]+(.*)$)", re.DOTALL)


class AnswerDecision(StrEnum):
    RECORD = "record"
    UPDATE = "update"
    ALREADY_ANSWERED = "already_answered"
    EXPIRED = "expired"


class SurveyStyle(StrEnum):
    LINK = "link"  # a link to the survey page (email)
    DIGIT_OR_LINK = "digit_or_link"  # "reply with a digit 1-5" plus the link (SMS, WhatsApp)
    INLINE = "inline"  # an inline rating widget in the chat itself (web chat)


@dataclass(frozen=True, slots=True)
class DigitAnswer:
    score: int
    comment: str | None


def parse_digit_answer(text: str) -> DigitAnswer | None:
    match = _DIGIT_ANSWER.match(text)
    if match is None:
        return None
    comment = (match.group(2) or "").strip()
    return DigitAnswer(int(match.group(1)), comment[:MAX_COMMENT_LENGTH] or None)


def decide_answer(
    *, answered_at: datetime | None, expires_at: datetime, now: datetime
) -> AnswerDecision:
    """First answer wins; a second one within the correction window replaces it; nothing is
    accepted after the survey expires."""
    if now > expires_at:
        return AnswerDecision.EXPIRED
    if answered_at is None:
        return AnswerDecision.RECORD
    if now - answered_at <= CORRECTION_WINDOW:
        return AnswerDecision.UPDATE
    return AnswerDecision.ALREADY_ANSWERED


def survey_channel(last_inbound: Channel) -> Channel:
    """Ask where the customer last wrote; a call is followed by an SMS, a form by an email
    (the first text channel for it, domain/channels.py)."""
    return text_channels_for(last_inbound)[0]


def survey_style(channel: Channel) -> SurveyStyle:
    if channel is Channel.WEB_CHAT:
        return SurveyStyle.INLINE
    if channel is Channel.EMAIL or channel is Channel.API:
        return SurveyStyle.LINK
    return SurveyStyle.DIGIT_OR_LINK
