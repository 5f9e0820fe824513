"""Benchmark of the routing core: decisions per second and decision latency.

A center of N agents over 50 skills (one queue per skill, four skills per agent,
levels 1-5, mixed policies, overflow, sticky customers, tiers, announcements)
is filled until every agent is busy and N/2 calls wait, then driven with steady
churn: calls end, agents finish wrap-up and take the next call, offers go
unanswered (RONA) and agents come back, callers abandon or ask for callbacks,
new calls arrive to keep the line full, and the clock ticks. Every
`Router.handle` call is timed on its own. A *decision* is an event after which
the router must choose (a call arrives: which agent; an agent frees up: which
call; an offer fails: where the call and the agent go; a tick: overflow,
sticky and announcement deadlines); the headline figures are over those alone.
Answers and call ends, which only move state, are counted as *events*.

The full run measures 100, 1,000 and 10,000 agents (the last is the headline:
5,000 waiting calls); `--quick` measures 100 and 1,000 with fewer events.
`--json` prints one JSON object as the last line.
"""

import argparse
import gc
import json
import random
import sys
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from acd import (
    AgentLoggedIn,
    AgentReady,
    AgentSpec,
    CallbackRequested,
    CallEnded,
    CallerHungUp,
    CallFinished,
    CallQueued,
    ClockTick,
    Event,
    OfferAnswered,
    OfferCall,
    OfferNotAnswered,
    OverflowRule,
    PlaceCallback,
    Policy,
    QueueSpec,
    ReturnToWaiting,
    Router,
    SetAgentNotReady,
    SkillNeed,
    WrapUpDone,
)

SKILLS = 50
SKILLS_PER_AGENT = 4
POLICIES = (Policy.VALUE, Policy.VALUE, Policy.SKILLS, Policy.EVEN, Policy.ROUND_ROBIN)
STEP = 0.001  # virtual seconds per event
DECISIONS = {"CallQueued", "AgentReady", "WrapUpDone", "OfferNotAnswered", "ClockTick"}


class Pool:
    """A set with O(1) random choice and removal."""

    def __init__(self) -> None:
        self._items: list[str] = []
        self._where: dict[str, int] = {}

    def add(self, item: str) -> None:
        if item not in self._where:
            self._where[item] = len(self._items)
            self._items.append(item)

    def discard(self, item: str) -> None:
        index = self._where.pop(item, None)
        if index is None:
            return
        last = self._items.pop()
        if index < len(self._items):
            self._items[index] = last
            self._where[last] = index

    def pick(self, rng: random.Random) -> str:
        return self._items[rng.randrange(len(self._items))]

    def __len__(self) -> int:
        return len(self._items)


@dataclass
class Center:
    """The router and what the driver knows from its commands."""

    router: Router
    rng: random.Random
    now: float = 0.0
    next_call: int = 0
    waiting: Pool = field(default_factory=Pool)
    talking: OrderedDict[str, str] = field(default_factory=OrderedDict)  # call -> agent
    offers: list[tuple[str, str]] = field(default_factory=list)
    resting: list[str] = field(default_factory=list)  # agents set not ready by RONA
    timings: list[int] = field(default_factory=list)
    kinds: dict[str, list[int]] = field(default_factory=dict)
    offered: int = 0
    measure: bool = False

    def send(self, event: Event) -> None:
        self.now += STEP
        if self.measure:
            start = time.perf_counter_ns()
            commands = self.router.handle(event, self.now)
            elapsed = time.perf_counter_ns() - start
            self.timings.append(elapsed)
            self.kinds.setdefault(type(event).__name__, []).append(elapsed)
        else:
            commands = self.router.handle(event, self.now)
        for command in commands:
            if isinstance(command, OfferCall | PlaceCallback):
                self.waiting.discard(command.call_id)
                self.offers.append((command.call_id, command.agent_id))
                self.offered += 1
            elif isinstance(command, ReturnToWaiting):
                self.waiting.add(command.call_id)
            elif isinstance(command, CallFinished):
                self.waiting.discard(command.call_id)
                self.talking.pop(command.call_id, None)
            elif isinstance(command, SetAgentNotReady):
                self.resting.append(command.agent_id)

    def new_call(self, agents: int) -> None:
        self.next_call += 1
        call_id = f"c{self.next_call}"
        skill = self.rng.randrange(SKILLS)
        level = self.rng.choice((1, 1, 1, 2, 3))
        self.waiting.add(call_id)
        self.send(
            CallQueued(
                call_id,
                f"q{skill}",
                needs=(SkillNeed(f"s{skill}", level),),
                tier=self.rng.choice((0, 0, 0, 1, 2, 3)),
                customer_id=f"k{self.rng.randrange(agents * 4)}",
            )
        )

    def settle_offers(self, miss_rate: float) -> None:
        while self.offers:
            call_id, agent_id = self.offers.pop()
            if self.rng.random() < miss_rate:
                self.send(OfferNotAnswered(call_id, agent_id))
            else:
                self.talking[call_id] = agent_id
                self.send(OfferAnswered(call_id, agent_id))


def build(agents: int, seed: int) -> Center:
    rng = random.Random(seed)
    queues = [
        QueueSpec(
            f"q{skill}",
            policy=POLICIES[skill % len(POLICIES)],
            needs=(SkillNeed(f"s{skill}"),),
            wrapup_seconds=None,
            sticky_wait_seconds=5.0,
            announce_every_seconds=30.0,
            overflow=(OverflowRule(60.0, f"q{(skill + 1) % SKILLS}"),),
        )
        for skill in range(SKILLS)
    ]
    profiles = []
    for number in range(agents):
        skills = rng.sample(range(SKILLS), SKILLS_PER_AGENT)
        profiles.append(
            AgentSpec(
                f"a{number}",
                {f"s{skill}": rng.randint(1, 5) for skill in skills},
                tuple(f"q{skill}" for skill in skills),
            )
        )
    return Center(Router(queues, profiles), rng)


def fill(center: Center, agents: int, waiting: int) -> None:
    """Log everyone in and ready, then queue calls until all are busy and `waiting` wait."""
    for number in range(agents):
        center.send(AgentLoggedIn(f"a{number}"))
        center.send(AgentReady(f"a{number}"))
    while len(center.waiting) < waiting:
        center.new_call(agents)
        center.settle_offers(0.0)


def churn(center: Center, agents: int, waiting: int, events: int) -> None:
    """Steady churn until `events` decisions were timed."""
    rng = center.rng
    center.measure = True
    while len(center.timings) < events:
        if center.talking:
            call_id, agent_id = center.talking.popitem(last=False)  # the longest talk ends
            center.send(CallEnded(call_id))
            center.send(WrapUpDone(agent_id))
            center.settle_offers(0.05)
        roll = rng.random()
        if roll < 0.05 and center.waiting:
            center.send(CallerHungUp(center.waiting.pick(rng)))
        elif roll < 0.07 and center.waiting:
            call_id = center.waiting.pick(rng)
            center.waiting.discard(call_id)  # keeps its place, but no longer "on the line"
            center.send(CallbackRequested(call_id, "+15550100"))
        if len(center.resting) > 8 or (center.resting and roll < 0.1):
            center.send(AgentReady(center.resting.pop(0)))
            center.settle_offers(0.05)
        while len(center.waiting) < waiting:
            center.new_call(agents)
            center.settle_offers(0.05)
        if len(center.timings) % 50 < 4:
            center.send(ClockTick())
            center.settle_offers(0.05)


def percentile(sorted_ns: list[int], fraction: float) -> float:
    index = min(len(sorted_ns) - 1, round(fraction * (len(sorted_ns) - 1)))
    return sorted_ns[index] / 1e6


def figures(timings_ns: list[int]) -> dict[str, float]:
    ordered = sorted(timings_ns)
    total = sum(ordered) / 1e9
    return {
        "count": len(ordered),
        "per_second": round(len(ordered) / total),
        "mean_us": round(total / len(ordered) * 1e6, 2),
        "p50_ms": round(percentile(ordered, 0.50), 4),
        "p99_ms": round(percentile(ordered, 0.99), 4),
        "max_ms": round(ordered[-1] / 1e6, 3),
    }


def run(agents: int, events: int, seed: int) -> dict[str, object]:
    waiting = agents // 2
    center = build(agents, seed)
    fill(center, agents, waiting)
    gc.collect()  # start the measure with a clean collector, then let it run as it would
    churn(center, agents, waiting, events)
    decisions = figures([t for name in DECISIONS for t in center.kinds.get(name, [])])
    every = figures(center.timings)
    return {
        "agents": agents,
        "waiting_calls": waiting,
        "decisions": decisions["count"],
        "decisions_per_second": decisions["per_second"],
        "mean_us": decisions["mean_us"],
        "p50_ms": decisions["p50_ms"],
        "p99_ms": decisions["p99_ms"],
        "max_ms": decisions["max_ms"],
        "events": every["count"],
        "events_per_second": every["per_second"],
        "events_p99_ms": every["p99_ms"],
        "offers": center.offered,
        "by_event_mean_us": {
            name: round(sum(values) / len(values) / 1e3, 2)
            for name, values in sorted(center.kinds.items())
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run for CI")
    parser.add_argument("--json", action="store_true", help="print a JSON object last")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    sizes = (100, 1_000) if args.quick else (100, 1_000, 10_000)
    events = 20_000 if args.quick else 200_000
    results = []
    for agents in sizes:
        result = run(agents, events, args.seed)
        results.append(result)
        print(
            f"{agents:>6} agents, {result['waiting_calls']:>5} waiting: "
            f"{result['decisions_per_second']:>7,} decisions/s (mean {result['mean_us']} us, "
            f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, max {result['max_ms']} ms); "
            f"all events {result['events_per_second']:>7,}/s, p99 {result['events_p99_ms']} ms"
        )
    headline = results[-1]
    print(f"mean us per event at {headline['agents']} agents: {headline['by_event_mean_us']}")
    if args.json:
        summary = {
            "decisions_per_second": headline["decisions_per_second"],
            "p50_ms": headline["p50_ms"],
            "p99_ms": headline["p99_ms"],
            "agents": headline["agents"],
            "skills": SKILLS,
            "waiting_calls": headline["waiting_calls"],
            "quick": args.quick,
            "events_per_second": headline["events_per_second"],
            "scaling": [{k: v for k, v in r.items() if k != "by_event_mean_us"} for r in results],
            "by_event_mean_us": headline["by_event_mean_us"],
        }
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
