"""The sticky agent: a customer goes back to the agent who served them last, within a wait."""

from typing import Any

from acd_story import agent, answer, offers, ready

from acd import (
    AgentNotReady,
    CallEnded,
    CallQueued,
    ClockTick,
    OfferCall,
    OfferNotAnswered,
    Policy,
    QueueSpec,
    ReturnToWaiting,
    Router,
    SetAgentNotReady,
    SkillNeed,
    WrapUpDone,
)
from acd.router import TRANSFER_WAIT_SECONDS


def router_where_ann_served_k1(**fields: Any) -> Router:
    """ann (vip 1) served customer k1 and is ready again at 4; bob (vip 5) is logged out."""
    spec = QueueSpec("vip", needs=(SkillNeed("vip"),), sticky_wait_seconds=30, **fields)
    router = Router([spec], [agent("ann", "vip", vip=1), agent("bob", "vip", vip=5)])
    ready(router, "ann", 0)
    answer(router, router.handle(CallQueued("c1", "vip", customer_id="k1"), 1), 2)
    router.handle(CallEnded("c1"), 3)
    router.handle(WrapUpDone("ann"), 4)
    return router


def ann_busy_with_another_customer(router: Router) -> None:
    answer(router, router.handle(CallQueued("other", "vip", customer_id="k9"), 6), 7)


def test_the_last_agent_gets_the_customer_when_free_even_if_others_rank_higher() -> None:
    router = router_where_ann_served_k1()
    ready(router, "bob", 5)
    assert offers(router.handle(CallQueued("c2", "vip", customer_id="k1"), 10)) == [("c2", "ann")]
    assert offers(router.handle(CallQueued("c3", "vip", customer_id="k9"), 11)) == [("c3", "bob")]


def test_the_customer_waits_for_a_busy_last_agent_within_the_sticky_wait() -> None:
    router = router_where_ann_served_k1()
    ann_busy_with_another_customer(router)
    ready(router, "bob", 8)
    assert router.handle(CallQueued("c2", "vip", customer_id="k1"), 10) == []
    assert router.position("c2") == 1
    assert router.next_deadline() == 40.0
    router.handle(CallEnded("other"), 20)
    assert offers(router.handle(WrapUpDone("ann"), 21)) == [("c2", "ann")]


def test_after_the_sticky_wait_anyone_may_take_the_call() -> None:
    router = router_where_ann_served_k1()
    ann_busy_with_another_customer(router)
    ready(router, "bob", 8)
    router.handle(CallQueued("c2", "vip", customer_id="k1"), 10)
    assert router.handle(ClockTick(), 39) == []
    assert router.handle(ClockTick(), 40) == [
        OfferCall("c2", "bob", "vip", offer_id=3, ring_timeout=15.0)
    ]


def test_a_last_agent_who_goes_not_ready_releases_the_customer_at_once() -> None:
    router = router_where_ann_served_k1()
    ann_busy_with_another_customer(router)
    ready(router, "bob", 8)
    router.handle(CallQueued("c2", "vip", customer_id="k1"), 10)
    router.handle(CallEnded("other"), 12)
    assert offers(router.handle(AgentNotReady("ann", "break"), 13)) == [("c2", "bob")]


def test_nobody_waits_for_a_last_agent_who_is_not_ready() -> None:
    router = router_where_ann_served_k1()
    router.handle(AgentNotReady("ann", "lunch"), 5)
    ready(router, "bob", 6)
    assert offers(router.handle(CallQueued("c2", "vip", customer_id="k1"), 10)) == [("c2", "bob")]


def test_the_caller_may_name_the_last_agent() -> None:
    spec = QueueSpec("vip", needs=(SkillNeed("vip"),))
    router = Router([spec], [agent("ann", "vip", vip=1), agent("bob", "vip", vip=5)])
    ready(router, "ann", 0)
    ready(router, "bob", 1)
    queued = CallQueued("c1", "vip", customer_id="k7", sticky_agent_id="ann")
    assert offers(router.handle(queued, 2)) == [("c1", "ann")]
    unknown = CallQueued("c2", "vip", customer_id="k8", sticky_agent_id="zed")
    assert offers(router.handle(unknown, 3)) == [("c2", "bob")]


def test_a_zero_sticky_wait_takes_the_last_agent_only_when_free_at_once() -> None:
    router = Router(
        [QueueSpec("vip", needs=(SkillNeed("vip"),), sticky_wait_seconds=0)],
        [agent("ann", "vip", vip=1), agent("bob", "vip", vip=5)],
    )
    ready(router, "ann", 0)
    answer(router, router.handle(CallQueued("c1", "vip", customer_id="k1"), 1), 2)
    ready(router, "bob", 3)
    assert offers(router.handle(CallQueued("c2", "vip", customer_id="k1"), 4)) == [("c2", "bob")]


def test_other_policies_ignore_the_last_agent() -> None:
    router = router_where_ann_served_k1(policy=Policy.SKILLS)
    ready(router, "bob", 5)
    assert offers(router.handle(CallQueued("c2", "vip", customer_id="k1"), 10)) == [("c2", "bob")]


def test_a_last_agent_who_does_not_answer_passes_the_customer_on() -> None:
    router = router_where_ann_served_k1()
    ready(router, "bob", 5)
    router.handle(CallQueued("c2", "vip", customer_id="k1"), 10)  # rings ann
    assert router.handle(OfferNotAnswered("c2", "ann"), 25) == [
        SetAgentNotReady("ann", "no answer"),
        ReturnToWaiting("c2"),
        OfferCall("c2", "bob", "vip", offer_id=3, ring_timeout=15.0),
    ]


def test_a_last_agent_without_the_skills_the_call_needs_is_not_waited_for() -> None:
    router = Router(
        [QueueSpec("vip", needs=(SkillNeed("vip"),))],
        [agent("ann", "vip", vip=1), agent("bob", "vip", vip=5, french=1)],
    )
    ready(router, "ann", 0)
    answer(router, router.handle(CallQueued("c1", "vip", customer_id="k1"), 1), 2)
    ready(router, "bob", 3)
    french = (SkillNeed("vip"), SkillNeed("french"))
    queued = CallQueued("c2", "vip", needs=french, customer_id="k1")
    assert offers(router.handle(queued, 4)) == [("c2", "bob")]


def test_a_transfer_to_an_agent_waits_for_that_agent_whatever_the_policy() -> None:
    """Policy EVEN, no sticky wait: the call still goes to the named agent first."""
    spec = QueueSpec("desk", policy=Policy.EVEN, sticky_wait_seconds=None)
    router = Router([spec], [agent("ann", "desk"), agent("bob", "desk")])
    ready(router, "ann", 0)
    ready(router, "bob", 1)
    answer(router, router.handle(CallQueued("busy", "desk"), 2), 3)  # ann (idle longest)
    assert router.handle(CallQueued("t1", "desk", for_agent_id="ann"), 10) == []
    assert router.next_deadline() == 10 + TRANSFER_WAIT_SECONDS  # bob is passed over
    router.handle(CallEnded("busy"), 20)
    assert offers(router.handle(WrapUpDone("ann"), 21)) == [("t1", "ann")]


def test_a_transfer_to_an_agent_falls_back_to_the_queue_after_the_wait() -> None:
    spec = QueueSpec("desk", policy=Policy.EVEN, sticky_wait_seconds=None)
    router = Router([spec], [agent("ann", "desk"), agent("bob", "desk")])
    ready(router, "ann", 0)
    ready(router, "bob", 1)
    answer(router, router.handle(CallQueued("busy", "desk"), 2), 3)
    router.handle(CallQueued("t1", "desk", for_agent_id="ann"), 10)
    assert offers(router.handle(ClockTick(), 10 + TRANSFER_WAIT_SECONDS)) == [("t1", "bob")]


def test_a_transfer_to_a_free_agent_rings_them_at_once() -> None:
    spec = QueueSpec("desk", policy=Policy.EVEN, sticky_wait_seconds=None)
    router = Router([spec], [agent("ann", "desk"), agent("bob", "desk")])
    ready(router, "ann", 0)
    ready(router, "bob", 1)  # ann idles longest, the transfer names bob
    assert offers(router.handle(CallQueued("t1", "desk", for_agent_id="bob"), 5)) == [("t1", "bob")]
