"""The agents' own outbound calls: on a call (offered nothing) while they talk, then
wrap-up like any call, then ready, or not ready again if they were before."""

import pytest
from acd_story import agent, answer, offers, ready

from acd import (
    AgentLoggedIn,
    AgentNotReady,
    AgentReady,
    AgentState,
    CallQueued,
    ClockTick,
    IllegalTransition,
    OutboundAnswered,
    OutboundEnded,
    Policy,
    QueueSpec,
    Router,
    RoutingError,
    SetAgentNotReady,
    SetAgentReady,
    SetAgentWrapUp,
    WrapUpDone,
)


def router(sales_wrapup: float | None = 30.0, support_wrapup: float | None = 10.0) -> Router:
    return Router(
        [
            QueueSpec("sales", policy=Policy.EVEN, wrapup_seconds=sales_wrapup),
            QueueSpec("support", policy=Policy.EVEN, wrapup_seconds=support_wrapup),
        ],
        [agent("ann", "sales", "support"), agent("bob", "sales")],
    )


def test_a_ready_agent_on_an_outbound_call_is_on_call_and_offered_nothing() -> None:
    r = router()
    ready(r, "ann", 0)
    assert r.handle(OutboundAnswered("ann"), 1) == []
    assert r.agent_state("ann") is AgentState.ON_CALL
    assert offers(r.handle(CallQueued("c1", "sales"), 2)) == []
    # after the call: wrap-up (the most generous of her queues), then ready and offered c1
    assert r.handle(OutboundEnded("ann"), 5) == [SetAgentWrapUp("ann", until=35.0)]
    assert r.agent_state("ann") is AgentState.WRAP_UP
    assert offers(r.handle(ClockTick(), 35))[0] == ("c1", "ann")
    assert r.agent_state("ann") is AgentState.RESERVED


def test_the_campaign_queue_gives_the_wrap_up() -> None:
    r = router()
    ready(r, "ann", 0)
    r.handle(OutboundAnswered("ann"), 1)
    assert r.handle(OutboundEnded("ann", queue="support"), 5) == [
        SetAgentWrapUp("ann", until=15.0)
    ]
    with pytest.raises(RoutingError):
        r.handle(OutboundEnded("bob", queue="nope"), 6)


def test_no_limit_in_one_queue_means_no_limit_and_zero_means_none() -> None:
    r = router(sales_wrapup=None)
    ready(r, "ann", 0)
    r.handle(OutboundAnswered("ann"), 1)
    assert r.handle(OutboundEnded("ann"), 5) == [SetAgentWrapUp("ann", until=None)]
    assert r.next_deadline() is None
    r = router(sales_wrapup=0, support_wrapup=0)
    ready(r, "ann", 0)
    r.handle(OutboundAnswered("ann"), 1)
    assert r.handle(OutboundEnded("ann"), 5) == [SetAgentReady("ann")]
    assert r.agent_state("ann") is AgentState.READY


def test_a_not_ready_agent_is_not_ready_again_after_the_wrap_up() -> None:
    r = router()
    r.handle(AgentLoggedIn("ann"), 0)
    r.handle(AgentNotReady("ann", "break"), 0)
    r.handle(CallQueued("c1", "sales"), 1)
    r.handle(OutboundAnswered("ann"), 2)
    assert r.agent_state("ann") is AgentState.ON_CALL
    r.handle(OutboundEnded("ann", then_not_ready="break"), 5)
    assert r.handle(ClockTick(), 35) == [SetAgentNotReady("ann", "break")]
    assert r.agent_state("ann") is AgentState.NOT_READY
    # done early: the same
    r.handle(OutboundAnswered("ann"), 40)
    r.handle(OutboundEnded("ann", then_not_ready="break"), 41)
    assert r.handle(WrapUpDone("ann"), 42) == [SetAgentNotReady("ann", "break")]
    assert r.agent_state("ann") is AgentState.NOT_READY


def test_ready_during_the_wrap_up_wins_over_the_earlier_not_ready() -> None:
    r = router()
    r.handle(AgentLoggedIn("ann"), 0)
    r.handle(AgentNotReady("ann", "break"), 0)
    r.handle(CallQueued("c1", "sales"), 1)
    r.handle(OutboundAnswered("ann"), 2)
    r.handle(OutboundEnded("ann", then_not_ready="break"), 5)
    commands = r.handle(AgentReady("ann"), 6)
    assert offers(commands) == [("c1", "ann")]
    answer(r, commands, 7)
    assert r.handle(ClockTick(), 35) == []  # the old wrap-up deadline does nothing
    assert r.agent_state("ann") is AgentState.ON_CALL


def test_only_an_agent_on_an_outbound_call_can_end_one() -> None:
    r = router()
    ready(r, "ann", 0)
    with pytest.raises(RoutingError):
        r.handle(OutboundEnded("ann"), 1)
    r.handle(CallQueued("c1", "sales"), 1)  # ann is reserved for c1
    with pytest.raises(IllegalTransition):
        r.handle(OutboundAnswered("ann"), 2)
    assert r.agent_state("ann") is AgentState.RESERVED
