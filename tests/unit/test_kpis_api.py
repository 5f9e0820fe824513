"""The reports API through the real app on a migrated SQLite store: scoped, exact, exported."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from agent_console.app import create_app
from cti.config import PlatformConfig
from cti.db import create_engine
from cti.settings import Settings
from cti.store import rollup, users
from cti.store.journal import Journal
from cti.store.models import Call, Recording
from cti.store.schema import upgrade
from reports.events import DomainEvent
from tests.store.test_journal import T0, script

DAY = "2025-11-23"  # T0 is 2025-11-23 12:13:20 UTC; acme's time zone is UTC


async def _healthy() -> dict[str, Any]:
    return {"status": "ok"}


def _row(call_id: str, at: float, outcome: str, *, tenant: str = "acme", **kw: Any) -> dict:
    """A call row with every column named (an executemany takes the first row's keys)."""
    optional = ("agent", "answered_at", "talk_seconds", "acw_seconds", "talk_ended_at")
    return {
        "tenant_id": tenant,
        "call_id": call_id,
        "queue": kw.pop("queue", "sales"),
        "queued_at": at,
        "outcome": outcome,
        "queue_seconds": kw.pop("wait", 10.0),
        "caller_number": kw.pop("number", None),
        "hold_seconds": kw.pop("hold_seconds", 0.0),
        **dict.fromkeys(optional),
        **kw,
    }


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'cti.db'}")
    await upgrade(engine)
    for tenant, name, role, agent in [
        ("acme", "sam", "supervisor", None),
        ("acme", "alice", "agent", "alice"),
        ("acme", "bob", "agent", "bob"),
        ("globex", "gus", "supervisor", None),
    ]:
        await users.create_user(engine, tenant, name, role, "password-123", agent_id=agent)
    journal = Journal(engine)
    for event in script():  # one answered call of alice's, folded for real
        journal.record(event)
    await journal.flush()
    async with engine.begin() as conn:
        await conn.execute(
            insert(Call.__table__),
            [
                _row("ab1", T0 + 100, "abandoned", number="+33611111111", wait=3.0),
                _row("ab2", T0 + 200, "abandoned", number="+33622222222", wait=40.0),
                _row(
                    "sup1",
                    T0 + 300,
                    "answered",
                    queue="support",
                    agent="bob",
                    answered_at=T0 + 310,
                    talk_seconds=60.0,
                    hold_seconds=0.0,
                    acw_seconds=5.0,
                    talk_ended_at=T0 + 370,
                ),
                _row("g1", T0 + 100, "abandoned", tenant="globex", number="+33633333333"),
            ],
        )
        await rollup.rebuild(conn)  # rows written beside the journal: their hours too
    yield engine
    await engine.dispose()


@pytest.fixture
async def client(engine: AsyncEngine, example_config: PlatformConfig) -> AsyncIterator[Any]:
    settings = Settings(session_secret="k" * 40)
    app = create_app(_healthy, engine=engine, config=example_config, settings=settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        yield http


async def token(client: httpx.AsyncClient, tenant: str, username: str) -> dict[str, str]:
    reply = await client.post(
        "/api/login", json={"tenant": tenant, "username": username, "password": "password-123"}
    )
    assert reply.status_code == 200, reply.text
    return {"Authorization": f"Bearer {reply.json()['token']}"}


async def test_kpis_by_queue_with_the_product_field_names(client: httpx.AsyncClient) -> None:
    sam = await token(client, "acme", "sam")
    reply = await client.get(f"/api/kpis?from={DAY}&by=queue", headers=sam)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    sales, support, total = body["groups"]["sales"], body["groups"]["support"], body["total"]
    assert (sales["offered"], sales["answered"], sales["abandoned"]) == (3, 1, 2)
    assert sales["short_abandoned"] == 1 and sales["asa_seconds"] == 4
    assert sales["avg_talk_seconds"] == 31 and sales["avg_hold_seconds"] == 10
    assert support["answered"] == 1 and support["aht_seconds"] == 65
    assert total["offered"] == 4 and total["abandon_rate"] == 0.5
    assert set(total) >= {"service_level_with_abandons", "occupancy_with_acw", "fcr_rate"}


async def test_another_tenant_sees_only_its_own(client: httpx.AsyncClient) -> None:
    gus = await token(client, "globex", "gus")
    body = (await client.get(f"/api/kpis?from={DAY}&by=queue", headers=gus)).json()
    assert body["total"]["offered"] == 1 and list(body["groups"]) == ["sales"]
    assert (await client.get("/api/calls/c1", headers=gus)).status_code == 404
    abandoned = (await client.get(f"/api/calls/abandoned?from={DAY}", headers=gus)).json()
    assert [c["call_id"] for c in abandoned["calls"]] == ["g1"]


async def test_an_agent_sees_only_their_own_figures_and_calls(client: httpx.AsyncClient) -> None:
    alice, bob = await token(client, "acme", "alice"), await token(client, "acme", "bob")
    mine = (await client.get(f"/api/kpis?from={DAY}&by=agent", headers=alice)).json()
    assert mine["agent"] == "alice" and list(mine["groups"]) == ["alice"]
    assert mine["total"]["answered"] == 1 and mine["total"]["avg_acw_seconds"] == 10
    refused = await client.get(f"/api/kpis?from={DAY}&agent=bob", headers=alice)
    assert refused.status_code == 403
    assert (await client.get("/api/calls/c1", headers=alice)).status_code == 200
    assert (await client.get("/api/calls/c1", headers=bob)).status_code == 404
    assert (await client.get(f"/api/calls/abandoned?from={DAY}", headers=bob)).status_code == 403


async def test_csv_chart_and_bad_input(client: httpx.AsyncClient) -> None:
    sam = await token(client, "acme", "sam")
    reply = await client.get(f"/api/kpis.csv?from={DAY}&by=queue", headers=sam)
    assert reply.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(reply.text)))
    assert [r["queue"] for r in rows] == ["sales", "support", "total"]
    assert rows[0]["offered"] == "3"
    chart = await client.get(f"/api/kpis/chart.svg?from={DAY}&by=queue", headers=sam)
    assert chart.status_code == 200 and chart.text.lstrip().startswith("<?xml")
    assert "sales" in chart.text
    bad = await client.get(f"/api/kpis/chart.svg?from={DAY}&fields=nonsense", headers=sam)
    assert bad.status_code == 422
    assert (await client.get("/api/kpis?from=yesterday-ish", headers=sam)).status_code == 422
    assert (await client.get(f"/api/kpis?from={DAY}&to={DAY}", headers=sam)).status_code == 422
    assert (await client.get(f"/api/kpis?from={DAY}&by=week", headers=sam)).status_code == 422
    client.cookies.clear()  # the login set the session cookie too
    assert (await client.get(f"/api/kpis?from={DAY}")).status_code == 401


async def test_call_record_staffing_and_abandoned_list(client: httpx.AsyncClient) -> None:
    sam = await token(client, "acme", "sam")
    record = (await client.get("/api/calls/c1", headers=sam)).json()
    assert record["disposition"] == "sale" and record["events"][1]["kind"] == "ivr.finished"
    abandoned = (await client.get(f"/api/calls/abandoned?from={DAY}", headers=sam)).json()
    assert [c["call_id"] for c in abandoned["calls"]] == ["ab1", "ab2"]
    staffing = await client.get(
        "/api/staffing?calls=100,200&aht=180&interval=30&target_sl=0.8&threshold=20", headers=sam
    )
    rows = staffing.json()["intervals"]
    assert rows[0]["agents_needed"] == 14 and rows[1]["agents_needed"] > 14
    bad = await client.get("/api/staffing?calls=a,b&aht=180", headers=sam)
    assert bad.status_code == 422


async def test_supervisors_list_the_callbacks_of_their_tenant_by_status(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    journal = Journal(engine)
    for n, (tenant, ref, status) in enumerate(
        [("acme", "x1", "failed"), ("acme", "x2", "retry"), ("globex", "g1", "failed")]
    ):
        data = {
            "ref": ref,
            "number": f"+3361200000{n}",
            "queue": "sales",
            "status": status,
            "attempts": 2,
            "last_result": "busy",
            "due_at": None,
            "requested_at": T0,
        }
        journal.record(DomainEvent(tenant, T0 + n, "callback.changed", data=data))
    await journal.flush()
    sam = await token(client, "acme", "sam")
    failed = (await client.get("/api/callbacks?status=failed", headers=sam)).json()["callbacks"]
    assert [(c["ref"], c["attempts"], c["last_result"]) for c in failed] == [("x1", 2, "busy")]
    both = (await client.get("/api/callbacks?status=failed,retry", headers=sam)).json()
    assert [c["ref"] for c in both["callbacks"]] == ["x2", "x1"]  # latest change first
    bad = await client.get("/api/callbacks?status=lost", headers=sam)
    assert bad.status_code == 422 and "unknown callback status" in bad.text
    alice = await token(client, "acme", "alice")
    assert (await client.get("/api/callbacks", headers=alice)).status_code == 403
    gus = await token(client, "globex", "gus")
    theirs = (await client.get("/api/callbacks?status=failed", headers=gus)).json()
    assert [c["ref"] for c in theirs["callbacks"]] == ["g1"]


async def test_a_supervisor_calls_back_an_abandoned_caller(client: httpx.AsyncClient) -> None:
    sam = await token(client, "acme", "sam")
    reply = await client.post("/api/calls/ab1/callback", headers=sam)
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert (body["number"], body["queue"], body["merged"]) == ("+33611111111", "sales", False)
    assert body["ref"].startswith("abandoned-")
    again = (await client.post("/api/calls/ab1/callback", headers=sam)).json()
    assert again["merged"] is True and again["ref"] == body["ref"]
    abandoned = (await client.get(f"/api/calls/abandoned?from={DAY}", headers=sam)).json()
    assert [c["call_id"] for c in abandoned["calls"]] == ["ab2"]  # ab1 has its callback
    pending = (await client.get("/api/callbacks?status=pending", headers=sam)).json()
    assert [(c["ref"], c["source"]) for c in pending["callbacks"]] == [(body["ref"], "abandoned")]
    [asked] = pending["callbacks"]  # it may be made for the queue's 24 hours, then expires
    assert asked["window_end"] - asked["requested_at"] == pytest.approx(24 * 3600, abs=60)
    assert (await client.post("/api/calls/g1/callback", headers=sam)).status_code == 404
    alice = await token(client, "acme", "alice")
    assert (await client.post("/api/calls/ab2/callback", headers=alice)).status_code == 403


async def test_a_call_record_says_where_to_play_its_recording_to_who_may(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            insert(Recording.__table__).values(
                tenant_id="acme",
                call_id="c1",
                path="/nowhere/c1.wav",
                queue="sales",
                agent_id="alice",
                started_at=T0,
                ended_at=T0 + 30,
                paused_seconds=2.0,
                pauses=[[T0 + 5, T0 + 7]],
            )
        )
    sam, alice = await token(client, "acme", "sam"), await token(client, "acme", "alice")
    record = (await client.get("/api/calls/c1", headers=sam)).json()
    assert record["recording"] == {
        "url": "/api/recordings/c1",
        "ended": True,
        "paused_seconds": 2.0,
        "pauses": [[T0 + 5, T0 + 7]],
    }
    # alice took the call, but the tenant does not let agents play recordings
    assert (await client.get("/api/calls/c1", headers=alice)).json()["recording"] is None
    assert (await client.get("/api/calls/ab1", headers=sam)).json()["recording"] is None
