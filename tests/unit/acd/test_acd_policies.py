"""Each routing policy, told as a story: who gets which call, and in what order."""

import pytest
from acd_story import agent, answer, offers, ready

from acd import (
    AgentReady,
    CallEnded,
    CallQueued,
    OfferAnswered,
    OfferCall,
    Policy,
    QueueSpec,
    Router,
    RoutingError,
    SkillNeed,
    WrapUpDone,
)
from acd.policies import (
    agent_rank,
    meets,
    normalize_needs,
    proficiency,
    tier_bonus,
    virtual_enqueue_time,
)

# -- even distribution ------------------------------------------------------------------


def test_even_gives_the_call_to_the_longest_idle_agent() -> None:
    router = Router(
        [QueueSpec("sales", policy=Policy.EVEN)],
        [agent("ann", "sales"), agent("bob", "sales"), agent("cy", "sales")],
    )
    ready(router, "bob", 5)
    ready(router, "cy", 7)
    ready(router, "ann", 10)
    assert router.handle(CallQueued("c1", "sales"), 20) == [
        OfferCall("c1", "bob", "sales", offer_id=1, ring_timeout=15.0)
    ]
    assert offers(router.handle(CallQueued("c2", "sales"), 21)) == [("c2", "cy")]


def test_even_sends_an_agent_to_the_back_of_the_idle_line_after_a_call() -> None:
    router = Router(
        [QueueSpec("sales", policy=Policy.EVEN)], [agent("ann", "sales"), agent("bob", "sales")]
    )
    ready(router, "bob", 1)
    ready(router, "ann", 2)
    answer(router, router.handle(CallQueued("c1", "sales"), 3), 4)  # bob
    router.handle(CallEnded("c1"), 10)
    router.handle(WrapUpDone("bob"), 12)  # bob idle since 12, ann since 2
    assert offers(router.handle(CallQueued("c2", "sales"), 20)) == [("c2", "ann")]
    assert offers(router.handle(CallQueued("c3", "sales"), 21)) == [("c3", "bob")]


# -- round robin ------------------------------------------------------------------------


def test_round_robin_turns_through_the_agents_whoever_idled_longest() -> None:
    router = Router(
        [QueueSpec("sales", policy=Policy.ROUND_ROBIN, wrapup_seconds=0)],
        [agent("ann", "sales"), agent("bob", "sales"), agent("cy", "sales")],
    )
    ready(router, "cy", 1)  # longest idle, but last in the rotation
    ready(router, "bob", 2)
    ready(router, "ann", 3)
    served = []
    for number, now in enumerate(range(10, 50, 10)):
        commands = router.handle(CallQueued(f"c{number}", "sales"), now)
        served += [agent_id for _, agent_id in offers(commands)]
        answer(router, commands, now + 1)
        router.handle(CallEnded(f"c{number}"), now + 2)
    assert served == ["ann", "bob", "cy", "ann"]


# -- skills-based -----------------------------------------------------------------------


def test_skills_prefers_the_best_proficiency_then_the_longest_idle() -> None:
    router = Router(
        [QueueSpec("tech", policy=Policy.SKILLS, needs=(SkillNeed("tech", 2),))],
        [
            agent("ann", "tech", tech=2),
            agent("bob", "tech", tech=5),
            agent("cy", "tech", tech=5),
            agent("dan", "tech", tech=1),  # below the level the calls need
        ],
    )
    ready(router, "dan", 0)
    ready(router, "ann", 1)
    ready(router, "cy", 2)
    ready(router, "bob", 3)
    served = [offers(router.handle(CallQueued(f"c{n}", "tech"), 10 + n)) for n in range(4)]
    assert served == [[("c0", "cy")], [("c1", "bob")], [("c2", "ann")], []]
    assert router.position("c3") == 1


def test_skills_adds_up_levels_over_every_skill_the_call_needs() -> None:
    router = Router(
        [QueueSpec("tech", policy=Policy.SKILLS)],
        [agent("xavier", "tech", tech=5, french=1), agent("yves", "tech", tech=3, french=4)],
    )
    ready(router, "xavier", 0)
    ready(router, "yves", 1)
    needs = (SkillNeed("tech"), SkillNeed("french"))
    assert offers(router.handle(CallQueued("c1", "tech", needs=needs), 5)) == [("c1", "yves")]


def test_a_call_needs_every_skill_at_its_level() -> None:
    router = Router([QueueSpec("tech")], [agent("ann", "tech", tech=5)])
    ready(router, "ann", 0)
    needs = (SkillNeed("tech"), SkillNeed("french"))
    assert router.handle(CallQueued("c1", "tech", needs=needs), 1) == []
    assert offers(router.handle(CallQueued("c2", "tech"), 2)) == [("c2", "ann")]


# -- value-aware: tiers with ageing -----------------------------------------------------


def value_router() -> Router:
    spec = QueueSpec("vip", seconds_per_tier=30, ageing_bound_seconds=120, sticky_wait_seconds=None)
    return Router([spec], [agent("ann", "vip")])


def serve_in_turn(router: Router, count: int, now: float) -> list[str]:
    """Let ann take `count` calls one after the other; the calls she took, in order."""
    taken = []
    for step in range(count):
        commands = (
            ready(router, "ann", now) if step == 0 else router.handle(WrapUpDone("ann"), now + step)
        )
        for call_id, _ in offers(commands):
            taken.append(call_id)
            router.handle(OfferAnswered(call_id, "ann"), now + step)
            router.handle(CallEnded(call_id), now + step)
    return taken


def test_value_serves_higher_tiers_first() -> None:
    router = value_router()
    router.handle(CallQueued("standard", "vip", tier=0), 0)  # virtual time 0
    router.handle(CallQueued("silver", "vip", tier=1), 20)  # 20 - 30 = -10
    router.handle(CallQueued("gold", "vip", tier=2), 40)  # 40 - 60 = -20
    router.handle(CallQueued("late", "vip", tier=0), 50)  # 50
    assert [router.position(c) for c in ("gold", "silver", "standard", "late")] == [1, 2, 3, 4]
    assert serve_in_turn(router, 4, 60) == ["gold", "silver", "standard", "late"]


def test_ageing_lets_a_lower_tier_caller_catch_up() -> None:
    router = value_router()
    router.handle(CallQueued("standard", "vip", tier=0), 0)
    router.handle(CallQueued("gold", "vip", tier=2), 61)  # 60 s head start, 61 s later
    assert serve_in_turn(router, 2, 70) == ["standard", "gold"]


def test_equal_effective_priority_goes_to_the_longest_waiting() -> None:
    router = value_router()
    router.handle(CallQueued("silver", "vip", tier=1), 0)  # virtual time -30
    router.handle(CallQueued("gold", "vip", tier=2), 30)  # virtual time -30 too
    assert serve_in_turn(router, 2, 40) == ["silver", "gold"]


def test_the_ageing_bound_caps_any_tier() -> None:
    router = value_router()
    router.handle(CallQueued("standard", "vip", tier=0), 0)
    router.handle(CallQueued("early-platinum", "vip", tier=10), 119)  # capped at 120 s
    router.handle(CallQueued("late-platinum", "vip", tier=10), 121)
    assert serve_in_turn(router, 3, 130) == ["early-platinum", "standard", "late-platinum"]


def test_tiers_do_not_count_outside_the_value_policy() -> None:
    router = Router([QueueSpec("sales", policy=Policy.EVEN)], [agent("ann", "sales")])
    router.handle(CallQueued("standard", "sales", tier=0), 0)
    router.handle(CallQueued("gold", "sales", tier=3), 1)
    assert offers(ready(router, "ann", 2)) == [("standard", "ann")]


def test_a_negative_tier_is_refused_and_nothing_is_queued() -> None:
    router = value_router()
    with pytest.raises(RoutingError, match="tier must be >= 0"):
        router.handle(CallQueued("c1", "vip", tier=-1), 0)
    with pytest.raises(RoutingError, match="unknown call 'c1'"):
        router.call_state("c1")


def test_any_agent_ready_request_is_idempotent() -> None:
    router = value_router()
    ready(router, "ann", 0)
    assert router.handle(AgentReady("ann"), 1) == []


# -- the pure functions -----------------------------------------------------------------


def test_needs_are_merged_per_skill_and_sorted() -> None:
    needs = (SkillNeed("tech", 1), SkillNeed("french", 2), SkillNeed("tech", 3))
    assert normalize_needs(needs) == (SkillNeed("french", 2), SkillNeed("tech", 3))


def test_meeting_needs_and_proficiency() -> None:
    needs = normalize_needs((SkillNeed("tech", 2), SkillNeed("french")))
    assert meets({"tech": 2, "french": 1, "sales": 5}, needs)
    assert not meets({"tech": 1, "french": 5}, needs)
    assert not meets({"tech": 5}, needs)
    assert proficiency({"tech": 4, "french": 2, "sales": 5}, needs) == 6


def test_virtual_enqueue_time_is_the_arrival_minus_a_capped_bonus() -> None:
    spec = QueueSpec("vip", seconds_per_tier=30, ageing_bound_seconds=100)
    assert [tier_bonus(spec, tier) for tier in range(5)] == [0, 30, 60, 90, 100]
    assert virtual_enqueue_time(spec, 500.0, 2) == 440.0
    even = QueueSpec("sales", policy=Policy.EVEN)
    assert virtual_enqueue_time(even, 500.0, 2) == 500.0


def test_agent_rank_per_policy() -> None:
    needs = normalize_needs((SkillNeed("tech"),))
    skills = {"tech": 4}
    assert agent_rank(Policy.EVEN, skills, needs, 12.0, 7) == (12.0, 0.0)
    assert agent_rank(Policy.ROUND_ROBIN, skills, needs, 12.0, 7) == (7.0, 0.0)
    assert agent_rank(Policy.SKILLS, skills, needs, 12.0, 7) == (-4.0, 12.0)
    assert agent_rank(Policy.VALUE, skills, needs, 12.0, 7) == (-4.0, 12.0)
