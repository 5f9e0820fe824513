"""The live aggregates equal `summarise` over the fold's records, whatever the event stream."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports import events as ev
from reports.events import DomainEvent
from reports.fold import CallChanged, CallRow, Folded, Folder, StateInterval
from reports.grouping import bucket_start
from reports.kpis import (
    AgentInterval,
    CallRecord,
    fcr_rate,
    service_level_bands,
    summarise,
)
from reports.live import LiveBoard, LiveOptions, LiveStats

T0 = 1_799_971_200.0  # a midnight (UTC)
DAY_START = T0 + 8 * 3600
AGENTS = ["ann", "bob", "cid"]
QUEUES = ["sales", "support"]


def event(at: float, kind: str, call_id: str | None = None, **fields: Any) -> DomainEvent:
    return DomainEvent("acme", at, kind, call_id, **fields)


ms = st.integers(0, 90_000).map(lambda n: n / 1000)


@st.composite
def call_script(draw: st.DrawFn, n: int) -> list[DomainEvent]:
    """One call's life: arrive, queue, offers, then an outcome (or still waiting)."""
    call = f"c{n}"
    t = DAY_START + draw(st.integers(0, 3 * 3600 * 1000)) / 1000
    queue = draw(st.sampled_from(QUEUES))
    out = [event(t, ev.CALL_ARRIVED, call, data={"ani": draw(st.sampled_from(["+331", ""]))})]
    t += draw(ms)
    customer = draw(st.sampled_from([None, "k1", "k2"]))
    number = draw(st.sampled_from([None, "+33 1", "anonymous", "+332"]))
    out.append(
        event(
            t,
            ev.CALL_QUEUED,
            call,
            queue=queue,
            data={"customer_id": customer, "caller_number": number, "tier": 1},
        )
    )
    for _ in range(draw(st.integers(0, 2))):
        agent = draw(st.sampled_from(AGENTS))
        t += draw(ms)
        out.append(event(t, ev.CALL_OFFERED, call, agent_id=agent, queue=queue))
        t += draw(ms)
        out.append(event(t, ev.CALL_OFFER_MISSED, call, agent_id=agent))
    fate = draw(st.sampled_from(["answered", "abandoned", "routed_out", "called_back", "waiting"]))
    t += draw(ms)
    if fate == "answered":
        agent = draw(st.sampled_from(AGENTS))
        out.append(event(t, ev.CALL_OFFERED, call, agent_id=agent, queue=queue))
        t += draw(ms)
        out.append(event(t, ev.CALL_ANSWERED, call, agent_id=agent))
        out.append(state(t, agent, "on_call"))
        for _ in range(draw(st.integers(0, 2))):
            t += draw(ms)
            out.append(event(t, ev.CALL_HELD, call, agent_id=agent))
            t += draw(ms)
            out.append(event(t, ev.CALL_UNHELD, call, agent_id=agent))
        if draw(st.booleans()):
            t += draw(ms)
            out.append(event(t, ev.CALL_TRANSFERRED, call, agent_id=agent, data={"kind": "blind"}))
        t += draw(ms)
        if draw(st.booleans()):  # hung up while on hold
            out.append(event(t, ev.CALL_HELD, call, agent_id=agent))
            t += draw(ms)
        out.append(event(t, ev.CALL_FINISHED, call, data={"outcome": "answered"}))
        out.append(state(t, agent, "wrap_up"))
        resolved = draw(st.sampled_from([None, True, False]))
        if draw(st.booleans()):
            t += draw(ms)
            out.append(
                event(t, ev.CALL_WRAPPED_UP, call, agent_id=agent, data={"resolved": resolved})
            )
        if draw(st.booleans()):  # the ACW ends after the finish: the record changes again
            t += draw(ms)
            out.append(state(t, agent, draw(st.sampled_from(["ready", "not_ready"]))))
    elif fate == "abandoned":
        out.append(event(t, ev.CALL_FINISHED, call, data={"outcome": "abandoned"}))
    elif fate == "routed_out":
        out.append(event(t, ev.CALL_ROUTED_OUT, call, data={"kind": "voicemail"}))
        out.append(event(t, ev.CALL_FINISHED, call, data={"outcome": "routed_out"}))
    elif fate == "called_back":
        out.append(event(t, ev.CALLBACK_REQUESTED, call, data={"number": "+331"}))
        t += draw(ms)
        out.append(event(t, ev.CALL_FINISHED, call, data={"outcome": "called_back"}))
    if fate != "waiting" and draw(st.booleans()):
        t += draw(ms)
        out.append(event(t, ev.CALL_HUNGUP, call, data={"cause": 16}))
    return out


def state(at: float, agent: str, name: str, reason: str = "") -> DomainEvent:
    return event(at, ev.AGENT_STATE, agent_id=agent, data={"state": name, "reason": reason})


@st.composite
def agent_script(draw: st.DrawFn, agent: str) -> list[DomainEvent]:
    t = DAY_START - draw(st.integers(0, 3600))
    out = []
    for _ in range(draw(st.integers(0, 5))):
        name = draw(st.sampled_from(["ready", "not_ready", "logged_out", "reserved"]))
        out.append(state(t, agent, name, "lunch" if name == "not_ready" else ""))
        t += draw(st.integers(0, 3600 * 1000)) / 1000
    return out


@st.composite
def streams(draw: st.DrawFn) -> list[DomainEvent]:
    scripts = [draw(call_script(n)) for n in range(draw(st.integers(1, 12)))]
    scripts += [draw(agent_script(a)) for a in AGENTS]
    everything = [(e.at, i, j, e) for i, s in enumerate(scripts) for j, e in enumerate(s)]
    return [e for *_, e in sorted(everything, key=lambda x: x[:3])]


class Reference:
    """The fold, and what `summarise` says of its records and intervals."""

    def __init__(self) -> None:
        self.folder = Folder("acme")
        self.closed: list[AgentInterval] = []

    def apply(self, e: DomainEvent) -> Any:
        folded = self.folder.apply(e)
        self.closed += [i for s in folded.intervals if (i := s.interval()) is not None]
        return folded

    def records(self) -> list[CallRecord]:
        return [r for row in self.folder.calls.values() if (r := row.record()) is not None]

    def intervals(self, now: float) -> list[AgentInterval]:
        opened = []
        for agent, a in self.folder.agents.items():
            name = "hold" if a.holding else a.state
            interval = StateInterval(agent, name, "", a.since, now).interval()
            if interval is not None:
                opened.append(interval)
        return self.closed + opened


def clip(intervals: list[AgentInterval], start: float, end: float) -> list[AgentInterval]:
    out = []
    for i in intervals:
        lo, hi = max(i.start, start), min(i.end, end)
        if hi > lo:
            out.append(AgentInterval(i.agent, i.state, lo, hi))
    return out


def same(live: dict[str, Any], ref: dict[str, Any], calls: list[CallRecord], where: str) -> None:
    for name, expected in ref.items():
        got = live[name]
        if expected is None or isinstance(expected, int):
            assert got == expected, f"{where}: {name} = {got}, summarise says {expected}"
        elif name.startswith("occupancy"):
            # ratios of spans: live sums whole microseconds, summarise float differences of
            # epoch times (2.4e-7 s apart near 1.8e9), so spans of a few ms differ by ~1e-4
            assert got == pytest.approx(expected, abs=1e-6, rel=1e-4), f"{where}: {name}"
        else:
            assert got == pytest.approx(expected, abs=1e-6), f"{where}: {name}"
    bands = service_level_bands(calls)
    assert live["service_level_bands"] == pytest.approx(bands), where


def check_scopes(
    live_total: dict[str, Any],
    live_queues: dict[str, dict[str, Any]],
    live_agents: dict[str, dict[str, Any]],
    calls: list[CallRecord],
    intervals: list[AgentInterval],
    where: str,
) -> None:
    same(live_total, summarise(calls, intervals), calls, f"{where} total")
    by_queue: dict[str, list[CallRecord]] = defaultdict(list)
    by_agent: dict[str, list[CallRecord]] = defaultdict(list)
    agent_time: dict[str, list[AgentInterval]] = defaultdict(list)
    for c in calls:
        by_queue[c.queue].append(c)
        if c.agent is not None:
            by_agent[c.agent].append(c)
    for i in intervals:
        agent_time[i.agent].append(i)
    assert set(by_queue) <= set(live_queues)
    for q, queue_calls in by_queue.items():
        same(live_queues[q], summarise(queue_calls), queue_calls, f"{where} queue {q}")
    for a in set(by_agent) | set(agent_time):
        if not by_agent[a] and not any(i.end > i.start for i in agent_time[a]):
            continue
        assert a in live_agents, f"{where}: agent {a} missing"
        ref = summarise(by_agent[a], agent_time[a])
        same(live_agents[a], ref, by_agent[a], f"{where} agent {a}")


def check(live: LiveStats, ref: Reference, now: float) -> None:
    calls = ref.records()
    intervals = ref.intervals(now)
    snap = live.snapshot(now)
    day = T0
    check_scopes(
        snap,
        snap["queues"],
        snap["agents"],
        [c for c in calls if c.arrived_at >= day],
        clip(intervals, day, day + 86400),
        "today",
    )
    buckets = live.interval_stats(now)
    expected = {bucket_start(c.arrived_at, 15) for c in calls}
    assert expected <= set(buckets)
    for start, figures in buckets.items():
        mine = [c for c in calls if bucket_start(c.arrived_at, 15) == start]
        pieces = clip(intervals, start, start + 900)
        check_scopes(
            figures["total"], figures["queues"], figures["agents"], mine, pieces, f"{start}"
        )
    current = bucket_start(now, 15)
    mine = [c for c in calls if bucket_start(c.arrived_at, 15) == current]
    same(snap["interval"], summarise(mine, clip(intervals, current, current + 900)), mine, "now")


@settings(max_examples=150, deadline=None)
@given(streams(), st.integers(0, 3600), st.data())
def test_live_equals_summarise_of_the_folds_records(
    stream: list[DomainEvent], later: int, data: st.DataObject
) -> None:
    ref, live = Reference(), LiveStats("acme")
    cut = data.draw(st.integers(0, len(stream)))
    for n, e in enumerate(stream):
        live.apply(e, ref.apply(e))
        if n + 1 == cut:  # also in the middle of the stream
            check(live, ref, e.at)
    check(live, ref, stream[-1].at + later)


@settings(max_examples=60, deadline=None)
@given(streams())
def test_waiting_calls_and_agent_states(stream: list[DomainEvent]) -> None:
    ref, live = Reference(), LiveStats("acme")
    for e in stream:
        live.apply(e, ref.apply(e))
    now = stream[-1].at + 5
    snap = live.snapshot(now)
    rows = ref.folder.calls.values()
    waiting = [r for r in rows if r.queued_at is not None and r.left_queue_at is None]
    assert snap["calls_waiting"] == len(waiting)
    if waiting:
        oldest = min(r.queued_at for r in waiting if r.queued_at is not None)
        assert snap["longest_current_wait_seconds"] == pytest.approx(now - oldest)
    else:
        assert snap["longest_current_wait_seconds"] is None
    for q in QUEUES:
        mine = [r for r in waiting if r.queue == q]
        if mine or q in snap["queues"]:
            assert snap["queues"][q]["calls_waiting"] == len(mine)
    by_state: dict[str, int] = defaultdict(int)
    for agent, a in ref.folder.agents.items():
        shown = "hold" if a.holding else a.state
        if a.state != "logged_out":
            by_state[shown] += 1
        figures = snap["agents"][agent]
        assert figures["state"] == shown
        assert figures["seconds_in_state"] == pytest.approx(now - a.since)
    assert snap["agents_by_state"] == dict(by_state)


def run(live: LiveStats, ref: Reference, events: list[DomainEvent]) -> None:
    for e in events:
        live.apply(e, ref.apply(e))


def answered_call(call: str, agent: str, t: float, wait: float, talk: float) -> list[DomainEvent]:
    return [
        event(t, ev.CALL_QUEUED, call, queue="sales"),
        event(t + wait, ev.CALL_ANSWERED, call, agent_id=agent),
        state(t + wait, agent, "on_call"),
        event(t + wait + talk, ev.CALL_FINISHED, call, data={"outcome": "answered"}),
        state(t + wait + talk, agent, "wrap_up"),
    ]


def test_acw_arriving_after_the_finish_is_retracted_and_added_again() -> None:
    live, ref = LiveStats("acme"), Reference()
    run(live, ref, [state(DAY_START, "ann", "ready")])
    run(live, ref, answered_call("c1", "ann", DAY_START + 10, 12, 60))
    now = DAY_START + 90
    figures = live.agent_stats("ann", now)
    assert figures["answered"] == 1 and figures["calls_handled"] == 1
    assert figures["avg_acw_seconds"] is None and figures["aht_seconds"] is None
    assert figures["avg_talk_seconds"] == pytest.approx(60)
    assert figures["state"] == "wrap_up" and figures["seconds_in_state"] == pytest.approx(8)
    run(live, ref, [state(DAY_START + 112, "ann", "ready")])  # 30 s of ACW
    figures = live.agent_stats("ann", DAY_START + 120)
    assert figures["answered"] == 1  # retracted, then added: still one call
    assert figures["avg_acw_seconds"] == pytest.approx(30)
    assert figures["aht_seconds"] == pytest.approx(90)
    total = live.total_stats(DAY_START + 120)
    assert total["offered"] == 1 and total["aht_seconds"] == pytest.approx(90)
    # occupancy: 60 talk / (60 talk + 22 + 8 ready); with ACW: 90 / 120
    assert total["occupancy"] == pytest.approx(60 / 90)
    assert total["occupancy_with_acw"] == pytest.approx(90 / 120)
    check(live, ref, DAY_START + 120)


def test_interval_and_day_roll_over() -> None:
    live, ref = LiveStats("acme", LiveOptions(minutes=30)), Reference()
    run(live, ref, answered_call("c1", "ann", DAY_START + 60, 5, 30))
    run(live, ref, [event(DAY_START + 70, ev.CALL_QUEUED, "c2", queue="sales")])
    run(live, ref, [event(DAY_START + 100, ev.CALL_FINISHED, "c2", data={"outcome": "abandoned"})])
    now = DAY_START + 200
    snap = live.total_stats(now)
    assert snap["interval"]["interval_start"] == DAY_START
    assert snap["interval"]["interval_minutes"] == 30
    assert snap["interval"]["offered"] == snap["offered"] == 2
    assert snap["abandon_rate"] == pytest.approx(0.5)
    # half an hour later a new interval starts clean; the day keeps counting
    snap = live.total_stats(DAY_START + 1800)
    assert snap["interval"]["interval_start"] == DAY_START + 1800
    assert snap["interval"]["offered"] == 0 and snap["interval"]["asa_seconds"] is None
    assert snap["offered"] == 2 and snap["asa_seconds"] == pytest.approx(5)
    queue = live.queue_stats("sales", DAY_START + 1800)
    assert queue["offered"] == 2 and queue["interval"]["offered"] == 0
    # a call that entered the queue in the last interval and is answered in this one
    # counts in the interval it arrived in, as in the historical reports
    run(live, ref, answered_call("c3", "bob", DAY_START + 1790, 20, 10))
    intervals = live.interval_stats(DAY_START + 1900)
    assert intervals[DAY_START]["total"]["offered"] == 3
    assert live.total_stats(DAY_START + 1900)["interval"]["offered"] == 0
    # the next day starts clean; yesterday's buckets go the day after
    tomorrow = T0 + 86400 + 60
    snap = live.total_stats(tomorrow)
    assert snap["day_start"] == T0 + 86400
    assert snap["offered"] == 0 and snap["longest_wait_seconds"] is None
    assert live.queue_stats("sales", tomorrow)["offered"] == 0
    run(live, ref, [event(tomorrow, ev.CALL_QUEUED, "c4", queue="sales")])
    run(live, ref, [event(tomorrow + 3, ev.CALL_FINISHED, "c4", data={"outcome": "abandoned"})])
    snap = live.total_stats(tomorrow + 10)
    assert snap["offered"] == 1 and snap["short_abandoned"] == 1
    assert snap["abandon_rate_excl_short"] is None
    live.advance(T0 + 2 * 86400 + 1)
    assert min(live.days) == T0 + 86400 and min(live.intervals) >= T0 + 86400


def test_seed_rebuilds_the_figures_of_stored_rows() -> None:
    ref = Reference()
    stream = [state(DAY_START, "ann", "ready"), state(DAY_START, "bob", "ready")]
    stream += answered_call("c1", "ann", DAY_START + 5, 3, 40)
    stream += answered_call("c2", "bob", DAY_START + 7, 25, 70)
    stream += [
        state(DAY_START + 200, "ann", "ready"),
        event(DAY_START + 300, ev.CALL_QUEUED, "c3", queue="support"),
        event(DAY_START + 330, ev.CALL_FINISHED, "c3", data={"outcome": "abandoned"}),
    ]
    live = LiveStats("acme")
    stored: list[StateInterval] = []
    for e in stream:
        folded = ref.apply(e)
        stored += folded.intervals
        live.apply(e, folded)
    now = DAY_START + 400
    seeded = LiveBoard().tenant("acme")
    seeded.seed(ref.records(), stored, now=now)
    for agent, a in ref.folder.agents.items():
        seeded.seed_agent(agent, a.state, a.since, a.reason)
    assert seeded.snapshot(now) == live.snapshot(now)
    check(seeded, ref, now)


def test_per_queue_service_level_and_bands() -> None:
    live, ref = LiveStats("acme"), Reference()
    for n, wait in enumerate([3, 20, 20.5, 45, 130]):
        run(live, ref, answered_call(f"c{n}", "ann", DAY_START + n * 200, wait, 10))
    figures = live.queue_stats("sales", DAY_START + 2000)
    assert figures["service_level"] == pytest.approx(2 / 5)  # a wait of exactly 20 s counts
    assert figures["service_level_bands"][5] == pytest.approx(1 / 5)
    assert figures["service_level_bands"][50] == pytest.approx(4 / 5)
    assert figures["service_level_bands"][120] == pytest.approx(4 / 5)
    assert figures["longest_wait_seconds"] == 130
    assert figures["occupancy"] is None  # agent time belongs to no queue
    check(live, ref, DAY_START + 2000)


def test_each_queue_counts_its_own_agents_by_state() -> None:
    live, ref = LiveStats("acme"), Reference()
    live.serve("sales", ["ann", "bob"])
    live.serve("support", ["bob", "cid"])
    run(live, ref, [state(DAY_START, "ann", "ready"), state(DAY_START, "bob", "not_ready")])
    run(live, ref, [state(DAY_START, "cid", "ready"), state(DAY_START, "dan", "ready")])
    run(live, ref, [state(DAY_START + 5, "cid", "logged_out")])
    assert live.queues_of("bob") == ("sales", "support") and live.queues_of("dan") == ()
    assert live.queue_stats("sales", DAY_START + 9)["agents_by_state"] == {
        "not_ready": 1,
        "ready": 1,
    }
    assert live.queue_stats("support", DAY_START + 9)["agents_by_state"] == {"not_ready": 1}
    assert live.queue_stats("vip", DAY_START + 9)["agents_by_state"] == {}  # no one serves it
    assert live.total_stats(DAY_START + 9)["agents_by_state"] == {"not_ready": 1, "ready": 2}


def test_an_agent_on_hold_shows_hold_with_the_time_since_the_hold() -> None:
    live, ref = LiveStats("acme"), Reference()
    run(live, ref, [state(DAY_START, "ann", "ready"), state(DAY_START, "bob", "not_ready")])
    run(live, ref, [event(DAY_START + 1, ev.CALL_QUEUED, "c1", queue="sales")])
    run(live, ref, [event(DAY_START + 4, ev.CALL_ANSWERED, "c1", agent_id="ann")])
    run(live, ref, [state(DAY_START + 4, "ann", "on_call")])
    run(live, ref, [event(DAY_START + 30, ev.CALL_HELD, "c1", agent_id="ann")])
    snap = live.snapshot(DAY_START + 40)
    assert snap["agents_by_state"] == {"hold": 1, "not_ready": 1}
    assert snap["agents"]["ann"]["state"] == "hold"
    assert snap["agents"]["ann"]["seconds_in_state"] == pytest.approx(10)
    assert snap["calls_waiting"] == 0 and snap["offered"] == 0  # answered, not finished
    run(live, ref, [event(DAY_START + 45, ev.CALL_UNHELD, "c1", agent_id="ann")])
    assert live.agent_stats("ann", DAY_START + 50)["state"] == "on_call"
    check(live, ref, DAY_START + 50)


def test_an_overflowed_call_waits_in_its_new_queue_since_it_first_queued() -> None:
    live, ref = LiveStats("acme"), Reference()
    run(live, ref, [event(DAY_START, ev.CALL_QUEUED, "c1", queue="sales")])
    run(live, ref, [event(DAY_START + 5, ev.CALL_QUEUED, "c2", queue="sales")])
    run(live, ref, [event(DAY_START + 60, ev.CALL_OVERFLOWED, "c1", data={"to_queue": "help"})])
    assert live.queue_stats("sales", DAY_START + 70)["calls_waiting"] == 1
    help_desk = live.queue_stats("help", DAY_START + 70)
    assert help_desk["calls_waiting"] == 1
    assert help_desk["longest_current_wait_seconds"] == pytest.approx(70)
    run(live, ref, [event(DAY_START + 80, ev.CALLBACK_REQUESTED, "c1", data={"number": "1"})])
    run(live, ref, [event(DAY_START + 81, ev.CALL_HUNGUP, "c2", data={"cause": 16})])
    snap = live.total_stats(DAY_START + 90)
    assert snap["calls_waiting"] == 0 and snap["longest_current_wait_seconds"] is None
    # a callback's visit waiting for an agent has no caller on the line
    visit = {"callback": True, "caller_number": "1"}
    run(live, ref, [event(DAY_START + 95, ev.CALL_QUEUED, "c1-cb", queue="sales", data=visit)])
    assert live.queue_stats("sales", DAY_START + 99)["calls_waiting"] == 0


answered_records = st.builds(
    lambda n, at, key: CallRecord(
        call_id=f"c{n}",
        queue="sales",
        arrived_at=DAY_START + at,
        ended_at=DAY_START + at + 30,
        outcome="answered",
        queue_seconds=3.0,
        agent="ann",
        customer_id=key,
        caller_number="+331" if key is None else None,
    ),
    st.integers(0, 10**6),
    st.integers(0, 4 * 3600),
    st.sampled_from([None, "k1", "k2"]),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), answered_records), max_size=40))
def test_fcr_is_kept_exactly_under_insertion_and_retraction(
    steps: list[tuple[bool, CallRecord]],
) -> None:
    """Calls come and go (a record retracted and added again) across cluster boundaries."""
    window = 1800 / 86400  # half an hour: some gaps join, some split
    live = LiveStats("acme", LiveOptions(fcr_window_days=window))
    current: dict[str, CallRecord] = {}
    for add, record in steps:
        before = current.get(record.call_id)
        after = record if add else None
        if after is None:
            current.pop(record.call_id, None)
        else:
            current[record.call_id] = after
        change = CallChanged(record.call_id, before, after, CallRow("acme", record.call_id))
        live.apply(event(DAY_START, ev.CALL_WRAPPED_UP, record.call_id), Folded([change]))
        got = live.total_stats(DAY_START + 5 * 3600)["fcr_rate"]
        want = fcr_rate(current.values(), window)
        assert got == (None if want is None else pytest.approx(want))


def test_calls_we_place_stay_out_of_the_callers_figures_but_keep_the_agent_busy() -> None:
    live, ref = LiveStats("acme"), Reference()
    run(live, ref, [state(DAY_START, "ann", "ready")])
    dialed = answered_call("o1", "ann", DAY_START + 10, 4, 60)
    dialed.insert(0, event(DAY_START + 10, ev.CALL_ARRIVED, "o1", data={"direction": "outbound"}))
    run(live, ref, dialed)
    now = DAY_START + 100
    assert live.queue_stats("sales", now)["offered"] == 0
    assert live.total_stats(now)["offered"] == 0
    ann = live.agent_stats("ann", now)
    assert ann["answered"] == 0  # no inbound call answered ...
    assert ann["occupancy"] == pytest.approx(60 / 74)  # ... but 60 s talking, 14 s ready
