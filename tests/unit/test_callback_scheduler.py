"""Callbacks and their windows on a real runner (an AMI link that only records what it
is asked) and a migrated SQLite store, the clock passed in: a stored callback goes to
the ACD when due and, when its window closes before an agent could make it, leaves the
line expired; one asked for in the queue gets its queue's window."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from acd.callback_life import CallbackStatus
from acd.events import CallQueued
from acd.runner import WAITING, AcdRunner, Leg
from acd.state import CallState
from cti.callback_scheduler import take_due_callbacks
from cti.config import PlatformConfig
from cti.settings import Settings
from cti.store.callbacks import list_callbacks, request_callback
from cti.store.journal import Journal
from tests.unit.fake_ami import RecordingAmi

T = 1_800_000_000.0
HOUR = 3600.0


def _runner(config: PlatformConfig, journal: Journal, now: list[float]) -> AcdRunner:
    acme = config.tenants[0]
    ami: Any = RecordingAmi()
    return AcdRunner(acme, ami, Settings(), clock=lambda: now[0], record=journal.record)


async def test_a_callback_whose_window_passes_without_an_agent_expires(
    sqlite_engine: AsyncEngine, example_config: PlatformConfig
) -> None:
    journal = Journal(sqlite_engine)
    now = [T]
    runner = _runner(example_config, journal, now)
    asked = await request_callback(
        sqlite_engine,
        "acme",
        number="+33612345678",
        queue="sales",
        source="web",
        now=T,
        due_at=T + HOUR,
        window_end=T + 2 * HOUR,
    )
    runners = {"acme": runner}
    assert await take_due_callbacks(sqlite_engine, runners, example_config, T) == 0  # not yet
    now[0] = T + HOUR
    assert await take_due_callbacks(sqlite_engine, runners, example_config, now[0]) == 1
    [held] = runner.callbacks.values()
    assert (held.ref, held.window_end) == (asked.ref, T + 2 * HOUR)
    assert runner.router.call_state(held.call_id) is CallState.CALLBACK_WAITING  # no agent
    now[0] = T + 2 * HOUR + 1  # the window closed while it waited in line
    assert await take_due_callbacks(sqlite_engine, runners, example_config, now[0]) == 0
    assert runner.callbacks == {} and asked.ref in runner.callback_calls.held_callbacks()
    assert runner.router.call_state(held.call_id) is CallState.FINISHED  # out of the line
    await journal.flush()
    [expired] = await list_callbacks(sqlite_engine, "acme", ["expired"])
    assert (expired.ref, expired.window_end, expired.attempts) == (asked.ref, T + 2 * HOUR, 0)
    # nothing more happens to it
    assert await take_due_callbacks(sqlite_engine, runners, example_config, now[0] + 60) == 0


async def test_a_callback_no_runner_holds_expires_in_the_store(
    sqlite_engine: AsyncEngine, example_config: PlatformConfig
) -> None:
    asked = await request_callback(
        sqlite_engine,
        "acme",
        number="+33612345678",
        queue="sales",
        source="abandoned",
        now=T,
        due_at=T,
        window_end=T + HOUR,
    )
    await take_due_callbacks(sqlite_engine, {}, example_config, T + HOUR + 1)
    [expired] = await list_callbacks(sqlite_engine, "acme", ["expired"])
    assert expired.ref == asked.ref


async def test_a_callback_asked_for_in_the_queue_gets_the_queues_window(
    sqlite_engine: AsyncEngine, example_config: PlatformConfig
) -> None:
    journal = Journal(sqlite_engine)
    now = [T]
    runner = _runner(example_config, journal, now)
    runner.legs["c1"] = Leg("c1", "Local/5000@cti-inbound-1;2", "sales", WAITING, uniqueid="c1")
    runner.feed(CallQueued("c1", "sales"))
    now[0] = T + 30
    runner.request_callback("c1", "+33612345678")
    await journal.flush()
    [row] = await list_callbacks(sqlite_engine, "acme", ["pending"])
    hours = example_config.tenants[0].queue("sales").callback_window_hours
    assert (row.ref, row.source) == ("c1", "queue")
    assert (row.window_start, row.window_end) == (T + 30, T + 30 + hours * HOUR)
    # still waiting in line when its window closes: expired
    now[0] = T + 30 + hours * HOUR + 1
    assert runner.callback_calls.expire_callbacks(now[0]) == ["c1"]
    await journal.flush()
    [gone] = await list_callbacks(sqlite_engine, "acme", ["expired"])
    assert gone.ref == "c1" and gone.status == str(CallbackStatus.EXPIRED)
