"""The fold of the console's call controls: hold, blind transfer, click-to-call.

A blind transfer to a queue ends the first agent's talk (a `call.transferred`, then
`call.finished`) and the caller comes back as a new visit under its own id
(`<call>-t1`): two rows, each with its own agent and talk time, the first counted
as transferred. A click-to-call row is outbound and has no queue, so it is in no
queue KPI.
"""

from __future__ import annotations

import pytest

from reports import events as ev
from reports.events import DomainEvent
from reports.fold import Folder
from reports.kpis import Outcome, occupancy, occupancy_with_acw, summarise
from reports.live import LiveStats


def _e(
    at: float, what: str, call: str | None = None, agent: str | None = None, /, **kw: object
) -> DomainEvent:
    queue = kw.pop("queue", None)
    return DomainEvent("t", at, what, call, agent, queue, data=dict(kw))  # type: ignore[arg-type]


def _agent(at: float, agent: str, state: str) -> DomainEvent:
    return _e(at, ev.AGENT_STATE, None, agent, state=state, reason="")


def test_a_blind_transfer_splits_the_talk_between_two_rows() -> None:
    folder = Folder("t")
    for event in [
        _agent(0, "alice", "ready"),
        _agent(0, "carol", "ready"),
        _e(1, ev.CALL_ARRIVED, "L", ani="+33612345678", dnis="5000", direction="inbound"),
        _e(5, ev.CALL_QUEUED, "L", queue="sales", tier=0, caller_number="+33612345678"),
        _e(6, ev.CALL_OFFERED, "L", "alice", queue="sales", offer_id=1),
        _agent(6, "alice", "reserved"),
        _e(8, ev.CALL_ANSWERED, "L", "alice"),
        _agent(8, "alice", "on_call"),
        _e(20, ev.CALL_HELD, "L", "alice"),
        _e(26, ev.CALL_UNHELD, "L", "alice"),
        _e(40, ev.CALL_TRANSFERRED, "L", "alice", kind="queue", destination="support"),
        _e(40, ev.CALL_FINISHED, "L", outcome="answered"),
        _agent(40, "alice", "wrap_up"),
        _e(
            41,
            ev.CALL_QUEUED,
            "L-t1",
            queue="support",
            tier=0,
            caller_number="+33612345678",
            segment_of=ev.segment_of("L-t1"),  # as the runner says it
        ),
        _e(43, ev.CALL_OFFERED, "L-t1", "carol", queue="support", offer_id=2),
        _e(45, ev.CALL_ANSWERED, "L-t1", "carol"),
        _agent(45, "carol", "on_call"),
        _agent(50, "alice", "ready"),
        _e(75, ev.CALL_FINISHED, "L-t1", outcome="answered"),
        _e(76, ev.CALL_HUNGUP, "L", cause=16),
    ]:
        folder.apply(event)
    first, second = folder.calls["L"], folder.calls["L-t1"]
    assert (first.agent, first.transfers, first.hold_seconds) == ("alice", 1, 6.0)
    assert first.talk_seconds == 40 - 8 - 6 and first.acw_seconds == 10
    assert (second.agent, second.queue, second.transfers) == ("carol", "support", 0)
    assert second.talk_seconds == 30 and second.queue_seconds == 4
    one, two = first.record(), second.record()
    assert one is not None and two is not None
    assert one.transferred and not two.transferred
    assert one.outcome == two.outcome == Outcome.ANSWERED
    assert (one.agent, two.agent) == ("alice", "carol")
    # one caller, one contact: the transfer's segment is not a repeat call
    assert (two.segment_of, one.segment_of) == ("L", None)
    assert summarise([one, two], [])["fcr_rate"] == 1.0


def test_a_hold_still_open_when_the_talk_ends_is_closed_there() -> None:
    folder = Folder("t")
    for event in [
        _e(5, ev.CALL_QUEUED, "C", queue="sales"),
        _e(8, ev.CALL_ANSWERED, "C", "alice"),
        _e(10, ev.CALL_HELD, "C", "alice"),
        _e(13, ev.CALL_FINISHED, "C", outcome="answered"),  # the agent hung up while holding
    ]:
        folder.apply(event)
    row = folder.calls["C"]
    assert row.hold_seconds == 3 and row.talk_seconds == 2 and row.held_since is None


def test_click_to_call_is_an_outbound_row_outside_the_queue_figures() -> None:
    folder = Folder("t")
    changes = []
    for event in [
        _e(
            1,
            ev.CALL_ARRIVED,
            "out-1",
            "alice",
            ani="1001",
            dnis="7002",
            direction="outbound",
            customer_id="C001",
        ),
        _e(4, ev.CALL_ANSWERED, "out-1", "alice"),
        _e(10, ev.CALL_FINISHED, "out-1", "alice", outcome="answered", direction="outbound"),
        _e(10, ev.CALL_HUNGUP, "out-1", cause=None),
    ]:
        changes += folder.apply(event).calls
    row = folder.calls["out-1"]
    assert (row.direction, row.agent, row.dnis, row.queue) == ("outbound", "alice", "7002", None)
    assert row.customer_id == "C001"  # the customer called from their record
    assert row.talk_seconds == 6 and row.ended_at == 10
    assert row.record() is None  # in no queue's figures
    assert all(c.before is None and c.after is None for c in changes)


def test_segment_ids() -> None:
    assert ev.next_segment("1700.5") == "1700.5-t1"
    assert ev.next_segment("1700.5-t1") == "1700.5-t2"
    assert ev.next_segment("x-tea") == "x-tea-t1"  # one reading of the id with segment_of
    assert ev.segment_of(ev.next_segment("x-tea-t9")) == "x-tea"
    assert ev.segment_of("1700.5-t2") == "1700.5"
    for own in ("1700.5", "web-3fa9", "x-tea", "-t1", "cmp-a-b-a1-9f3c2d"):
        assert ev.segment_of(own) is None


def test_click_to_call_talk_and_wrap_up_are_the_agents_busy_time() -> None:
    """As the runner journals a click-to-call of an agent on a break: not ready while
    the number rings, on a call once it answers, wrap-up, then back on the break. The
    fold's intervals, the pure KPIs and the live figures count the talk as busy."""
    folder, live = Folder("t"), LiveStats("t")
    intervals = []
    for event in [
        _agent(0, "alice", "ready"),
        _e(10, ev.AGENT_STATE, None, "alice", state="not_ready", reason="break"),
        _e(20, ev.CALL_ARRIVED, "out-1", "alice", ani="1001", dnis="7002", direction="outbound"),
        _e(24, ev.CALL_ANSWERED, "out-1", "alice"),
        _agent(24, "alice", "on_call"),
        _e(54, ev.CALL_FINISHED, "out-1", "alice", outcome="answered", direction="outbound"),
        _e(54, ev.CALL_HUNGUP, "out-1", cause=None),
        _agent(54, "alice", "wrap_up"),
        _e(64, ev.AGENT_STATE, None, "alice", state="not_ready", reason="break"),
        _agent(94, "alice", "ready"),
    ]:
        folded = folder.apply(event)
        live.apply(event, folded)
        intervals += [i for s in folded.intervals if (i := s.interval()) is not None]
    assert folder.calls["out-1"].acw_seconds == 10
    # 30 s talking against 10 s ready; the break and the ringing in neither
    assert occupancy(intervals) == pytest.approx(30 / 40)
    assert occupancy_with_acw(intervals) == pytest.approx(40 / 50)
    figures = live.agent_stats("alice", 94)
    assert figures["occupancy"] == pytest.approx(30 / 40)
    assert figures["occupancy_with_acw"] == pytest.approx(40 / 50)


def test_a_callback_is_an_exited_inbound_call_and_an_outbound_call_of_its_own() -> None:
    """The caller pressed 1: their call exits the queue at once (no later event needed);
    the call back is a row of its own, outbound, the agent's even when not answered."""
    folder = Folder("t")
    inbound = [
        _e(0, ev.CALL_ARRIVED, "C", ani="+33612345678", dnis="5000"),
        _e(2, ev.CALL_QUEUED, "C", queue="sales", caller_number="+33612345678"),
        _e(32, ev.CALLBACK_REQUESTED, "C", number="+33612345678"),
    ]
    for event in inbound:
        folder.apply(event)
    asked = folder.calls["C"].record()
    assert asked is not None and asked.direction == "inbound"
    assert (asked.outcome, asked.queue_seconds, asked.agent) == (Outcome.EXITED, 30.0, None)
    assert folder.calls["C"].acd_outcome == "called_back"
    attempt = [
        _e(32, ev.CALL_ARRIVED, "C-cb", dnis="+33612345678", direction="outbound"),
        _e(32, ev.CALL_QUEUED, "C-cb", queue="sales", caller_number="+33612345678", callback=True),
        _e(60, ev.CALL_OFFERED, "C-cb", "bob", queue="sales", offer_id=1),
        _e(75, ev.CALL_FINISHED, "C-cb", "bob", outcome="no_answer", direction="outbound"),
    ]
    for event in attempt:
        folder.apply(event)
    row = folder.calls["C-cb"]
    assert (row.direction, row.agent, row.acd_outcome, row.outcome) == (
        "outbound",
        "bob",
        "no_answer",
        Outcome.EXITED,
    )
    assert folder.calls["C"].outcome == Outcome.EXITED  # the caller's call is untouched
