"""CSAT: the customer's survey page (public, by token) and the scores for supervisors.

The survey page needs no login: the random token in the link is the credential. It is a
plain HTML form (works without JavaScript, with a screen reader, and on old phones); every
value shown is escaped. POST takes the form or JSON ({"score": 1-5, "comment": "..."}).
"""

from __future__ import annotations

import json
from datetime import datetime
from html import escape
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import Field

from threadline.csat import (
    answer_by_token,
    csat_config,
    csat_config_view,
    list_scores,
    survey_by_token,
    update_csat_config,
)
from threadline.domain.csat import (
    MAX_COMMENT_LENGTH,
    MAX_SCORE,
    MIN_SCORE,
    AnswerDecision,
    decide_answer,
)
from threadline.domain.errors import DomainError, NotFound
from threadline.entrypoints.api.deps import AdminDep, RuntimeDep, SupervisorDep
from threadline.entrypoints.api.schemas import Moment, RowId, Seconds, StrictBody

router = APIRouter(tags=["csat"])

_HEADERS = {
    # The token is in the URL: keep it out of caches and other sites' referrer logs.
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
}
_LABELS = {1: "very poor", 2: "poor", 3: "okay", 4: "good", 5: "excellent"}
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;"
    "line-height:1.5}fieldset{border:0;padding:0}.scores{display:flex;gap:.5rem}"
    "button{font-size:1.25rem;min-width:3rem;min-height:3rem;cursor:pointer}"
    "textarea{width:100%;min-height:5rem}"
)


def _page(title: str, body: str, status_code: int = 200) -> HTMLResponse:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )
    return HTMLResponse(html, status_code=status_code, headers=_HEADERS)


def _form(token: str, score: int | None, comment: str | None) -> str:
    pressed = ' aria-pressed="true"'
    buttons = "".join(
        f'<button type="submit" name="score" value="{n}" '
        f'aria-label="{n} out of 5, {_LABELS[n]}"{pressed if score == n else ""}>{n}</button>'
        for n in range(MIN_SCORE, MAX_SCORE + 1)
    )
    return (
        f'<form method="post" action="/csat/{escape(token, quote=True)}">'
        '<p><label for="comment">Anything you would like to tell us? (optional)</label><br>'
        f'<textarea id="comment" name="comment" maxlength="{MAX_COMMENT_LENGTH}">'
        f"{escape(comment or '')}</textarea></p>"
        "<fieldset><legend>How satisfied are you with the help you got? "
        "1 is very poor, 5 is excellent.</legend>"
        f'<div class="scores">{buttons}</div></fieldset></form>'
    )


def _expired_page(expires_at: datetime) -> HTMLResponse:
    return _page(
        "This survey has closed",
        f"<p>The survey could be answered until {escape(expires_at.strftime('%d %B %Y'))}. "
        "Thank you all the same; if you need anything, just write to us.</p>",
        410,
    )


@router.get("/csat/{token}", response_class=HTMLResponse, include_in_schema=False)
async def get_survey_page(token: str, runtime: RuntimeDep) -> Response:
    async with runtime.sessionmaker() as session:
        try:
            survey = await survey_by_token(session, token)
        except NotFound:
            return _page("Survey not found", "<p>This survey link is not known.</p>", 404)
    decision = decide_answer(
        answered_at=survey.answered_at, expires_at=survey.expires_at, now=runtime.clock.now()
    )
    if decision is AnswerDecision.EXPIRED:
        return _expired_page(survey.expires_at)
    if decision is AnswerDecision.ALREADY_ANSWERED:
        return _page(
            "Thank you",
            f"<p>You rated our help {survey.score} out of 5. Your answer is recorded.</p>",
        )
    intro = (
        f"<p>You rated us {survey.score} out of 5. You can still change it.</p>"
        if survey.score is not None
        else "<p>Please rate the help you got with your recent request.</p>"
    )
    return _page("How did we do?", intro + _form(token, survey.score, survey.comment))


async def _read_answer(request: Request) -> tuple[int, str | None, bool]:
    """Score, comment and whether the caller speaks JSON (else it is the HTML form)."""
    raw = await request.body()
    wants_json = request.headers.get("content-type", "").startswith("application/json")
    try:
        if wants_json:
            data = json.loads(raw or b"{}")
            if not isinstance(data, dict):
                raise ValueError
            score, comment = data.get("score"), data.get("comment")
        else:
            fields = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
            score = fields.get("score", [None])[0]
            comment = fields.get("comment", [None])[0]
        if isinstance(score, bool) or score is None:
            raise ValueError
        number = int(score)
    except (ValueError, TypeError, UnicodeDecodeError):
        raise DomainError(f"send a score: a whole number from {MIN_SCORE} to {MAX_SCORE}") from None
    if comment is not None and not isinstance(comment, str):
        raise DomainError("a comment is text")
    return number, comment, wants_json


@router.post("/csat/{token}", include_in_schema=False)
async def post_survey_answer(token: str, request: Request, runtime: RuntimeDep) -> Response:
    score, comment, wants_json = await _read_answer(request)
    async with runtime.uow() as uow:
        outcome = await answer_by_token(uow, token, score, comment)
        await uow.commit()
    survey = outcome.survey
    decision = outcome.decision
    status_code = {
        AnswerDecision.RECORD: 200,
        AnswerDecision.UPDATE: 200,
        AnswerDecision.ALREADY_ANSWERED: 409,
        AnswerDecision.EXPIRED: 410,
    }[decision]
    reason = {
        AnswerDecision.RECORD: "thank you, your answer is recorded",
        AnswerDecision.UPDATE: "thank you, your answer is updated",
        AnswerDecision.ALREADY_ANSWERED: (
            "this survey was answered already and can no longer be changed; the first answer stands"
        ),
        AnswerDecision.EXPIRED: "this survey has closed and takes no more answers",
    }[decision]
    if wants_json:
        return JSONResponse(
            {"result": decision.value, "detail": reason, "score": survey.score},
            status_code=status_code,
            headers=_HEADERS,
        )
    if decision is AnswerDecision.EXPIRED:
        return _expired_page(survey.expires_at)
    return _page(
        "Thank you" if status_code == 200 else "Already answered",
        f"<p>{escape(reason.capitalize())}.</p><p>Your rating: {survey.score} out of 5.</p>",
        status_code,
    )


@router.get("/api/v1/csat")
async def get_csat_scores(
    principal: SupervisorDep,
    runtime: RuntimeDep,
    agent_id: RowId | None = None,
    since: Moment | None = None,
    conversation_id: RowId | None = None,
) -> dict[str, Any]:
    """Answered surveys, newest first, with their count and average score."""
    async with runtime.sessionmaker() as session:
        scores = await list_scores(
            session,
            principal.workspace_id,
            agent_id=agent_id,
            since=since,
            conversation_id=conversation_id,
        )
    return {"items": scores.items, "count": scores.count, "average": scores.average}


class CsatSettingsBody(StrictBody):
    enabled: bool | None = None
    delay_seconds: Seconds | None = None
    valid_seconds: Annotated[Seconds, Field(ge=3600)] | None = None
    link_base_url: str | None = Field(default=None, max_length=300)


@router.get("/api/v1/csat/settings")
async def get_csat_settings(principal: AdminDep, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.sessionmaker() as session:
        return csat_config_view(await csat_config(session, principal.workspace_id))


@router.patch("/api/v1/csat/settings")
async def patch_csat_settings(
    body: CsatSettingsBody, principal: AdminDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.uow() as uow:
        config = await update_csat_config(
            uow, principal.workspace_id, body.model_dump(include=body.model_fields_set)
        )
        await uow.commit()
    return csat_config_view(config)
