"""Fairness across queues: an agent takes the best call of all they serve, not queue by queue."""

from acd_story import agent, answer, offers, ready

from acd import (
    CallEnded,
    CallQueued,
    Policy,
    QueueSpec,
    Router,
    SkillNeed,
    WrapUpDone,
)


def serve_all(router: Router, agent_id: str, now: float, count: int) -> list[str]:
    """The calls `agent_id` takes one after the other, starting ready at `now`."""
    taken: list[str] = []
    commands = ready(router, agent_id, now)
    for step in range(count):
        served = offers(commands)
        if not served:
            break
        taken.append(served[0][0])
        answer(router, commands, now + step)
        router.handle(CallEnded(served[0][0]), now + step)
        commands = router.handle(WrapUpDone(agent_id), now + step)
    return taken


def test_an_agent_of_two_queues_takes_the_longest_waiting_call_of_both() -> None:
    router = Router(
        [QueueSpec("sales", policy=Policy.EVEN), QueueSpec("support", policy=Policy.EVEN)],
        [agent("ann", "sales", "support")],
    )
    router.handle(CallQueued("s1", "support"), 0)
    router.handle(CallQueued("c1", "sales"), 5)
    router.handle(CallQueued("s2", "support"), 10)
    router.handle(CallQueued("c2", "sales"), 15)
    assert serve_all(router, "ann", 20, 4) == ["s1", "c1", "s2", "c2"]


def test_effective_priority_is_compared_across_queues() -> None:
    router = Router(
        [
            QueueSpec("sales", seconds_per_tier=30, sticky_wait_seconds=None),
            QueueSpec("support", policy=Policy.EVEN),
        ],
        [agent("ann", "sales", "support")],
    )
    router.handle(CallQueued("s1", "support"), 0)  # virtual time 0
    router.handle(CallQueued("gold", "sales", tier=2), 50)  # 50 - 60 = -10
    router.handle(CallQueued("plain", "sales", tier=0), 51)
    assert serve_all(router, "ann", 60, 3) == ["gold", "s1", "plain"]


def test_calls_with_different_needs_in_one_queue_are_served_by_whoever_can() -> None:
    router = Router(
        [QueueSpec("tech", policy=Policy.EVEN)],
        [agent("ann", "tech", tech=3), agent("bob", "tech", tech=3, french=2)],
    )
    router.handle(CallQueued("french", "tech", needs=(SkillNeed("french"),)), 0)
    router.handle(CallQueued("plain", "tech"), 5)
    assert offers(ready(router, "ann", 10)) == [("plain", "ann")]  # the one she can take
    assert offers(ready(router, "bob", 11)) == [("french", "bob")]


def test_an_agent_able_to_take_both_takes_the_oldest_across_needs() -> None:
    router = Router(
        [QueueSpec("tech", policy=Policy.EVEN)], [agent("bob", "tech", tech=3, french=2)]
    )
    router.handle(CallQueued("plain", "tech"), 0)
    router.handle(CallQueued("french", "tech", needs=(SkillNeed("french"),)), 5)
    router.handle(CallQueued("plain2", "tech"), 6)
    assert serve_all(router, "bob", 10, 3) == ["plain", "french", "plain2"]
