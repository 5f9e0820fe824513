"""A progressive campaign on a real Asterisk, driven through the supervisors' API.

Customers are Local channels of the simulation that answer, are busy, or never
answer; one is on the do-not-call list. Two agents are ready: the dialer never has
more customers' phones ringing or talking than agents reserved for them, never dials
the barred number, retries by the campaign's rules, and every attempt lands in the
store (contacts, progress) and in the calls table as an outbound call.
"""

from __future__ import annotations

import asyncio
import contextlib
import wave
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from cti.ami_events import AmiEvent, ChannelHungUp, DialStarted, UserEvent
from cti.store.models import Call, CampaignContact, Recording
from cti.store.users import create_user
from tests.integration.center import Center
from tests.integration.conftest import until

pytestmark = pytest.mark.asterisk

ANSWERS, BUSY, SILENT, BARRED = "+33611000101", "+33611000102", "+33611000103", "+33611000104"
CALLER_ID = "+33140000000"


@contextlib.asynccontextmanager
async def supervisor(center: Center) -> AsyncIterator[httpx.AsyncClient]:
    await create_user(center.service.engine, "acme", "sam", "supervisor", "sam's password")
    port = center.service.settings.http_port
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        reply = await http.post(
            "/api/login", json={"tenant": "acme", "username": "sam", "password": "sam's password"}
        )
        assert reply.status_code == 200, reply.text
        yield http


async def test_a_progressive_campaign_calls_one_customer_per_ready_agent(
    center: Center,
) -> None:
    for extension in ("1001", "1002"):  # the agents' phones answer every call
        await center.phone(extension, ring="1", talk="120")
    await center.phone(ANSWERS[1:], ring="1", talk="3")
    await center.phone(BUSY[1:], ring="busy")
    await center.phone(SILENT[1:], ring="never")
    events: list[AmiEvent] = []
    center.service.ami.subscribe(events.append)
    up: set[str] = set()  # customers' legs ringing or talking now
    most = 0

    def follow(event: AmiEvent) -> None:
        nonlocal most
        if isinstance(event, DialStarted) and event.dest_channel.startswith("Local/+336110001"):
            up.add(event.dest_uniqueid)
            most = max(most, len(up))
        elif isinstance(event, ChannelHungUp):
            up.discard(event.uniqueid)

    center.service.ami.subscribe(follow)
    async with supervisor(center) as sam:
        spec = {
            "id": "spring",
            "name": "Spring offer",
            "queue": "sales",
            "caller_id": CALLER_ID,
            "hours": "00:00-23:59",
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "zone": "Europe/Paris",
            "busy_minutes": 0.05,  # 3 s
            "no_answer_minutes": 0.05,
            "max_attempts": 2,
            "ring_seconds": 5,
            "record": True,
        }
        made = await sam.post("/api/campaigns", json=spec)
        assert made.status_code == 201, made.text
        bad = await sam.post("/api/campaigns", json={**spec, "id": "b", "queue": "nope"})
        assert bad.status_code == 422 and "no queue 'nope'" in bad.text
        lines = "phone,name\n" + "".join(
            f"{n},C{i}\n" for i, n in enumerate([ANSWERS, BUSY, SILENT, BARRED])
        )
        imported = await sam.post(
            "/api/campaigns/spring/contacts",
            content=lines + "12,Too short\n",
            headers={"content-type": "text/csv"},
        )
        assert imported.json()["added"] == 4
        assert [r["line"] for r in imported.json()["rejected"]] == [6]
        assert (
            await sam.post("/api/dnc", json={"number": BARRED, "reason": "asked"})
        ).status_code == 201
        assert (await sam.post("/api/campaigns/spring/pause")).status_code == 422  # a draft
        center.acd.login("alice")
        center.acd.ready("alice")
        center.acd.login("bob")
        center.acd.ready("bob")
        started = await sam.post("/api/campaigns/spring/start")
        assert started.json()["status"] == "running"

        async def progress() -> dict[str, Any]:
            return (await sam.get("/api/campaigns/spring")).json()["progress"]  # type: ignore[no-any-return]

        final: dict[str, Any] = {}

        async def settled() -> bool:
            final.update(await progress())
            return final["remaining"] == 0

        for _ in range(120):
            if await settled():
                break
            await asyncio.sleep(0.5)
        else:
            raise AssertionError(f"the list was not worked through: {final}")
        await center.service.journal.flush()
        kpis = (await sam.get("/api/kpis", params={"campaign": "spring", "by": "agent"})).json()
        assert kpis["direction"] == "outbound" and kpis["campaign"] == "spring"
        assert (kpis["total"]["offered"], kpis["total"]["answered"]) == (5, 1)
        assert 1 < kpis["total"]["avg_talk_seconds"] < 5
        assert set(kpis["groups"]) <= {"alice", "bob"}
        other = (await sam.get("/api/kpis", params={"campaign": "autumn"})).json()
        assert other["total"]["offered"] == 0
    assert final["by_status"] == {
        "pending": 0, "previewing": 0, "dialing": 0, "connected": 1, "failed": 2,
        "dnc": 1, "skipped": 0,
    }  # fmt: skip
    assert final["dialed"] == 5 and final["connected"] == 1  # busy and silent: 2 attempts each
    assert final["contact_rate"] == pytest.approx(1 / 3)
    assert final["by_result"]["busy"] == 1 and final["by_result"]["no_answer"] == 1
    assert 1 <= most <= 2, most  # never more customers on the line than agents
    rang = [e for e in events if isinstance(e, UserEvent) and e.name == "CtiSimRang"]
    customers = [e.fields for e in rang if e.fields.get("CtiExten", "").startswith("336110001")]
    assert customers and all(f["CtiCallerId"] == CALLER_ID for f in customers)
    assert not [f for f in customers if f["CtiExten"] == BARRED[1:]]  # never dialed
    await center.service.journal.flush()
    async with center.service.engine.connect() as conn:
        contacts = {r.number: r for r in (await conn.execute(select(CampaignContact))).all()}
        calls = (await conn.execute(select(Call).where(Call.call_id.like("cmp-%")))).all()
        recordings = (await conn.execute(select(Recording))).all()
    assert contacts[ANSWERS].agent_id in ("alice", "bob") and contacts[BARRED].attempts == 0
    assert len(calls) == 5 and {c.direction for c in calls} == {"outbound"}
    answered = [c for c in calls if c.outcome == "answered"]
    assert len(answered) == 1 and answered[0].call_id == contacts[ANSWERS].call_id
    assert answered[0].talk_seconds > 1
    # the campaign records its calls: the one answered, of about its talk (3 s)
    [recording] = recordings
    assert recording.call_id == answered[0].call_id and recording.ended_at is not None
    with wave.open(recording.path) as audio:
        seconds = audio.getnframes() / audio.getframerate()
    assert 1.5 < seconds < 5, seconds


async def test_a_preview_call_of_a_recording_campaign_is_recorded_in_its_queue(
    center: Center,
) -> None:
    await center.phone("1001", ring="1", talk="120")  # alice's phone answers her own call
    await center.phone(ANSWERS[1:], ring="1", talk="3")
    await create_user(
        center.service.engine, "acme", "alice", "agent", "alice's pw", agent_id="alice"
    )
    port = center.service.settings.http_port
    async with (
        supervisor(center) as sam,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as alice,
    ):
        login = {"tenant": "acme", "username": "alice", "password": "alice's pw"}
        assert (await alice.post("/api/login", json=login)).status_code == 200
        spec = {
            "id": "renewals",
            "name": "Renewals",
            "mode": "preview",
            "queue": "sales",
            "caller_id": CALLER_ID,
            "hours": "00:00-23:59",
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "record": True,
        }
        assert (await sam.post("/api/campaigns", json=spec)).status_code == 201
        await sam.post(
            "/api/campaigns/renewals/contacts",
            content=f"phone,name\n{ANSWERS},Jeanne\n",
            headers={"content-type": "text/csv"},
        )
        assert (await sam.post("/api/campaigns/renewals/start")).status_code == 200
        for action in ("agent.login", "agent.ready"):
            assert (await alice.post(f"/api/actions/{action}", json={})).status_code == 200
        await until(lambda: "alice" in center.acd.campaigns.previews, what="the preview")
        dialed = await alice.post("/api/actions/campaign.dial", json={})
        assert dialed.status_code == 200, dialed.text
        call_id = dialed.json()["result"]["call_id"]
        await until(lambda: center.acd.agent_states["alice"] == "on_call", timeout=10)
        await until(lambda: center.acd.agent_states["alice"] == "wrap_up", timeout=10)
        await center.service.journal.flush()
        kpis = (await sam.get("/api/kpis", params={"campaign": "renewals"})).json()
    async with center.service.engine.connect() as conn:
        [call] = (await conn.execute(select(Call).where(Call.call_id == call_id))).all()
        recordings = (await conn.execute(select(Recording))).all()
    # the call is the campaign's, in its queue: in the campaign's figures
    assert (call.queue, call.campaign, call.direction) == ("sales", "renewals", "outbound")
    assert (call.agent, call.outcome) == ("alice", "answered") and call.talk_seconds > 1
    assert (kpis["total"]["offered"], kpis["total"]["answered"]) == (1, 1)
    assert 1 < kpis["total"]["avg_talk_seconds"] < 5
    # recorded from the answer to the end of the talk (3 s), named after the call
    [recording] = recordings
    assert (recording.call_id, recording.queue, recording.agent_id) == (call_id, "sales", "alice")
    assert recording.path.endswith(f"/{call_id}.wav") and recording.ended_at is not None
    with wave.open(recording.path) as audio:
        seconds = audio.getnframes() / audio.getframerate()
    assert 1.5 < seconds < 5, seconds
