"""Wrap-up: after-call work up to the queue's maximum, extended on request."""

import pytest
from acd_story import agent, answer, offers, ready

from acd import (
    AgentNotReady,
    AgentReady,
    AgentState,
    CallEnded,
    CallerHungUp,
    CallFinished,
    CallQueued,
    ClockTick,
    OfferCall,
    Outcome,
    OverflowRule,
    Policy,
    QueueSpec,
    Router,
    RoutingError,
    SetAgentReady,
    SetAgentWrapUp,
    WrapUpDone,
    WrapUpExtended,
)


def talking_router(wrapup_seconds: float | None = 30.0) -> Router:
    """ann talks on c1 (answered at 2); c2 waits behind."""
    router = Router(
        [QueueSpec("sales", policy=Policy.EVEN, wrapup_seconds=wrapup_seconds)],
        [agent("ann", "sales")],
    )
    ready(router, "ann", 0)
    answer(router, router.handle(CallQueued("c1", "sales"), 1), 2)
    router.handle(CallQueued("c2", "sales"), 3)
    return router


def test_the_agent_is_ready_again_when_the_wrap_up_time_is_over() -> None:
    router = talking_router()
    assert router.handle(CallEnded("c1"), 10) == [
        CallFinished("c1", Outcome.ANSWERED),
        SetAgentWrapUp("ann", until=40.0),
    ]
    assert router.agent_state("ann") is AgentState.WRAP_UP
    assert router.next_deadline() == 40.0
    assert router.handle(ClockTick(), 39) == []
    assert router.handle(ClockTick(), 40) == [
        SetAgentReady("ann"),
        OfferCall("c2", "ann", "sales", offer_id=2, ring_timeout=15.0),
    ]


def test_the_agent_may_finish_early_and_the_old_deadline_does_nothing() -> None:
    router = talking_router()
    router.handle(CallEnded("c1"), 10)
    commands = router.handle(WrapUpDone("ann"), 15)
    assert offers(commands) == [("c2", "ann")]
    answer(router, commands, 16)
    assert router.handle(ClockTick(), 40) == []
    assert router.agent_state("ann") is AgentState.ON_CALL


def test_ready_also_ends_wrap_up() -> None:
    router = talking_router()
    router.handle(CallEnded("c1"), 10)
    assert offers(router.handle(AgentReady("ann"), 15)) == [("c2", "ann")]


def test_more_time_moves_the_deadline() -> None:
    router = talking_router()
    router.handle(CallEnded("c1"), 10)
    assert router.handle(WrapUpExtended("ann", 60), 35) == [SetAgentWrapUp("ann", until=95.0)]
    assert router.next_deadline() == 95.0
    assert router.handle(ClockTick(), 40) == []
    assert router.agent_state("ann") is AgentState.WRAP_UP
    assert offers(router.handle(ClockTick(), 95)) == [("c2", "ann")]


def test_unlimited_extra_time_keeps_the_agent_in_wrap_up_until_done() -> None:
    router = talking_router()
    router.handle(CallEnded("c1"), 10)
    assert router.handle(WrapUpExtended("ann"), 20) == [SetAgentWrapUp("ann", until=None)]
    assert router.next_deadline() is None
    assert router.handle(ClockTick(), 1000) == []
    assert router.agent_state("ann") is AgentState.WRAP_UP
    assert offers(router.handle(WrapUpDone("ann"), 1001)) == [("c2", "ann")]


def test_more_time_must_be_some_time() -> None:
    router = talking_router()
    router.handle(CallEnded("c1"), 10)
    with pytest.raises(RoutingError, match="'ann': wrap-up extension must be > 0 s"):
        router.handle(WrapUpExtended("ann", 0), 11)
    assert router.next_deadline() == 40.0


def test_a_queue_without_wrap_up_makes_the_agent_ready_at_once() -> None:
    router = talking_router(wrapup_seconds=0)
    assert router.handle(CallEnded("c1"), 10) == [
        CallFinished("c1", Outcome.ANSWERED),
        SetAgentReady("ann"),
        OfferCall("c2", "ann", "sales", offer_id=2, ring_timeout=15.0),
    ]


def test_a_queue_without_a_maximum_waits_for_the_agent() -> None:
    router = talking_router(wrapup_seconds=None)
    assert router.handle(CallEnded("c1"), 10)[-1] == SetAgentWrapUp("ann", until=None)
    assert router.next_deadline() is None


def test_done_or_more_time_after_the_maximum_is_a_harmless_race() -> None:
    router = talking_router()
    router.handle(CallEnded("c1"), 10)
    router.handle(ClockTick(), 40)  # ready, then offered c2
    assert router.handle(WrapUpDone("ann"), 41) == []
    assert router.handle(WrapUpExtended("ann", 30), 41) == []
    assert router.agent_state("ann") is AgentState.RESERVED


def test_going_not_ready_from_wrap_up() -> None:
    router = talking_router()
    router.handle(CallEnded("c1"), 10)
    assert router.handle(AgentNotReady("ann", "break"), 20) == []
    assert router.agent_state("ann") is AgentState.NOT_READY
    assert router.handle(ClockTick(), 40) == []


def test_the_caller_hanging_up_while_talking_also_starts_wrap_up() -> None:
    router = talking_router()
    assert router.handle(CallerHungUp("c1"), 10) == [
        CallFinished("c1", Outcome.ANSWERED),
        SetAgentWrapUp("ann", until=40.0),
    ]


def test_the_maximum_is_the_one_of_the_queue_the_agent_took_the_call_through() -> None:
    router = Router(
        [
            QueueSpec("sales", wrapup_seconds=30, overflow=(OverflowRule(10, "support"),)),
            QueueSpec("support", wrapup_seconds=90),
        ],
        [agent("sam", "support")],
    )
    ready(router, "sam", 0)
    router.handle(CallQueued("c1", "sales"), 1)
    commands = router.handle(ClockTick(), 11)
    assert offers(commands) == [("c1", "sam")]
    answer(router, commands, 12)
    assert router.handle(CallEnded("c1"), 20)[-1] == SetAgentWrapUp("sam", until=110.0)
