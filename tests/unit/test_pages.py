"""The pages are served by the app: where `/` leads, who may open which page, and the
static files with their content types and security headers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from agent_console.app import create_app
from agent_console.auth import COOKIE_NAME, Principal
from agent_console.pages import STATIC_DIR
from cti.config import PlatformConfig
from cti.settings import Settings

SECRET = "a-test-secret-that-is-long-enough-0123456789"
AGENT = Principal("acme", "alice", "agent", "alice")
SUPERVISOR = Principal("acme", "sam", "supervisor", None)
ADMIN = Principal("acme", "ada", "admin", None)


async def _healthy() -> dict[str, Any]:
    return {"status": "ok"}


@pytest.fixture
def app(example_config: PlatformConfig) -> Any:
    return create_app(_healthy, config=example_config, settings=Settings(session_secret=SECRET))


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://console.test") as client:
        yield client


def signed_in(app: Any, client: httpx.AsyncClient, principal: Principal) -> httpx.AsyncClient:
    token, _ = app.state.sessions.issue(principal)
    client.cookies.set(COOKIE_NAME, token)
    return client


@pytest.mark.parametrize(
    ("principal", "where"),
    [(None, "/login"), (AGENT, "/console"), (SUPERVISOR, "/wallboard"), (ADMIN, "/wallboard")],
)
async def test_home_sends_each_user_to_their_page(
    app: Any, client: httpx.AsyncClient, principal: Principal | None, where: str
) -> None:
    if principal is not None:
        signed_in(app, client, principal)
    reply = await client.get("/")
    assert reply.status_code == 303
    assert reply.headers["location"] == where


async def test_a_forged_or_expired_session_goes_to_the_login_page(
    client: httpx.AsyncClient,
) -> None:
    client.cookies.set(COOKIE_NAME, "forged.token")
    assert (await client.get("/")).headers["location"] == "/login"
    assert (await client.get("/console")).headers["location"] == "/login?next=/console"


@pytest.mark.parametrize(
    ("path", "principal", "script"),
    [
        ("/login", None, "/static/login.js"),
        ("/console", AGENT, "/static/console.js"),
        ("/wallboard", SUPERVISOR, "/static/wallboard.js"),
        ("/wallboard", ADMIN, "/static/wallboard.js"),
        ("/history", SUPERVISOR, "/static/history.js"),
        ("/history", ADMIN, "/static/history.js"),
    ],
)
async def test_pages_are_html_with_their_script(
    app: Any, client: httpx.AsyncClient, path: str, principal: Principal | None, script: str
) -> None:
    if principal is not None:
        signed_in(app, client, principal)
    reply = await client.get(path)
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "text/html; charset=utf-8"
    assert f'<script type="module" src="{script}">' in reply.text
    assert "script-src 'self'" in reply.headers["content-security-policy"]
    assert reply.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("path", "principal", "where"),
    [
        ("/console", None, "/login?next=/console"),
        ("/wallboard", None, "/login?next=/wallboard"),
        ("/wallboard", AGENT, "/console"),
        ("/console", SUPERVISOR, "/wallboard"),
        ("/history", None, "/login?next=/history"),
        ("/history", AGENT, "/console"),
    ],
)
async def test_a_page_that_is_not_yours_redirects(
    app: Any, client: httpx.AsyncClient, path: str, principal: Principal | None, where: str
) -> None:
    if principal is not None:
        signed_in(app, client, principal)
    reply = await client.get(path)
    assert (reply.status_code, reply.headers["location"]) == (303, where)


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("common.js", "text/javascript; charset=utf-8"),
        ("console.js", "text/javascript; charset=utf-8"),
        ("wallboard.js", "text/javascript; charset=utf-8"),
        ("login.js", "text/javascript; charset=utf-8"),
        ("pop.js", "text/javascript; charset=utf-8"),
        ("history.js", "text/javascript; charset=utf-8"),
        ("history.html", "text/html; charset=utf-8"),
        ("style.css", "text/css; charset=utf-8"),
        ("icon.svg", "image/svg+xml"),
        ("console.html", "text/html; charset=utf-8"),
    ],
)
async def test_static_files_have_their_content_type(
    client: httpx.AsyncClient, name: str, content_type: str
) -> None:
    reply = await client.get(f"/static/{name}")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == content_type
    assert reply.headers["cache-control"] == "no-cache"
    assert reply.content == (STATIC_DIR / name).read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/static/missing.js",
        "/static/..%2Fpages.py",
        "/static/%2E%2E/auth.py",
        "/static/.hidden.js",
        "/static/pages/common.js",
    ],
)
async def test_only_the_page_files_are_served(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.get(path)).status_code == 404


async def test_every_file_a_page_or_module_refers_to_is_served(
    app: Any, client: httpx.AsyncClient
) -> None:
    signed_in(app, client, SUPERVISOR)
    pages = [(await client.get(p)).text for p in ("/login", "/wallboard", "/history")]
    signed_in(app, client, AGENT)
    pages.append((await client.get("/console")).text)
    wanted = {m for page in pages for m in re.findall(r'(?:src|href)="(/static/[^"]+)"', page)}
    modules = [p.read_text() for p in STATIC_DIR.glob("*.js")]
    wanted |= {m for text in modules for m in re.findall(r'from "(/static/[^"]+)"', text)}
    assert {"/static/common.js", "/static/style.css", "/static/history.js"} <= wanted
    for path in sorted(wanted):
        assert (await client.get(path)).status_code == 200, path


async def test_the_history_page_may_show_same_origin_charts_and_nothing_else(
    app: Any, client: httpx.AsyncClient
) -> None:
    signed_in(app, client, SUPERVISOR)
    reply = await client.get("/history")
    assert reply.status_code == 200
    policy = dict(
        part.strip().split(" ", 1)
        for part in reply.headers["content-security-policy"].split(";")
        if part.strip()
    )
    assert policy["img-src"].split() == ["'self'", "data:"]
    assert policy["script-src"] == "'self'" and policy["connect-src"] == "'self'"
    assert reply.headers["referrer-policy"] == "same-origin"
    assert reply.headers["cache-control"] == "no-cache"
    for target in ('href="/api/kpis.csv"', 'id="chart-volume"', 'id="staffing"', 'id="abandoned"'):
        assert target in reply.text


async def test_the_wallboard_links_to_the_history_page(app: Any, client: httpx.AsyncClient) -> None:
    signed_in(app, client, SUPERVISOR)
    assert 'href="/history"' in (await client.get("/wallboard")).text
