"""Overflow to other agents after a wait, and the way out at the maximum wait."""

from acd_story import agent, answer, offers, ready

from acd import (
    CallbackRequested,
    CallEnded,
    CallerHungUp,
    CallFinished,
    CallQueued,
    CallState,
    ClockTick,
    MaxWait,
    OfferAnswered,
    OfferCall,
    OfferNotAnswered,
    Outcome,
    OverflowCall,
    OverflowRule,
    QueueSpec,
    ReturnToWaiting,
    RouteOut,
    Router,
    RouteTarget,
    SetAgentNotReady,
    SkillNeed,
    TargetKind,
)

VOICEMAIL = RouteTarget(TargetKind.VOICEMAIL, "2000")


def sales_overflowing_to_support(ring_timeout: float = 15.0) -> Router:
    return Router(
        [
            QueueSpec("sales", ring_timeout=ring_timeout, overflow=(OverflowRule(30, "support"),)),
            QueueSpec("support"),
        ],
        [agent("ann", "sales"), agent("sam", "support")],
    )


def test_after_the_overflow_wait_agents_of_the_other_queue_may_take_the_call() -> None:
    router = sales_overflowing_to_support()
    ready(router, "sam", 0)
    assert router.handle(CallQueued("c1", "sales"), 10) == []
    assert router.next_deadline() == 40.0
    assert router.handle(ClockTick(), 39) == []
    assert router.handle(ClockTick(), 40) == [
        OverflowCall("c1", "support"),
        OfferCall("c1", "sam", "support", offer_id=1, ring_timeout=15.0),
    ]


def test_an_overflowed_call_keeps_its_place_and_its_own_agents() -> None:
    router = sales_overflowing_to_support()
    router.handle(CallQueued("c1", "sales"), 0)
    router.handle(CallQueued("s1", "support"), 5)
    router.handle(CallQueued("c2", "sales"), 6)
    assert router.handle(ClockTick(), 30) == [OverflowCall("c1", "support")]
    assert router.position("c1") == 1  # still first in sales
    assert offers(ready(router, "sam", 31)) == [("c1", "sam")]  # waited longer than s1
    assert offers(ready(router, "ann", 32)) == [("c2", "ann")]


def test_a_sales_agent_still_takes_an_overflowed_call_through_sales() -> None:
    router = sales_overflowing_to_support()
    router.handle(CallQueued("c1", "sales"), 0)
    router.handle(ClockTick(), 30)
    assert ready(router, "ann", 31) == [
        OfferCall("c1", "ann", "sales", offer_id=1, ring_timeout=15.0)
    ]


def test_overflow_can_relax_the_skill_level_within_the_same_queue() -> None:
    router = Router(
        [
            QueueSpec(
                "tech",
                needs=(SkillNeed("tech", 3),),
                overflow=(OverflowRule(20, "tech", needs=(SkillNeed("tech", 1),)),),
            )
        ],
        [agent("junior", "tech", tech=1)],
    )
    ready(router, "junior", 0)
    assert router.handle(CallQueued("c1", "tech"), 1) == []
    assert router.handle(ClockTick(), 21) == [
        OverflowCall("c1", "tech"),
        OfferCall("c1", "junior", "tech", offer_id=1, ring_timeout=15.0),
    ]


def test_an_overflow_that_comes_while_ringing_applies_when_the_call_returns() -> None:
    router = sales_overflowing_to_support(ring_timeout=40)
    ready(router, "ann", 0)
    ready(router, "sam", 0)
    assert offers(router.handle(CallQueued("c1", "sales"), 1)) == [("c1", "ann")]
    assert router.handle(ClockTick(), 31) == [OverflowCall("c1", "support")]
    assert router.handle(OfferNotAnswered("c1", "ann"), 41) == [
        SetAgentNotReady("ann", "no answer"),
        ReturnToWaiting("c1"),
        OfferCall("c1", "sam", "support", offer_id=2, ring_timeout=15.0),
    ]


def test_an_answered_call_does_not_overflow() -> None:
    router = sales_overflowing_to_support()
    ready(router, "ann", 0)
    answer(router, router.handle(CallQueued("c1", "sales"), 1), 2)
    assert router.handle(ClockTick(), 31) == []
    assert router.next_deadline() is None


def test_an_overflow_that_adds_nobody_new_says_nothing() -> None:
    router = Router([QueueSpec("sales", overflow=(OverflowRule(10, "sales"),))])
    router.handle(CallQueued("c1", "sales"), 0)
    assert router.handle(ClockTick(), 10) == []


def with_max_wait() -> Router:
    return Router([QueueSpec("sales", max_wait=MaxWait(60, VOICEMAIL))], [agent("ann", "sales")])


def test_the_caller_leaves_for_the_target_at_the_maximum_wait() -> None:
    router = with_max_wait()
    router.handle(CallQueued("c1", "sales"), 0)
    assert router.next_deadline() == 60.0
    assert router.handle(ClockTick(), 60) == [
        RouteOut("c1", TargetKind.VOICEMAIL, "2000"),
        CallFinished("c1", Outcome.ROUTED_OUT),
    ]
    assert router.call_state("c1") is CallState.FINISHED
    assert router.handle(CallerHungUp("c1"), 61) == []


def test_a_call_ringing_at_the_maximum_wait_may_still_be_answered() -> None:
    router = with_max_wait()
    router.handle(CallQueued("c1", "sales"), 0)
    ready(router, "ann", 50)
    assert router.handle(ClockTick(), 60) == []
    assert router.handle(OfferAnswered("c1", "ann"), 62) == []
    assert router.handle(CallEnded("c1"), 70)[0] == CallFinished("c1", Outcome.ANSWERED)


def test_a_call_ringing_at_the_maximum_wait_leaves_if_not_answered() -> None:
    router = with_max_wait()
    router.handle(CallQueued("c1", "sales"), 0)
    ready(router, "ann", 50)
    router.handle(ClockTick(), 60)
    assert router.handle(OfferNotAnswered("c1", "ann"), 65) == [
        SetAgentNotReady("ann", "no answer"),
        ReturnToWaiting("c1"),
        RouteOut("c1", TargetKind.VOICEMAIL, "2000"),
        CallFinished("c1", Outcome.ROUTED_OUT),
    ]


def test_the_maximum_wait_does_not_apply_to_callbacks() -> None:
    router = with_max_wait()
    router.handle(CallQueued("c1", "sales"), 0)
    router.handle(CallbackRequested("c1", "+15550100"), 10)
    assert router.handle(ClockTick(), 60) == []
    assert router.call_state("c1") is CallState.CALLBACK_WAITING
    assert router.position("c1") == 1
