"""Login, sessions, roles and tenant scoping through the real app on a migrated SQLite store."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
import uvicorn
from fastapi import Depends, WebSocket
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from agent_console.app import create_app
from agent_console.auth import COOKIE_NAME, LOGIN_FAILED, Principal, SessionTokens, require_role
from cti.asterisk_proc import free_port
from cti.config import PlatformConfig
from cti.db import create_engine
from cti.settings import Settings
from cti.store import users
from cti.store.schema import upgrade

SECRET = "a-test-secret-that-is-long-enough-0123456789"
PASSWORDS = {
    ("acme", "alice"): "alice-password",
    ("acme", "sam"): "acme-sam-password",
    ("acme", "ada"): "acme-admin-password",
    ("globex", "sam"): "globex-sam-password",
    ("globex", "gina"): "gina-password",
}


async def _healthy() -> dict[str, Any]:
    return {"status": "ok"}


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'cti.db'}")
    await upgrade(engine)
    await users.create_user(
        engine, "acme", "alice", "agent", PASSWORDS["acme", "alice"], agent_id="alice"
    )
    await users.create_user(engine, "acme", "sam", "supervisor", PASSWORDS["acme", "sam"])
    await users.create_user(engine, "acme", "ada", "admin", PASSWORDS["acme", "ada"])
    await users.create_user(engine, "globex", "sam", "supervisor", PASSWORDS["globex", "sam"])
    await users.create_user(
        engine, "globex", "gina", "agent", PASSWORDS["globex", "gina"], agent_id="gina"
    )
    yield engine
    await engine.dispose()


@pytest.fixture
def settings() -> Settings:
    return Settings(session_secret=SECRET, session_hours=8)


@pytest.fixture
def app(engine: AsyncEngine, settings: Settings, example_config: PlatformConfig) -> Any:
    return create_app(_healthy, engine=engine, config=example_config, settings=settings)


def _client(app: Any, host: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(host, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://console.test")


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app) as client:
        yield client


async def _login(client: httpx.AsyncClient, tenant: str, username: str, **extra: Any) -> str:
    body = {"tenant": tenant, "username": username, "password": PASSWORDS[tenant, username]}
    response = await client.post("/api/login", json={**body, **extra})
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_login_returns_a_token_and_sets_an_httponly_cookie(
    client: httpx.AsyncClient,
) -> None:
    before = time.time()
    response = await client.post(
        "/api/login", json={"tenant": "acme", "username": "alice", "password": "alice-password"}
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["role"], body["agent_id"], body["tenant"]) == ("agent", "alice", "acme")
    assert before + 8 * 3600 - 1 <= body["expires_at"] <= time.time() + 8 * 3600
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}={body['token']};")
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert "Max-Age=28800" in cookie

    me = await client.get("/api/me")  # the cookie alone
    assert me.status_code == 200
    assert me.json() == {
        "tenant": "acme",
        "username": "alice",
        "role": "agent",
        "agent_id": "alice",
    }


async def test_the_bearer_header_works_without_the_cookie(app: Any) -> None:
    async with _client(app) as first:
        token = await _login(first, "acme", "sam")
    async with _client(app) as second:
        assert (await second.get("/api/me")).status_code == 401
        me = await second.get("/api/me", headers=_bearer(token))
        assert me.status_code == 200
        assert me.json()["username"] == "sam" and me.json()["role"] == "supervisor"


async def test_wrong_password_unknown_user_and_unknown_tenant_get_the_same_401(
    client: httpx.AsyncClient,
) -> None:
    attempts = [
        {"tenant": "acme", "username": "alice", "password": "not-her-password"},
        {"tenant": "acme", "username": "nobody", "password": "alice-password"},
        {"tenant": "initech", "username": "alice", "password": "alice-password"},
        {"tenant": "globex", "username": "alice", "password": "alice-password"},
        {"tenant": "acme", "username": "sam", "password": PASSWORDS["globex", "sam"]},
    ]
    for attempt in attempts:
        response = await client.post("/api/login", json=attempt)
        assert response.status_code == 401, attempt
        assert response.json() == {"detail": LOGIN_FAILED}
        assert "set-cookie" not in response.headers
    assert (await client.get("/api/me")).status_code == 401


async def test_no_token_is_a_clear_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/me")
    assert response.status_code == 401
    assert "log in first" in response.json()["detail"]
    assert response.headers["www-authenticate"] == "Bearer"
    assert (await client.get("/api/users")).status_code == 401


async def test_a_tampered_token_is_refused(client: httpx.AsyncClient) -> None:
    token = await _login(client, "acme", "alice")
    client.cookies.clear()
    payload, signature = token.split(".")
    other = await _login(client, "acme", "ada")  # a valid admin signature, on another payload
    client.cookies.clear()
    forged = [
        f"{payload}.{other.split('.')[1]}",
        f"{other.split('.')[0]}.{signature}",
        f"{payload[:-2]}{'AA' if payload[-2:] != 'AA' else 'BB'}.{signature}",
        f"{payload}.",
        "garbage",
    ]
    for bad in forged:
        response = await client.get("/api/me", headers=_bearer(bad))
        assert response.status_code == 401, bad
        assert response.json()["detail"].startswith("not authenticated")
        client.cookies.set(COOKIE_NAME, bad)
        assert (await client.get("/api/me")).status_code == 401, bad
        client.cookies.clear()
    assert (await client.get("/api/me", headers=_bearer(token))).status_code == 200


async def test_an_expired_token_is_refused(client: httpx.AsyncClient) -> None:
    yesterday = SessionTokens(SECRET.encode(), hours=8, clock=lambda: time.time() - 86_400)
    token, expires_at = yesterday.issue(Principal("acme", "alice", "agent", "alice"))
    assert expires_at < time.time()
    response = await client.get("/api/me", headers=_bearer(token))
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]
    fresh, _ = SessionTokens(SECRET.encode(), hours=8).issue(
        Principal("acme", "alice", "agent", "alice")
    )
    assert (await client.get("/api/me", headers=_bearer(fresh))).status_code == 200


async def test_an_agent_is_forbidden_the_supervisor_endpoints(client: httpx.AsyncClient) -> None:
    token = await _login(client, "acme", "alice")
    response = await client.get("/api/users", headers=_bearer(token))
    assert response.status_code == 403
    assert "supervisor or admin" in response.json()["detail"]
    admin = await _login(client, "acme", "ada")
    assert (await client.get("/api/users", headers=_bearer(admin))).status_code == 200


async def test_a_principal_sees_only_its_own_tenant(client: httpx.AsyncClient) -> None:
    acme = await _login(client, "acme", "sam")
    globex = await _login(client, "globex", "sam")
    client.cookies.clear()

    acme_me = (await client.get("/api/me", headers=_bearer(acme))).json()
    globex_me = (await client.get("/api/me", headers=_bearer(globex))).json()
    assert (acme_me["tenant"], globex_me["tenant"]) == ("acme", "globex")

    acme_users = await client.get("/api/users", headers=_bearer(acme))
    assert [u["username"] for u in acme_users.json()] == ["ada", "alice", "sam"]
    globex_users = await client.get("/api/users", headers=_bearer(globex))
    assert [u["username"] for u in globex_users.json()] == ["gina", "sam"]
    assert all("password_hash" not in u for u in acme_users.json() + globex_users.json())

    # a tenant named in the request is ignored: the principal's tenant decides
    sneaky = await client.get(
        "/api/users", params={"tenant": "globex", "tenant_id": "globex"}, headers=_bearer(acme)
    )
    assert [u["username"] for u in sneaky.json()] == ["ada", "alice", "sam"]


async def test_failed_logins_are_throttled_per_account_and_client(
    app: Any, client: httpx.AsyncClient
) -> None:
    wrong = {"tenant": "acme", "username": "alice", "password": "guess-guess"}
    for _ in range(5):
        assert (await client.post("/api/login", json=wrong)).status_code == 401
    right = {**wrong, "password": "alice-password"}
    blocked = await client.post("/api/login", json=right)
    assert blocked.status_code == 429
    assert 1 <= int(blocked.headers["retry-after"]) <= 60
    assert "too many failed logins" in blocked.json()["detail"]
    assert "set-cookie" not in blocked.headers

    assert await _login(client, "acme", "sam")  # another account from the same client
    async with _client(app, host="10.1.2.3") as elsewhere:  # the same account elsewhere
        assert (await elsewhere.post("/api/login", json=right)).status_code == 200

    throttle = app.state.login_throttle
    start = time.monotonic()
    throttle.clock = lambda: start + 61  # a minute later
    assert (await client.post("/api/login", json=right)).status_code == 200


async def test_a_success_resets_the_failure_count(client: httpx.AsyncClient) -> None:
    wrong = {"tenant": "acme", "username": "alice", "password": "guess-guess"}
    for _ in range(4):
        assert (await client.post("/api/login", json=wrong)).status_code == 401
    await _login(client, "acme", "alice")
    for _ in range(4):
        assert (await client.post("/api/login", json=wrong)).status_code == 401
    await _login(client, "acme", "alice")


async def test_logout_clears_the_cookie(client: httpx.AsyncClient) -> None:
    await _login(client, "acme", "alice")
    assert (await client.get("/api/me")).status_code == 200
    response = await client.post("/api/logout")
    assert response.status_code == 204
    assert f'{COOKIE_NAME}=""' in response.headers["set-cookie"]
    assert (await client.get("/api/me")).status_code == 401


async def test_login_at_another_extension_records_it(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    response = await client.post(
        "/api/login",
        json={**_credentials("acme", "alice"), "extension": "1004"},  # dave's desk
    )
    assert response.status_code == 200 and response.json()["extension"] == "1004"
    stored = await users.get_user(engine, "acme", "alice")
    assert stored is not None and stored.extension == "1004"
    bad = await client.post("/api/login", json={**_credentials("acme", "alice"), "extension": "x"})
    assert bad.status_code == 422
    nowhere = {**_credentials("acme", "alice"), "extension": "2042"}
    refused = await client.post("/api/login", json=nowhere)  # no such phone here
    assert refused.status_code == 422 and "not a phone of this center" in refused.text
    back = await client.post("/api/login", json=_credentials("acme", "alice"))
    assert back.status_code == 200 and back.json()["extension"] == "1001"  # her own again
    stored = await users.get_user(engine, "acme", "alice")
    assert stored is not None and stored.extension == "1001"


def _credentials(tenant: str, username: str) -> dict[str, str]:
    return {"tenant": tenant, "username": username, "password": PASSWORDS[tenant, username]}


async def test_the_app_keeps_its_parts_on_state(
    app: Any, engine: AsyncEngine, settings: Settings, example_config: PlatformConfig
) -> None:
    assert app.state.engine is engine
    assert app.state.config is example_config
    assert app.state.settings is settings


async def test_create_app_with_health_alone_still_serves_health(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    app = create_app(_healthy)
    async with _client(app) as client:
        assert (await client.get("/health")).json() == {"status": "ok"}
        login = await client.post("/api/login", json=_credentials("acme", "alice"))
        assert login.status_code == 503
        assert (await client.get("/api/me")).status_code == 401


async def test_a_websocket_takes_its_token_from_the_query(
    engine: AsyncEngine, settings: Settings, example_config: PlatformConfig
) -> None:
    app = create_app(_healthy, engine=engine, config=example_config, settings=settings)

    @app.websocket("/ws/whoami")
    async def whoami(
        websocket: WebSocket,
        principal: Annotated[Principal, Depends(require_role("supervisor"))],
    ) -> None:
        await websocket.accept()
        await websocket.send_json({"tenant": principal.tenant_id, "user": principal.username})
        await websocket.close()

    tokens = app.state.sessions
    supervisor, _ = tokens.issue(Principal("globex", "sam", "supervisor", None))
    agent, _ = tokens.issue(Principal("globex", "gina", "agent", "gina"))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not serving.done()
            await asyncio.sleep(0.01)
        base = f"ws://127.0.0.1:{port}/ws/whoami"
        async with connect(f"{base}?token={supervisor}") as ws:
            assert json.loads(await ws.recv()) == {"tenant": "globex", "user": "sam"}
        async with connect(base, additional_headers=_bearer(supervisor)) as ws:
            assert json.loads(await ws.recv())["user"] == "sam"
        for url in [base, f"{base}?token={agent}", f"{base}?token=forged.x"]:
            with pytest.raises(InvalidStatus) as refused:
                async with connect(url):
                    pass
            assert refused.value.response.status_code == 403, url
    finally:
        server.should_exit = True
        await serving


async def test_the_console_socket_refuses_another_sites_page(
    engine: AsyncEngine, settings: Settings, example_config: PlatformConfig
) -> None:
    """A page of another site cannot open /ws with the user's cookie; our own pages can."""
    app = create_app(_healthy, engine=engine, config=example_config, settings=settings)
    token, _ = app.state.sessions.issue(Principal("acme", "alice", "agent", "alice"))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not serving.done()
            await asyncio.sleep(0.01)
        url = f"ws://127.0.0.1:{port}/ws?token={token}"
        async with connect(url, origin=f"http://127.0.0.1:{port}") as ws:  # type: ignore[arg-type]
            assert json.loads(await ws.recv())["type"] == "hello"
        with pytest.raises(InvalidStatus) as refused:
            async with connect(url, origin="https://evil.example"):  # type: ignore[arg-type]
                pass
        assert refused.value.response.status_code == 403
    finally:
        server.should_exit = True
        await serving
