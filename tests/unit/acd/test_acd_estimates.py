"""Position and estimated wait, for the caller's announcements."""

from typing import Any

import pytest
from acd_story import agent, answer, offers, ready

from acd import (
    AgentNotReady,
    Announce,
    CallbackRequested,
    CallEnded,
    CallQueued,
    ClockTick,
    OfferAnswered,
    Policy,
    QueueSpec,
    Router,
    RouterSettings,
    WrapUpDone,
)
from acd.estimates import HandleTimes, estimated_wait


def busy_center(**fields: Any) -> Router:
    """ann and bob talk (answered at 1); c3, c4 and c5 wait."""
    spec = QueueSpec("sales", policy=Policy.EVEN, expected_handle_seconds=120, **fields)
    router = Router([spec], [agent("ann", "sales"), agent("bob", "sales")])
    ready(router, "ann", 0)
    ready(router, "bob", 0)
    answer(router, router.handle(CallQueued("c1", "sales"), 1), 1)
    answer(router, router.handle(CallQueued("c2", "sales"), 1), 1)
    for number, now in ((3, 2), (4, 3), (5, 4)):
        router.handle(CallQueued(f"c{number}", "sales"), now)
    return router


def test_position_and_wait_use_the_expected_handle_time_at_first() -> None:
    router = busy_center()
    assert [router.position(f"c{n}") for n in (3, 4, 5)] == [1, 2, 3]
    # position x handle time / staffed agents: p x 120 / 2
    assert [router.estimated_wait(f"c{n}") for n in (3, 4, 5)] == [60.0, 120.0, 180.0]


def test_the_wait_estimate_learns_the_measured_handle_time() -> None:
    router = busy_center()
    router.handle(CallEnded("c1"), 61)
    assert offers(router.handle(WrapUpDone("ann"), 91)) == [("c3", "ann")]  # handled in 90 s
    assert router.estimated_wait("c4") == 45.0  # 1 x 90 / 2


def test_agents_not_ready_are_not_counted_and_nobody_means_unknown() -> None:
    router = busy_center()
    router.handle(CallEnded("c1"), 10)
    router.handle(AgentNotReady("ann", "break"), 11)  # c1 was handled in 10 s
    assert router.estimated_wait("c3") == 10.0  # 1 x 10 / 1: only bob is staffed
    router.handle(CallEnded("c2"), 12)
    router.handle(AgentNotReady("bob", "break"), 13)
    assert router.estimated_wait("c3") is None


def test_calls_not_in_line_have_no_position() -> None:
    router = busy_center()
    assert router.position("c1") is None
    assert router.estimated_wait("c1") is None
    router.handle(CallEnded("c1"), 10)
    assert router.position("c1") is None


def test_callers_hear_their_place_on_entry_and_then_at_each_interval() -> None:
    spec = QueueSpec("sales", announce_every_seconds=20, expected_handle_seconds=120)
    router = Router([spec], [agent("ann", "sales")])
    assert router.handle(CallQueued("c1", "sales"), 0) == [Announce("c1", 1, None)]
    assert router.handle(CallQueued("c2", "sales"), 5) == [Announce("c2", 2, None)]
    assert router.handle(ClockTick(), 20) == [Announce("c1", 1, None)]
    assert router.handle(ClockTick(), 25) == [Announce("c2", 2, None)]
    assert offers(ready(router, "ann", 30)) == [("c1", "ann")]
    assert router.handle(ClockTick(), 40) == []  # c1 is ringing: nothing to announce
    assert router.handle(OfferAnswered("c1", "ann"), 41) == []
    assert router.handle(ClockTick(), 45) == [Announce("c2", 1, 120.0)]
    assert router.handle(ClockTick(), 60) == []  # c1 talks: its announcements are over


def test_a_caller_who_asked_for_a_callback_hears_nothing_more() -> None:
    spec = QueueSpec("sales", announce_every_seconds=20)
    router = Router([spec])
    router.handle(CallQueued("c1", "sales"), 0)
    router.handle(CallbackRequested("c1", "+15550100"), 5)
    assert router.handle(ClockTick(), 20) == []
    assert router.next_deadline() is None


def test_handle_times_are_a_rolling_mean_over_a_window() -> None:
    times = HandleTimes(window=2, default=100.0)
    assert times.mean() == 100.0
    times.add(60)
    assert times.mean() == 60.0
    times.add(80)
    times.add(100)
    assert times.mean() == 90.0
    times.add(-5)  # a clock quirk never makes a negative handle time
    assert times.mean() == 50.0


def test_the_rolling_mean_stays_exact_over_many_calls() -> None:
    times = HandleTimes(window=3, default=0.0)
    for seconds in [0.1, 0.2, 0.7] * 10_000 + [1.0, 2.0, 3.0]:
        times.add(seconds)
    assert times.mean() == 2.0


@pytest.mark.parametrize(("window", "expected"), [(1, 10.0), (50, 30.0)])
def test_the_window_is_a_router_setting(window: int, expected: float) -> None:
    spec = QueueSpec("sales", policy=Policy.EVEN, wrapup_seconds=0)
    settings = RouterSettings(handle_time_window=window)
    router = Router([spec], [agent("ann", "sales")], settings)
    ready(router, "ann", 0)
    for number, (start, end) in enumerate(((0, 50), (60, 70))):  # handled in 50 s, then 10 s
        answer(router, router.handle(CallQueued(f"c{number}", "sales"), start), start)
        router.handle(CallEnded(f"c{number}"), end)
    answer(router, router.handle(CallQueued("c2", "sales"), 80), 80)
    router.handle(CallQueued("late", "sales"), 81)
    assert router.estimated_wait("late") == expected


@pytest.mark.parametrize(
    ("position", "handle", "staffed", "expected"),
    [(1, 120.0, 2, 60.0), (3, 90.0, 3, 90.0), (1, 100.0, 0, None)],
)
def test_estimated_wait_formula(
    position: int, handle: float, staffed: int, expected: float | None
) -> None:
    assert estimated_wait(position, handle, staffed) == expected
