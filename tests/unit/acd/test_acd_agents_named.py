"""The contract the runner relies on to persist agent states cheaply: every agent
whose state an event changes is named by that event or by one of its commands."""

from __future__ import annotations

import random

from acd import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentNotReady,
    AgentReady,
    AgentSpec,
    CallEnded,
    CallerHungUp,
    CallQueued,
    ClockTick,
    Event,
    OfferAnswered,
    OfferCall,
    OfferNotAnswered,
    Policy,
    QueueSpec,
    Router,
    RoutingError,
    WrapUpDone,
    WrapUpExtended,
)

QUEUES = [
    QueueSpec("q", wrapup_seconds=3, ring_timeout=5),
    QueueSpec("r", policy=Policy.EVEN, wrapup_seconds=0, rona_after_misses=2),
]
AGENTS = [AgentSpec(f"a{i}", {"s": 1}, ("q", "r")) for i in range(5)]


def random_event(rng: random.Random, step: int, offers: dict[str, tuple[str, int]]) -> Event:
    agent = rng.choice(AGENTS).agent_id
    choice = rng.randrange(12)
    if choice >= 9 and offers:
        call_id, (offered, offer_id) = rng.choice(list(offers.items()))
        return rng.choice(
            [
                OfferAnswered(call_id, offered, offer_id),
                OfferNotAnswered(call_id, offered, offer_id),
                CallerHungUp(call_id),
                CallEnded(call_id),
            ]
        )
    return [
        AgentLoggedIn(agent),
        AgentReady(agent),
        AgentNotReady(agent, "x"),
        AgentLoggedOut(agent),
        WrapUpDone(agent),
        CallQueued(f"c{step}", rng.choice("qr")),
        ClockTick(),
        ClockTick(),
        WrapUpExtended(agent),
        ClockTick(),
        ClockTick(),
        ClockTick(),
    ][choice]


def test_every_agent_state_change_is_named() -> None:
    for seed in range(200):
        rng = random.Random(seed)
        router = Router(QUEUES, AGENTS)
        offers: dict[str, tuple[str, int]] = {}
        before = {a.agent_id: router.agent_state(a.agent_id) for a in AGENTS}
        now = 0.0
        for step in range(80):
            now += rng.random() * 3
            event = random_event(rng, step, offers)
            try:
                commands = router.handle(event, now)
            except RoutingError:
                continue
            offers.update(
                {c.call_id: (c.agent_id, c.offer_id) for c in commands if isinstance(c, OfferCall)}
            )
            named = {getattr(c, "agent_id", None) for c in commands}
            named.add(getattr(event, "agent_id", None))
            after = {a.agent_id: router.agent_state(a.agent_id) for a in AGENTS}
            changed = {a for a in after if after[a] != before[a]}
            assert changed <= named, (seed, step, event, commands)
            before = after
