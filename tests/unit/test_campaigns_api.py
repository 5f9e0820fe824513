"""`/api/campaigns` and `/api/dnc` through the real app and session tokens, on SQLite:
who may, what is refused and why, and that a tenant never sees another's campaigns."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from agent_console.app import create_app
from agent_console.auth import Principal
from cti.config import PlatformConfig
from cti.settings import Settings

SECRET = "a-test-secret-that-is-long-enough-0123456789"
AGENT = Principal("acme", "alice", "agent", "alice")
SUPERVISOR = Principal("acme", "sam", "supervisor", None)
OTHER_TENANT = Principal("globex", "gina", "supervisor", None)
SPRING = {"id": "spring", "name": "Spring offer", "queue": "sales", "caller_id": "+33140000000"}


async def _healthy() -> dict[str, Any]:
    return {"status": "ok"}


@pytest.fixture
def app(sqlite_engine: AsyncEngine, example_config: PlatformConfig) -> FastAPI:
    return create_app(
        _healthy,
        engine=sqlite_engine,
        config=example_config,
        settings=Settings(session_secret=SECRET),
    )


@pytest.fixture
def client(app: FastAPI) -> Any:
    def make(principal: Principal) -> httpx.AsyncClient:
        token, _ = app.state.sessions.issue(principal)
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://console.test",
            headers={"Authorization": f"Bearer {token}"},
        )

    return make


@pytest.fixture
async def sam(client: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with client(SUPERVISOR) as http:
        yield http


async def test_a_supervisor_creates_fills_and_starts_a_campaign(sam: httpx.AsyncClient) -> None:
    made = await sam.post("/api/campaigns", json=SPRING)
    assert made.status_code == 201 and made.headers["location"] == "/api/campaigns/spring"
    body = made.json()
    assert (body["status"], body["mode"], body["days"]) == (
        "draft",
        "progressive",
        ["mon", "tue", "wed", "thu", "fri"],
    )
    assert body["progress"]["contacts"] == 0 and body["progress"]["contact_rate"] is None
    csv = "Phone;Name\n06 12 34 53 05;Jeanne\nnope;Bad\n"
    imported = await sam.post(
        "/api/campaigns/spring/contacts", content=csv, headers={"content-type": "text/csv"}
    )
    assert imported.status_code == 200
    assert imported.json()["added"] == 1 and imported.json()["rejected"][0]["line"] == 3
    started = await sam.post("/api/campaigns/spring/start")
    assert started.json()["status"] == "running" and started.json()["progress"]["remaining"] == 1
    listed = await sam.get("/api/campaigns")
    assert [c["id"] for c in listed.json()] == ["spring"]


@pytest.mark.parametrize(
    ("change", "status", "why"),
    [
        ({"queue": "nope"}, 422, "no queue 'nope'"),
        ({"id": "Spring Offer"}, 422, "string_pattern_mismatch"),
        ({"hours": "20:00-09:00"}, 422, "before they start"),
        ({"hours": "9-17"}, 422, "HH:MM-HH:MM"),
        ({"zone": "Mars/Base"}, 422, "unknown time zone"),
        ({"days": []}, 422, "too_short"),
        ({"mode": "predictive"}, 422, "literal_error"),
        ({"caller_id": "ACME"}, 422, "string_pattern_mismatch"),
        ({"max_attempts": 0}, 422, "greater_than_equal"),
        ({"surprise": 1}, 422, "extra_forbidden"),
        ({"dispositions": ["sale", "maybe"]}, 422, "unknown dispositions ['maybe']"),
    ],
)
async def test_a_bad_campaign_is_refused_with_the_reason(
    sam: httpx.AsyncClient, change: dict[str, Any], status: int, why: str
) -> None:
    reply = await sam.post("/api/campaigns", json={**SPRING, **change})
    assert reply.status_code == status and why in reply.text, reply.text
    assert (await sam.get("/api/campaigns")).json() == []  # nothing half made


async def test_moves_and_imports_that_do_not_apply_are_refused(sam: httpx.AsyncClient) -> None:
    await sam.post("/api/campaigns", json=SPRING)
    again = await sam.post("/api/campaigns", json=SPRING)
    assert again.status_code == 409
    paused = await sam.post("/api/campaigns/spring/pause")
    assert paused.status_code == 422 and "is draft: cannot pause" in paused.text
    assert (await sam.post("/api/campaigns/spring/explode")).status_code == 422
    assert (await sam.post("/api/campaigns/autumn/start")).status_code == 404
    no_phone = await sam.post(
        "/api/campaigns/spring/contacts",
        content="name\nJeanne\n",
        headers={"content-type": "text/csv"},
    )
    assert no_phone.status_code == 422 and "no phone column" in no_phone.text
    binary = await sam.post("/api/campaigns/spring/contacts", content=b"\xff\xfe\x00phone")
    assert binary.status_code == 422 and "not UTF-8" in binary.text
    await sam.post("/api/campaigns/spring/stop")
    closed = await sam.post(
        "/api/campaigns/spring/contacts",
        content="phone\n0612345305\n",
        headers={"content-type": "text/csv"},
    )
    assert closed.status_code == 422 and "stopped" in closed.text


async def test_agents_and_other_tenants_see_nothing(client: Any, sam: httpx.AsyncClient) -> None:
    await sam.post("/api/campaigns", json=SPRING)
    await sam.post("/api/dnc", json={"number": "0612345305"})
    async with client(AGENT) as alice:
        assert (await alice.get("/api/campaigns")).status_code == 403
        assert (await alice.post("/api/dnc", json={"number": "0612345306"})).status_code == 403
    async with client(OTHER_TENANT) as gina:
        assert (await gina.get("/api/campaigns")).json() == []
        assert (await gina.get("/api/campaigns/spring")).status_code == 404
        assert (await gina.post("/api/campaigns/spring/stop")).status_code == 404
        assert (await gina.get("/api/dnc")).json() == []
        assert (await gina.delete("/api/dnc/+33612345305")).status_code == 404
    assert (await sam.get("/api/campaigns/spring")).json()["status"] == "draft"  # untouched


async def test_the_do_not_call_list(sam: httpx.AsyncClient) -> None:
    added = await sam.post("/api/dnc", json={"number": "06 12 34 53 05", "reason": "asked"})
    assert added.status_code == 201 and added.json()["number"] == "+33612345305"
    assert (await sam.post("/api/dnc", json={"number": "call me"})).status_code == 422
    listed = (await sam.get("/api/dnc")).json()
    assert [(d["number"], d["reason"], d["added_by"]) for d in listed] == [
        ("+33612345305", "asked", "sam")
    ]
    assert (await sam.delete("/api/dnc/0612345305")).status_code == 204
    assert (await sam.delete("/api/dnc/0612345305")).status_code == 404
