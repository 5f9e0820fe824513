"""The app_queue-like baseline: one line per queue, members picked by strategy and penalty."""

import pytest

from acd import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentReady,
    AgentSpec,
    AgentState,
    CallEnded,
    CallerHungUp,
    CallFinished,
    CallQueued,
    CancelOffer,
    ClockTick,
    Command,
    MaxWait,
    OfferAnswered,
    OfferCall,
    OfferNotAnswered,
    Outcome,
    QueueSpec,
    ReturnToWaiting,
    RouteOut,
    RouteTarget,
    RoutingError,
    SetAgentReady,
    SetAgentWrapUp,
    TargetKind,
    WrapUpDone,
)
from acd.baseline import QueueStrategyDispatcher, Strategy

NAMES = ("ann", "bob", "cid")


def members(
    strategy: Strategy, wrapup: float | None = 0.0, **options: object
) -> QueueStrategyDispatcher:
    queue = QueueSpec("q", wrapup_seconds=wrapup, ring_timeout=10.0)
    agents = [AgentSpec(name, {}, ("q",)) for name in NAMES]
    dispatcher = QueueStrategyDispatcher([queue], agents, strategy, **options)  # type: ignore[arg-type]
    for name in NAMES:
        dispatcher.handle(AgentLoggedIn(name), 0)
        assert dispatcher.handle(AgentReady(name), 0) == []
    return dispatcher


def offered(commands: list[Command]) -> list[str]:
    return [c.agent_id for c in commands if isinstance(c, OfferCall)]


def serve(dispatcher: QueueStrategyDispatcher, call: str, now: float, talk: float) -> str:
    """Queue, answer and end one call; the agent who took it."""
    (agent,) = offered(dispatcher.handle(CallQueued(call, "q"), now))
    dispatcher.handle(OfferAnswered(call, agent), now)
    dispatcher.handle(CallEnded(call), now + talk)
    return agent


def test_leastrecent_picks_the_member_whose_last_call_ended_longest_ago() -> None:
    dispatcher = members(Strategy.LEASTRECENT)
    assert serve(dispatcher, "c1", 1, 50) == "ann"  # nobody has had a call: member order
    assert serve(dispatcher, "c2", 2, 10) == "bob"
    assert serve(dispatcher, "c3", 3, 1) == "cid"  # ends at 4, bob at 12, ann at 51
    assert serve(dispatcher, "c4", 60, 1) == "cid"
    assert serve(dispatcher, "c5", 70, 1) == "bob"


def test_fewestcalls_picks_the_member_with_the_fewest_completed_calls() -> None:
    dispatcher = members(Strategy.FEWESTCALLS)
    picks = [serve(dispatcher, f"c{i}", 10 * i, 1) for i in range(6)]
    assert picks == ["ann", "bob", "cid", "ann", "bob", "cid"]


def test_rrmemory_goes_round_from_the_member_rung_last() -> None:
    dispatcher = members(Strategy.RRMEMORY)
    assert serve(dispatcher, "c1", 0, 1) == "ann"
    (agent,) = offered(dispatcher.handle(CallQueued("c2", "q"), 5))
    assert agent == "bob"  # bob now rings; the next caller goes to cid, then round to ann
    assert offered(dispatcher.handle(CallQueued("c3", "q"), 6)) == ["cid"]
    assert offered(dispatcher.handle(CallQueued("c4", "q"), 7)) == ["ann"]


def test_random_is_seeded_and_penalties_come_first() -> None:
    def picks(seed: int) -> list[str]:
        dispatcher = members(Strategy.RANDOM, seed=seed, penalties={("q", "ann"): 1})
        return [serve(dispatcher, f"c{i}", 10 * i, 1) for i in range(20)]

    assert picks(1) == picks(1)
    assert picks(1) != picks(2)
    assert set(picks(1)) == {"bob", "cid"}  # ann only when both are busy
    dispatcher = members(Strategy.LEASTRECENT, penalties={("q", "ann"): 1})
    busy = [offered(dispatcher.handle(CallQueued(f"c{i}", "q"), i))[0] for i in range(3)]
    assert busy == ["bob", "cid", "ann"]


def test_wrap_up_abandons_ring_timeouts_and_the_maximum_wait() -> None:
    queue = QueueSpec(
        "q",
        wrapup_seconds=30.0,
        ring_timeout=10.0,
        max_wait=MaxWait(100.0, RouteTarget(TargetKind.VOICEMAIL, "vm")),
    )
    dispatcher = QueueStrategyDispatcher([queue], [AgentSpec("ann", {}, ("q",))], Strategy.RANDOM)
    dispatcher.handle(AgentLoggedIn("ann"), 0)
    dispatcher.handle(AgentReady("ann"), 0)
    assert offered(dispatcher.handle(CallQueued("c1", "q"), 1)) == ["ann"]
    dispatcher.handle(OfferAnswered("c1", "ann"), 2)
    assert dispatcher.handle(CallQueued("c2", "q"), 3) == []
    assert dispatcher.handle(CallEnded("c1"), 20) == [
        CallFinished("c1", Outcome.ANSWERED),
        SetAgentWrapUp("ann", 50.0),
    ]
    assert dispatcher.next_deadline() == 50.0
    assert offered(dispatcher.handle(WrapUpDone("ann"), 30)) == ["ann"]  # done early
    assert dispatcher.agent_state("ann") is AgentState.RESERVED
    assert dispatcher.next_deadline() == 45.0  # the ring timeout's safety net
    assert dispatcher.handle(OfferNotAnswered("c2", "ann"), 40) == [
        ReturnToWaiting("c2"),
        OfferCall("c2", "ann", "q", 3, 10.0),
    ]
    assert dispatcher.handle(CallerHungUp("c2"), 41) == [
        CancelOffer("c2", "ann", 3),
        CallFinished("c2", Outcome.ABANDONED),
    ]
    dispatcher.handle(AgentLoggedOut("ann"), 42)
    assert dispatcher.handle(CallQueued("c3", "q"), 50) == []
    assert dispatcher.handle(ClockTick(), 150) == [
        RouteOut("c3", TargetKind.VOICEMAIL, "vm"),
        CallFinished("c3", Outcome.ROUTED_OUT),
    ]
    assert dispatcher.next_deadline() is None
    assert SetAgentReady("ann") not in dispatcher.handle(AgentLoggedIn("ann"), 200)


def test_what_app_queue_does_not_model_is_refused() -> None:
    dispatcher = members(Strategy.RANDOM)
    with pytest.raises(RoutingError, match="unknown agent"):
        dispatcher.handle(AgentReady("zoe"), 1)
    with pytest.raises(RoutingError, match="unknown queue"):
        dispatcher.handle(CallQueued("c1", "nowhere"), 1)
