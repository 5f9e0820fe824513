"""The live figures on a real Mosquitto: retained, right, and back after the broker was down."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiomqtt
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from cti.bus import Bus
from cti.live_publisher import LivePublisher
from cti.store.journal import Journal
from reports import events as ev
from reports.kpis import summarise
from tests.integration.conftest import Mosquitto, until


async def retained_when(
    port: int, topic: str, ready: Callable[[dict[str, Any]], bool], timeout: float = 10.0
) -> dict[str, Any]:
    """The retained message of `topic` once it satisfies `ready` (publishing at QoS 0
    has no receipt: what the bus wrote may still be on its way to the broker)."""
    deadline = time.monotonic() + timeout
    while True:
        message = await retained(port, topic)
        if ready(message) or time.monotonic() > deadline:
            return message
        await asyncio.sleep(0.1)


async def retained(port: int, topic: str, timeout: float = 10.0) -> dict[str, Any]:
    """The retained message of `topic`, as a new subscriber receives it."""
    async with aiomqtt.Client("127.0.0.1", port) as client:
        await client.subscribe(topic)
        async with asyncio.timeout(timeout):
            async for message in client.messages:
                assert message.retain
                payload = message.payload
                assert isinstance(payload, bytes)
                result: dict[str, Any] = json.loads(payload)
                return result
    raise AssertionError("no retained message")


NOON = (time.time() // 86400) * 86400 + 43200  # today at 12:00 UTC, whatever the hour now


@pytest.fixture
async def journal() -> AsyncIterator[Journal]:
    engine = create_async_engine("sqlite+aiosqlite://")  # never written: not started
    yield Journal(engine)
    await engine.dispose()


def play(journal: Journal, start: float, n: int, agent: str = "ann") -> None:
    """n calls to `sales`: even ones answered by `agent` after 4 s, odd ones abandoned."""
    journal.event("acme", ev.AGENT_STATE, at=start, agent_id=agent, data={"state": "ready"})
    t = start
    for i in range(n):
        call = f"{start:.0f}-{i}"
        journal.event("acme", ev.CALL_QUEUED, at=t, call_id=call, queue="sales")
        if i % 2 == 0:
            journal.event("acme", ev.CALL_ANSWERED, at=t + 4, call_id=call, agent_id=agent)
            journal.event(
                "acme", ev.AGENT_STATE, at=t + 4, agent_id=agent, data={"state": "on_call"}
            )
            journal.event(
                "acme", ev.CALL_FINISHED, at=t + 34, call_id=call, data={"outcome": "answered"}
            )
            journal.event(
                "acme", ev.AGENT_STATE, at=t + 34, agent_id=agent, data={"state": "wrap_up"}
            )
            journal.event(
                "acme", ev.AGENT_STATE, at=t + 44, agent_id=agent, data={"state": "ready"}
            )
        else:
            journal.event(
                "acme", ev.CALL_FINISHED, at=t + 12, call_id=call, data={"outcome": "abandoned"}
            )
        t += 50


FIELDS = (
    "offered answered abandoned asa_seconds avg_talk_seconds avg_acw_seconds aht_seconds "
    "abandon_rate service_level"
).split()


def expected(journal: Journal) -> dict[str, Any]:
    rows = journal.folder("acme").calls.values()
    return summarise([r for row in rows if (r := row.record()) is not None])


async def test_the_retained_stats_topics_carry_the_figures(
    mosquitto: Mosquitto, journal: Journal
) -> None:
    bus = Bus(mosquitto.url, client_id="live-test")
    start = NOON - 3600  # the live figures are today's: the calls and the clock on one day
    publisher = LivePublisher(bus, interval_ms=50, clock=lambda: start + 3600)
    publisher.board.tenant("acme").serve("sales", ["ann", "bob"])
    journal.subscribe(publisher.on_event)
    await bus.start()
    await publisher.start()
    try:
        journal.event("acme", ev.CALL_QUEUED, at=start, call_id="waiting", queue="sales")
        play(journal, start + 1, 10)
        want = expected(journal)
        await until(lambda: bus.connected and not bus._pending, 10, "bus drained")
        await asyncio.sleep(0.2)  # the coalescing window
        await until(lambda: not bus._pending, 10, "bus drained")
        total = await retained(mosquitto.port, "cti/acme/stats")
        for name in FIELDS:
            assert total[name] == pytest.approx(want[name]), name
        assert (total["offered"], total["answered"]) == (10, 5)
        assert total["calls_waiting"] == 1
        assert total["longest_current_wait_seconds"] == pytest.approx(3600)
        queue = await retained(mosquitto.port, "cti/acme/queues/sales/stats")
        assert queue["offered"] == 10 and queue["asa_seconds"] == pytest.approx(4)
        assert queue["calls_waiting"] == 1
        assert queue["agents_by_state"] == {"ready": 1}  # ann; bob never logged in
        agent = await retained(mosquitto.port, "cti/acme/agents/ann/state")
        assert agent["state"] == "ready" and agent["calls_handled"] == 5
        assert agent["aht_seconds"] == pytest.approx(40)
    finally:
        await publisher.close()
        await bus.close()


async def test_figures_arrive_after_the_broker_comes_back(
    mosquitto: Mosquitto, journal: Journal
) -> None:
    bus = Bus(mosquitto.url, client_id="live-test-2")
    publisher = LivePublisher(bus, interval_ms=50, clock=lambda: NOON)
    journal.subscribe(publisher.on_event)
    await bus.start()
    await publisher.start()
    try:
        start = NOON - 1000
        play(journal, start, 2)
        await until(lambda: bus.connected, 10, "connected")
        await until(lambda: not bus._pending, 10, "published")
        mosquitto.stop()
        await until(lambda: not bus.connected, 20, "the bus notices the broker is gone")
        published = publisher.stats.published
        play(journal, start + 200, 6)  # recorded while the broker is down: nothing raises
        assert journal.stats.subscriber_errors == 0 and publisher.stats.errors == 0
        await until(lambda: publisher.stats.published > published, 10, "published while down")
        assert bus._retained and not bus.connected
        mosquitto.start()  # same port, no persistence: the retained state is gone with it
        await until(lambda: bus.connected, 30, "reconnected")
        await until(lambda: not bus._pending, 10, "published")
        total = await retained_when(mosquitto.port, "cti/acme/stats", lambda m: m["offered"] > 2)
        assert total["offered"] == expected(journal)["offered"] == 8
        assert total["answered"] == 4 and total["abandoned"] == 4
        queue = await retained_when(
            mosquitto.port, "cti/acme/queues/sales/stats", lambda m: m["offered"] > 2
        )
        assert queue["offered"] == 8
    finally:
        await publisher.close()
        await bus.close()
