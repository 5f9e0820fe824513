"""`/api/customers` through the real app and real session tokens, on a migrated SQLite store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from agent_console import customers_api
from agent_console.app import create_app
from agent_console.auth import Principal
from cti.config import PlatformConfig
from cti.settings import Settings
from cti.store.models import Call, Callback, Survey

SECRET = "a-test-secret-that-is-long-enough-0123456789"
AGENT = Principal("acme", "alice", "agent", "alice")
SUPERVISOR = Principal("acme", "sam", "supervisor", None)
OTHER_TENANT = Principal("globex", "gina", "supervisor", None)


async def _healthy() -> dict[str, Any]:
    return {"status": "ok"}


@pytest.fixture
def engine(sqlite_engine: AsyncEngine) -> AsyncEngine:
    return sqlite_engine


@pytest.fixture
def app(engine: AsyncEngine, example_config: PlatformConfig) -> FastAPI:
    app = create_app(
        _healthy, engine=engine, config=example_config, settings=Settings(session_secret=SECRET)
    )
    if not any(getattr(r, "path", "").startswith("/api/customers") for r in app.routes):
        app.include_router(customers_api.router)
    return app


def _client(app: FastAPI, principal: Principal | None) -> httpx.AsyncClient:
    headers = {}
    if principal is not None:
        token, _ = app.state.sessions.issue(principal)
        headers["Authorization"] = f"Bearer {token}"
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://console.test", headers=headers)


@pytest.fixture
async def agent(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app, AGENT) as client:
        yield client


@pytest.fixture
async def supervisor(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app, SUPERVISOR) as client:
        yield client


@pytest.fixture
async def globex(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app, OTHER_TENANT) as client:
        yield client


JEANNE = {
    "id": "C001",
    "name": "Jeanne Martin",
    "account": "79927398713",
    "language": "fr",
    "revenue": 1200.0,
    "fields": {"balance": "1250"},
    "phones": [{"number": "06 12 34 53 05", "label": "mobile"}],
}


async def test_create_get_update_delete(
    agent: httpx.AsyncClient, supervisor: httpx.AsyncClient
) -> None:
    created = await agent.post("/api/customers", json=JEANNE)
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["location"] == "/api/customers/C001"
    assert body["phones"] == [{"number": "+33612345305", "label": "mobile"}]
    assert (body["tier"], body["tier_given"]) == (0, False)  # the example has no tier rules
    got = await agent.get("/api/customers/C001")
    assert got.status_code == 200 and got.json() == body

    patched = await agent.patch("/api/customers/C001", json={"notes": "VIP", "tier": 3})
    assert patched.status_code == 200
    after = patched.json()
    assert (after["notes"], after["tier"], after["tier_given"]) == ("VIP", 3, True)
    assert (after["name"], after["account"], after["phones"]) == (
        body["name"],
        body["account"],
        body["phones"],
    )
    back = await agent.patch("/api/customers/C001", json={"tier": None})
    assert (back.json()["tier"], back.json()["tier_given"]) == (0, False)

    assert (await agent.delete("/api/customers/C001")).status_code == 403  # agents cannot
    assert (await supervisor.delete("/api/customers/C001")).status_code == 204
    assert (await agent.get("/api/customers/C001")).status_code == 404
    assert (await supervisor.delete("/api/customers/C001")).status_code == 404


async def test_an_id_is_generated_when_absent(agent: httpx.AsyncClient) -> None:
    created = await agent.post("/api/customers", json={"name": "Walk-in"})
    assert created.status_code == 201
    customer_id = created.json()["id"]
    assert customer_id and (await agent.get(f"/api/customers/{customer_id}")).status_code == 200


async def test_another_tenants_customer_is_a_404(
    agent: httpx.AsyncClient, globex: httpx.AsyncClient
) -> None:
    assert (await agent.post("/api/customers", json=JEANNE)).status_code == 201
    assert (await globex.get("/api/customers/C001")).status_code == 404
    assert (await globex.get("/api/customers/C001/history")).status_code == 404
    assert (await globex.patch("/api/customers/C001", json={"name": "Mine"})).status_code == 404
    phone = {"number": "+33699000001"}
    assert (await globex.post("/api/customers/C001/phones", json=phone)).status_code == 404
    assert (await globex.delete("/api/customers/C001")).status_code == 404
    found = await globex.get("/api/customers", params={"q": "Jeanne"})
    assert found.json() == {"total": 0, "limit": 50, "offset": 0, "items": []}
    # the same id and number in the other tenant is another customer, not a conflict
    theirs = await globex.post("/api/customers", json=JEANNE | {"name": "Globex Jeanne"})
    assert theirs.status_code == 201
    mine = await agent.get("/api/customers/C001")
    assert mine.json()["name"] == "Jeanne Martin"


async def test_without_a_session_it_is_a_401(app: FastAPI) -> None:
    async with _client(app, None) as anonymous:
        assert (await anonymous.get("/api/customers")).status_code == 401
        assert (await anonymous.post("/api/customers", json=JEANNE)).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "X", "tier": 12},
        {"name": "X", "tier": "gold"},
        {"name": "X", "revenue": -1},
        {"name": "X", "language": "French"},
        {"name": "X", "id": "has space"},
        {"name": "X", "unknown": 1},
        {"name": "X", "phones": [{"number": "12"}]},
        {"name": "X", "phones": [{"number": "call me"}]},
        {"name": "X", "timezone": "Mars/Olympus"},
        {"name": "X", "fields": {"balance": [1, 2]}},
    ],
)
async def test_a_bad_body_is_a_422(agent: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await agent.post("/api/customers", json=body)
    assert response.status_code == 422, response.text
    assert (await agent.get("/api/customers")).json()["total"] == 0


async def test_bad_updates_and_conflicts(agent: httpx.AsyncClient) -> None:
    assert (await agent.post("/api/customers", json=JEANNE)).status_code == 201
    paul = {"id": "C002", "name": "Paul", "phones": [{"number": "+33140000001"}]}
    assert (await agent.post("/api/customers", json=paul)).status_code == 201
    for body in ({"name": None}, {"name": ""}, {"tier": -1}, {"phones": []}, {"id": "C9"}):
        response = await agent.patch("/api/customers/C002", json=body)
        assert response.status_code == 422, (body, response.text)
    dup = await agent.post("/api/customers", json=JEANNE | {"phones": []})
    assert dup.status_code == 409 and "already exists" in dup.json()["detail"]
    same_account = await agent.patch("/api/customers/C002", json={"account": "79927398713"})
    assert same_account.status_code == 409
    taken = await agent.post("/api/customers/C002/phones", json={"number": "0612345305"})
    assert taken.status_code == 409 and "C001" in taken.json()["detail"]
    assert (await agent.get("/api/customers/C002")).json()["name"] == "Paul"


async def test_phones_added_and_removed(agent: httpx.AsyncClient) -> None:
    assert (await agent.post("/api/customers", json=JEANNE)).status_code == 201
    added = await agent.post(
        "/api/customers/C001/phones", json={"number": "01 40 00 00 01", "label": "home"}
    )
    assert added.status_code == 201
    assert {"number": "+33140000001", "label": "home"} in added.json()["phones"]
    bad = await agent.post("/api/customers/C001/phones", json={"number": "12"})
    assert bad.status_code == 422 and "too short" in bad.json()["detail"]
    assert (
        await agent.post("/api/customers/C404/phones", json={"number": "0699000001"})
    ).status_code == 404
    removed = await agent.delete("/api/customers/C001/phones/+33140000001")
    assert removed.status_code == 204
    phones = (await agent.get("/api/customers/C001")).json()["phones"]
    assert phones == [{"number": "+33612345305", "label": "mobile"}]
    assert (await agent.delete("/api/customers/C001/phones/+33140000001")).status_code == 404


async def test_search(agent: httpx.AsyncClient) -> None:
    for i, name in enumerate(["Martin Durand", "Jeanne Martin", "Amina Diallo"], start=1):
        body = {"id": f"C{i}", "name": name, "account": f"A{i}", "phones": [f"+3361234000{i}"]}
        body["phones"] = [{"number": n} for n in body["phones"]]
        assert (await agent.post("/api/customers", json=body)).status_code == 201
    page = (await agent.get("/api/customers", params={"q": "martin"})).json()
    assert (page["total"], [c["name"] for c in page["items"]]) == (
        2,
        ["Martin Durand", "Jeanne Martin"],
    )
    second = await agent.get("/api/customers", params={"q": "martin", "limit": 1, "offset": 1})
    assert [c["id"] for c in second.json()["items"]] == ["C2"]
    by_phone = (await agent.get("/api/customers", params={"phone": "06 12 34 00 03"})).json()
    assert [c["id"] for c in by_phone["items"]] == ["C3"]
    by_account = (await agent.get("/api/customers", params={"account": "A2"})).json()
    assert [c["id"] for c in by_account["items"]] == ["C2"]
    for params in ({"limit": 0}, {"limit": 10_000}, {"offset": -1}):
        assert (await agent.get("/api/customers", params=params)).status_code == 422


async def test_history_for_the_screen_pop(agent: httpx.AsyncClient, engine: AsyncEngine) -> None:
    assert (await agent.post("/api/customers", json=JEANNE)).status_code == 201
    empty = (await agent.get("/api/customers/C001/history")).json()
    assert empty == {"customer_id": "C001", "calls": [], "callbacks": []}
    columns = {c.name: None for c in Call.__table__.columns}
    common = columns | {"tenant_id": "acme", "direction": "inbound", "offers": 1}
    common |= {"hold_seconds": 0.0, "transfers": 0}
    async with engine.begin() as conn:
        await conn.execute(
            insert(Call),
            [
                common
                | {
                    "call_id": "k1",
                    "customer_id": "C001",
                    "arrived_at": 1000.0,
                    "queue": "sales",
                    "agent": "alice",
                    "outcome": "answered",
                    "disposition": "sale",
                    "notes": "renewed",
                    "resolved": True,
                    "talk_seconds": 95.0,
                },
                common
                | {
                    "call_id": "k2",
                    "customer_id": "C001",
                    "arrived_at": 2000.0,
                    "queue": "support",
                    "agent": "carol",
                    "outcome": "answered",
                    "disposition": "complaint",
                    "resolved": False,
                    "talk_seconds": 300.0,
                },
                common | {"call_id": "k3", "customer_id": "C777", "arrived_at": 3000.0},
            ],
        )
        await conn.execute(
            insert(Survey),
            [{"tenant_id": "acme", "call_id": "k1", "question": 1, "score": 4, "at": 1100.0}],
        )
        await conn.execute(
            insert(Callback),
            [
                {
                    "tenant_id": "acme",
                    "ref": "agent-1",
                    "number": "+33612345305",
                    "customer_id": "C001",
                    "queue": "support",
                    "source": "agent",
                    "requested_at": 2100.0,
                    "status": "pending",
                    "updated_at": 2100.0,
                    "topic": "follow up the complaint",
                }
            ],
        )
    history = (await agent.get("/api/customers/C001/history")).json()
    assert [c["call_id"] for c in history["calls"]] == ["k2", "k1"]
    k1 = history["calls"][1]
    assert {k: k1[k] for k in ("at", "queue", "agent", "outcome", "disposition", "notes")} == {
        "at": 1000.0,
        "queue": "sales",
        "agent": "alice",
        "outcome": "answered",
        "disposition": "sale",
        "notes": "renewed",
    }
    assert (k1["survey_score"], k1["resolved"], k1["talk_seconds"]) == (4, True, 95.0)
    assert (history["calls"][0]["survey_score"], history["calls"][0]["resolved"]) == (None, False)
    (callback,) = history["callbacks"]
    assert (callback["status"], callback["topic"], callback["queue"]) == (
        "pending",
        "follow up the complaint",
        "support",
    )
    limited = (await agent.get("/api/customers/C001/history", params={"limit": 1})).json()
    assert [c["call_id"] for c in limited["calls"]] == ["k2"]
    assert (await agent.get("/api/customers/C404/history")).status_code == 404
