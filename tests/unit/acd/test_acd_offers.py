"""Offers and RONA: ring, no answer, back to the head of its place, agent not ready."""

from typing import Any

from acd_story import agent, answer, offers, ready

from acd import (
    AgentLoggedOut,
    AgentState,
    CallEnded,
    CallQueued,
    CallState,
    CancelOffer,
    ClockTick,
    OfferAnswered,
    OfferCall,
    OfferNotAnswered,
    Policy,
    QueueSpec,
    ReturnToWaiting,
    Router,
    RouterSettings,
    SetAgentNotReady,
    WrapUpDone,
)


def even(**fields: Any) -> QueueSpec:
    return QueueSpec("sales", policy=Policy.EVEN, **fields)


def test_rona_returns_the_call_to_the_head_of_its_place_and_sets_the_agent_not_ready() -> None:
    router = Router([even()], [agent("ann", "sales"), agent("bob", "sales")])
    ready(router, "ann", 0)
    ready(router, "bob", 1)
    assert offers(router.handle(CallQueued("c1", "sales"), 10)) == [("c1", "ann")]
    assert offers(router.handle(CallQueued("c2", "sales"), 11)) == [("c2", "bob")]
    router.handle(CallQueued("c3", "sales"), 12)
    assert router.handle(OfferNotAnswered("c1", "ann"), 25) == [
        SetAgentNotReady("ann", "no answer"),
        ReturnToWaiting("c1"),
    ]
    assert router.agent_state("ann") is AgentState.NOT_READY
    assert router.call_state("c1") is CallState.WAITING
    assert (router.position("c1"), router.position("c3")) == (1, 2)  # its original time kept
    router.handle(OfferAnswered("c2", "bob"), 26)
    router.handle(CallEnded("c2"), 30)
    assert offers(router.handle(WrapUpDone("bob"), 40)) == [("c1", "bob")]


def test_rona_after_n_consecutive_misses() -> None:
    router = Router([even(rona_after_misses=2)], [agent("ann", "sales")])
    ready(router, "ann", 0)
    router.handle(CallQueued("c1", "sales"), 1)
    assert router.handle(OfferNotAnswered("c1", "ann"), 16) == [
        ReturnToWaiting("c1"),
        OfferCall("c1", "ann", "sales", offer_id=2, ring_timeout=15.0),
    ]
    assert router.handle(OfferNotAnswered("c1", "ann"), 31) == [
        SetAgentNotReady("ann", "no answer"),
        ReturnToWaiting("c1"),
    ]


def test_an_answer_resets_the_count_of_consecutive_misses() -> None:
    router = Router([even(rona_after_misses=2, wrapup_seconds=0)], [agent("ann", "sales")])
    ready(router, "ann", 0)
    router.handle(CallQueued("c1", "sales"), 1)
    router.handle(OfferNotAnswered("c1", "ann"), 16)  # miss 1, offered again at once
    router.handle(OfferAnswered("c1", "ann"), 17)
    router.handle(CallEnded("c1"), 20)
    router.handle(CallQueued("c2", "sales"), 21)
    assert router.handle(OfferNotAnswered("c2", "ann"), 36) == [
        ReturnToWaiting("c2"),
        OfferCall("c2", "ann", "sales", offer_id=4, ring_timeout=15.0),
    ]
    assert router.agent_state("ann") is AgentState.RESERVED


def test_rona_never() -> None:
    router = Router([even(rona_after_misses=None)], [agent("ann", "sales")])
    ready(router, "ann", 0)
    router.handle(CallQueued("c1", "sales"), 1)
    for attempt in range(5):
        commands = router.handle(OfferNotAnswered("c1", "ann"), 20 + attempt)
        assert offers(commands) == [("c1", "ann")]
    assert router.agent_state("ann") is AgentState.RESERVED


def test_a_missed_agent_goes_to_the_back_of_the_idle_line() -> None:
    router = Router(
        [even(rona_after_misses=3)],
        [agent("ann", "sales"), agent("bob", "sales"), agent("cy", "sales")],
    )
    ready(router, "ann", 0)
    ready(router, "bob", 1)
    ready(router, "cy", 5)
    router.handle(CallQueued("c1", "sales"), 6)  # to ann
    assert router.handle(OfferNotAnswered("c1", "ann"), 10) == [
        ReturnToWaiting("c1"),
        OfferCall("c1", "bob", "sales", offer_id=2, ring_timeout=15.0),
    ]
    assert offers(router.handle(CallQueued("c2", "sales"), 12)) == [("c2", "cy")]
    assert offers(router.handle(CallQueued("c3", "sales"), 13)) == [("c3", "ann")]


def test_the_dialplan_owns_the_ring_timeout_and_the_router_keeps_a_safety_net() -> None:
    router = Router([even()], [agent("ann", "sales")])
    ready(router, "ann", 0)
    assert router.handle(CallQueued("c1", "sales"), 10) == [
        OfferCall("c1", "ann", "sales", offer_id=1, ring_timeout=15.0)
    ]
    assert router.next_deadline() == 30.0  # ring timeout + 5 s of grace
    assert router.handle(ClockTick(), 29.9) == []
    assert router.handle(ClockTick(), 30.0) == [
        CancelOffer("c1", "ann", 1),
        SetAgentNotReady("ann", "no answer"),
        ReturnToWaiting("c1"),
    ]
    # Asterisk's own reports arrive late: the offer is no longer held, they change nothing.
    assert router.handle(OfferNotAnswered("c1", "ann"), 31) == []
    assert router.handle(OfferAnswered("c1", "ann"), 31) == []
    assert router.call_state("c1") is CallState.WAITING
    assert router.agent_state("ann") is AgentState.NOT_READY
    assert router.next_deadline() is None


def test_the_safety_net_grace_is_a_setting() -> None:
    router = Router([even()], [agent("ann", "sales")], RouterSettings(ring_grace_seconds=2))
    ready(router, "ann", 0)
    router.handle(CallQueued("c1", "sales"), 10)
    assert router.next_deadline() == 27.0


def test_an_answered_offer_cancels_the_safety_net() -> None:
    router = Router([even()], [agent("ann", "sales")])
    ready(router, "ann", 0)
    answer(router, router.handle(CallQueued("c1", "sales"), 10), 12)
    assert router.next_deadline() is None
    assert router.handle(ClockTick(), 60) == []
    assert router.call_state("c1") is CallState.TALKING


def test_reports_about_an_older_offer_are_ignored() -> None:
    router = Router([even(rona_after_misses=2)], [agent("ann", "sales")])
    ready(router, "ann", 0)
    router.handle(CallQueued("c1", "sales"), 1)  # offer 1
    router.handle(OfferNotAnswered("c1", "ann", offer_id=1), 16)  # offer 2 rings now
    assert router.handle(OfferNotAnswered("c1", "ann", offer_id=1), 17) == []
    assert router.handle(OfferAnswered("c1", "ann", offer_id=1), 17) == []
    assert router.agent_state("ann") is AgentState.RESERVED
    assert router.handle(OfferAnswered("c1", "ann", offer_id=2), 18) == []
    assert router.call_state("c1") is CallState.TALKING


def test_a_report_naming_another_agent_is_ignored() -> None:
    router = Router([even()], [agent("ann", "sales"), agent("bob", "sales")])
    ready(router, "ann", 0)
    ready(router, "bob", 1)
    router.handle(CallQueued("c1", "sales"), 2)  # rings ann
    assert router.handle(OfferAnswered("c1", "bob"), 3) == []
    assert router.handle(OfferNotAnswered("c1", "bob"), 3) == []
    assert router.agent_state("ann") is AgentState.RESERVED
    assert router.agent_state("bob") is AgentState.READY


def test_an_agent_logging_out_while_ringing_hands_the_call_on_without_rona() -> None:
    router = Router([even()], [agent("ann", "sales"), agent("bob", "sales")])
    ready(router, "ann", 0)
    ready(router, "bob", 1)
    router.handle(CallQueued("c1", "sales"), 2)  # rings ann
    assert router.handle(AgentLoggedOut("ann"), 3) == [
        CancelOffer("c1", "ann", 1),
        ReturnToWaiting("c1"),
        OfferCall("c1", "bob", "sales", offer_id=2, ring_timeout=15.0),
    ]
    assert router.agent_state("ann") is AgentState.LOGGED_OUT
