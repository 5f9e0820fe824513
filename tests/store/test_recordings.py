"""The recorder against a fake AMI and a real store; the retention purge with real files."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from agent_console.auth import Principal
from agent_console.ws import CenterError
from cti.ami_events import ChannelCreated
from cti.calls import CallModel
from cti.cli import main
from cti.config import PlatformConfig, TenantConfig
from cti.errors import AmiActionError
from cti.recording import Recorder, purge
from cti.store.models import Recording
from reports import events as ev
from reports.events import DomainEvent
from reports.fold import Folded

ENTRY = "Local/5000@cti-inbound-00000001;1"
CONFIG_DIR = str(Path(__file__).resolve().parents[2] / "config")
ALICE = Principal("acme", "alice", "agent", "alice")


class FakeAmi:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.refuse: set[str] = set()

    async def action(self, name: str, timeout: float | None = None, **headers: Any) -> Any:
        self.sent.append((name, headers))
        if name in self.refuse:
            raise AmiActionError(f"AMI {name} refused: No such channel")
        return None


def recording_config(example: PlatformConfig, **tenant: Any) -> PlatformConfig:
    data = example.tenants[0].model_dump()
    data["queues"] = [{**q, "record": q["id"] == "sales"} for q in data["queues"]]
    return PlatformConfig(tenants=(TenantConfig.model_validate({**data, **tenant}),))


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


async def settle(recorder: Recorder) -> None:
    while recorder._tasks:
        await asyncio.gather(*recorder._tasks)


async def rows(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        return list(await conn.execute(select(Recording).order_by(Recording.call_id)))


def answered(call_id: str, queue: str) -> DomainEvent:
    return DomainEvent("acme", 1000.0, ev.CALL_ANSWERED, call_id, "alice", queue)


@pytest.fixture
def calls() -> CallModel:
    model = CallModel()
    for call_id in ("c1", "c2"):
        model.apply(
            ChannelCreated(
                1000.0, call_id, call_id, ENTRY + call_id, 6, "+336", "", "cti-inbound", "5000"
            )
        )
    return model


async def test_a_recorded_queue_starts_mixmonitor_and_pauses_cut_the_file(
    store_engine: AsyncEngine, example_config: PlatformConfig, calls: CallModel, tmp_path: Path
) -> None:
    ami, clock = FakeAmi(), Clock()
    config = recording_config(example_config)
    recorder = Recorder(config, ami, calls, store_engine, tmp_path / "rec", clock=clock)
    recorder.on_event(answered("c2", "support"), Folded())  # support does not record
    recorder.on_event(answered("c1", "sales"), Folded())
    await settle(recorder)
    path = (tmp_path / "rec" / "acme" / "c1.wav").resolve()
    assert ami.sent == [("MixMonitor", {"Channel": ENTRY + "c1", "File": str(path)})]
    assert path.parent.is_dir()
    [row] = await rows(store_engine)
    assert (row.call_id, row.queue, row.agent_id, row.started_at) == (
        "c1",
        "sales",
        "alice",
        1000.0,
    )
    assert row.ended_at is None and row.pauses == []

    clock.now = 1010.0
    assert (await recorder.act(ALICE, "recording.pause"))["recording"] == "paused"
    clock.now = 1013.0
    assert (await recorder.act(ALICE, "recording.resume"))["recording"] == "recording"
    assert ami.sent[1:] == [
        ("StopMixMonitor", {"Channel": ENTRY + "c1"}),
        ("MixMonitor", {"Channel": ENTRY + "c1", "File": str(path), "options": "a"}),
    ]
    [row] = await rows(store_engine)
    assert row.pauses == [[1010.0, 1013.0]] and row.paused_seconds == 3.0

    ami.refuse.add("StopMixMonitor")  # a refused pause is not recorded as one
    with pytest.raises(CenterError):
        await recorder.act(ALICE, "recording.pause")
    assert not recorder.active[("acme", "c1")].paused
    ami.refuse.clear()

    recorder.on_event(
        DomainEvent("acme", 1030.0, ev.CALL_FINISHED, "c1", data={"outcome": "answered"}),
        Folded(),
    )
    await settle(recorder)
    assert ami.sent[-1] == ("StopMixMonitor", {"Channel": ENTRY + "c1"})
    [row] = await rows(store_engine)
    assert row.ended_at == 1030.0 and row.paused_seconds == 3.0
    assert recorder.active == {} and recorder.by_agent == {}
    with pytest.raises(CenterError):  # nothing recorded for her any more
        await recorder.act(ALICE, "recording.pause")
    sent = len(ami.sent)
    recorder.on_event(DomainEvent("acme", 1031.0, ev.CALL_HUNGUP, "c1"), Folded())
    await settle(recorder)
    assert len(ami.sent) == sent  # ended once


async def test_a_refused_mixmonitor_leaves_no_row(
    store_engine: AsyncEngine, example_config: PlatformConfig, calls: CallModel, tmp_path: Path
) -> None:
    ami = FakeAmi()
    ami.refuse.add("MixMonitor")
    recorder = Recorder(recording_config(example_config), ami, calls, store_engine, tmp_path)
    recorder.on_event(answered("c1", "sales"), Folded())
    recorder.on_event(answered("gone", "sales"), Folded())  # no channel known: nothing sent
    await settle(recorder)
    assert [name for name, _ in ami.sent] == ["MixMonitor"]
    assert await rows(store_engine) == [] and recorder.active == {}


async def test_purge_drops_files_and_rows_past_each_tenants_retention(
    store_engine: AsyncEngine, example_config: PlatformConfig, tmp_path: Path
) -> None:
    config = recording_config(example_config, recording_retention_days=30)
    day, now = 86400.0, 1_800_000_000.0
    files = {}
    for call_id in ("old", "edge", "new"):
        files[call_id] = tmp_path / f"{call_id}.wav"
        files[call_id].write_bytes(b"RIFF")
    async with store_engine.begin() as conn:
        await conn.execute(
            insert(Recording),
            [
                {
                    "tenant_id": tenant,
                    "call_id": call_id,
                    "path": str(files[call_id]),
                    "started_at": now - age * day,
                    "ended_at": now - age * day + 60,
                    "paused_seconds": 0.0,
                    "pauses": [],
                }
                for tenant, call_id, age in (
                    ("acme", "old", 31),
                    ("acme", "edge", 29.9),
                    ("acme", "new", 1),
                    ("globex", "old", 400),  # a tenant not served here: left alone
                )
            ],
        )
    listed = await purge(store_engine, config, dry_run=True, now=now)
    assert [(p.tenant, p.call_id) for p in listed] == [("acme", "old")]
    assert files["old"].exists() and len(await rows(store_engine)) == 4
    with pytest.raises(KeyError):
        await purge(store_engine, config, tenant="globex", now=now)
    gone = await purge(store_engine, config, tenant="acme", now=now)
    assert [p.call_id for p in gone] == ["old"] and not files["old"].exists()
    left = {(r.tenant_id, r.call_id) for r in await rows(store_engine)}
    assert left == {("acme", "edge"), ("acme", "new"), ("globex", "old")}
    assert files["edge"].exists() and files["new"].exists()
    assert await purge(store_engine, config, now=now) == []  # nothing more to do


async def test_the_purge_command_lists_then_deletes(
    store_url: str, store_engine: AsyncEngine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old.wav"
    old.write_bytes(b"RIFF")
    async with store_engine.begin() as conn:
        await conn.execute(
            insert(Recording),
            [
                {
                    "tenant_id": "acme",
                    "call_id": "c-old",
                    "path": str(old),
                    "started_at": time.time() - 91 * 86400,
                    "ended_at": None,
                    "paused_seconds": 0.0,
                    "pauses": [],
                }
            ],
        )
    base = ["--config-dir", CONFIG_DIR, "recordings", "purge", "--url", store_url]
    assert await asyncio.to_thread(main, [*base, "--tenant", "nobody"]) == 2
    assert await asyncio.to_thread(main, [*base, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "acme\tc-old\t" in out and "would delete 1 recording(s)" in out and old.exists()
    assert await asyncio.to_thread(main, [*base, "--tenant", "acme"]) == 0
    assert "deleted 1 recording(s)" in capsys.readouterr().out
    assert not old.exists() and await rows(store_engine) == []
