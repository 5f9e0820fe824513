"""Erlang C staffing: probability of waiting, ASA, service level and agents needed.

The M/M/c queue behind Erlang C: Poisson arrivals, exponential handle times, callers who
never abandon. Traffic (Erlangs) = arrival rate x average handle time. Erlang B is computed
by its recursion, so hundreds or thousands of agents need no factorials and never overflow.
When traffic >= agents the queue is unstable (it grows without bound): every caller waits,
the ASA is infinite and the service level is 0; these limits are returned, not raised.
Forecasting volumes lives elsewhere.
"""

from __future__ import annotations

import math


def _check(calls_per_hour: float, aht_seconds: float, agents: int | None = None) -> None:
    if not math.isfinite(calls_per_hour) or calls_per_hour < 0:
        raise ValueError(f"calls_per_hour must be a finite number >= 0, not {calls_per_hour!r}")
    if not math.isfinite(aht_seconds) or aht_seconds <= 0:
        raise ValueError(f"aht_seconds must be a finite number > 0, not {aht_seconds!r}")
    if agents is not None and (isinstance(agents, bool) or not isinstance(agents, int)):
        raise ValueError(f"agents must be a whole number, not {agents!r}")
    if agents is not None and agents < 1:
        raise ValueError(f"agents must be at least 1, not {agents}")


def traffic_erlangs(calls_per_hour: float, aht_seconds: float) -> float:
    """Offered traffic in Erlangs: the number of agents kept busy on average."""
    _check(calls_per_hour, aht_seconds)
    return calls_per_hour * aht_seconds / 3600


def erlang_b(traffic: float, agents: int) -> float:
    """Blocking probability of an Erlang B (loss) system, by the stable recursion."""
    if not math.isfinite(traffic) or traffic < 0:
        raise ValueError(f"traffic must be a finite number of Erlangs >= 0, not {traffic!r}")
    if isinstance(agents, bool) or not isinstance(agents, int) or agents < 0:
        raise ValueError(f"agents must be a whole number >= 0, not {agents!r}")
    blocking = 1.0
    for k in range(1, agents + 1):
        blocking = traffic * blocking / (k + traffic * blocking)
    return blocking


def _erlang_c(traffic: float, agents: int) -> float:
    if traffic >= agents:
        return 1.0
    blocking = erlang_b(traffic, agents)
    return agents * blocking / (agents - traffic * (1 - blocking))


def probability_of_wait(calls_per_hour: float, aht_seconds: float, agents: int) -> float:
    """Erlang C: the chance a caller has to queue at all (1.0 when unstable)."""
    _check(calls_per_hour, aht_seconds, agents)
    return _erlang_c(traffic_erlangs(calls_per_hour, aht_seconds), agents)


def asa_seconds(calls_per_hour: float, aht_seconds: float, agents: int) -> float:
    """Expected average speed of answer over all callers (math.inf when unstable)."""
    _check(calls_per_hour, aht_seconds, agents)
    traffic = traffic_erlangs(calls_per_hour, aht_seconds)
    if traffic >= agents:
        return math.inf
    return _erlang_c(traffic, agents) * aht_seconds / (agents - traffic)


def service_level(
    calls_per_hour: float, aht_seconds: float, agents: int, threshold_seconds: float
) -> float:
    """Expected share of callers answered within the threshold (0.0 when unstable)."""
    _check(calls_per_hour, aht_seconds, agents)
    if not math.isfinite(threshold_seconds) or threshold_seconds < 0:
        raise ValueError(f"threshold_seconds must be >= 0, not {threshold_seconds!r}")
    traffic = traffic_erlangs(calls_per_hour, aht_seconds)
    if traffic >= agents:
        return 0.0
    wait = _erlang_c(traffic, agents)
    return max(0.0, 1.0 - wait * math.exp(-(agents - traffic) * threshold_seconds / aht_seconds))


def occupancy(calls_per_hour: float, aht_seconds: float, agents: int) -> float:
    """Expected agent occupancy, traffic / agents, capped at 1.0 when unstable."""
    _check(calls_per_hour, aht_seconds, agents)
    return min(1.0, traffic_erlangs(calls_per_hour, aht_seconds) / agents)


def agents_needed(
    calls_per_hour: float,
    aht_seconds: float,
    target_service_level: float,
    threshold_seconds: float,
    max_occupancy: float | None = None,
) -> int:
    """Fewest agents reaching the target service level, and at most max_occupancy if given.

    No traffic needs no agents (0). The search starts at the first stable staffing.
    """
    _check(calls_per_hour, aht_seconds)
    if not 0 < target_service_level < 1:
        raise ValueError(
            f"target_service_level must be between 0 and 1 exclusive, not {target_service_level!r}"
        )
    if max_occupancy is not None and not 0 < max_occupancy <= 1:
        raise ValueError(f"max_occupancy must be in (0, 1], not {max_occupancy!r}")
    traffic = traffic_erlangs(calls_per_hour, aht_seconds)
    if traffic == 0:
        return 0
    agents = math.floor(traffic) + 1
    if max_occupancy is not None:
        agents = max(agents, math.ceil(traffic / max_occupancy - 1e-9))
    while service_level(calls_per_hour, aht_seconds, agents, threshold_seconds) < (
        target_service_level
    ):
        agents += 1
    return agents
