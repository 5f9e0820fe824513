"""Callbacks keep the caller's place, never jump the line and are never placed twice."""

import pytest
from acd_story import agent, answer, offers, ready

from acd import (
    CallbackCancelled,
    CallbackRequested,
    CallEnded,
    CallerHungUp,
    CallFinished,
    CallQueued,
    CallState,
    CancelOffer,
    OfferAnswered,
    OfferCall,
    OfferNotAnswered,
    Outcome,
    PlaceCallback,
    Policy,
    QueueSpec,
    ReturnToWaiting,
    Router,
    RoutingError,
    SetAgentNotReady,
    SetAgentWrapUp,
    WrapUpDone,
)

NUMBER = "+15550100"


def line_of_three() -> Router:
    """c1, c2 and c3 wait in sales (no agent ready); c2 asks to be called back."""
    router = Router(
        [QueueSpec("sales", policy=Policy.EVEN)], [agent("ann", "sales"), agent("bob", "sales")]
    )
    router.handle(CallQueued("c1", "sales"), 0)
    router.handle(CallQueued("c2", "sales"), 5)
    router.handle(CallQueued("c3", "sales"), 10)
    assert router.handle(CallbackRequested("c2", NUMBER), 12) == []
    return router


def test_a_callback_keeps_the_callers_place() -> None:
    router = line_of_three()
    assert router.call_state("c2") is CallState.CALLBACK_WAITING
    assert [router.position(c) for c in ("c1", "c2", "c3")] == [1, 2, 3]
    answer(router, ready(router, "ann", 20), 21)  # c1 first
    router.handle(CallEnded("c1"), 30)
    assert router.handle(WrapUpDone("ann"), 31) == [
        PlaceCallback("c2", "ann", NUMBER, "sales", offer_id=2, ring_timeout=15.0)
    ]
    assert router.call_state("c2") is CallState.CALLBACK_OFFERED


def test_a_callback_neither_jumps_ahead_nor_falls_behind() -> None:
    router = line_of_three()
    router.handle(CallQueued("c4", "sales"), 40)
    served = []
    commands = ready(router, "ann", 50)
    for now in range(51, 55):
        served += offers(commands)
        answer(router, commands, now)
        router.handle(CallEnded(served[-1][0]), now)
        commands = router.handle(WrapUpDone("ann"), now)
    assert [call_id for call_id, _ in served] == ["c1", "c2", "c3", "c4"]


def test_a_second_request_is_a_duplicate_and_the_callback_goes_out_once() -> None:
    router = line_of_three()
    assert router.handle(CallbackRequested("c2", NUMBER), 13) == []
    router.handle(CallerHungUp("c1"), 14)
    router.handle(CallerHungUp("c3"), 14)
    assert offers(ready(router, "ann", 15)) == [("c2", "ann")]
    assert router.handle(CallbackRequested("c2", NUMBER), 16) == []
    assert offers(ready(router, "bob", 17)) == []


def test_the_callers_channel_hanging_up_after_the_request_is_harmless() -> None:
    router = line_of_three()
    assert router.handle(CallerHungUp("c2"), 13) == []
    assert router.call_state("c2") is CallState.CALLBACK_WAITING
    assert router.position("c2") == 2


def test_a_callback_conversation_ends_as_called_back() -> None:
    router = line_of_three()
    router.handle(CallerHungUp("c1"), 13)
    assert offers(ready(router, "ann", 20)) == [("c2", "ann")]
    assert router.handle(OfferAnswered("c2", "ann"), 22) == []
    assert router.handle(CallerHungUp("c2"), 23) == []  # the old channel, not this call
    assert router.handle(CallEnded("c2"), 60) == [
        CallFinished("c2", Outcome.CALLED_BACK),
        SetAgentWrapUp("ann", until=90.0),
    ]


def test_an_unanswered_callback_returns_to_its_place_and_goes_to_the_next_agent() -> None:
    router = line_of_three()
    router.handle(CallerHungUp("c1"), 13)
    ready(router, "ann", 20)  # c2 goes out through ann
    assert router.handle(OfferNotAnswered("c2", "ann"), 35) == [
        SetAgentNotReady("ann", "no answer"),
        ReturnToWaiting("c2"),
    ]
    assert router.call_state("c2") is CallState.CALLBACK_WAITING
    assert router.position("c2") == 1
    assert ready(router, "bob", 40) == [
        PlaceCallback("c2", "bob", NUMBER, "sales", offer_id=2, ring_timeout=15.0)
    ]


def test_a_pending_callback_can_be_cancelled() -> None:
    router = line_of_three()
    assert router.handle(CallbackCancelled("c2"), 20) == [
        CallFinished("c2", Outcome.CALLBACK_CANCELLED)
    ]
    assert router.position("c3") == 2
    assert router.handle(CallbackCancelled("c2"), 21) == []


def test_cancelling_a_callback_that_is_going_out_frees_the_agent() -> None:
    router = line_of_three()
    router.handle(CallerHungUp("c1"), 13)
    ready(router, "ann", 20)  # c2 goes out through ann
    assert router.handle(CallbackCancelled("c2"), 21) == [
        CancelOffer("c2", "ann", 1),
        CallFinished("c2", Outcome.CALLBACK_CANCELLED),
        OfferCall("c3", "ann", "sales", offer_id=2, ring_timeout=15.0),
    ]


def test_asking_for_a_callback_while_an_agent_rings_withdraws_the_offer() -> None:
    router = Router([QueueSpec("sales")], [agent("ann", "sales"), agent("bob", "sales")])
    ready(router, "ann", 0)
    router.handle(CallQueued("c1", "sales"), 1)  # rings ann
    ready(router, "bob", 2)
    assert router.handle(CallbackRequested("c1", NUMBER), 3) == [
        CancelOffer("c1", "ann", 1),
        PlaceCallback("c1", "bob", NUMBER, "sales", offer_id=2, ring_timeout=15.0),
    ]
    assert router.agent_state("ann") == "ready"


def test_a_callback_needs_a_number() -> None:
    router = line_of_three()
    with pytest.raises(RoutingError, match="call 'c1': a callback needs a number"):
        router.handle(CallbackRequested("c1", ""), 13)
    assert router.call_state("c1") is CallState.WAITING


def test_a_call_queued_as_a_callback_goes_out_as_one_even_to_a_ready_agent() -> None:
    router = Router([QueueSpec("sales")], [agent("ann", "sales")])
    ready(router, "ann", 0)
    commands = router.handle(CallQueued("c1-r1", "sales", callback_number=NUMBER), 5)
    assert commands == [
        PlaceCallback("c1-r1", "ann", NUMBER, "sales", offer_id=1, ring_timeout=15.0)
    ]
    assert router.call_state("c1-r1") is CallState.CALLBACK_OFFERED
