"""A staffing plan: agents needed per interval from forecast volume and handle time.

Each interval is sized on its own with Erlang C (`reports.erlang`, where all the
queueing maths lives): the fewest agents meeting the target service level (and the
occupancy cap when one is given), then what that staffing is expected to give:
service level, ASA, occupancy and the probability that a caller waits at all. An
interval with no calls needs no agents and its expectations are None ("no data").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from reports import erlang

FIELDS: tuple[str, ...] = (
    "interval",
    "calls",
    "traffic_erlangs",
    "agents_needed",
    "service_level",
    "asa_seconds",
    "occupancy",
    "probability_of_wait",
)


def staffing_plan(
    forecast: Sequence[tuple[str, float]],
    aht_seconds: float,
    interval_minutes: int,
    *,
    target_sl: float,
    threshold_seconds: float,
    max_occupancy: float | None = None,
) -> list[dict[str, Any]]:
    """One row per forecast interval (label, calls offered in the interval), in order.

    Each row has the FIELDS: the interval's label and calls, its traffic in Erlangs,
    agents_needed, and the expected service_level (fraction answered within
    threshold_seconds), asa_seconds, occupancy and probability_of_wait at that staffing.
    """
    if isinstance(interval_minutes, bool) or not isinstance(interval_minutes, int):
        raise ValueError(f"interval_minutes must be a whole number, not {interval_minutes!r}")
    if interval_minutes <= 0:
        raise ValueError(f"interval_minutes must be > 0, not {interval_minutes}")
    if not math.isfinite(threshold_seconds) or threshold_seconds < 0:
        raise ValueError(f"threshold_seconds must be >= 0, not {threshold_seconds!r}")
    per_hour = 60 / interval_minutes
    plan = []
    for label, calls in forecast:
        if not math.isfinite(calls) or calls < 0:
            raise ValueError(f"interval {label!r}: calls must be a finite number >= 0")
        rate = calls * per_hour
        agents = erlang.agents_needed(
            rate, aht_seconds, target_sl, threshold_seconds, max_occupancy
        )
        row: dict[str, Any] = {
            "interval": label,
            "calls": calls,
            "traffic_erlangs": erlang.traffic_erlangs(rate, aht_seconds),
            "agents_needed": agents,
            "service_level": None,
            "asa_seconds": None,
            "occupancy": None,
            "probability_of_wait": None,
        }
        if agents:
            row["service_level"] = erlang.service_level(
                rate, aht_seconds, agents, threshold_seconds
            )
            row["asa_seconds"] = erlang.asa_seconds(rate, aht_seconds, agents)
            row["occupancy"] = erlang.occupancy(rate, aht_seconds, agents)
            row["probability_of_wait"] = erlang.probability_of_wait(rate, aht_seconds, agents)
        plan.append(row)
    return plan
