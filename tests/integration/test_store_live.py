"""Real Asterisk traffic into the store: every call leaves one folded row, every agent a history."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from acd import Outcome
from cti.store.models import AgentStateInterval, Call, Event
from tests.integration.center import Center
from tests.integration.conftest import until

pytestmark = pytest.mark.asterisk


async def rows(center: Center, model: Any) -> list[Any]:
    await center.service.journal.flush()
    async with center.service.engine.connect() as conn:
        return list(await conn.execute(select(model)))


async def test_answered_and_abandoned_calls_are_recorded(center: Center) -> None:
    await center.phone("1001", ring="1", talk="2")
    center.acd.login("alice")
    center.acd.ready("alice")
    answered = await center.call()
    await until(lambda: center.outcome(answered) == Outcome.ANSWERED)
    await until(lambda: center.acd.agent_states["alice"] == "ready", timeout=10)  # after ACW
    center.acd.not_ready("alice", "lunch")
    abandoned = await center.call(hold=2)
    await until(lambda: center.outcome(abandoned) == Outcome.ABANDONED)

    async def hung_up() -> bool:
        return all(r.ended_at is not None and r.outcome for r in await rows(center, Call))

    deadline = 15.0
    while not await hung_up():
        await asyncio.sleep(0.2)
        deadline -= 0.2
        assert deadline > 0, "calls not recorded"

    by_id = {r.call_id: r for r in await rows(center, Call)}
    assert len(by_id) == 2  # one row per call (its linkedid), whatever channel reported
    linked = center.service.calls.call_id_of
    first, second = by_id[linked(answered) or ""], by_id[linked(abandoned) or ""]
    assert (first.outcome, first.queue, first.agent) == ("answered", "sales", "alice")
    assert first.caller_number and first.caller_number.startswith("+3360000")
    assert first.ivr_path and first.ivr_path.startswith("welcome")
    assert first.arrived_at < first.ivr_left_at <= first.queued_at < first.answered_at
    assert 0 <= first.queue_seconds < 5 and 1.5 <= first.talk_seconds < 5
    assert first.acw_seconds is not None and 1.5 <= first.acw_seconds < 4  # wrap-up max 2 s
    assert (second.outcome, second.agent, second.answered_at) == ("abandoned", None, None)
    assert 1 <= second.queue_seconds < 5
    kinds = [e.kind for e in await rows(center, Event) if e.call_id == first.call_id]
    for kind in (
        "call.arrived",
        "ivr.finished",
        "call.queued",
        "call.offered",
        "call.answered",
        "call.finished",
        "call.hungup",
    ):
        assert kind in kinds
    states = [
        (r.state, r.reason)
        for r in sorted(await rows(center, AgentStateInterval), key=lambda r: r.start)
        if r.agent_id == "alice"
    ]
    assert states == [
        ("not_ready", ""),  # logged in
        ("ready", ""),
        ("reserved", ""),
        ("on_call", ""),
        ("wrap_up", ""),
        ("ready", ""),
    ]  # closed intervals; the one still open is the fold's current state:
    now = center.service.journal.folder("acme").agent_state("alice")
    assert now is not None and now[0] == "not_ready" and now[2] == "lunch"
