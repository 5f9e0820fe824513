"""The journal on SQLite and PostgreSQL: write-ahead, fold, idempotent re-fold, restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.db import create_engine
from cti.store.journal import Journal
from cti.store.kpi_queries import kpi_report
from cti.store.models import AgentStateInterval, Call, Callback, CallHour, Event, Survey
from cti.store.schema import upgrade
from reports.events import DomainEvent
from reports.fold import Folder

T0 = 1_763_900_000.0


def script(call_id: str = "c1", agent: str = "alice", t0: float = T0) -> list[DomainEvent]:
    """A caller queues 4 s, talks 41 s with 10 s on hold, the agent wraps up 10 s."""

    def e(at: float, kind: str, **kw: Any) -> DomainEvent:
        return DomainEvent("acme", t0 + at, kind, **kw)

    return [
        e(0, "agent.state", agent_id=agent, data={"state": "ready", "reason": ""}),
        e(1, "call.arrived", call_id=call_id, data={"ani": "0033 612345305", "dnis": "5000"}),
        e(3, "ivr.finished", call_id=call_id, data={"path": ["welcome", "main"], "tier": 3}),
        e(5, "call.queued", call_id=call_id, queue="sales", data={"customer_id": "C001"}),
        e(6, "call.offered", call_id=call_id, agent_id=agent, queue="sales"),
        e(6, "agent.state", agent_id=agent, data={"state": "reserved"}),
        e(9, "call.answered", call_id=call_id, agent_id=agent),
        e(9, "agent.state", agent_id=agent, data={"state": "on_call"}),
        e(20, "call.held", call_id=call_id, agent_id=agent),
        e(30, "call.unheld", call_id=call_id, agent_id=agent),
        e(50, "call.finished", call_id=call_id, data={"outcome": "answered"}),
        e(50, "agent.state", agent_id=agent, data={"state": "wrap_up"}),
        e(51, "call.hungup", call_id=call_id, data={"cause": 16}),
        e(52, "survey.answered", call_id=call_id, agent_id=agent, data={"scores": [4, 5]}),
        e(
            60,
            "call.wrapped_up",
            call_id=call_id,
            agent_id=agent,
            data={"disposition": "sale", "notes": "ok", "resolved": True},
        ),
        e(60, "agent.state", agent_id=agent, data={"state": "ready"}),
    ]


async def calls(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        return list(await conn.execute(select(Call).order_by(Call.call_id)))


async def count(engine: AsyncEngine, model: Any) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(model))).scalar_one())


def check_row(row: Any) -> None:
    assert row.tenant_id == "acme" and row.queue == "sales" and row.agent == "alice"
    assert row.caller_number == "+33612345305" and row.customer_id == "C001"
    assert row.outcome == "answered" and row.ivr_path == "welcome/main" and row.tier == 3
    assert row.queue_seconds == 4 and row.talk_seconds == 31 and row.hold_seconds == 10
    assert row.acw_seconds == 10 and row.disposition == "sale" and row.resolved is True
    assert row.survey_score == 4 and row.hangup_cause == 16


async def test_events_are_logged_and_folded(store_engine: AsyncEngine) -> None:
    journal = Journal(store_engine)
    for event in script():
        journal.record(event)
    await journal.flush()
    [row] = await calls(store_engine)
    check_row(row)
    assert await count(store_engine, Event) == 16
    async with store_engine.connect() as conn:
        states = [
            (r.state, r.end - r.start)
            for r in await conn.execute(
                select(AgentStateInterval).order_by(AgentStateInterval.start)
            )
        ]
        surveys = [(r.question, r.score) for r in await conn.execute(select(Survey))]
        unfolded = await conn.execute(select(func.count()).where(Event.folded.is_(False)))
    assert states == [
        ("ready", 6),
        ("reserved", 3),
        ("on_call", 11),
        ("hold", 10),
        ("on_call", 20),
        ("wrap_up", 10),
    ]
    assert sorted(surveys) == [(1, 4), (2, 5)]
    assert unfolded.scalar_one() == 0


async def test_writing_the_same_events_twice_stores_them_once(store_engine: AsyncEngine) -> None:
    events = script()
    for _ in range(2):
        journal = Journal(store_engine)
        for event in events:
            journal.record(event)
        await journal.flush()
    assert await count(store_engine, Event) == len(events)
    [row] = await calls(store_engine)
    check_row(row)


async def test_a_crash_after_the_write_ahead_is_refolded(store_engine: AsyncEngine) -> None:
    journal = Journal(store_engine)
    await journal._write_events(script("c1") + script("c2", agent="bob", t0=T0 + 100))
    assert await calls(store_engine) == []  # the process died before folding
    restarted = Journal(store_engine)
    assert await restarted.recover() == 32
    rows = await calls(store_engine)
    assert [r.call_id for r in rows] == ["c1", "c2"]
    check_row(rows[0])
    assert await count(store_engine, AgentStateInterval) == 12
    assert await Journal(store_engine).recover() == 0  # nothing left to fold


async def test_a_call_in_progress_continues_after_a_restart(store_engine: AsyncEngine) -> None:
    events = script()
    before, after = events[:10], events[10:]  # restart while the caller is in talk
    journal = Journal(store_engine)
    for event in before:
        journal.record(event)
    await journal.close()
    restarted = Journal(store_engine, clock=lambda: T0 + 40)
    await restarted.recover()
    for event in after:
        restarted.record(event)
    await restarted.flush()
    [row] = await calls(store_engine)
    check_row(row)
    states = restarted.folder("acme").agent_state("alice")
    assert states is not None and states[0] == "ready"


async def test_the_database_away_loses_nothing(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'late.db'}")  # no schema yet
    journal = Journal(engine)
    for event in script():
        journal.record(event)
    try:
        await journal.flush()
    except Exception as exc:
        assert "no such table" in str(exc)
    else:
        raise AssertionError("writing without a schema must fail")
    assert journal.backlog == 16  # kept for the next attempt
    await upgrade(engine)
    await journal.flush()
    assert journal.backlog == 0
    [row] = await calls(engine)
    check_row(row)
    await engine.dispose()


async def test_the_stored_row_is_the_fold(store_engine: AsyncEngine) -> None:
    folder = Folder("acme")
    for event in script():
        folder.apply(event)
    journal = Journal(store_engine)
    for event in script():
        journal.record(event)
    await journal.flush()
    [row] = await calls(store_engine)
    expected = folder.calls["c1"].columns()
    stored = {k: getattr(row, k) for k in expected if k != "tenant"}
    assert stored == {k: v for k, v in expected.items() if k != "tenant"}


def callback_life(t0: float) -> list[DomainEvent]:
    """c9's caller asked to be called back: reserved for alice, busy, retried, connected."""
    base = {"ref": "c9", "call_id": "c9", "number": "+33612345309", "queue": "sales"}
    base["customer_id"] = "C009"
    steps = [
        ("pending", 0, None, None, None),
        ("reserved", 0, None, None, "alice"),
        ("dialing", 1, None, None, "alice"),
        ("retry", 1, t0 + 600, "busy", "alice"),
        ("pending", 1, t0 + 600, "busy", "alice"),
        ("dialing", 2, t0 + 600, "busy", "alice"),
        ("connected", 2, None, "answered", "alice"),
    ]
    return [
        DomainEvent(
            "acme",
            t0 + n,
            "callback.changed",
            data={
                **base,
                "requested_at": t0,
                "status": status,
                "attempts": attempts,
                "due_at": due,
                "last_result": result,
                "agent_id": agent,
            },
        )
        for n, (status, attempts, due, result, agent) in enumerate(steps)
    ]


async def callbacks(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(select(Callback.__table__))).all())


async def test_a_callbacks_life_lands_in_one_row_even_across_a_crash(
    store_engine: AsyncEngine,
) -> None:
    events = callback_life(T0)
    journal = Journal(store_engine)
    for event in events[:4]:
        journal.record(event)
    await journal.flush()
    (row,) = await callbacks(store_engine)
    assert (row.ref, row.call_id, row.status, row.attempts) == ("c9", "c9", "retry", 1)
    assert row.outcome == "busy"
    assert row.due_at == T0 + 600 and row.customer_id == "C009" and row.agent_id == "alice"
    await journal._write_events(events[4:])  # the process dies before folding these
    assert await Journal(store_engine).recover() == 3
    (row,) = await callbacks(store_engine)
    assert (row.status, row.attempts, row.outcome, row.due_at) == ("connected", 2, "answered", None)
    assert await calls(store_engine) == []  # a callback's life makes no call row


async def test_the_journal_keeps_the_hourly_totals_equal_to_the_calls(
    store_engine: AsyncEngine,
) -> None:
    """What the reports read from `call_hours` (kept by the journal's own writes, on flush
    and on the re-fold after a crash) equals what they read from the calls themselves."""
    journal = Journal(store_engine)
    for event in script("c1") + script("c2", agent="bob", t0=T0 + 3 * 3600):  # a repeat
        journal.record(event)
    await journal.flush()
    crashed = Journal(store_engine)  # the next two reach only the write-ahead
    await crashed._write_events(script("c3", t0=T0 + 86400) + script("c4", t0=T0 + 9 * 86400))
    await Journal(store_engine).recover()
    assert [r.call_id for r in await calls(store_engine)] == ["c1", "c2", "c3", "c4"]
    assert await count(store_engine, CallHour) > 0
    start = T0 // 3600 * 3600 - 3600
    end = start + 12 * 86400
    for by in ("total", "queue", "agent", "interval", "day"):
        fast = await kpi_report(store_engine, "acme", start=start, end=end, group_by=by)
        slow = await kpi_report(
            store_engine, "acme", start=start, end=end, group_by=by, use_hours=False
        )
        assert fast == slow, by
    total = (await kpi_report(store_engine, "acme", start=start, end=end))["total"]
    # C001 called on days 0, 0 (+3 h) and 1: one cluster; then day 9 alone
    assert (total["offered"], total["fcr_rate"]) == (4, 0.5)
