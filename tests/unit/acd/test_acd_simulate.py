"""The simulator drives the real routing core on a virtual clock: stories and invariants."""

import random
from collections import Counter
from itertools import pairwise

import pytest

from acd import (
    AgentSpec,
    CallFinished,
    CancelOffer,
    Command,
    Event,
    OfferCall,
    Outcome,
    Policy,
    QueueSpec,
    Router,
    SetAgentNotReady,
)
from acd.simulate import (
    CallResult,
    Shift,
    SimulationError,
    SimulationResult,
    simulate,
    staffing_shifts,
)
from acd.state import AgentState
from acd.traffic import (
    CallType,
    SimCall,
    Traffic,
    exponential,
    fixed,
    generate,
    lognormal,
)


class Recorder:
    """A router whose every event and command is kept, to check the run from outside."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self.log: list[tuple[float, Event, list[Command]]] = []

    def handle(self, event: Event, now: float) -> list[Command]:
        commands = self.router.handle(event, now)
        self.log.append((now, event, commands))
        return commands

    def next_deadline(self) -> float | None:
        return self.router.next_deadline()

    def agent_state(self, agent_id: str) -> AgentState:
        return self.router.agent_state(agent_id)


def center(
    agents: int, policy: Policy = Policy.EVEN, wrapup: float | None = 0.0
) -> tuple[Router, list[Shift]]:
    ids = [f"a{i}" for i in range(agents)]
    router = Router(
        [QueueSpec("main", policy=policy, wrapup_seconds=wrapup)],
        [AgentSpec(a, {}, ("main",)) for a in ids],
    )
    return router, [Shift(a) for a in ids]


def run(traffic: Traffic, agents: int, seed: int = 1) -> SimulationResult:
    router, shifts = center(agents)
    return simulate(generate(traffic, random.Random(seed)), router, shifts)


def test_a_lone_call_is_answered_at_once_and_talks_its_handle_time() -> None:
    router, shifts = center(1)
    result = simulate([SimCall(10.0, "main", handle_seconds=100.0)], router, shifts)
    assert result.calls == [
        CallResult(
            "c1", "main", 0, None, 10.0, Outcome.ANSWERED, 0.0, 110.0, "a0", 10.0, 100.0, 0.0
        )
    ]
    assert result.offered == 1 and result.unfinished == 0
    spans = [(agent, str(state), start, end) for agent, state, start, end in result.spans()]
    assert spans == [("a0", "ready", 0.0, 10.0), ("a0", "on_call", 10.0, 110.0)]


def test_the_second_caller_waits_for_the_first_to_finish_and_the_ring_delay_counts() -> None:
    router, shifts = center(1)
    calls = [SimCall(0.0, "main", handle_seconds=50.0), SimCall(10.0, "main", handle_seconds=5.0)]
    result = simulate(calls, router, shifts, ring_delay=2.0)
    first, second = sorted(result.calls)
    assert (first.answered_at, first.ended_at) == (2.0, 52.0)
    assert (second.answered_at, second.queue_seconds) == (54.0, 44.0)


def test_a_caller_out_of_patience_abandons_after_exactly_their_patience() -> None:
    router, shifts = center(1)
    calls = [
        SimCall(0.0, "main", handle_seconds=100.0),
        SimCall(1.0, "main", handle_seconds=10.0, patience=30.0),
    ]
    result = simulate(calls, router, shifts)
    abandoned = [c for c in result.calls if c.outcome is Outcome.ABANDONED]
    assert [(c.call_id, c.queue_seconds, c.agent) for c in abandoned] == [("c2", 30.0, None)]


def test_after_call_work_is_the_callers_own_up_to_the_queues_maximum() -> None:
    router, shifts = center(1, wrapup=20.0)
    calls = [
        SimCall(0.0, "main", handle_seconds=10.0, acw_seconds=5.0),
        SimCall(100.0, "main", handle_seconds=10.0, acw_seconds=50.0),
        SimCall(200.0, "main", handle_seconds=10.0),  # the router's timer ends it
    ]
    result = simulate(calls, router, shifts)
    assert [c.acw_seconds for c in sorted(result.calls)] == [5.0, 20.0, 20.0]
    states = Counter(str(state) for _, state, _, _ in result.spans())
    assert states["wrap_up"] == 3


def test_agents_work_their_shifts_and_finish_the_call_they_are_on() -> None:
    router = Router([QueueSpec("main", wrapup_seconds=0)], [AgentSpec("ann", {}, ("main",))])
    calls = [
        SimCall(50.0, "main", handle_seconds=100.0),
        SimCall(120.0, "main", handle_seconds=10.0),
    ]
    result = simulate(calls, router, [Shift("ann", 10.0, 100.0), Shift("ann", 300.0)])
    first, second = sorted(result.calls)
    assert (first.answered_at, first.ended_at) == (50.0, 150.0)  # ann stays to finish it
    assert second.answered_at == 300.0  # nobody until ann's next shift
    spans = [(str(state), start, end) for _, state, start, end in result.spans()]
    assert spans == [
        ("ready", 10.0, 50.0),
        ("on_call", 50.0, 150.0),
        ("on_call", 300.0, 310.0),
    ]


def test_staffing_plans_become_shifts_and_the_last_ones_stay_to_drain() -> None:
    shifts = staffing_shifts(["a", "b", "c"], [1, 3, 2, 0, 2], 60.0, last_stays=True)
    assert shifts == [
        Shift("a", 0.0, 180.0),
        Shift("a", 240.0, None),
        Shift("b", 60.0, 180.0),
        Shift("b", 240.0, None),
        Shift("c", 60.0, 120.0),
    ]
    with pytest.raises(SimulationError):
        staffing_shifts(["a"], [2], 60.0, last_stays=False)


def test_the_same_seed_gives_the_same_run_and_another_seed_another() -> None:
    traffic = Traffic(20, (200.0,), exponential(120), patience=exponential(90), repeat_share=0.2)
    one, two, other = (run(traffic, 6, seed) for seed in (7, 7, 8))
    assert one.calls == two.calls and list(one.spans()) == list(two.spans())
    assert one.calls != other.calls


def test_every_call_ends_once_and_no_agent_is_ever_booked_twice() -> None:
    """Checked from the router's own commands, independently of the simulator."""
    traffic = Traffic(
        30,
        (150.0, 260.0),
        lognormal(150, 0.8),
        patience=exponential(60),
        mix=(CallType("main", 0, 3), CallType("main", 2, 1)),
        repeat_share=0.3,
        acw=exponential(20),
    )
    router, shifts = center(7, policy=Policy.VALUE, wrapup=40.0)
    recorder = Recorder(router)
    shifts = staffing_shifts([s.agent_id for s in shifts], [7, 5], 3600.0, last_stays=True)
    result = simulate(generate(traffic, random.Random(3)), recorder, shifts, ring_delay=1.5)
    assert result.unfinished == 0
    assert result.offered == len(result.calls) > 5000
    outcomes = Counter(c.outcome for c in result.calls)
    assert outcomes[Outcome.ANSWERED] + outcomes[Outcome.ABANDONED] == result.offered
    assert outcomes[Outcome.ABANDONED] > 100
    holding: dict[str, str] = {}  # agent -> call offered to or talking with them
    finished: set[str] = set()
    for _, _, commands in recorder.log:
        for command in commands:
            if isinstance(command, OfferCall):
                assert command.agent_id not in holding, command
                assert command.call_id not in holding.values(), command
                holding[command.agent_id] = command.call_id
            elif isinstance(command, CancelOffer):
                assert holding.pop(command.agent_id) == command.call_id
            elif isinstance(command, CallFinished):
                assert command.call_id not in finished
                finished.add(command.call_id)
                for agent, call in list(holding.items()):
                    if call == command.call_id:
                        del holding[agent]
    assert finished == {c.call_id for c in result.calls}
    assert holding == {}


def test_an_agent_spends_every_logged_in_second_in_exactly_one_state() -> None:
    traffic = Traffic(10, (300.0,), exponential(100), patience=exponential(40), acw=fixed(10))
    router, shifts = center(8, wrapup=None)
    result = simulate(generate(traffic, random.Random(5)), router, shifts, ring_delay=3.0)
    per_agent: dict[str, list[tuple[float, float]]] = {}
    for agent, _, start, end in result.spans():
        per_agent.setdefault(agent, []).append((start, end))
    for spans in per_agent.values():
        assert spans[0][0] == 0.0 and spans[-1][1] == result.ended_at
        assert all(a[1] == b[0] for a, b in pairwise(spans))


def test_a_dispatcher_that_books_an_agent_twice_is_caught() -> None:
    class DoubleBooking(Recorder):
        def handle(self, event: Event, now: float) -> list[Command]:
            commands = self.router.handle(event, now)
            return [
                OfferCall(c.call_id, "a0", c.queue, c.offer_id, c.ring_timeout)
                if isinstance(c, OfferCall)
                else c
                for c in commands
            ]

    router, shifts = center(2)
    calls = [SimCall(0.0, "main", handle_seconds=60.0), SimCall(1.0, "main", handle_seconds=60.0)]
    with pytest.raises(SimulationError, match="while busy"):
        simulate(calls, DoubleBooking(router), shifts)


def test_calls_with_nobody_to_answer_them_stop_at_the_drain_limit() -> None:
    router, _ = center(1)
    result = simulate([SimCall(0.0, "main", handle_seconds=1.0)], router, [], drain_limit=3600)
    assert result.calls == [] and result.unfinished == 1 and result.offered == 1


def test_generated_traffic_follows_the_rate_profile_and_the_mix() -> None:
    traffic = Traffic(
        48,
        (100.0, 0.0, 300.0),
        exponential(60),
        mix=(CallType("a", 0, 1), CallType("b", 1, 3)),
        interval_minutes=30,
    )
    calls = list(generate(traffic, random.Random(11)))
    assert all(a.arrival <= b.arrival for a, b in pairwise(calls))
    per_slot = Counter(int(c.arrival // 1800) % 3 for c in calls)
    assert per_slot[1] == 0
    assert per_slot[0] == pytest.approx(32 * 50, rel=0.08)
    assert per_slot[2] == pytest.approx(32 * 150, rel=0.05)
    assert len(calls) == pytest.approx(traffic.expected_calls(), rel=0.05)
    queues = Counter(c.queue for c in calls)
    assert queues["b"] / len(calls) == pytest.approx(0.75, abs=0.02)
    assert all((c.queue == "b") == (c.tier == 1) for c in calls)
    assert all(c.patience is None and c.customer_id is None for c in calls)
    assert sum(c.handle_seconds for c in calls) / len(calls) == pytest.approx(60, rel=0.05)


def test_repeat_callers_keep_their_identity_and_durations_have_their_means() -> None:
    traffic = Traffic(200, (100.0,), lognormal(240, 0.7), patience=fixed(45), repeat_share=0.25)
    calls = list(generate(traffic, random.Random(2)))
    customers = Counter(c.customer_id for c in calls)
    repeats = sum(n - 1 for n in customers.values())
    assert repeats / len(calls) == pytest.approx(0.25, abs=0.02)
    assert {c.patience for c in calls} == {45.0}
    assert sum(c.handle_seconds for c in calls) / len(calls) == pytest.approx(240, rel=0.04)


def test_an_agent_too_slow_to_answer_is_set_not_ready_and_comes_back() -> None:
    router = Router(
        [QueueSpec("main", wrapup_seconds=0, ring_timeout=10.0)],
        [AgentSpec("ann", {}, ("main",))],
    )
    recorder = Recorder(router)
    calls = [SimCall(0.0, "main", handle_seconds=5.0, patience=100.0)]
    result = simulate(calls, recorder, [Shift("ann")], ring_delay=12.0, rona_recovery=30.0)
    (call,) = result.calls
    assert (call.outcome, call.queue_seconds) == (Outcome.ABANDONED, 100.0)
    not_ready = [
        now
        for now, _, commands in recorder.log
        for command in commands
        if isinstance(command, SetAgentNotReady)
    ]
    assert not_ready == [10.0, 50.0, 90.0]  # rung at 0, 40, 80: no answer within 10 s each time
