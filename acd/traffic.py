"""Simulated traffic: the callers a simulation feeds to the router, generated or replayed.

A `SimCall` is one caller: when they reach the queue, which queue and skills, their
value tier and customer, how long they talk once answered, how long they would
wait before hanging up and the after-call work they leave their agent. Every
attribute is drawn when the call is generated, never while it is routed, so the
same seed gives every policy exactly the same callers (a fair comparison).

`generate` draws Poisson arrivals at a rate that may change every interval (the
profile of rates repeats when the run is longer than it), a mix of call types, and
repeat callers (a share of calls come from a recent caller, who keeps their tier and
queue). Replayed calls (e.g. from the store) are built as `SimCall`s by the caller.
Pure: a seeded `random.Random` is the only source of chance.
"""

import math
import random
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from acd.errors import SpecError
from acd.specs import SkillNeed


class Shape(StrEnum):
    """The shape of a distribution of durations."""

    EXPONENTIAL = "exponential"
    LOGNORMAL = "lognormal"
    FIXED = "fixed"
    NEVER = "never"  # infinite: a caller who never gives up


@dataclass(frozen=True, slots=True)
class Distribution:
    """Durations in seconds with the given `mean`; `sigma` is the log-normal's log-scale spread."""

    shape: Shape
    mean: float = 0.0
    sigma: float = 1.0

    def __post_init__(self) -> None:
        if self.shape is not Shape.NEVER and not (math.isfinite(self.mean) and self.mean >= 0):
            raise SpecError(f"{self.shape} distribution: mean must be a finite number >= 0")
        if self.shape is Shape.LOGNORMAL and not self.sigma > 0:
            raise SpecError("lognormal distribution: sigma must be > 0")

    def sample(self, rng: random.Random) -> float:
        """One duration (math.inf for NEVER)."""
        if self.shape is Shape.EXPONENTIAL:
            return rng.expovariate(1.0 / self.mean) if self.mean > 0 else 0.0
        if self.shape is Shape.LOGNORMAL:
            # mean of exp(N(mu, sigma^2)) is exp(mu + sigma^2 / 2)
            mu = math.log(self.mean) - self.sigma * self.sigma / 2 if self.mean > 0 else -math.inf
            return rng.lognormvariate(mu, self.sigma) if self.mean > 0 else 0.0
        if self.shape is Shape.FIXED:
            return self.mean
        return math.inf


NEVER = Distribution(Shape.NEVER)


def exponential(mean: float) -> Distribution:
    return Distribution(Shape.EXPONENTIAL, mean)


def lognormal(mean: float, sigma: float = 1.0) -> Distribution:
    return Distribution(Shape.LOGNORMAL, mean, sigma)


def fixed(value: float) -> Distribution:
    return Distribution(Shape.FIXED, value)


class SimCall(NamedTuple):
    """One simulated caller; times in seconds from the start of the simulation.

    patience: how long they wait before hanging up (None: forever).
    acw_seconds: the after-call work their agent does (None: until the queue's
        wrap-up timer ends it, or none when the queue has no wrap-up).
    """

    arrival: float
    queue: str
    tier: int = 0
    customer_id: str | None = None
    handle_seconds: float = 0.0
    patience: float | None = None
    needs: tuple[SkillNeed, ...] = ()
    acw_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class CallType:
    """A kind of call in the traffic mix, drawn with probability proportional to `weight`.

    `handle` overrides the traffic's handle-time distribution for this type.
    """

    queue: str
    tier: int = 0
    weight: float = 1.0
    needs: tuple[SkillNeed, ...] = ()
    handle: Distribution | None = None

    def __post_init__(self) -> None:
        if not self.weight > 0:
            raise SpecError(f"call type of queue {self.queue!r}: weight must be > 0")
        if self.tier < 0:
            raise SpecError(f"call type of queue {self.queue!r}: tier must be >= 0")


@dataclass(frozen=True, slots=True)
class Traffic:
    """Generated traffic over `hours`.

    calls_per_hour: the arrival rate of each interval of `interval_minutes`, in
        order; the profile repeats when the run is longer (e.g. 24 hourly rates
        for every day of a year).
    repeat_share: the share of calls made by a caller among the last
        `repeat_memory` callers (same customer, tier, queue and skills). Callers
        are known customers only when some calls repeat (else customer_id is None).
    acw: the after-call work of each call (None: see `SimCall.acw_seconds`).
    """

    hours: float
    calls_per_hour: tuple[float, ...]
    handle: Distribution
    patience: Distribution = NEVER
    mix: tuple[CallType, ...] = (CallType("main"),)
    interval_minutes: float = 60.0
    repeat_share: float = 0.0
    repeat_memory: int = 1000
    acw: Distribution | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.hours) and self.hours >= 0):
            raise SpecError("traffic: hours must be a finite number >= 0")
        if not self.calls_per_hour or any(
            not (math.isfinite(r) and r >= 0) for r in self.calls_per_hour
        ):
            raise SpecError("traffic: calls_per_hour needs one or more finite rates >= 0")
        if not self.interval_minutes > 0:
            raise SpecError("traffic: interval_minutes must be > 0")
        if not self.mix:
            raise SpecError("traffic: the call mix is empty")
        if not 0 <= self.repeat_share <= 1:
            raise SpecError("traffic: repeat_share must be in 0..1")
        if self.repeat_memory < 1:
            raise SpecError("traffic: repeat_memory must be >= 1")

    def expected_calls(self) -> float:
        """The mean number of arrivals over the whole run."""
        interval = self.interval_minutes * 60
        end, total, k = self.hours * 3600, 0.0, 0
        while k * interval < end:
            length = min(interval, end - k * interval)
            total += self.calls_per_hour[k % len(self.calls_per_hour)] * length / 3600
            k += 1
        return total


def generate(traffic: Traffic, rng: random.Random) -> Iterator[SimCall]:
    """The callers of `traffic` in arrival order (a non-homogeneous Poisson process)."""
    end = traffic.hours * 3600
    interval = traffic.interval_minutes * 60
    rates = traffic.calls_per_hour
    weights = [t.weight for t in traffic.mix]
    total_weight = sum(weights)
    cumulative = [sum(weights[: i + 1]) / total_weight for i in range(len(weights))]
    recent: deque[tuple[str | None, CallType]] = deque(maxlen=traffic.repeat_memory)
    handle, patience, acw = traffic.handle, traffic.patience, traffic.acw
    never = patience.shape is Shape.NEVER
    repeats = traffic.repeat_share > 0
    customers = 0
    now, k = 0.0, 0
    while now < end:
        boundary = min(end, (k + 1) * interval)
        rate = rates[k % len(rates)] / 3600
        if rate > 0:
            now += rng.expovariate(rate)
        if rate <= 0 or now >= boundary:
            now, k = boundary, k + 1  # memoryless: restart the clock at the edge
            continue
        customer: str | None = None
        if not repeats:
            kind = traffic.mix[_pick(cumulative, rng.random())]
        elif recent and rng.random() < traffic.repeat_share:
            customer, kind = recent[int(rng.random() * len(recent))]
        else:
            customers += 1
            customer = f"u{customers}"
            kind = traffic.mix[_pick(cumulative, rng.random())]
        if customer is not None:
            recent.append((customer, kind))
        yield SimCall(
            now,
            kind.queue,
            kind.tier,
            customer,
            (kind.handle or handle).sample(rng),
            None if never else patience.sample(rng),
            kind.needs,
            None if acw is None else acw.sample(rng),
        )


def _pick(cumulative: list[float], draw: float) -> int:
    for index, edge in enumerate(cumulative):
        if draw < edge:
            return index
    return len(cumulative) - 1
