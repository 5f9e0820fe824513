"""Asterisk app_queue's member strategies, as a baseline dispatcher for the simulator.

`QueueStrategyDispatcher` speaks the router's language (`handle(event, now)`,
`next_deadline()`, `agent_state()`) so `acd.simulate` drives it exactly like
`acd.Router`, on the same traffic, and the routing policies can be measured against
what a center on app_queue gets. It does what app_queue does, not what our router
does: one first-in first-out line per queue (value tiers, skills, sticky agents,
overflow and announcements are ignored), and a caller gets, among the available
members of their queue with the lowest penalty, the member the strategy names:

- leastrecent: the member whose last call from the queue ended longest ago;
- fewestcalls: the member who completed the fewest calls from the queue;
- rrmemory: the next member after the one last rung, in member order, round robin;
- random: any of them, from a seeded generator (deterministic).

Penalties are per (queue, agent), 0 when not given. A free agent serving several
queues takes the caller who has waited longest among their heads. The queue's ring
timeout, wrap-up time and maximum wait work as in the router; an unanswered offer
puts the caller back at the head of the line and the member stays available (no
RONA: app_queue only pauses members with `autopause`).

These strategies are not router policies because they need state the router's
agent ranks do not carry (completed-call counts, per-queue penalties, a random
generator, a per-queue round-robin cursor) and a line without value ordering.
"""

import heapq
import random
from collections import deque
from collections.abc import Iterable, Mapping
from enum import StrEnum

from acd.commands import (
    CallFinished,
    CancelOffer,
    Command,
    OfferCall,
    Outcome,
    ReturnToWaiting,
    RouteOut,
    SetAgentReady,
    SetAgentWrapUp,
)
from acd.errors import RoutingError, SpecError
from acd.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentNotReady,
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
from acd.specs import AgentSpec, QueueSpec
from acd.state import AgentState


class Strategy(StrEnum):
    """app_queue's `strategy=` values modelled here."""

    LEASTRECENT = "leastrecent"
    FEWESTCALLS = "fewestcalls"
    RRMEMORY = "rrmemory"
    RANDOM = "random"


_RING, _WRAP_UP, _MAX_WAIT = range(3)
_GRACE = 5.0  # seconds after the ring timeout before the offer is taken back


class _Member:
    __slots__ = ("agent_id", "call", "calls", "last_call", "queues", "state", "token")

    def __init__(self, agent_id: str, queues: tuple[str, ...]) -> None:
        self.agent_id = agent_id
        self.queues = queues
        self.state = AgentState.LOGGED_OUT
        self.call = ""  # the call ringing or talking, or whose wrap-up runs
        self.calls: dict[str, int] = {}  # completed calls per queue
        self.last_call: dict[str, float] = {}  # end of the last call per queue
        self.token = 0  # bumped on each offer and wrap-up: stale timers differ


class _Line:
    __slots__ = ("cursor", "members", "spec", "waiting")

    def __init__(self, spec: QueueSpec) -> None:
        self.spec = spec
        self.members: list[_Member] = []  # in configuration order
        self.waiting: deque[str] = deque()
        self.cursor = -1  # rrmemory: index of the member rung last


class _Caller:
    __slots__ = ("agent", "arrived", "line", "offer_id", "talking")

    def __init__(self, line: _Line, arrived: float) -> None:
        self.line = line
        self.arrived = arrived
        self.agent: _Member | None = None  # ringing or talking
        self.offer_id = 0
        self.talking = False


class QueueStrategyDispatcher:
    """An app_queue-like dispatcher; see the module docstring."""

    def __init__(
        self,
        queues: Iterable[QueueSpec],
        agents: Iterable[AgentSpec],
        strategy: Strategy,
        *,
        penalties: Mapping[tuple[str, str], int] | None = None,
        seed: int = 0,
    ) -> None:
        self.strategy = Strategy(strategy)
        self._lines = {spec.name: _Line(spec) for spec in queues}
        self._members: dict[str, _Member] = {}
        for profile in agents:
            for name in profile.queues:
                if name not in self._lines:
                    raise SpecError(f"agent {profile.agent_id!r} serves unknown queue {name!r}")
            member = _Member(profile.agent_id, tuple(dict.fromkeys(profile.queues)))
            self._members[profile.agent_id] = member
            for name in member.queues:
                self._lines[name].members.append(member)
        self._penalties = dict(penalties or {})
        self._rng = random.Random(seed)
        self._calls: dict[str, _Caller] = {}
        self._timers: list[tuple[float, int, int, str, int]] = []
        self._timer_seq = 0
        self._offer_seq = 0
        self._out: list[Command] = []

    # -- the dispatcher's interface ---------------------------------------------------

    def handle(self, event: Event, now: float) -> list[Command]:
        self._out = []
        if isinstance(event, CallQueued):
            self._queued(event, now)
        elif isinstance(event, OfferAnswered):
            self._answered(event)
        elif isinstance(event, CallEnded | CallerHungUp):
            self._hung_up(event.call_id, now)
        elif isinstance(event, ClockTick):
            self._tick(now)
        elif isinstance(event, WrapUpDone | AgentReady):
            self._go_ready(self._member(event.agent_id), now)
        elif isinstance(event, OfferNotAnswered):
            self._not_answered(event, now)
        elif isinstance(event, AgentLoggedIn):
            member = self._member(event.agent_id)
            if member.state is AgentState.LOGGED_OUT:
                member.state = AgentState.NOT_READY
        elif isinstance(event, AgentNotReady | AgentLoggedOut):
            self._leave(event, now)
        else:
            raise RoutingError(f"the {self.strategy} baseline does not model {event!r}")
        return self._out

    def next_deadline(self) -> float | None:
        timers = self._timers
        while timers and not self._live(timers[0]):
            heapq.heappop(timers)
        return timers[0][0] if timers else None

    def agent_state(self, agent_id: str) -> AgentState:
        return self._member(agent_id).state

    # -- events -------------------------------------------------------------------------

    def _member(self, agent_id: str) -> _Member:
        member = self._members.get(agent_id)
        if member is None:
            raise RoutingError(f"unknown agent {agent_id!r}: the baseline knows configured agents")
        return member

    def _queued(self, event: CallQueued, now: float) -> None:
        line = self._lines.get(event.queue)
        if line is None:
            raise RoutingError(f"call {event.call_id!r} queued to unknown queue {event.queue!r}")
        if event.call_id in self._calls:
            return
        self._calls[event.call_id] = _Caller(line, now)
        line.waiting.append(event.call_id)
        if line.spec.max_wait is not None:
            self._timer(now + line.spec.max_wait.after_seconds, _MAX_WAIT, event.call_id, 0)
        self._serve(line, now)

    def _answered(self, event: OfferAnswered) -> None:
        caller = self._calls.get(event.call_id)
        if caller is None or caller.agent is None or caller.talking:
            return
        if caller.agent.agent_id != event.agent_id or event.offer_id not in (None, caller.offer_id):
            return
        caller.talking = True
        caller.agent.state = AgentState.ON_CALL

    def _hung_up(self, call_id: str, now: float) -> None:
        caller = self._calls.pop(call_id, None)
        if caller is None:
            return
        member = caller.agent
        if caller.talking and member is not None:
            self._out.append(CallFinished(call_id, Outcome.ANSWERED))
            name = caller.line.spec.name
            member.calls[name] = member.calls.get(name, 0) + 1
            member.last_call[name] = now
            self._wrap_up(member, caller.line.spec, now)
            return
        if member is None:
            caller.line.waiting.remove(call_id)
        else:
            self._out.append(CancelOffer(call_id, member.agent_id, caller.offer_id))
        self._out.append(CallFinished(call_id, Outcome.ABANDONED))
        if member is not None:
            self._make_ready(member, now)

    def _not_answered(self, event: OfferNotAnswered, now: float) -> None:
        caller = self._calls.get(event.call_id)
        if caller is None or caller.agent is None or caller.talking:
            return
        if caller.agent.agent_id != event.agent_id or event.offer_id not in (None, caller.offer_id):
            return
        self._back_to_line(caller, event.call_id, now)

    def _leave(self, event: AgentNotReady | AgentLoggedOut, now: float) -> None:
        member = self._member(event.agent_id)
        if member.state is AgentState.ON_CALL:
            raise RoutingError(f"agent {member.agent_id!r} cannot leave while on a call")
        if member.state is AgentState.RESERVED:
            caller = self._calls[member.call]
            self._out.append(CancelOffer(member.call, member.agent_id, caller.offer_id))
            self._back_to_line(caller, member.call, now, keep=False)
        member.call = ""
        logged_out = isinstance(event, AgentLoggedOut)
        if member.state is not AgentState.LOGGED_OUT:
            member.state = AgentState.LOGGED_OUT if logged_out else AgentState.NOT_READY

    def _tick(self, now: float) -> None:
        timers = self._timers
        while timers and timers[0][0] <= now:
            timer = heapq.heappop(timers)
            if not self._live(timer):
                continue
            _, _, kind, subject, _ = timer
            if kind == _WRAP_UP:
                self._out.append(SetAgentReady(subject))
                self._make_ready(self._members[subject], now)
            elif kind == _RING:
                caller = self._calls[subject]
                assert caller.agent is not None
                self._out.append(CancelOffer(subject, caller.agent.agent_id, caller.offer_id))
                self._back_to_line(caller, subject, now)
            else:
                caller = self._calls.pop(subject)
                caller.line.waiting.remove(subject)
                max_wait = caller.line.spec.max_wait
                assert max_wait is not None
                target = max_wait.target
                self._out.append(RouteOut(subject, target.kind, target.destination))
                self._out.append(CallFinished(subject, Outcome.ROUTED_OUT))

    # -- moves --------------------------------------------------------------------------

    def _back_to_line(self, caller: _Caller, call_id: str, now: float, keep: bool = True) -> None:
        """An offer failed: the caller goes back to the head of their line."""
        member = caller.agent
        caller.agent = None
        caller.offer_id = 0
        caller.line.waiting.appendleft(call_id)
        self._out.append(ReturnToWaiting(call_id))
        if member is not None and keep:
            member.call = ""
            member.state = AgentState.READY
            member.token += 1
        self._serve(caller.line, now)
        if member is not None and keep and member.state is AgentState.READY:
            self._make_ready(member, now)  # it may take a caller of another queue

    def _wrap_up(self, member: _Member, spec: QueueSpec, now: float) -> None:
        member.token += 1
        seconds = spec.wrapup_seconds
        if seconds == 0:
            self._out.append(SetAgentReady(member.agent_id))
            self._make_ready(member, now)
            return
        member.state = AgentState.WRAP_UP
        until = None if seconds is None else now + seconds
        if until is not None:
            self._timer(until, _WRAP_UP, member.agent_id, member.token)
        self._out.append(SetAgentWrapUp(member.agent_id, until))

    def _go_ready(self, member: _Member, now: float) -> None:
        """The agent says they are ready (or done with wrap-up)."""
        if member.state is AgentState.LOGGED_OUT:
            raise RoutingError(f"agent {member.agent_id!r} is logged out: log in first")
        if member.state is AgentState.NOT_READY or member.state is AgentState.WRAP_UP:
            self._make_ready(member, now)

    def _make_ready(self, member: _Member, now: float) -> None:
        member.state = AgentState.READY
        member.call = ""
        member.token += 1
        heads = [self._lines[name] for name in member.queues if self._lines[name].waiting]
        heads.sort(key=lambda line: self._calls[line.waiting[0]].arrived)
        for line in heads:
            if member.state is not AgentState.READY:
                break
            self._serve(line, now)

    def _serve(self, line: _Line, now: float) -> None:
        """Give the line's head callers the members the strategy picks, while any is free."""
        while line.waiting:
            member = self._pick(line)
            if member is None:
                return
            call_id = line.waiting.popleft()
            caller = self._calls[call_id]
            self._offer_seq += 1
            caller.agent = member
            caller.offer_id = self._offer_seq
            member.state = AgentState.RESERVED
            member.call = call_id
            member.token += 1
            ring = line.spec.ring_timeout
            self._timer(now + ring + _GRACE, _RING, call_id, self._offer_seq)
            self._out.append(
                OfferCall(call_id, member.agent_id, line.spec.name, caller.offer_id, ring)
            )

    def _pick(self, line: _Line) -> _Member | None:
        name = line.spec.name
        free = [(i, m) for i, m in enumerate(line.members) if m.state is AgentState.READY]
        if not free:
            return None
        penalty = min(self._penalties.get((name, m.agent_id), 0) for _, m in free)
        free = [(i, m) for i, m in free if self._penalties.get((name, m.agent_id), 0) == penalty]
        if self.strategy is Strategy.LEASTRECENT:
            index, member = min(free, key=lambda f: (f[1].last_call.get(name, -1e300), f[0]))
        elif self.strategy is Strategy.FEWESTCALLS:
            index, member = min(free, key=lambda f: (f[1].calls.get(name, 0), f[0]))
        elif self.strategy is Strategy.RANDOM:
            index, member = free[self._rng.randrange(len(free))]
        else:
            size = len(line.members)
            index, member = min(free, key=lambda f: (f[0] - line.cursor - 1) % size)
        line.cursor = index
        return member

    def _timer(self, at: float, kind: int, subject: str, token: int) -> None:
        self._timer_seq += 1
        heapq.heappush(self._timers, (at, self._timer_seq, kind, subject, token))

    def _live(self, timer: tuple[float, int, int, str, int]) -> bool:
        _, _, kind, subject, token = timer
        if kind == _WRAP_UP:
            member = self._members[subject]
            return member.state is AgentState.WRAP_UP and member.token == token
        caller = self._calls.get(subject)
        if caller is None:
            return False
        if kind == _RING:
            return caller.agent is not None and not caller.talking and caller.offer_id == token
        return caller.agent is None  # max wait: still in line
