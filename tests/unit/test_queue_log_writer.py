"""Our ACD's queue_log, read back with reports.queue_log, gives the KPIs of our own records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import create_async_engine

from cti.queue_log_writer import QueueLogWriter
from cti.store.journal import Journal
from reports import events as ev
from reports.events import DomainEvent
from reports.fold import Folder
from reports.grouping import summarise_by_queue
from reports.kpis import CallRecord, summarise
from reports.queue_log import read_queue_log

START = 1_800_000_000
COMPARED = (
    "offered answered abandoned short_abandoned transferred asa_seconds avg_queue_seconds "
    "avg_talk_seconds abandon_rate abandon_rate_excl_short service_level "
    "service_level_with_abandons longest_wait_seconds"
).split()


def event(at: float, kind: str, call_id: str | None = None, **fields: Any) -> DomainEvent:
    return DomainEvent("acme", at, kind, call_id, **fields)


def state(at: float, agent: str, name: str, reason: str = "") -> DomainEvent:
    return event(at, ev.AGENT_STATE, agent_id=agent, data={"state": name, "reason": reason})


secs = st.integers(0, 40)


@st.composite
def call_script(draw: st.DrawFn, n: int) -> list[DomainEvent]:
    """A call in whole seconds, from queueing to its outcome (or still waiting)."""
    call, queue = f"c{n}", draw(st.sampled_from(["sales", "support"]))
    t = START + draw(st.integers(0, 3600))
    number = draw(st.sampled_from([None, "+331", "anonymous"]))
    out = [event(t, ev.CALL_ARRIVED, call, data={"ani": number or ""})]
    t += draw(secs)
    out.append(event(t, ev.CALL_QUEUED, call, queue=queue, data={"caller_number": number}))
    for _ in range(draw(st.integers(0, 2))):
        agent = draw(st.sampled_from(["ann", "bob"]))
        out.append(event(t, ev.CALL_OFFERED, call, agent_id=agent, queue=queue))
        t += draw(secs)
        out.append(event(t, ev.CALL_OFFER_MISSED, call, agent_id=agent))
    if draw(st.booleans()):
        out.append(event(t, ev.CALL_OVERFLOWED, call, data={"to_queue": "overflow"}))
    fate = draw(st.sampled_from(["answered", "abandoned", "routed_out", "called_back", "waiting"]))
    t += draw(secs)
    if fate == "answered":
        agent = draw(st.sampled_from(["ann", "bob"]))
        out.append(event(t, ev.CALL_OFFERED, call, agent_id=agent, queue=queue))
        t += draw(st.integers(0, 5))
        out.append(event(t, ev.CALL_ANSWERED, call, agent_id=agent))
        out.append(state(t, agent, "on_call"))
        if draw(st.booleans()):
            t += draw(secs)
            out.append(event(t, ev.CALL_HELD, call, agent_id=agent))
            t += draw(secs)
            out.append(event(t, ev.CALL_UNHELD, call, agent_id=agent))
        if draw(st.booleans()):
            t += draw(secs)
            out.append(
                event(t, ev.CALL_TRANSFERRED, call, agent_id=agent, data={"destination": "200"})
            )
        t += draw(secs)
        by = draw(st.sampled_from([None, "agent", "caller"]))
        out.append(event(t, ev.CALL_FINISHED, call, data={"outcome": "answered", "hungup_by": by}))
        out.append(state(t, agent, "wrap_up"))
        t += draw(secs)
        out.append(state(t, agent, "ready"))
    elif fate == "abandoned":
        out.append(event(t, ev.CALL_FINISHED, call, data={"outcome": "abandoned"}))
    elif fate == "routed_out":
        out.append(event(t, ev.CALL_ROUTED_OUT, call, data={"kind": "voicemail"}))
        out.append(event(t, ev.CALL_FINISHED, call, data={"outcome": "routed_out"}))
    elif fate == "called_back":
        out.append(event(t, ev.CALLBACK_REQUESTED, call, data={"number": "+331"}))
        t += draw(secs)
        out.append(event(t, ev.CALL_FINISHED, call, data={"outcome": "called_back"}))
    if fate != "waiting":
        out.append(event(t + draw(secs), ev.CALL_HUNGUP, call, data={"cause": 16}))
    return out


@st.composite
def streams(draw: st.DrawFn) -> list[DomainEvent]:
    scripts = [draw(call_script(n)) for n in range(draw(st.integers(1, 15)))]
    everything = [(e.at, i, j, e) for i, s in enumerate(scripts) for j, e in enumerate(s)]
    return [e for *_, e in sorted(everything, key=lambda x: x[:3])]


def same(got: dict[str, Any], want: dict[str, Any], where: str) -> None:
    for name in COMPARED:
        if want[name] is None or isinstance(want[name], int):
            assert got[name] == want[name], f"{where}: {name}"
        else:
            assert got[name] == pytest.approx(want[name]), f"{where}: {name}"


def records(folder: Folder) -> list[CallRecord]:
    return [r for row in folder.calls.values() if (r := row.record()) is not None]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(streams())
def test_the_queue_log_read_back_gives_the_kpis_of_the_records(
    tmp_path: Path, stream: list[DomainEvent]
) -> None:
    path = tmp_path / f"queue_log-{id(stream)}"
    writer, folder = QueueLogWriter(path), Folder("acme")
    for e in stream:
        writer.on_event(e, folder.apply(e))
    writer.flush()
    lines = path.read_text().splitlines() if path.exists() else []
    path.unlink(missing_ok=True)
    report = read_queue_log(lines)
    assert report.malformed_lines == 0 and report.unknown_events == {}
    mine = records(folder)
    same(report.total, summarise(mine), "total")
    want = summarise_by_queue(mine)
    assert set(report.queues) == set(want)
    for queue, figures in want.items():
        same(report.queues[queue], figures, queue)


async def test_a_journal_subscriber_writing_app_queue_lines(tmp_path: Path) -> None:
    engine = create_async_engine("sqlite+aiosqlite://")
    journal = Journal(engine)
    path = tmp_path / "var" / "{tenant}" / "queue_log"
    writer = QueueLogWriter(path, flush_seconds=3600)
    journal.subscribe(writer.on_event)
    await writer.start()
    t = START
    for e in [
        state(t, "ann", "ready"),
        state(t, "bob", "not_ready", "lunch"),
        event(t + 1, ev.CALL_QUEUED, "c1", queue="sales", data={"caller_number": "+331"}),
        event(t + 2, ev.CALL_QUEUED, "c2", queue="sales"),
        event(t + 3, ev.CALL_OFFERED, "c1", agent_id="ann", queue="sales"),
        event(t + 18, ev.CALL_OFFER_MISSED, "c1", agent_id="ann"),
        state(t + 18, "ann", "not_ready", "rona"),
        state(t + 20, "bob", "ready"),
        event(t + 20, ev.CALL_OFFERED, "c1", agent_id="bob", queue="sales"),
        event(t + 22, ev.CALL_ANSWERED, "c1", agent_id="bob"),
        event(t + 23, ev.CALL_FINISHED, "c2", data={"outcome": "abandoned"}),
        event(t + 52, ev.CALL_FINISHED, "c1", data={"outcome": "answered", "hungup_by": "agent"}),
        state(t + 60, "bob", "logged_out"),
    ]:
        journal.record(e)
    assert not (tmp_path / "var" / "acme" / "queue_log").exists()  # buffered
    await writer.close()  # flushes
    lines = (tmp_path / "var" / "acme" / "queue_log").read_text().splitlines()
    assert lines == [
        f"{t}|NONE|NONE|ann|ADDMEMBER|",
        f"{t}|NONE|NONE|bob|ADDMEMBER|",
        f"{t}|NONE|NONE|bob|PAUSE|lunch",
        f"{t + 1}|c1|sales|NONE|ENTERQUEUE||+331|1",
        f"{t + 2}|c2|sales|NONE|ENTERQUEUE|||2",
        f"{t + 18}|c1|sales|ann|RINGNOANSWER|15000",
        f"{t + 18}|NONE|NONE|ann|PAUSE|rona",
        f"{t + 20}|NONE|NONE|bob|UNPAUSE|",
        f"{t + 22}|c1|sales|bob|CONNECT|21|c1|2",
        f"{t + 23}|c2|sales|NONE|ABANDON|1|2|21",
        f"{t + 52}|c1|sales|bob|COMPLETEAGENT|21|30|1",
        f"{t + 60}|NONE|NONE|bob|REMOVEMEMBER|",
    ]
    report = read_queue_log(lines)
    assert report.total["answered"] == 1 and report.total["asa_seconds"] == 21
    assert report.total["abandoned"] == 1
    await engine.dispose()


def test_lines_are_flushed_at_least_every_second(tmp_path: Path) -> None:
    now = [0.0]
    path = tmp_path / "queue_log"
    writer = QueueLogWriter(path, clock=lambda: now[0])
    folder = Folder("acme")
    first = event(START, ev.CALL_QUEUED, "c1", queue="sales")
    writer.on_event(first, folder.apply(first))
    assert not path.exists()
    now[0] = 1.0
    second = event(START + 1, ev.CALL_FINISHED, "c1", data={"outcome": "abandoned"})
    writer.on_event(second, folder.apply(second))
    assert len(path.read_text().splitlines()) == 2
    assert writer.stats.written == 2


def test_a_transfer_and_a_caller_hangup() -> None:
    writer, folder = QueueLogWriter("unused"), Folder("acme")
    out = []
    for e in [
        event(START, ev.CALL_QUEUED, "c1", queue="sales"),
        event(START + 5, ev.CALL_ANSWERED, "c1", agent_id="ann"),
        event(START + 10, ev.CALL_HELD, "c1", agent_id="ann"),
        event(START + 20, ev.CALL_UNHELD, "c1", agent_id="ann"),
        event(START + 30, ev.CALL_TRANSFERRED, "c1", agent_id="ann", data={"destination": "7"}),
        event(START + 65, ev.CALL_FINISHED, "c1", data={"outcome": "answered"}),
        event(START + 70, ev.CALL_QUEUED, "c2", queue="sales"),
        event(START + 71, ev.CALL_ANSWERED, "c2", agent_id="bob"),
        event(START + 80, ev.CALL_FINISHED, "c2", data={"outcome": "answered"}),
        event(START + 90, ev.CALL_QUEUED, "c3", queue="sales"),
        event(START + 95, ev.CALL_ROUTED_OUT, "c3", data={"kind": "voicemail"}),
        event(START + 95, ev.CALL_FINISHED, "c3", data={"outcome": "routed_out"}),
    ]:
        out += writer.lines(e, folder.apply(e))
    assert f"{START + 65}|c1|sales|ann|TRANSFER|7||5|50|1" in out  # talk 60 - 10 on hold
    assert f"{START + 80}|c2|sales|bob|COMPLETECALLER|1|9|1" in out
    assert out[-1] == f"{START + 95}|c3|sales|NONE|EXITWITHTIMEOUT|1|1|5"
    assert sum("EXITWITHTIMEOUT" in line for line in out) == 1
