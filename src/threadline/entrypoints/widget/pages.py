"""The widget's pages: the loader script, the isolated chat frame, its static files, and the
demo shop that embeds it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from threadline.domain.errors import NotFound
from threadline.domain.messaging.web_chat import pick_language
from threadline.entrypoints.api.deps import RuntimeDep
from threadline.entrypoints.widget._texts import TEXTS
from threadline.web_chat import find_widget_inbox, widget_key_of_workspace, widget_settings

router = APIRouter(include_in_schema=False)

HERE = Path(__file__).parent
STATIC = HERE / "static"
_templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
)
STATIC_FILES = {
    "frame.js": "text/javascript; charset=utf-8",
    "frame.css": "text/css; charset=utf-8",
    "avatar.svg": "image/svg+xml",
    "shop.css": "text/css; charset=utf-8",
}
# The frame runs only our own script, talks only to its own origin, and may be framed by
# any site (that is its purpose); inline styles carry the inbox's colours.
FRAME_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https: http:; "
    "connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; frame-ancestors *"
)
DEMO_SHOP_SLUG = "demo"
PRODUCTS = [
    ("Kettle K-200", "1.7 l, keeps warm for 30 minutes", "149.00"),
    ("Toaster T-2", "Two slots, seven browning levels", "119.00"),
    ("Blender B-900", "900 W, glass jug, ice crushing", "329.00"),
    ("Coffee grinder G-1", "Burr grinder, 30 settings", "259.00"),
]


def render(name: str, **context: Any) -> str:
    return _templates.get_template(name).render(**context)


@router.get("/widget/loader.js")
async def loader() -> Response:
    return Response(
        (STATIC / "loader.js").read_text(encoding="utf-8"),
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/widget/static/{name}")
async def static_file(name: str) -> Response:
    if name not in STATIC_FILES:
        raise NotFound("no such file")
    return Response(
        (STATIC / name).read_bytes(),
        media_type=STATIC_FILES[name],
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/widget/frame")
async def frame(
    request: Request,
    runtime: RuntimeDep,
    inbox: Annotated[str, Query(max_length=200)],
    lang: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    """The chat itself, inside the loader's iframe."""
    async with runtime.sessionmaker() as session:
        found = await find_widget_inbox(session, inbox)
    language = pick_language(lang, request.headers.get("accept-language"))
    settings = widget_settings(found)
    html = render(
        "frame.html",
        lang=language,
        texts=TEXTS[language],
        settings=settings.public(),
        config={
            "inbox": inbox,
            "texts": TEXTS[language],
            "settings": settings.public(),
            # The largest upload the visitor API takes: the request body limit answers first
            # (413), then the attachment store's own (413).
            "max_file_bytes": min(
                runtime.settings.max_body_bytes, runtime.settings.max_attachment_bytes
            ),
        },
    )
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": FRAME_CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


async def _demo_widget_key(runtime: RuntimeDep) -> str | None:
    async with runtime.sessionmaker() as session:
        return await widget_key_of_workspace(session, DEMO_SHOP_SLUG)


@router.get("/demo/shop")
async def demo_shop(runtime: RuntimeDep) -> HTMLResponse:
    """A small shop page of the demo workspace with its chat widget embedded."""
    key = await _demo_widget_key(runtime)
    return HTMLResponse(render("shop.html", page="home", products=PRODUCTS, widget_key=key))


@router.get("/demo/shop/checkout")
async def demo_checkout(runtime: RuntimeDep) -> HTMLResponse:
    """The checkout page: the demo's invitation opens the chat here after a while."""
    key = await _demo_widget_key(runtime)
    return HTMLResponse(render("shop.html", page="checkout", products=PRODUCTS[:2], widget_key=key))
