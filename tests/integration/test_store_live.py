"""Real Asterisk traffic into the store: every call leaves one folded row, every agent a history."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from acd import Outcome
from cti.store.kpi_queries import kpi_report
from cti.store.models import AgentStateInterval, Call, Event
from reports.queue_log import read_queue_log
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


async def test_live_and_historical_figures_agree_on_real_traffic(center: Center) -> None:
    """The same calls, counted live (per event) and from the store (SQL): equal figures."""
    await center.phone("1001", ring="1", talk="2")
    await center.phone("1003", ring="1", talk="1")
    center.acd.login("alice")
    center.acd.ready("alice")
    first = await center.call(caller="+33611111111")
    await until(lambda: center.outcome(first) == Outcome.ANSWERED)
    await until(lambda: center.acd.agent_states["alice"] == "ready", timeout=10)
    again = await center.call(caller="+33611111111")  # a repeat caller: FCR counts it
    await until(lambda: center.outcome(again) == Outcome.ANSWERED)
    await until(lambda: center.acd.agent_states["alice"] == "ready", timeout=10)
    center.acd.login("carol")
    center.acd.ready("carol")
    support = await center.call(caller="+33611111111", keys="2")  # and once to support
    await until(lambda: center.outcome(support) == Outcome.ANSWERED)
    await until(lambda: center.acd.agent_states["carol"] == "ready", timeout=10)
    center.acd.logout("carol")
    center.acd.not_ready("alice", "lunch")
    gave_up = await center.call(caller="+33622222222", hold=2)
    await until(lambda: center.outcome(gave_up) == Outcome.ABANDONED)
    center.acd.logout("alice")  # every agent interval is closed: occupancy compares too
    await until(lambda: len(center.service.calls.calls) == 0, timeout=15)

    service = center.service
    await service.journal.flush()
    live = service.live.snapshot("acme")
    day = service.live.board.tenant("acme").options.day_start(time.time())
    stored = await kpi_report(service.engine, "acme", start=day, end=time.time() + 1)
    by_queue = await kpi_report(
        service.engine, "acme", start=day, end=time.time() + 1, group_by="queue"
    )
    historical = stored["total"]
    assert historical["offered"] == 4 and historical["answered"] == 3
    assert historical["abandoned"] == 1 and historical["fcr_rate"] == 0.0  # one cluster of 3
    # a queue's repeats are its own calls': sales saw the caller twice, support once
    assert (by_queue["sales"]["fcr_rate"], by_queue["support"]["fcr_rate"]) == (0.0, 1.0)
    for name in KPI_FIELDS:
        assert _close(live[name], historical[name]), (name, live[name], historical[name])
    for queue in ("sales", "support"):
        for name in KPI_FIELDS:
            queue_live = live["queues"][queue]
            assert _close(queue_live[name], by_queue[queue][name]), (queue, name)
    # the queue_log we wrote for these calls, read back as a native app_queue's would be:
    # the same figures, to its whole seconds
    service.queue_log.flush()
    lines = Path(service.settings.queue_log_path).read_text().splitlines()  # noqa: ASYNC240
    read_back = read_queue_log(lines, from_epoch=day)
    assert read_back.malformed_lines == 0 and not read_back.unknown_events
    from_log = read_back.total
    for name in ("offered", "answered", "abandoned", "short_abandoned", "transferred"):
        assert from_log[name] == historical[name], name
    for name in ("fcr_rate", "abandon_rate", "service_level", "service_level_with_abandons"):
        assert _close(from_log[name], historical[name]), name
    for name in ("asa_seconds", "avg_queue_seconds", "avg_talk_seconds", "longest_wait_seconds"):
        assert abs(from_log[name] - historical[name]) <= 1.0, name


KPI_FIELDS = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "transferred",
    "asa_seconds",
    "avg_queue_seconds",
    "avg_hold_seconds",
    "avg_talk_seconds",
    "avg_acw_seconds",
    "aht_seconds",
    "fcr_rate",
    "abandon_rate",
    "abandon_rate_excl_short",
    "occupancy",
    "occupancy_with_acw",
    "service_level",
    "service_level_with_abandons",
    "longest_wait_seconds",
)


def _close(a: float | None, b: float | None) -> bool:
    """Equal, to the microsecond (sums of durations in two different engines)."""
    if a is None or b is None:
        return a is b
    return abs(a - b) <= 1e-6 * max(1.0, abs(a))
