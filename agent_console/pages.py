"""The web pages: login, the agent console, the supervisors' wallboard and history, and files.

Plain HTML, CSS and JavaScript modules from `agent_console/static/`, served as they are
(no build step, no third-party front-end code). `GET /` sends a visitor without a
session to the login page and one with a session to the page of their role: the
wallboard for supervisors and admins, the console for agents. `/console`, `/wallboard`
and `/history` (the supervisors' historical reports) send a visitor without a session
to the login page (which comes back to them afterwards), and a user to the page of
their role when this one is not theirs.

Every page and file goes out with a Content-Security-Policy that lets in scripts,
styles, images (the report charts) and connections from this origin only, and
`Cache-Control: no-cache`, so a browser revalidates its copy after an upgrade. What the
pages show comes from the websocket (`agent_console.ws`) and the REST APIs; nothing
here reads the center.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import FileResponse, RedirectResponse, Response

from agent_console.auth import Principal, current_principal
from agent_console.hub import SUPERVISORS

STATIC_DIR = Path(__file__).with_name("static")
MEDIA_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
        " connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-cache",
}

router = APIRouter(tags=["pages"], include_in_schema=False)


async def _principal(request: Request) -> Principal | None:
    """The signed-in user, or None when the request has no valid session."""
    try:
        return await current_principal(request)
    except HTTPException:
        return None


def _home(principal: Principal) -> str:
    return "/wallboard" if principal.role in SUPERVISORS else "/console"


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status.HTTP_303_SEE_OTHER, headers={"Cache-Control": "no-store"})


def _file(name: str) -> FileResponse:
    path = STATIC_DIR / name
    media_type = MEDIA_TYPES.get(path.suffix)
    if "/" in name or name.startswith(".") or media_type is None or not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no file {name!r}")
    return FileResponse(path, media_type=media_type, headers=SECURITY_HEADERS)


@router.get("/")
async def home(request: Request) -> Response:
    principal = await _principal(request)
    return _redirect("/login" if principal is None else _home(principal))


@router.get("/login")
async def login_page() -> Response:
    return _file("login.html")


async def _page(request: Request, page: str, *, for_supervisors: bool) -> Response:
    """A page for signed-in users; the other role's users are sent to their own page."""
    principal = await _principal(request)
    if principal is None:
        return _redirect(f"/login?next=/{page}")
    if for_supervisors and principal.role not in SUPERVISORS:
        return _redirect("/console")
    if not for_supervisors and principal.agent_id is None and principal.role in SUPERVISORS:
        return _redirect("/wallboard")
    return _file(f"{page}.html")


@router.get("/console")
async def console_page(request: Request) -> Response:
    return await _page(request, "console", for_supervisors=False)


@router.get("/wallboard")
async def wallboard_page(request: Request) -> Response:
    return await _page(request, "wallboard", for_supervisors=True)


@router.get("/history")
async def history_page(request: Request) -> Response:
    return await _page(request, "history", for_supervisors=True)


@router.get("/static/{name}")
async def static_file(name: str) -> Response:
    """A file of the pages (HTML, scripts, styles, icons); nothing below the folder."""
    return _file(name)
