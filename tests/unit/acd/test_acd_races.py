"""Duplicates and late reports are harmless; unknown ids and bad requests are RoutingErrors."""

import pytest
from acd_story import agent, answer, offers, ready

from acd import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentReady,
    AgentState,
    CallEnded,
    CallerHungUp,
    CallFinished,
    CallQueued,
    CallState,
    CancelOffer,
    ClockTick,
    OfferAnswered,
    OfferCall,
    OfferNotAnswered,
    Outcome,
    OverflowCall,
    OverflowRule,
    Policy,
    QueueSpec,
    Router,
    RouterSettings,
    RoutingError,
    SpecError,
    WrapUpDone,
)


def two_agents() -> Router:
    router = Router(
        [QueueSpec("sales", policy=Policy.EVEN), QueueSpec("support")],
        [agent("ann", "sales"), agent("bob", "sales")],
    )
    ready(router, "ann", 0)
    ready(router, "bob", 1)
    return router


def test_a_caller_hanging_up_while_ringing_frees_the_agent_in_their_idle_place() -> None:
    router = two_agents()
    router.handle(CallQueued("c1", "sales"), 2)  # rings ann
    assert router.handle(CallerHungUp("c1"), 3) == [
        CancelOffer("c1", "ann", 1),
        CallFinished("c1", Outcome.ABANDONED),
    ]
    assert router.agent_state("ann") is AgentState.READY
    assert offers(router.handle(CallQueued("c2", "sales"), 4)) == [("c2", "ann")]


def test_no_answer_reported_after_the_caller_hung_up_is_ignored() -> None:
    router = two_agents()
    router.handle(CallQueued("c1", "sales"), 2)
    router.handle(CallerHungUp("c1"), 3)
    assert router.handle(OfferNotAnswered("c1", "ann"), 10) == []
    assert router.handle(OfferAnswered("c1", "ann"), 10) == []
    assert router.agent_state("ann") is AgentState.READY


def test_a_freed_agent_takes_the_next_waiting_call() -> None:
    router = Router([QueueSpec("sales")], [agent("ann", "sales")])
    ready(router, "ann", 0)
    router.handle(CallQueued("c1", "sales"), 1)  # rings ann
    router.handle(CallQueued("c2", "sales"), 2)
    assert router.handle(CallerHungUp("c1"), 3) == [
        CancelOffer("c1", "ann", 1),
        CallFinished("c1", Outcome.ABANDONED),
        OfferCall("c2", "ann", "sales", offer_id=2, ring_timeout=15.0),
    ]


def test_an_abandoned_caller_leaves_the_line() -> None:
    router = Router([QueueSpec("sales")])
    for number in range(3):
        router.handle(CallQueued(f"c{number}", "sales"), number)
    assert router.handle(CallerHungUp("c0"), 5) == [CallFinished("c0", Outcome.ABANDONED)]
    assert [router.position(f"c{n}") for n in (1, 2)] == [1, 2]


def test_duplicates_and_late_reports_about_a_finished_call_change_nothing() -> None:
    router = two_agents()
    answer(router, router.handle(CallQueued("c1", "sales"), 2), 3)
    assert router.handle(OfferAnswered("c1", "ann"), 3) == []  # duplicate answer
    assert router.handle(CallQueued("c1", "sales"), 4) == []  # duplicate while live
    router.handle(CallEnded("c1"), 10)
    assert router.handle(CallEnded("c1"), 10) == []
    assert router.handle(CallerHungUp("c1"), 11) == []
    assert router.handle(CallQueued("c1", "support"), 12) == []  # a call id is one visit
    assert router.call_state("c1") is CallState.FINISHED
    assert router.agent_state("ann") is AgentState.WRAP_UP


def test_duplicate_agent_requests_are_harmless() -> None:
    router = two_agents()
    assert router.handle(AgentReady("ann"), 2) == []
    assert router.handle(AgentLoggedOut("bob"), 3) == []
    assert router.handle(AgentLoggedOut("bob"), 4) == []
    assert router.handle(WrapUpDone("ann"), 5) == []


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (CallerHungUp("nope"), "unknown call 'nope': never queued"),
        (CallEnded("nope"), "unknown call 'nope'"),
        (OfferNotAnswered("nope", "ann"), "unknown call 'nope'"),
        (AgentReady("zed"), "unknown agent 'zed': not configured, never logged in"),
        (WrapUpDone("zed"), "unknown agent 'zed'"),
        (CallQueued("c9", "billing"), "call 'c9' queued to unknown queue 'billing'"),
    ],
)
def test_unknown_ids_are_routing_errors(event: CallerHungUp, message: str) -> None:
    router = two_agents()
    with pytest.raises(RoutingError, match=message):
        router.handle(event, 5)


def test_an_answer_naming_an_unknown_agent_is_an_error() -> None:
    router = two_agents()
    router.handle(CallQueued("c1", "sales"), 2)
    with pytest.raises(RoutingError, match="unknown agent 'zed'"):
        router.handle(OfferAnswered("c1", "zed"), 3)
    assert router.call_state("c1") is CallState.OFFERED


def test_time_never_goes_backwards() -> None:
    router = two_agents()
    router.handle(ClockTick(), 10)
    with pytest.raises(RoutingError, match="time went backwards: now=9 after now=10"):
        router.handle(CallQueued("c1", "sales"), 9)
    with pytest.raises(RoutingError, match="unknown call 'c1'"):
        router.call_state("c1")


def test_only_routing_events_are_accepted() -> None:
    router = two_agents()
    with pytest.raises(RoutingError, match="not a routing event"):
        router.handle("hello", 1)  # type: ignore[arg-type]


def test_an_agent_the_router_was_not_built_with_logs_in_with_a_profile() -> None:
    router = Router([QueueSpec("sales")])
    with pytest.raises(RoutingError, match="'zed' is not configured: log in with skills and"):
        router.handle(AgentLoggedIn("zed"), 0)
    with pytest.raises(SpecError, match="agent 'zed' serves unknown queue 'billing'"):
        router.handle(AgentLoggedIn("zed", {"sales": 2}, ("billing",)), 0)
    with pytest.raises(RoutingError, match="unknown agent 'zed'"):
        router.agent_state("zed")
    router.handle(AgentLoggedIn("zed", {"sales": 2}, ("sales",)), 0)
    router.handle(AgentReady("zed"), 1)
    assert offers(router.handle(CallQueued("c1", "sales"), 2)) == [("c1", "zed")]


def test_a_log_in_may_change_the_configured_queues_for_the_session() -> None:
    router = two_agents()
    router.handle(AgentLoggedOut("ann"), 2)
    router.handle(AgentLoggedIn("ann", queues=("support",)), 3)
    router.handle(AgentReady("ann"), 4)
    assert offers(router.handle(CallQueued("c1", "sales"), 5)) == [("c1", "bob")]
    assert offers(router.handle(CallQueued("c2", "support"), 6)) == [("c2", "ann")]


def test_a_refused_log_in_leaves_the_agent_logged_out() -> None:
    router = Router([QueueSpec("sales")], [agent("ann", "sales")])
    with pytest.raises(SpecError, match="unknown queue 'billing'"):
        router.handle(AgentLoggedIn("ann", queues=("billing",)), 0)
    assert router.agent_state("ann") is AgentState.LOGGED_OUT
    assert router.handle(AgentLoggedIn("ann"), 1) == []


def test_finished_calls_are_remembered_for_a_bounded_number_of_calls() -> None:
    router = Router([QueueSpec("sales")], settings=RouterSettings(finished_call_memory=2))
    for number in range(3):
        router.handle(CallQueued(f"c{number}", "sales"), number)
        router.handle(CallerHungUp(f"c{number}"), number)
    assert router.handle(CallerHungUp("c2"), 5) == []
    assert router.handle(CallerHungUp("c1"), 5) == []
    with pytest.raises(RoutingError, match="unknown call 'c0': never queued, or finished long"):
        router.handle(CallerHungUp("c0"), 5)


def test_timers_of_a_forgotten_visit_never_touch_a_new_call_with_the_same_id() -> None:
    router = Router(
        [QueueSpec("sales", overflow=(OverflowRule(30, "support"),)), QueueSpec("support")],
        settings=RouterSettings(finished_call_memory=1),
    )
    router.handle(CallQueued("c1", "sales"), 0)
    router.handle(CallerHungUp("c1"), 1)
    router.handle(CallQueued("c2", "sales"), 2)
    router.handle(CallerHungUp("c2"), 3)  # c1 is forgotten now
    router.handle(CallQueued("c1", "sales"), 10)  # a new visit under the old id
    assert router.handle(ClockTick(), 30) == []  # the first visit's overflow
    assert router.handle(ClockTick(), 40) == [OverflowCall("c1", "support")]
