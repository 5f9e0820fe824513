"""Call recording: MixMonitor through AMI, pauses for sensitive data, retention.

`Recorder` is a journal subscriber. When a call of a queue with `record: true` is
answered (`call.answered`), it starts `MixMonitor` on the call's entry channel (the
caller's channel, the one bridged with the agent; a campaign's call says itself, in
the event's `record` and `channel`, whether it is recorded and on which leg) into
`<recordings_dir>/<tenant>/<call id>.wav`, and stores a `recordings` row. The
recording stops with the talk (`call.finished`) or the call (`call.hungup`); a
`StopMixMonitor` is sent at the end of the talk so that a post-call survey is not
recorded, and Asterisk stops it anyway when the channel goes.

Pause and resume (the console's `recording.pause` / `recording.resume`, for the
agent's current call): Asterisk 16 has no action that pauses a MixMonitor
(`PauseMonitor` belongs to the old `Monitor`, and `MixMonitorMute` keeps writing,
silence in place of the audio, so the file keeps the paused time). A pause is a
`StopMixMonitor`; the resume starts `MixMonitor` again on the same file with the
append option `a`. The file therefore holds the call without the paused time, and
the row lists every pause as `[start, end]` (epoch seconds) with their total
`paused_seconds`, so a player can mark where the gaps were. The same actions exist
from Asterisk 16 to 22.

Retention: `purge()` deletes the files and rows older than each tenant's
`recording_retention_days`; `cti recordings purge` runs it, and the service runs it
once a day (`Recorder.start()`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from agent_console.auth import Principal
from agent_console.ws import CenterError
from cti.calls import CallModel
from cti.config import PlatformConfig, TenantConfig
from cti.errors import AsteriskError
from cti.store.journal import upsert
from cti.store.models import Recording
from cti.tasks import stop_task
from reports import events as ev
from reports.events import DomainEvent
from reports.fold import Folded

log = logging.getLogger("cti.recording")

DAY = 86_400.0
FIRST_PURGE_AFTER = 60.0  # seconds after the service starts
PURGE_EVERY = DAY
PAUSE, RESUME = "recording.pause", "recording.resume"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


class Ami(Protocol):
    """What the recorder needs of `cti.ami.AmiLink`."""

    async def action(self, name: str, timeout: float | None = None, **headers: Any) -> Any: ...


def _safe(part: str) -> str:
    cleaned = _UNSAFE.sub("_", part).lstrip(".")
    if not cleaned:
        raise ValueError(f"cannot name a file after {part!r}")
    return cleaned


def recording_path(root: Path, tenant: str, call_id: str) -> Path:
    """Where a call's recording goes: `<root>/<tenant>/<call id>.wav`, absolute."""
    return Path(root).resolve() / _safe(tenant) / f"{_safe(call_id)}.wav"


def paused_seconds(pauses: Iterable[list[float | None]], now: float) -> float:
    """The total length of the pauses; one still running counts until `now`."""
    total = 0.0
    for start, end in pauses:
        assert start is not None
        total += max(0.0, (now if end is None else end) - start)
    return total


@dataclass
class ActiveRecording:
    """A recording in progress (or just ended), as the row will show it."""

    tenant: str
    call_id: str
    path: Path
    channel: str
    queue: str | None
    agent_id: str | None
    started_at: float
    ended_at: float | None = None
    pauses: list[list[float | None]] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1][1] is None

    def pause(self, now: float) -> None:
        if self.paused:
            raise CenterError("the recording is already paused")
        self.pauses.append([now, None])

    def resume(self, now: float) -> None:
        if not self.paused:
            raise CenterError("the recording is not paused")
        self.pauses[-1][1] = now

    def end(self, now: float) -> None:
        if self.paused:
            self.pauses[-1][1] = now
        self.ended_at = now

    def row(self) -> dict[str, Any]:
        closed = [p for p in self.pauses if p[1] is not None]  # a running pause: once it ends
        return {
            "tenant_id": self.tenant,
            "call_id": self.call_id,
            "path": str(self.path),
            "queue": self.queue,
            "agent_id": self.agent_id,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "paused_seconds": round(paused_seconds(closed, now=self.started_at), 3),
            "pauses": [list(p) for p in self.pauses],
        }

    @property
    def state(self) -> str:
        """`recording`, `paused`, or `ended` (the talk is over)."""
        if self.ended_at is not None:
            return "ended"
        return "paused" if self.paused else "recording"

    def view(self) -> dict[str, Any]:
        """What the console's ack carries."""
        return {
            "call_id": self.call_id,
            "recording": "paused" if self.paused else "recording",
            "pauses": [list(p) for p in self.pauses],
        }


def records(tenant: TenantConfig, queue: str | None) -> bool:
    """Whether calls answered through `queue` are recorded."""
    return any(q.id == queue and q.record for q in tenant.queues)


class Recorder:
    def __init__(
        self,
        config: PlatformConfig,
        ami: Ami,
        calls: CallModel,
        engine: AsyncEngine,
        root: Path,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.tenants = {t.tenant.id: t for t in config.tenants}
        self.ami = ami
        self.calls = calls
        self.engine = engine
        self.root = Path(root)
        self.clock = clock
        self.active: dict[tuple[str, str], ActiveRecording] = {}  # (tenant, call) -> recording
        self.by_agent: dict[tuple[str, str], str] = {}  # (tenant, agent) -> call
        self.errors = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._write = asyncio.Lock()
        self._purger: asyncio.Task[None] | None = None
        # told of every change (started, paused, resumed, ended): the console shows it
        self.on_change: Callable[[ActiveRecording], None] | None = None

    # -- journal in ----------------------------------------------------------------------

    def on_event(self, event: DomainEvent, folded: Folded) -> None:
        if event.call_id is None:
            return
        if event.kind == ev.CALL_ANSWERED:
            tenant = self.tenants.get(event.tenant)
            queue = event.queue or next(
                (c.row.queue for c in folded.calls if c.call_id == event.call_id), None
            )
            # a call may say itself whether it is recorded, and on which channel (a
            # campaign's call: its own setting, the agent's leg); else its queue's setting
            wanted = event.data.get("record")
            if tenant is not None and wanted is None:
                wanted = records(tenant, queue)
            if tenant is not None and wanted:
                channel = event.data.get("channel")
                self._spawn(
                    self._start(event.tenant, event.call_id, queue, event.agent_id, channel)
                )
        elif event.kind in (ev.CALL_FINISHED, ev.CALL_HUNGUP):
            recording = self.active.get((event.tenant, event.call_id))
            if recording is not None and recording.ended_at is None:
                recording.end(event.at)
                self._spawn(self._finish(recording))

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.errors += 1
            log.error("recording task failed", exc_info=task.exception())

    async def _start(
        self,
        tenant: str,
        call_id: str,
        queue: str | None,
        agent: str | None,
        channel: str | None = None,
    ) -> None:
        if channel is None:
            call = self.calls.get(call_id)
            entry = call.entry if call is not None else None
            if entry is None or not entry.live:
                log.warning(
                    "call %s answered but its caller's channel is gone: not recorded", call_id
                )
                return
            channel = entry.name
        path = recording_path(self.root, tenant, call_id)
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        recording = ActiveRecording(
            tenant, call_id, path, channel, queue, agent, started_at=self.clock()
        )
        key = (tenant, call_id)
        async with recording.lock:
            self.active[key] = recording
            if agent is not None:
                self.by_agent[(tenant, agent)] = call_id
            try:
                await self.ami.action("MixMonitor", Channel=channel, File=str(path))
            except AsteriskError as exc:
                log.warning("call %s not recorded: %s", call_id, exc)
                self._forget(recording)
                return
            log.info("recording call %s of %s into %s", call_id, tenant, path)
            await self._save(recording)
        self._changed(recording)

    async def _finish(self, recording: ActiveRecording) -> None:
        async with recording.lock:
            with contextlib.suppress(AsteriskError):  # the channel may be gone already
                await self.ami.action("StopMixMonitor", Channel=recording.channel)
            self._forget(recording)
            await self._save(recording)
        self._changed(recording)

    def _changed(self, recording: ActiveRecording) -> None:
        if self.on_change is not None:
            try:
                self.on_change(recording)
            except Exception:  # the recording goes on whatever its watcher does
                log.exception("the recording watcher failed on %s", recording.call_id)

    def _forget(self, recording: ActiveRecording) -> None:
        self.active.pop((recording.tenant, recording.call_id), None)
        agent = recording.agent_id
        if agent is not None and self.by_agent.get((recording.tenant, agent)) == recording.call_id:
            del self.by_agent[(recording.tenant, agent)]

    async def _save(self, recording: ActiveRecording) -> None:
        async with self._write, self.engine.begin() as conn:
            await upsert(conn, Recording.__table__, [recording.row()], ["tenant_id", "call_id"])

    # -- console actions -----------------------------------------------------------------

    async def act(self, principal: Principal, action: str) -> dict[str, Any]:
        """`recording.pause` / `recording.resume` for the principal's current call."""
        agent = principal.agent_id
        if agent is None:
            raise CenterError(f"{action} needs a user bound to an agent")
        call_id = self.by_agent.get((principal.tenant_id, agent))
        recording = self.active.get((principal.tenant_id, call_id or ""))
        if recording is None:
            raise CenterError("your current call is not being recorded")
        if action == PAUSE:
            await self.pause(recording)
        elif action == RESUME:
            await self.resume(recording)
        else:
            raise CenterError(f"unknown recording action {action!r}")
        return recording.view()

    async def pause(self, recording: ActiveRecording) -> None:
        async with recording.lock:
            if recording.ended_at is not None:
                raise CenterError("the call has ended")
            recording.pause(self.clock())
            try:
                await self.ami.action("StopMixMonitor", Channel=recording.channel)
            except AsteriskError as exc:
                recording.pauses.pop()
                raise CenterError(f"the recording could not be paused: {exc}") from None
            await self._save(recording)
        self._changed(recording)

    async def resume(self, recording: ActiveRecording) -> None:
        async with recording.lock:
            if recording.ended_at is not None:
                raise CenterError("the call has ended")
            if not recording.paused:
                raise CenterError("the recording is not paused")
            try:  # the same file, appended to
                await self.ami.action(
                    "MixMonitor", Channel=recording.channel, File=str(recording.path), options="a"
                )
            except AsteriskError as exc:
                raise CenterError(f"the recording could not be resumed: {exc}") from None
            if recording.paused:  # the call may have ended meanwhile, closing the pause
                recording.resume(self.clock())
            await self._save(recording)
        self._changed(recording)

    # -- the daily purge -----------------------------------------------------------------

    def start(self) -> None:
        self._purger = asyncio.create_task(self._purge_daily(), name="recordings-purge")

    async def close(self) -> None:
        if self._purger is not None:
            await stop_task(self._purger)
            self._purger = None
        for task in list(self._tasks):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(task), 5)

    async def _purge_daily(self) -> None:
        await asyncio.sleep(FIRST_PURGE_AFTER)
        while True:
            try:
                purged = await purge(self.engine, self.config, now=self.clock())
                if purged:
                    log.info("purged %d recording(s) past their retention", len(purged))
            except Exception:
                log.exception("the recordings purge failed; trying again tomorrow")
            await asyncio.sleep(PURGE_EVERY)


@dataclass(frozen=True, slots=True)
class Purged:
    tenant: str
    call_id: str
    path: str
    started_at: float


def cutoff(tenant: TenantConfig, now: float) -> float:
    """Recordings that started before this moment are past the tenant's retention."""
    return now - tenant.recording_retention_days * DAY


async def purge(
    engine: AsyncEngine,
    config: PlatformConfig,
    *,
    tenant: str | None = None,
    dry_run: bool = False,
    now: float | None = None,
) -> list[Purged]:
    """Delete the files and rows of the recordings past their tenant's retention.

    With `dry_run`, only list them. Returns what was (or would be) deleted."""
    now = time.time() if now is None else now
    tenants = [t for t in config.tenants if tenant is None or t.tenant.id == tenant]
    if tenant is not None and not tenants:
        raise KeyError(tenant)
    purged: list[Purged] = []
    for config_tenant in tenants:
        tid = config_tenant.tenant.id
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(Recording.call_id, Recording.path, Recording.started_at)
                .where(
                    Recording.tenant_id == tid,
                    Recording.started_at < cutoff(config_tenant, now),
                )
                .order_by(Recording.started_at)
            )
            old = [Purged(tid, r.call_id, r.path, r.started_at) for r in rows]
        if dry_run or not old:
            purged += old
            continue
        for item in old:
            await asyncio.to_thread(Path(item.path).unlink, missing_ok=True)
            async with engine.begin() as conn:
                await conn.execute(
                    delete(Recording).where(
                        Recording.tenant_id == tid, Recording.call_id == item.call_id
                    )
                )
            purged.append(item)
    return purged
