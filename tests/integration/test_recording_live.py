"""Call recording on a real Asterisk: MixMonitor files, pauses, playback rights, purge.

The sales queue records (`record: true`). Alice's phone is a Local channel that
answers and talks a known number of seconds; the file Asterisk writes must last the
talk time, less the pause Alice asks for from the console (a pause stops the
MixMonitor and the resume appends to the same file). Playback is served to the
tenant's supervisor only, never to another tenant; the purge drops what is past the
retention and keeps the rest.
"""

from __future__ import annotations

import asyncio
import time
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from agent_console.auth import Principal
from cti.config import PlatformConfig
from cti.recording import purge
from cti.store.models import Recording
from cti.store.users import create_user
from tests.integration.center import Center, fast_config
from tests.integration.conftest import until

pytestmark = pytest.mark.asterisk

TALK = 6  # seconds the agent's phone stays on the line


def audio_seconds(path: Path) -> float:
    with wave.open(str(path)) as audio:
        return float(audio.getnframes()) / float(audio.getframerate())


async def recording_row(center: Center, call_id: str) -> Any:
    async with center.service.engine.connect() as conn:
        return (await conn.execute(select(Recording).where(Recording.call_id == call_id))).first()


async def one_recorded_call(center: Center, pause: Callable[[], Any] | None = None) -> str:
    """A sales call Alice takes and talks TALK seconds; returns the call id once recorded."""
    recorder = center.service.recorder
    await until(lambda: center.acd.agent_states.get("alice") == "ready", timeout=15)
    before = {k for k in recorder.active}
    await center.call(keys="1")
    await until(lambda: bool(set(recorder.active) - before), what="recording started")
    [(_, call_id)] = set(recorder.active) - before
    if pause is not None:
        await pause()
    await until(lambda: ("acme", call_id) not in recorder.active, timeout=TALK + 15)
    await until(lambda: center.service.recorder._tasks == set(), timeout=5)
    return call_id


async def test_recordings_last_the_talk_pause_is_cut_and_playback_is_guarded(
    center_factory: Callable[..., Any], example_config: PlatformConfig, tmp_path: Path
) -> None:
    config = fast_config(example_config, sales={"record": True})
    center: Center = await center_factory(config)
    service = center.service
    service.recorder.root = tmp_path / "recordings"
    engine = service.engine
    await create_user(engine, "acme", "alice", "agent", "alice pass", agent_id="alice")
    await create_user(engine, "acme", "sue", "supervisor", "sue pass")
    await center.phone("1001", ring="1", talk=str(TALK))
    center.acd.login("alice")
    center.acd.ready("alice")
    http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{service.settings.http_port}")

    async def token(username: str, password: str) -> str:
        reply = await http.post(
            "/api/login", json={"tenant": "acme", "username": username, "password": password}
        )
        assert reply.status_code == 200, reply.text
        return str(reply.json()["token"])

    alice = {"Authorization": f"Bearer {await token('alice', 'alice pass')}"}
    sue = {"Authorization": f"Bearer {await token('sue', 'sue pass')}"}

    # 1. a whole call: the file lasts the talk
    plain = await one_recorded_call(center)
    row = await recording_row(center, plain)
    assert row is not None and row.tenant_id == "acme" and row.agent_id == "alice"
    assert row.queue == "sales" and row.pauses == [] and row.paused_seconds == 0
    assert row.ended_at is not None
    path = Path(row.path)
    assert path.parent == (tmp_path / "recordings" / "acme").resolve()
    whole = audio_seconds(path)
    assert abs(whole - TALK) <= 1.0, (whole, TALK)
    assert abs(whole - (row.ended_at - row.started_at)) <= 1.0

    # no call of hers is recorded now: pausing is refused
    refused = await http.post("/api/actions/recording.pause", json={}, headers=alice)
    assert refused.status_code == 409

    # 2. a call with a pause of ~2 s: the file is shorter by about that much
    async def pause_two_seconds() -> None:
        await asyncio.sleep(1.0)
        reply = await http.post("/api/actions/recording.pause", json={}, headers=alice)
        assert reply.status_code == 200, reply.text
        assert reply.json()["result"]["recording"] == "paused"
        again = await http.post("/api/actions/recording.pause", json={}, headers=alice)
        assert again.status_code == 409  # already paused
        [(_, now)] = service.recorder.active
        assert (await http.get(f"/api/recordings/{now}", headers=sue)).status_code == 409
        await asyncio.sleep(2.0)
        reply = await http.post("/api/actions/recording.resume", json={}, headers=alice)
        assert reply.status_code == 200, reply.text
        assert reply.json()["result"]["recording"] == "recording"

    paused = await one_recorded_call(center, pause_two_seconds)
    row = await recording_row(center, paused)
    assert row is not None and len(row.pauses) == 1
    [[start, end]] = row.pauses
    assert row.started_at < start < end < row.ended_at
    assert abs((end - start) - 2.0) <= 0.5 and row.paused_seconds == pytest.approx(
        end - start, abs=0.01
    )
    cut = audio_seconds(Path(row.path))
    assert abs(cut - (TALK - (end - start))) <= 1.0, (cut, TALK, end - start)
    assert abs((whole - cut) - (end - start)) <= 1.0, (whole, cut)
    print(f"measured: whole {whole:.2f}s, with a {end - start:.2f}s pause {cut:.2f}s")

    # 3. playback: the tenant's supervisor; not an agent (not allowed here); not another tenant
    served = await http.get(f"/api/recordings/{plain}", headers=sue)
    assert served.status_code == 200 and served.headers["content-type"] == "audio/wav"
    assert served.content == await asyncio.to_thread(path.read_bytes)
    assert (await http.get(f"/api/recordings/{plain}", headers=alice)).status_code == 403
    sessions = service.app.state.sessions
    other, _ = sessions.issue(Principal("globex", "gus", "supervisor", None))
    elsewhere = await http.get(
        f"/api/recordings/{plain}", headers={"Authorization": f"Bearer {other}"}
    )
    assert elsewhere.status_code == 404
    assert (await http.get("/api/recordings/nope", headers=sue)).status_code == 404
    await http.aclose()

    # 4. purge: the first recording made 100 days old goes, the second stays
    async with engine.begin() as conn:
        await conn.execute(
            update(Recording)
            .where(Recording.call_id == plain)
            .values(started_at=time.time() - 100 * 86400)
        )
    listed = await purge(engine, config, dry_run=True)
    assert [p.call_id for p in listed] == [plain] and await asyncio.to_thread(path.exists)
    gone = await purge(engine, config)
    assert [p.call_id for p in gone] == [plain]
    assert not await asyncio.to_thread(path.exists)
    assert await recording_row(center, plain) is None
    kept = await recording_row(center, paused)
    assert kept is not None and await asyncio.to_thread(Path(kept.path).exists)
