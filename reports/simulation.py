"""KPIs of a simulated run (`acd.simulate`), by the same definitions as the live reports.

The run is read through the small protocols below (reports never imports the
routing core; `acd.simulate.SimulationResult` fits them). A run's calls become
`CallRecord`s and its agents' state spans `AgentInterval`s, mapped the way
`reports.fold` maps the live service's events (the router's outcomes and agent
states to the KPI ones), and `reports.kpis` computes every figure. Also here: the
ASA and service level per value tier and per queue, which tell whether a policy
serves valuable customers faster.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from reports import kpis
from reports.fold import _AGENT_STATES, _OUTCOMES  # the live fold's mappings: one place
from reports.kpis import AgentInterval, CallRecord


class SimulatedCall(Protocol):
    """One call of a run; `outcome` is the router's word (`acd.commands.Outcome` values)."""

    @property
    def call_id(self) -> str: ...
    @property
    def queue(self) -> str: ...
    @property
    def tier(self) -> int: ...
    @property
    def customer_id(self) -> str | None: ...
    @property
    def arrived_at(self) -> float: ...
    @property
    def outcome(self) -> str: ...
    @property
    def queue_seconds(self) -> float: ...
    @property
    def ended_at(self) -> float: ...
    @property
    def agent(self) -> str | None: ...
    @property
    def answered_at(self) -> float | None: ...
    @property
    def talk_seconds(self) -> float | None: ...
    @property
    def acw_seconds(self) -> float | None: ...


class SimulatedRun(Protocol):
    """A finished run: its calls, counters, and agent state spans (router state names)."""

    @property
    def calls(self) -> Sequence[SimulatedCall]: ...
    @property
    def unfinished(self) -> int: ...
    @property
    def offers(self) -> int: ...
    @property
    def ended_at(self) -> float: ...
    def spans(self) -> Iterator[tuple[str, str, float, float]]: ...


def call_record(call: SimulatedCall) -> CallRecord:
    """One simulated call as the KPI functions see it."""
    answered = call.answered_at is not None and call.outcome == "answered"
    return CallRecord(
        call_id=call.call_id,
        queue=call.queue,
        arrived_at=call.arrived_at,
        ended_at=call.ended_at,
        outcome=_OUTCOMES.get(call.outcome, kpis.Outcome.EXITED),
        queue_seconds=max(0.0, call.queue_seconds),
        agent=call.agent if answered else None,
        customer_id=call.customer_id,
        answered_at=call.answered_at if answered else None,
        talk_seconds=call.talk_seconds if answered else None,
        hold_seconds=0.0 if answered else None,
        acw_seconds=call.acw_seconds if answered else None,
    )


def agent_intervals(result: SimulatedRun) -> Iterator[AgentInterval]:
    """The agents' state spans as KPI intervals (logged-out time is no interval)."""
    for agent, state, start, end in result.spans():
        kpi_state = _AGENT_STATES.get(str(state))
        if kpi_state is not None:
            yield AgentInterval(agent, kpi_state, start, end)


def simulation_kpis(
    result: SimulatedRun, *, sl_threshold: float = 20.0, short_abandon: float = 5.0
) -> dict[str, Any]:
    """Every KPI of PRODUCT.md for the run, plus per-tier and per-queue ASA and service level.

    Extra keys: `unfinished` (calls still waiting when the run stopped), `offers`,
    `simulated_seconds`, `tiers` and `queues` ({name: {offered, answered, asa_seconds,
    service_level, abandon_rate}}).
    """
    records = [call_record(call) for call in result.calls]
    summary = kpis.summarise(
        records,
        agent_intervals(result),
        sl_threshold=sl_threshold,
        short_abandon=short_abandon,
    )
    by_tier: dict[int, list[CallRecord]] = defaultdict(list)
    by_queue: dict[str, list[CallRecord]] = defaultdict(list)
    for call, record in zip(result.calls, records, strict=True):
        by_tier[call.tier].append(record)
        by_queue[call.queue].append(record)
    summary["tiers"] = _breakdown(by_tier, summary, sl_threshold)
    summary["queues"] = _breakdown(by_queue, summary, sl_threshold)
    summary["unfinished"] = result.unfinished
    summary["offers"] = result.offers
    summary["simulated_seconds"] = result.ended_at
    return summary


def _breakdown(
    groups: dict[Any, list[CallRecord]], summary: dict[str, Any], sl_threshold: float
) -> dict[Any, dict[str, Any]]:
    """The brief figures per group; a single group's are the summary's own."""
    if len(groups) == 1:
        (key,) = groups
        return {key: {name: summary[name] for name in _BRIEF}}
    return {key: _brief(groups[key], sl_threshold) for key in sorted(groups)}


_BRIEF = ("offered", "answered", "asa_seconds", "service_level", "abandon_rate")


def _brief(records: list[CallRecord], sl_threshold: float) -> dict[str, Any]:
    return {
        "offered": kpis.offered(records),
        "answered": kpis.answered(records),
        "asa_seconds": kpis.asa_seconds(records),
        "service_level": kpis.service_level(records, sl_threshold),
        "abandon_rate": kpis.abandon_rate(records),
    }
