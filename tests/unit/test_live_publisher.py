"""The live publisher: coalescing, topics, listeners, and never raising into the journal."""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from typing import Any

import pytest

from cti.live_publisher import LivePublisher, topic_part
from reports import events as ev
from reports.events import DomainEvent
from reports.fold import Folder
from reports.kpis import summarise


class FakeBus:
    def __init__(self, fail: bool = False) -> None:
        self.messages: list[tuple[str, Any, bool]] = []
        self.fail = fail

    def publish(self, topic: str, payload: Any, *, retain: bool = False) -> None:
        if self.fail:
            raise ConnectionError("broker away")
        self.messages.append((topic, json.loads(payload), retain))

    def last(self, topic: str) -> dict[str, Any]:
        return next(p for t, p, _ in reversed(self.messages) if t == topic)

    def count(self, topic: str) -> int:
        return sum(1 for t, _, _ in self.messages if t == topic)


def call_events(n: int, at: float) -> list[DomainEvent]:
    call, agent = f"c{n}", "ann" if n % 2 else "bob"
    return [
        DomainEvent("acme", at, ev.CALL_QUEUED, call, queue="sales"),
        DomainEvent("acme", at + 0.001, ev.CALL_ANSWERED, call, agent),
        DomainEvent("acme", at + 0.001, ev.AGENT_STATE, agent_id=agent, data={"state": "on_call"}),
        DomainEvent("acme", at + 0.002, ev.CALL_FINISHED, call, data={"outcome": "answered"}),
        DomainEvent("acme", at + 0.002, ev.AGENT_STATE, agent_id=agent, data={"state": "ready"}),
    ]


async def test_a_burst_is_coalesced_and_the_last_figures_win() -> None:
    bus = FakeBus()
    publisher = LivePublisher(bus, interval_ms=100)
    folder = Folder("acme")
    seen: dict[str, list[dict[str, Any]]] = defaultdict(list)
    publisher.subscribe(lambda topic, payload: seen[topic].append(payload))
    started = time.monotonic()
    now = time.time()
    n = 0
    while time.monotonic() - started < 0.5:  # ~thousands of events for half a second
        for e in call_events(n, now + n * 0.01):
            publisher.on_event(e, folder.apply(e))
        n += 1
        if n % 50 == 0:
            await asyncio.sleep(0)
    await asyncio.sleep(0.25)
    elapsed = time.monotonic() - started
    assert n * 5 >= 1000
    stats_topic = "cti/acme/stats"
    # at most one publish per 100 ms per topic (plus the first at once)
    assert 1 <= bus.count(stats_topic) <= elapsed / 0.1 + 2
    assert bus.count("cti/acme/queues/sales/stats") <= elapsed / 0.1 + 2
    assert bus.count("cti/acme/calls/c0") == 3  # call events go out one by one
    records = [r for row in folder.calls.values() if (r := row.record()) is not None]
    last = bus.last(stats_topic)
    expected = summarise(records)
    assert last["offered"] == expected["offered"] == n
    assert last["answered"] == n and last["asa_seconds"] == pytest.approx(0.001, abs=1e-6)
    assert seen[stats_topic][-1]["offered"] == n  # listeners get the same snapshots
    assert len(seen[stats_topic]) == bus.count(stats_topic)
    ann = bus.last("cti/acme/agents/ann/state")
    assert ann["state"] == "ready" and ann["calls_handled"] == n // 2
    assert publisher.stats.coalesced > 0
    await publisher.close()


async def test_nothing_raises_into_the_journal_when_the_bus_fails() -> None:
    bus = FakeBus(fail=True)
    publisher = LivePublisher(bus, interval_ms=10)
    broken: list[str] = []

    def listener(topic: str, payload: dict[str, Any]) -> None:
        broken.append(topic)
        raise RuntimeError("a wallboard went away")

    publisher.subscribe(listener)
    folder = Folder("acme")
    for e in call_events(1, time.time()):
        publisher.on_event(e, folder.apply(e))  # must not raise
    await asyncio.sleep(0.05)
    assert publisher.stats.errors > 0 and publisher.stats.listener_errors > 0
    assert "cti/acme/stats" in broken
    bus.fail = False
    for e in call_events(2, time.time()):
        publisher.on_event(e, folder.apply(e))
    await asyncio.sleep(0.05)
    assert bus.last("cti/acme/stats")["offered"] == 2
    await publisher.close()


def test_flush_without_a_loop_and_topic_names() -> None:
    bus = FakeBus()
    publisher = LivePublisher(bus)
    folder = Folder("acme")
    e = DomainEvent("acme", time.time(), ev.CALL_QUEUED, "c1", queue="a/b+c")
    publisher.on_event(e, folder.apply(e))
    assert publisher.flush() == 2  # the tenant and the queue
    figures = bus.last("cti/acme/queues/a_b_c/stats")
    assert figures["calls_waiting"] == 1 and figures["queue"] == "a/b+c"
    assert topic_part("") == "_"
    assert publisher.flush() == 0


def test_the_clock_refresh_is_spread_over_the_flushes_of_its_period() -> None:
    bus = FakeBus()
    publisher = LivePublisher(bus, interval_ms=250, refresh_seconds=5.0)
    folder = Folder("acme")
    now = time.time()
    agents = [f"a{n:02}" for n in range(45)]
    for n, agent in enumerate(agents):
        state = "logged_out" if n == 44 else "ready"
        e = DomainEvent("acme", now, ev.AGENT_STATE, agent_id=agent, data={"state": state})
        publisher.on_event(e, folder.apply(e))
    publisher.flush()
    bus.messages.clear()
    assert publisher.refresh_slices == 20
    per_flush = []
    for tick in range(20):  # one refresh period
        publisher.refresh_slice(tick)
        per_flush.append(publisher.flush())
    agent_topics = [t for t, _, _ in bus.messages if "/agents/" in t]
    assert sorted(agent_topics) == sorted(f"cti/acme/agents/{a}/state" for a in agents[:44])
    assert max(per_flush) <= 4  # the total on the first flush, then 2 or 3 agents a flush
    assert bus.count("cti/acme/stats") == 1
