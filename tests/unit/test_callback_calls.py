"""What a callback's calls are in the record: the caller who pressed 1 stays an inbound
call that left the queue (exited) when asking; each attempt to call them back is an
outbound call of its own (its agent, its talk from the customer's answer, its outcome
the customer leg's), which the inbound KPIs never count.

Driven through a real runner (an AMI link that only records what it is asked, the AMI
events fed as Asterisk sends them) and the real journal, fold and SQLite store."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.commands import PlaceCallback
from acd.events import CallQueued
from acd.runner import WAITING, AcdRunner, Leg
from cti.ami_events import ChannelHungUp, DialEnded, UserEvent
from cti.config import PlatformConfig, TenantConfig
from cti.settings import Settings
from cti.store.journal import Journal
from cti.store.kpi_queries import kpi_report
from cti.store.models import Call
from reports import events as ev
from reports.events import DomainEvent
from tests.unit.fake_ami import RecordingAmi

T = 1_800_000_000.0
NUMBER = "+33612345678"


def _retry_at_once(config: PlatformConfig) -> TenantConfig:
    """acme, its sales queue trying a busy customer again at once (not 10 min later)."""
    data = config.tenants[0].model_dump()
    for queue in data["queues"]:
        queue["callback_retry"]["retry_minutes"] = 0
    return TenantConfig.model_validate(data)


def _channel(event: type[Any], at: float, channel_id: str, **fields: Any) -> Any:
    return event(
        at, channel_id, channel_id, f"PJSIP/1001-{channel_id}", 6, "", "", "", "", **fields
    )


class Attempt:
    """The runner's callback placed to alice, as Asterisk reports it."""

    def __init__(self, runner: AcdRunner, now: list[float]) -> None:
        self.runner, self.now = runner, now

    async def placed(self) -> str:
        await asyncio.sleep(0.05)  # the runner's worker originates alice's leg
        offer = [c for c in self.runner.history if isinstance(c, PlaceCallback)][-1]
        return f"cb-{offer.call_id}-{offer.offer_id}"

    def at(self, seconds: float) -> float:
        self.now[0] = T + seconds
        return self.now[0]

    def taken(self, channel_id: str, seconds: float) -> None:
        at = self.at(seconds)
        self.runner.on_ami_event(UserEvent(at, "CtiCallbackAnswered", channel_id, channel_id))

    def customer(self, channel_id: str, seconds: float, status: str) -> None:
        at = self.at(seconds)
        self.runner.on_ami_event(
            _channel(DialEnded, at, channel_id, dest_uniqueid="customer", dial_status=status)
        )

    def hung_up(self, channel_id: str, seconds: float) -> None:
        at = self.at(seconds)
        self.runner.on_ami_event(_channel(ChannelHungUp, at, channel_id, cause=16, cause_text=""))


async def test_a_pressed_1_callback_is_an_inbound_call_then_outbound_attempts(
    sqlite_engine: AsyncEngine, example_config: PlatformConfig
) -> None:
    journal = Journal(sqlite_engine)
    now = [T]
    ami: Any = RecordingAmi()
    tenant = _retry_at_once(example_config)
    runner = AcdRunner(tenant, ami, Settings(), clock=lambda: now[0], record=journal.record)
    runner.start()
    attempt = Attempt(runner, now)
    try:
        # the caller waits in sales, presses 1 after 20 s and hangs up
        arrived = {"ani": NUMBER, "dnis": "5000"}
        journal.record(DomainEvent("acme", T, ev.CALL_ARRIVED, "c1", data=arrived))
        runner.legs["c1"] = Leg("c1", "Local/5000@cti-in;2", "sales", WAITING, caller_number=NUMBER)
        runner.feed(CallQueued("c1", "sales"))
        attempt.at(20)
        runner.request_callback("c1", NUMBER)
        journal.record(DomainEvent("acme", T + 21, ev.CALL_HUNGUP, "c1", data={"cause": 16}))
        # alice is ready a minute later: her phone rings first, she takes it; busy
        attempt.at(60)
        runner.login("alice")
        runner.ready("alice")
        first = await attempt.placed()
        attempt.taken(first, 62)
        attempt.customer(first, 70, "BUSY")
        attempt.hung_up(first, 71)
        attempt.at(80)
        runner.wrapup_done("alice")
        # tried again at once (the rule here): alice takes it, the customer answers
        second = await attempt.placed()
        assert second != first
        attempt.taken(second, 82)
        attempt.customer(second, 90, "ANSWER")
        attempt.hung_up(second, 150)
        await journal.flush()
    finally:
        await runner.close()

    async with sqlite_engine.connect() as conn:
        rows = {r.call_id: r for r in (await conn.execute(select(Call.__table__))).all()}
    assert set(rows) == {"c1", "c1-cb", "c1-r1"}
    asked = rows["c1"]  # the caller's own call: inbound, exited when asking
    assert (asked.direction, asked.outcome, asked.acd_outcome) == (
        "inbound",
        "exited",
        "called_back",
    )
    assert (asked.queue_seconds, asked.agent, asked.answered_at) == (20.0, None, None)
    busy, answered = rows["c1-cb"], rows["c1-r1"]
    assert (busy.direction, busy.agent, busy.outcome, busy.acd_outcome) == (
        "outbound",
        "alice",
        "exited",
        "busy",
    )
    assert (busy.talk_seconds, busy.caller_number, busy.queue) == (None, NUMBER, "sales")
    assert (answered.direction, answered.agent, answered.outcome, answered.acd_outcome) == (
        "outbound",
        "alice",
        "answered",
        "answered",
    )
    assert (answered.answered_at, answered.talk_seconds) == (T + 90, 60.0)  # from the customer

    async def offered(direction: str) -> tuple[int, int]:
        report = await kpi_report(
            sqlite_engine, "acme", start=T - 3600, end=T + 3600, direction=direction
        )
        return report["total"]["offered"], report["total"]["answered"]

    assert await offered("inbound") == (1, 0)  # the caller's call, not the attempts
    assert await offered("outbound") == (2, 1)
