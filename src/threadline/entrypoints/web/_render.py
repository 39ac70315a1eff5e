"""Templates, translations and the signed-in agent of a page request."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import nh3
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from threadline.bootstrap import Runtime
from threadline.domain.security.access import Principal
from threadline.entrypoints.api.deps import resolve_principal
from threadline.entrypoints.web._session import (
    CSRF_FIELD,
    LANGUAGE_COOKIE,
    SESSION_COOKIE,
    csrf_token_for,
)
from threadline.workspace import AuthenticationFailed

LANGUAGES = ("en", "pl", "uk")
DEFAULT_LANGUAGE = "en"
# Each language is named in itself, so whoever cannot read the page can still find theirs.
LANGUAGE_NAMES = {"en": "English", "pl": "Polski", "uk": "Українська"}


@cache
def catalogue(language: str) -> dict[str, str]:
    """The agent app's texts (locales/<language>.json), then each area's own, such as a
    console section's (locales/<area>/<language>.json), so areas never edit one file."""
    folder = resources.files("threadline.entrypoints.web").joinpath("locales")
    areas = sorted((entry for entry in folder.iterdir() if entry.is_dir()), key=str)
    loaded: dict[str, str] = {}
    for place in (folder, *areas):
        text = place.joinpath(f"{language}.json")
        loaded.update(json.loads(text.read_text(encoding="utf-8")))
    return loaded


def language_of(request: Request) -> str:
    """The language the agent chose (the `tl_lang` cookie), else the browser's most
    preferred one we have, else English."""
    chosen = request.cookies.get(LANGUAGE_COOKIE, "")
    if chosen in LANGUAGES:
        return chosen
    return preferred_language(request.headers.get("accept-language", ""))


def preferred_language(accept_language: str) -> str:
    """The supported language the Accept-Language header ranks highest: by q-value, then by
    order; a region (uk-UA) counts as its language; q=0 means "not this one"."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, *parameters = (piece.strip() for piece in part.split(";"))
        primary = tag.lower().replace("_", "-").split("-", 1)[0]
        weight = _q_value(parameters)
        if primary in LANGUAGES and weight > 0:
            ranked.append((-weight, position, primary))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE


def _q_value(parameters: list[str]) -> float:
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                weight = float(value)
            except ValueError:
                return 0.0  # a malformed weight is not a preference
            return weight if 0 <= weight <= 1 else 0.0
    return 1.0


def translator(language: str) -> Any:
    strings = catalogue(language)
    fallback = catalogue(DEFAULT_LANGUAGE)

    def translate(key: str, **values: Any) -> str:
        text = strings.get(key) or fallback.get(key) or key
        return text.format(**values) if values else text

    return translate


def clean_html(html: str | None) -> Markup:
    """Stored HTML was sanitised when it arrived; it is cleaned again here, so a page never
    depends on what some other code path once let through."""
    if not html:
        return Markup("")
    cleaned = nh3.clean(
        html, link_rel="noopener noreferrer nofollow", attribute_filter=_no_remote_images
    )
    return Markup(cleaned)  # noqa: S704 - nh3 output, not user text


def _no_remote_images(element: str, attribute: str, value: str) -> str | None:
    # A remote image in an email tells its sender when (and from where) an agent read it:
    # only images carried in the message itself are shown; the rest keep their alt text.
    if element == "img" and attribute in {"src", "srcset"}:
        return value if value.startswith("data:") else None
    return value


def short_time(value: str | datetime | None) -> str:
    if value is None:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.strftime("%Y-%m-%d %H:%M")


def duration(seconds: Any) -> str:
    if not isinstance(seconds, int | float):
        return ""
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("threadline.entrypoints.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["clean_html"] = clean_html
    env.filters["short_time"] = short_time
    env.filters["duration"] = duration
    return env


class PageSession:
    """The signed-in agent behind a page request, with what the page needs to act for them."""

    def __init__(self, principal: Principal, token: str, secret_key: str) -> None:
        self.principal = principal
        self.csrf_token = csrf_token_for(token, secret_key)


async def page_session(request: Request, runtime: Runtime) -> PageSession | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        principal = await resolve_principal(runtime, token)
    except AuthenticationFailed:
        return None
    if principal.agent_id is None:
        return None
    return PageSession(principal, token, runtime.settings.secret_key)


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    csrf_token: str = "",
) -> HTMLResponse:
    language = language_of(request)
    html = (
        environment()
        .get_template(template)
        .render(
            t=translator(language),
            lang=language,
            languages=LANGUAGES,
            language_names=LANGUAGE_NAMES,
            csrf_field=CSRF_FIELD,
            csrf_token=csrf_token,
            path=request.url.path,
            **context,
        )
    )
    response = HTMLResponse(html, status_code=status_code)
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response
