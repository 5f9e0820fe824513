"""Discrete-event simulation of a contact center on a virtual clock (pure: no I/O, no real time).

`simulate(calls, dispatcher, shifts)` drives a real routing core (`acd.Router`, or
the app_queue-like `acd.baseline.QueueStrategyDispatcher`) the way the live runner
does, but with simulated callers and agents: one heap of (time, sequence, what)
holds arrivals, answers (after `ring_delay`), ends of talk, agents' own ends of
after-call work, callers' patience running out (`CallerHungUp`), shift starts and
ends; the dispatcher's own deadlines (`next_deadline()`) are fired with `ClockTick`
when the clock reaches them. The dispatcher's commands drive the callers and
agents: an `OfferCall` is answered `ring_delay` later, the talk ends
`handle_seconds` after the answer, `SetAgentWrapUp` starts the agent's after-call
work, `CallFinished` closes the call's record. A ring delay as long as the
offer's ring timeout means the agent does not answer (the dialplan reports
`OfferNotAnswered`); an agent set not ready for it is back `rona_recovery`
seconds later.

Arrivals stop at the end of the traffic and the run drains: it goes on until every
call has finished (or `drain_limit` seconds more have passed, when calls would wait
forever for agents who never come). An agent whose shift ends while talking logs out
when the call ends. The result is plain data: one `CallResult` per call and the
agents' state spans, from which `reports.simulation` computes the KPIs with the
same definitions as the live reports.
"""

from __future__ import annotations

import heapq
import math
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import count
from typing import NamedTuple, Protocol

from acd.commands import (
    CallFinished,
    CancelOffer,
    Command,
    OfferCall,
    Outcome,
    PlaceCallback,
    ReturnToWaiting,
    SetAgentNotReady,
    SetAgentReady,
    SetAgentWrapUp,
)
from acd.errors import RoutingError
from acd.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentReady,
    CallEnded,
    CallerHungUp,
    CallQueued,
    ClockTick,
    Event,
    OfferAnswered,
    OfferNotAnswered,
    WrapUpDone,
)
from acd.state import AgentState
from acd.traffic import SimCall


class Dispatcher(Protocol):
    """What the simulator needs of a routing core: `acd.Router` is one."""

    def handle(self, event: Event, now: float) -> list[Command]: ...

    def next_deadline(self) -> float | None: ...

    def agent_state(self, agent_id: str) -> AgentState: ...


class SimulationError(RoutingError):
    """The dispatcher broke a rule of the simulation (an agent booked twice, ...)."""


@dataclass(frozen=True, slots=True)
class Shift:
    """`agent_id` logs in and goes ready at `start` and logs out at `end` (None: never)."""

    agent_id: str
    start: float = 0.0
    end: float | None = None


class CallResult(NamedTuple):
    """What became of one call. Times in seconds from the start of the simulation.

    queue_seconds: the wait until answered, or until the call left otherwise.
    acw_seconds: the agent's after-call work (0 without wrap-up); None if unanswered.
    """

    call_id: str
    queue: str
    tier: int
    customer_id: str | None
    arrived_at: float
    outcome: Outcome
    queue_seconds: float
    ended_at: float
    agent: str | None = None
    answered_at: float | None = None
    talk_seconds: float | None = None
    acw_seconds: float | None = None


STATES: tuple[AgentState, ...] = tuple(AgentState)
_STATE_CODE = {state: code for code, state in enumerate(STATES)}
_OUT = AgentState.LOGGED_OUT
_OFFERS = (OfferCall, PlaceCallback)


@dataclass(slots=True)
class SimulationResult:
    """Every finished call, the agents' state spans, and the run's counters."""

    calls: list[CallResult] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)
    span_agent: array[int] = field(default_factory=lambda: array("I"))
    span_state: bytearray = field(default_factory=bytearray)
    span_start: array[float] = field(default_factory=lambda: array("d"))
    span_end: array[float] = field(default_factory=lambda: array("d"))
    offered: int = 0  # calls that reached the dispatcher
    unfinished: int = 0  # still in the dispatcher when the drain limit was reached
    offers: int = 0  # OfferCall and PlaceCallback commands
    events: int = 0  # events handled by the dispatcher
    ended_at: float = 0.0

    def spans(self) -> Iterator[tuple[str, AgentState, float, float]]:
        """(agent, state, start, end) of every logged-in state an agent was in for a while."""
        agents, states = self.agents, STATES
        for index, code, start, end in zip(
            self.span_agent, self.span_state, self.span_start, self.span_end, strict=True
        ):
            yield agents[index], states[code], start, end


# What a heap entry is for.
_ARRIVAL, _ANSWER, _TALK_END, _WRAP_END, _PATIENCE, _LOG_IN, _LOG_OUT, _BACK, _NO_ANSWER = range(9)
_TICK = -1  # not on the heap: the dispatcher's own deadline


class _Live:
    """A call on its way: arriving, then held by the dispatcher."""

    __slots__ = ("agent", "answered_at", "call", "call_id", "offer_agent", "offer_id")

    def __init__(self, call: SimCall) -> None:
        self.call = call
        self.call_id = ""  # given on arrival
        self.offer_id = 0  # the offer ringing now (0: none)
        self.offer_agent = ""
        self.answered_at = -1.0
        self.agent = ""


_NO_CALL = _Live(SimCall(0.0, ""))

# (at, sequence, what for, the call, the agent, an offer id or wrap-up number)
_Entry = tuple[float, int, int, _Live, str, int]


class _Wrap(NamedTuple):
    """An answered call whose agent may still be in after-call work."""

    live: _Live
    outcome: Outcome
    finished: float  # end of talk


class Simulation:
    """One run: feed it the calls, then `run()`. See the module docstring."""

    def __init__(
        self,
        calls: Iterable[SimCall],
        dispatcher: Dispatcher,
        shifts: Iterable[Shift],
        *,
        ring_delay: float = 0.0,
        rona_recovery: float = 60.0,
        drain_limit: float = 7 * 86400.0,
        progress: Callable[[float, int], None] | None = None,
    ) -> None:
        if ring_delay < 0 or rona_recovery <= 0 or drain_limit < 0:
            raise SimulationError("ring_delay >= 0, rona_recovery > 0 and drain_limit >= 0")
        self._arrivals = iter(calls)
        self._dispatcher = dispatcher
        self._agent_state = dispatcher.agent_state
        self._handle = dispatcher.handle
        self._ring_delay = ring_delay
        self._rona_recovery = rona_recovery
        self._drain_limit = drain_limit
        self._progress = progress
        self._heap: list[_Entry] = []
        self._seq = count()
        self._live: dict[str, _Live] = {}
        self._wrap: dict[str, _Wrap] = {}  # agent -> call whose after-call work runs
        self._wrap_count: dict[str, int] = {}  # agent -> wrap-ups started
        self._state: dict[str, AgentState] = {}
        self._since: dict[str, float] = {}
        self._index: dict[str, int] = {}
        self._leaving: set[str] = set()  # shift over, logs out when done with the call
        self._busy: dict[str, str] = {}  # agent -> call ringing or talking (double-booking check)
        self._answers: list[tuple[_Live, int]] = []  # offers answered at once (no ring delay)
        self._exhausted = False
        self._last_arrival = -math.inf
        self.result = SimulationResult()
        for shift in shifts:
            if shift.end is not None and shift.end < shift.start:
                raise SimulationError(f"shift of {shift.agent_id!r} ends before it starts")
            self._index.setdefault(shift.agent_id, len(self._index))
            self._push(shift.start, _LOG_IN, _NO_CALL, shift.agent_id)
            if shift.end is not None:
                self._push(shift.end, _LOG_OUT, _NO_CALL, shift.agent_id)
        self.result.agents = list(self._index)
        self._next_arrival()

    def _push(self, at: float, kind: int, live: _Live, agent_id: str = "", number: int = 0) -> None:
        heapq.heappush(self._heap, (at, next(self._seq), kind, live, agent_id, number))

    def _next_arrival(self) -> None:
        call = next(self._arrivals, None)
        if call is None:
            self._exhausted = True
            return
        if call.arrival < self._last_arrival:
            raise SimulationError(f"calls out of order: {call.arrival} after a later one")
        self._last_arrival = call.arrival
        self._push(call.arrival, _ARRIVAL, _Live(call))

    # -- the loop --------------------------------------------------------------------

    def run(self) -> SimulationResult:
        heap, result, step = self._heap, self.result, self._step
        next_deadline, heappop = self._dispatcher.next_deadline, heapq.heappop
        now = 0.0
        arrivals_over = 0.0 if self._exhausted else math.inf
        entry: _Entry
        loops = 0
        while True:
            deadline = next_deadline()
            if heap and (deadline is None or heap[0][0] < deadline):
                entry = heappop(heap)
            elif deadline is not None:
                entry = (deadline, 0, _TICK, _NO_CALL, "", 0)
            else:
                break
            if entry[0] > arrivals_over + self._drain_limit:
                break
            if entry[0] > now:
                now = entry[0]
            step(entry, now)
            answers = self._answers
            while answers:
                live, offer_id = answers.pop(0)
                if live.offer_id == offer_id and live.call_id in self._live:
                    self._answer(live, now)
            if self._exhausted:
                arrivals_over = min(arrivals_over, now)
                if not self._live and not self._wrap:
                    break
            loops += 1
            if self._progress is not None and loops & 0xFFFF == 0:
                self._progress(now, len(result.calls))
        self._close(now)
        return result

    def _step(self, entry: _Entry, now: float) -> None:
        _, _, kind, live, agent_id, number = entry
        if kind == _ARRIVAL:
            self._arrive(live, now)
        elif kind == _ANSWER:
            if live.offer_id == number and live.call_id in self._live:
                self._answer(live, now)
        elif kind == _TALK_END:
            if live.call_id in self._live:
                self._feed(CallEnded(live.call_id), now)
        elif kind == _TICK:
            self._feed(ClockTick(), now)
        elif kind == _PATIENCE:
            if live.call_id in self._live and live.answered_at < 0:
                self._feed(CallerHungUp(live.call_id), now)
        elif kind == _WRAP_END:
            if self._wrap_count.get(agent_id) == number:
                self._feed(WrapUpDone(agent_id), now, agent_id)
        elif kind == _LOG_IN:
            self._leaving.discard(agent_id)
            if self._state.get(agent_id) in (None, AgentState.LOGGED_OUT):
                self._feed(AgentLoggedIn(agent_id), now, agent_id)
                self._feed(AgentReady(agent_id), now, agent_id)
        elif kind == _LOG_OUT:
            self._log_out(agent_id, now)
        elif kind == _NO_ANSWER:
            if live.offer_id == number and live.call_id in self._live:
                self._feed(OfferNotAnswered(live.call_id, agent_id, number), now, agent_id)
        elif kind == _BACK:
            if self._state.get(agent_id) is AgentState.NOT_READY and agent_id not in self._leaving:
                self._feed(AgentReady(agent_id), now, agent_id)

    def _arrive(self, live: _Live, now: float) -> None:
        self._next_arrival()
        result = self.result
        result.offered += 1
        call = live.call
        live.call_id = call_id = f"c{result.offered}"
        self._live[call_id] = live
        if call.patience is not None and math.isfinite(call.patience):
            self._push(now + call.patience, _PATIENCE, live)
        self._feed(CallQueued(call_id, call.queue, call.needs, call.tier, call.customer_id), now)

    def _answer(self, live: _Live, now: float) -> None:
        agent_id = live.offer_agent
        self._feed(OfferAnswered(live.call_id, agent_id, live.offer_id), now, agent_id)
        live.offer_id = 0
        live.answered_at = now
        live.agent = agent_id
        self._push(now + live.call.handle_seconds, _TALK_END, live)

    def _log_out(self, agent_id: str, now: float) -> None:
        state = self._state.get(agent_id)
        if state is None or state is AgentState.LOGGED_OUT:
            return
        if state is AgentState.ON_CALL or state is AgentState.WRAP_UP:
            self._leaving.add(agent_id)
        else:
            self._feed(AgentLoggedOut(agent_id), now, agent_id)

    # -- the dispatcher's side -------------------------------------------------------

    def _feed(self, event: Event, now: float, agent_id: str = "") -> None:
        """Hand one event (about `agent_id`, if any) to the dispatcher; carry out its commands."""
        self.result.events += 1
        commands = self._handle(event, now)
        if not commands:
            if agent_id:
                self._observe(agent_id, now)
            return
        touched = [agent_id] if agent_id else []
        for command in commands:
            if isinstance(command, _OFFERS):
                self._offered(command, now)
                touched.append(command.agent_id)
            elif isinstance(command, CallFinished):
                self._finished(command, now)
            elif isinstance(command, SetAgentReady):
                touched.append(command.agent_id)
            elif isinstance(command, SetAgentWrapUp):
                self._wrap_up(command, now)
                touched.append(command.agent_id)
            elif isinstance(command, CancelOffer):
                self._offer_over(command.call_id, command.agent_id)
                touched.append(command.agent_id)
            elif isinstance(command, ReturnToWaiting):
                live = self._live.get(command.call_id)
                if live is not None and live.offer_id:
                    self._offer_over(live.call_id, live.offer_agent)
            elif isinstance(command, SetAgentNotReady):
                touched.append(command.agent_id)
                self._push(now + self._rona_recovery, _BACK, _NO_CALL, command.agent_id)
        if len(touched) > 1:
            touched = list(dict.fromkeys(touched))
        for agent in touched:
            self._observe(agent, now)

    def _offered(self, command: OfferCall | PlaceCallback, now: float) -> None:
        live = self._live.get(command.call_id)
        if live is None:
            raise SimulationError(f"offer of unknown or finished call {command.call_id!r}")
        busy = self._busy.get(command.agent_id)
        if busy is not None:
            raise SimulationError(
                f"agent {command.agent_id!r} offered {command.call_id!r} while busy with {busy!r}"
            )
        if live.offer_id or live.answered_at >= 0:
            raise SimulationError(f"call {command.call_id!r} offered twice at once")
        self._busy[command.agent_id] = command.call_id
        self.result.offers += 1
        live.offer_id = command.offer_id
        live.offer_agent = command.agent_id
        if self._ring_delay >= command.ring_timeout:  # the dialplan gives up first
            at = now + command.ring_timeout
            self._push(at, _NO_ANSWER, live, command.agent_id, command.offer_id)
        elif self._ring_delay:
            self._push(now + self._ring_delay, _ANSWER, live, command.agent_id, command.offer_id)
        else:
            self._answers.append((live, command.offer_id))

    def _offer_over(self, call_id: str, agent_id: str) -> None:
        live = self._live.get(call_id)
        if live is not None and live.offer_agent == agent_id and live.answered_at < 0:
            live.offer_id = 0
            live.offer_agent = ""
        if self._busy.get(agent_id) == call_id and (live is None or live.answered_at < 0):
            del self._busy[agent_id]

    def _finished(self, command: CallFinished, now: float) -> None:
        live = self._live.pop(command.call_id, None)
        if live is None:
            raise SimulationError(f"call {command.call_id!r} finished twice or never queued")
        call = live.call
        if live.offer_id:
            self._offer_over(live.call_id, live.offer_agent)
        if live.answered_at >= 0:
            if self._busy.get(live.agent) == live.call_id:
                del self._busy[live.agent]
            self._wrap[live.agent] = _Wrap(live, command.outcome, now)
            return
        self.result.calls.append(
            CallResult(
                live.call_id,
                call.queue,
                call.tier,
                call.customer_id,
                call.arrival,
                command.outcome,
                now - call.arrival,
                now,
            )
        )

    def _wrap_up(self, command: SetAgentWrapUp, now: float) -> None:
        agent_id = command.agent_id
        number = self._wrap_count[agent_id] = self._wrap_count.get(agent_id, 0) + 1
        wrap = self._wrap.get(agent_id)
        acw = None if wrap is None else wrap.live.call.acw_seconds
        if acw is not None:
            self._push(now + acw, _WRAP_END, _NO_CALL, agent_id, number)
        elif command.until is None:
            self._push(now, _WRAP_END, _NO_CALL, agent_id, number)  # nobody else would end it

    def _observe(self, agent_id: str, now: float) -> None:
        """Note the agent's state after an event: close the span of the previous one."""
        state = self._agent_state(agent_id)
        before = self._state.get(agent_id)
        if state is before:
            return
        if before is not None and before is not _OUT and now > self._since[agent_id]:
            self._span(agent_id, before, self._since[agent_id], now)
        self._state[agent_id] = state
        self._since[agent_id] = now
        if state is not AgentState.WRAP_UP and agent_id in self._wrap:
            self._close_call(agent_id, now)
        if (
            agent_id in self._leaving
            and state is not AgentState.ON_CALL
            and state is not AgentState.WRAP_UP
        ):
            self._leaving.discard(agent_id)
            if state is not AgentState.LOGGED_OUT:
                self._feed(AgentLoggedOut(agent_id), now, agent_id)

    def _close_call(self, agent_id: str, now: float) -> None:
        live, outcome, finished = self._wrap.pop(agent_id)
        call = live.call
        self.result.calls.append(
            CallResult(
                live.call_id,
                call.queue,
                call.tier,
                call.customer_id,
                call.arrival,
                outcome,
                live.answered_at - call.arrival,
                finished,
                agent_id,
                live.answered_at,
                finished - live.answered_at,
                now - finished,
            )
        )

    def _span(self, agent_id: str, state: AgentState, start: float, end: float) -> None:
        result = self.result
        index = self._index.get(agent_id)
        if index is None:  # an agent logged in by an event of its own, without a shift
            index = self._index[agent_id] = len(result.agents)
            result.agents.append(agent_id)
        result.span_agent.append(index)
        result.span_state.append(_STATE_CODE[state])
        result.span_start.append(start)
        result.span_end.append(end)

    def _close(self, now: float) -> None:
        result = self.result
        result.ended_at = now
        for agent_id, state in self._state.items():
            if now > self._since[agent_id] and state is not AgentState.LOGGED_OUT:
                self._span(agent_id, state, self._since[agent_id], now)
            self._since[agent_id] = now
        for agent_id in list(self._wrap):
            self._close_call(agent_id, now)
        result.unfinished = len(self._live)


def simulate(
    calls: Iterable[SimCall],
    dispatcher: Dispatcher,
    shifts: Iterable[Shift],
    *,
    ring_delay: float = 0.0,
    rona_recovery: float = 60.0,
    drain_limit: float = 7 * 86400.0,
    progress: Callable[[float, int], None] | None = None,
) -> SimulationResult:
    """Run `calls` through `dispatcher` with agents working `shifts`; see the module docstring."""
    return Simulation(
        calls,
        dispatcher,
        shifts,
        ring_delay=ring_delay,
        rona_recovery=rona_recovery,
        drain_limit=drain_limit,
        progress=progress,
    ).run()


def staffing_shifts(
    agent_ids: Iterable[str], staff: Iterable[int], interval_seconds: float, *, last_stays: bool
) -> list[Shift]:
    """Shifts for a staffing plan: agent i works the intervals where `staff` > i.

    Consecutive intervals make one shift. With `last_stays`, a shift reaching the end
    of the plan never ends (the agents stay while the last calls drain).
    """
    ids = list(agent_ids)
    plan = list(staff)
    if any(n < 0 for n in plan) or max(plan, default=0) > len(ids):
        raise SimulationError(f"staffing needs 0..{len(ids)} agents per interval, got {plan}")
    shifts = []
    for i, agent_id in enumerate(ids):
        start: int | None = None
        for k, needed in enumerate([*plan, 0]):
            if needed > i and start is None:
                start = k
            elif needed <= i and start is not None:
                open_end = last_stays and k == len(plan)
                end = None if open_end else k * interval_seconds
                shifts.append(Shift(agent_id, start * interval_seconds, end))
                start = None
    return shifts
