"""The live figures on MQTT and to in-process listeners (the wallboard).

A journal subscriber (`Journal.subscribe(publisher.on_event)`): every event updates
the live aggregates (`reports.live`) and marks the topics it touched. Retained topics:

- `cti/<tenant>/stats`                  the tenant's figures today and this interval
- `cti/<tenant>/queues/<queue>/stats`   one queue's, with calls waiting now
- `cti/<tenant>/agents/<agent>/state`   one agent's state, time in it, calls, AHT

Call events go out at once, not retained, on `cti/<tenant>/calls/<call_id>`.

Bursts are coalesced: a marked topic is published at most once every `interval_ms`
(default 250 ms) with its newest figures, so 1000 events a second cost each topic
four publishes a second. Every `refresh_seconds` the figures that move with the clock
alone (longest current wait, time in state, occupancy) are published again, spread over
the flushes of that period (a slice of the agents each) rather than all at once. Nothing
here can raise into the journal: `Bus.publish` only queues (while the broker is
down too, and the bus re-publishes the retained topics after a reconnect), and any
error is logged and counted. In-process subscribers `callback(topic, payload)` get
the same payloads as MQTT (a dict, before JSON encoding).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from cti.tasks import stop_task
from reports.events import DomainEvent
from reports.fold import Folded, StateInterval
from reports.kpis import AgentInterval, CallRecord
from reports.live import LiveBoard, LiveOptions, LiveStats

log = logging.getLogger("cti.live_publisher")

Listener = Callable[[str, dict[str, Any]], None]
_Key = tuple[str, str, str]  # (tenant, "total" | "queue" | "agent", name)


class Publisher(Protocol):
    def publish(self, topic: str, payload: Any, *, retain: bool = False) -> None: ...


def topic_part(name: str) -> str:
    """A tenant, queue or agent name as one MQTT topic level (no '/', '+', '#')."""
    cleaned = "".join("_" if ch in "/+#\x00" else ch for ch in name)
    return cleaned or "_"


@dataclass
class PublisherStats:
    events: int = 0
    published: int = 0  # retained stats publishes
    coalesced: int = 0  # marks on a topic that was already waiting to be published
    call_events: int = 0
    errors: int = 0
    listener_errors: int = 0


class LivePublisher:
    def __init__(
        self,
        bus: Publisher,
        *,
        board: LiveBoard | None = None,
        options: LiveOptions | None = None,
        interval_ms: float = 250,
        refresh_seconds: float = 5.0,
        clock: Callable[[], float] = time.time,
        prefix: str = "cti",
    ) -> None:
        self.bus = bus
        self.board = board or LiveBoard(options)
        self.interval = interval_ms / 1000
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self.prefix = prefix
        self.listeners: list[Listener] = []
        self.stats = PublisherStats()
        self._dirty: dict[_Key, None] = {}  # insertion-ordered set
        self._last_flush = -float("inf")
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None

    # -- wiring ---------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> None:
        """`listener(topic, payload)` gets every published snapshot (the wallboard)."""
        self.listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        with contextlib.suppress(ValueError):
            self.listeners.remove(listener)

    def seed(
        self,
        tenant: str,
        records: Iterable[CallRecord],
        intervals: Iterable[StateInterval | AgentInterval],
        *,
        agents: Iterable[tuple[str, str, float, str]] = (),
        waiting: Iterable[tuple[str, str, float]] = (),
    ) -> None:
        """At start: today's stored call records and closed agent intervals, the agents'
        current states `(agent, state, since, reason)` and the calls still waiting
        `(call_id, queue, since)`; everything is published at the next flush."""
        stats = self.board.tenant(tenant)
        stats.seed(records, intervals, now=self.clock())
        for agent, state, since, reason in agents:
            stats.seed_agent(agent, state, since, reason)
        for call_id, queue, since in waiting:
            stats.seed_waiting(call_id, queue, since)
        self._mark_all(stats)
        self._schedule()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._refresh(), name="live-publisher")

    async def close(self) -> None:
        if self._task is not None:
            await stop_task(self._task)
            self._task = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.flush()

    # -- the journal subscriber -----------------------------------------------------------

    def on_event(self, event: DomainEvent, folded: Folded) -> None:
        """Journal subscriber: update the figures, publish the call event, mark topics."""
        try:
            self.stats.events += 1
            self.board.apply(event, folded, now=max(event.at, self.clock()))
            tenant = event.tenant
            self._mark(tenant, "total", "")
            queues = {event.queue, event.data.get("to_queue")}
            agents = {event.agent_id} | {i.agent for i in folded.intervals}
            for change in folded.calls:
                for record in (change.before, change.after):
                    if record is not None:
                        queues.add(record.queue)
                        agents.add(record.agent)
                queues.add(change.row.queue)
            for queue in queues:
                if isinstance(queue, str) and queue:
                    self._mark(tenant, "queue", queue)
            stats = self.board.tenant(tenant)
            for agent in agents:
                if agent:
                    self._mark(tenant, "agent", agent)
                    for queue in stats.queues_of(agent):  # its agents by state
                        self._mark(tenant, "queue", queue)
            if event.call_id is not None:
                self._call_event(event, folded)
            self._schedule()
        except Exception:
            self.stats.errors += 1
            log.exception("live publisher failed on %s", event.kind)

    def _call_event(self, event: DomainEvent, folded: Folded) -> None:
        row = folded.calls[0].row if folded.calls else None
        payload: dict[str, Any] = {
            "event": event.kind,
            "event_id": event.event_id,
            "at": event.at,
            "call_id": event.call_id,
            "agent_id": event.agent_id,
            "queue": event.queue,
            "data": event.data,
        }
        if row is not None:
            payload["call"] = {
                "queue": row.queue,
                "agent": row.agent,
                "outcome": row.outcome,
                "queued_at": row.queued_at,
                "answered_at": row.answered_at,
                "queue_seconds": row.queue_seconds,
                "talk_seconds": row.talk_seconds,
                "hold_seconds": row.hold_seconds,
                "acw_seconds": row.acw_seconds,
                "transfers": row.transfers,
            }
        topic = f"{self.prefix}/{topic_part(event.tenant)}/calls/{topic_part(event.call_id or '')}"
        self._send(topic, payload, retain=False)
        self.stats.call_events += 1

    # -- coalescing -----------------------------------------------------------------------

    def _mark(self, tenant: str, kind: str, name: str) -> None:
        key = (tenant, kind, name)
        if key in self._dirty:
            self.stats.coalesced += 1
        else:
            self._dirty[key] = None

    def _mark_all(self, stats: LiveStats) -> None:
        now = self.clock()
        self._mark(stats.tenant, "total", "")
        for queue in stats.queue_names(now):
            self._mark(stats.tenant, "queue", queue)
        for agent in stats.agent_names(now):
            self._mark(stats.tenant, "agent", agent)

    def _schedule(self) -> None:
        if self._timer is not None or not self._dirty:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a synchronous caller): flush() publishes
        delay = max(0.0, self._last_flush + self.interval - time.monotonic())
        self._timer = loop.call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self.flush()

    def flush(self) -> int:
        """Publish every marked topic now, with its newest figures; returns how many."""
        dirty, self._dirty = self._dirty, {}
        self._last_flush = time.monotonic()
        now = self.clock()
        count = 0
        for tenant, kind, name in dirty:
            try:
                topic, payload = self._snapshot(tenant, kind, name, now)
                self._send(topic, payload, retain=True)
                count += 1
            except Exception:
                self.stats.errors += 1
                log.exception("live publisher: %s %s %s not published", tenant, kind, name)
        self.stats.published += count
        return count

    def _snapshot(
        self, tenant: str, kind: str, name: str, now: float
    ) -> tuple[str, dict[str, Any]]:
        stats = self.board.tenant(tenant)
        base = f"{self.prefix}/{topic_part(tenant)}"
        if kind == "queue":
            return f"{base}/queues/{topic_part(name)}/stats", stats.queue_stats(name, now)
        if kind == "agent":
            return f"{base}/agents/{topic_part(name)}/state", stats.agent_stats(name, now)
        return f"{base}/stats", stats.total_stats(now)

    def _send(self, topic: str, payload: dict[str, Any], *, retain: bool) -> None:
        data = json.dumps(payload, default=str).encode()
        try:
            self.bus.publish(topic, data, retain=retain)
        except Exception:
            self.stats.errors += 1
            log.exception("live publisher: bus refused %s", topic)
        for listener in list(self.listeners):
            try:
                listener(topic, payload)
            except Exception:
                self.stats.listener_errors += 1
                log.exception("live publisher listener failed on %s", topic)

    def snapshot(self, tenant: str) -> dict[str, Any]:
        """Everything about one tenant now (for a wallboard that just connected)."""
        return self.board.tenant(tenant).snapshot(self.clock())

    async def _refresh(self) -> None:
        """Publish again what moves with the clock alone: waits, time in state, occupancy."""
        tick = 0
        while True:
            await asyncio.sleep(self.refresh_seconds / self.refresh_slices)
            try:
                self.refresh_slice(tick)
                self._schedule()
            except Exception:
                self.stats.errors += 1
                log.exception("live publisher refresh failed")
            tick += 1

    @property
    def refresh_slices(self) -> int:
        """The clock refresh is spread over this many flushes (one every `interval_ms`),
        so that a centre of 500 agents costs twenty small flushes, not one long one."""
        return max(1, round(self.refresh_seconds / self.interval))

    def refresh_slice(self, tick: int) -> int:
        """Mark the topics of refresh slice `tick` (of `refresh_slices`): every tenant's
        total and waiting queues on slice 0, the logged-in agents whose turn it is on each
        one (each agent once per `refresh_seconds`); returns how many were marked."""
        slices = self.refresh_slices
        part = tick % slices
        now = self.clock()
        marked = 0
        for stats in list(self.board.tenants.values()):
            if part == 0:
                stats.advance(now)
                self._mark(stats.tenant, "total", "")
                marked += 1
                for queue in list(stats.waiting):
                    self._mark(stats.tenant, "queue", queue)
                    marked += 1
            for n, (agent, state) in enumerate(list(stats.agents.items())):
                if n % slices == part and state.state != "logged_out":
                    self._mark(stats.tenant, "agent", agent)
                    marked += 1
        return marked
