"""The moves the router makes, and its timers; `acd.router` maps events onto them.

`Engine` holds the live state (queues, agents, calls, timers) and the moves:
give a call the best ready agent or put it in line, give a ready agent the
best waiting call, offer, return a call to its place after a failed offer
(RONA), withdraw an offer that is nobody's fault, wrap-up, overflow, the
maximum wait, announcements and the endings of calls. Every move checks its
transition against the tables of `acd.state` and appends its commands to the
output of the event being handled. After each move the invariant holds: no
call in line suits a ready agent.
"""

from collections import OrderedDict
from collections.abc import Iterable
from typing import TypeVar

from acd import matching, timers
from acd.commands import (
    Announce,
    CallFinished,
    CancelOffer,
    Command,
    OfferCall,
    Outcome,
    OverflowCall,
    PlaceCallback,
    ReturnToWaiting,
    RouteOut,
    SetAgentNotReady,
    SetAgentReady,
    SetAgentWrapUp,
)
from acd.entities import STAFFED, Agent, Call, Offer, Queue
from acd.errors import RoutingError, SpecError
from acd.estimates import estimated_wait
from acd.policies import normalize_needs
from acd.specs import AgentSpec, QueueSpec, RouterSettings
from acd.state import (
    AgentState,
    AgentTrigger,
    CallState,
    CallTrigger,
    agent_next,
    call_next,
)
from acd.timers import Timer, Timers

_V = TypeVar("_V")

NO_ANSWER = "no answer"  # the reason RONA gives

_IN_LINE = frozenset(
    {CallState.WAITING, CallState.OFFERED, CallState.CALLBACK_WAITING, CallState.CALLBACK_OFFERED}
)
_ON_THE_LINE = frozenset({CallState.WAITING, CallState.OFFERED})


class Engine:
    """The router's state and moves, without the event handlers (see `Router`)."""

    def __init__(
        self,
        queues: Iterable[QueueSpec],
        agents: Iterable[AgentSpec] = (),
        settings: RouterSettings | None = None,
    ) -> None:
        self._settings = settings or RouterSettings()
        self._queues: dict[str, Queue] = {}
        for spec in queues:
            if spec.name in self._queues:
                raise SpecError(f"queue {spec.name!r} is defined twice")
            self._queues[spec.name] = Queue(spec, self._settings.handle_time_window)
        for queue in self._queues.values():
            for rule in queue.spec.overflow:
                if rule.to_queue not in self._queues:
                    raise SpecError(f"queue {queue.name!r} overflows to unknown {rule.to_queue!r}")
        self._profiles: dict[str, AgentSpec] = {}
        self._agents: dict[str, Agent] = {}
        for profile in agents:
            if profile.agent_id in self._profiles:
                raise SpecError(f"agent {profile.agent_id!r} is defined twice")
            self._check_queues(profile)
            self._profiles[profile.agent_id] = profile
            self._agents[profile.agent_id] = Agent(profile.agent_id, len(self._agents) + 1)
        self._calls: dict[str, Call] = {}
        self._finished: OrderedDict[str, Outcome] = OrderedDict()
        self._last_agent: OrderedDict[str, str] = OrderedDict()  # customer -> last agent
        self._timers = Timers()
        self._seq = 0
        self._offer_seq = 0
        self._out: list[Command] = []

    # -- lookups ------------------------------------------------------------------------

    def _agent(self, agent_id: str) -> Agent:
        agent = self._agents.get(agent_id)
        if agent is None:
            raise RoutingError(f"unknown agent {agent_id!r}: not configured, never logged in")
        return agent

    def _call(self, call_id: str) -> Call:
        call = self._calls.get(call_id)
        if call is None:
            raise RoutingError(f"unknown call {call_id!r}: never queued, or finished long ago")
        return call

    def _live_call(self, call_id: str) -> Call | None:
        """The call, or None when it has finished (the report is late)."""
        if call_id in self._finished:
            return None
        return self._call(call_id)

    def _check_queues(self, profile: AgentSpec) -> None:
        for name in profile.queues:
            if name not in self._queues:
                raise SpecError(f"agent {profile.agent_id!r} serves unknown queue {name!r}")

    # -- matching calls and agents ------------------------------------------------------

    def _place(self, call: Call, now: float) -> None:
        """Give a call that is not in line the best ready agent, or put it in line."""
        found = matching.best_agent(call.lanes)
        if found is None:
            matching.admit(call)
        else:
            self._offer(call, found[0], found[1], now)

    def _dispatch_agent(self, agent: Agent, now: float) -> None:
        """Give a ready agent the best waiting call, or make it findable by the next one."""
        found = matching.best_call(agent)
        if found is None:
            matching.push_ready(agent)
        else:
            self._offer(found[0], agent, found[1], now)

    def _offer(self, call: Call, agent: Agent, queue: Queue, now: float) -> None:
        call_target = call_to(call, CallTrigger.OFFER)
        agent_target = agent_to(agent, AgentTrigger.OFFER)
        if call.admitted:
            matching.withdraw(call)
        self._offer_seq += 1
        offer = Offer(self._offer_seq, call, agent, queue)
        call.state = call_target
        call.offer = agent.offer = offer
        agent.last_offer = offer.offer_id
        self._set_agent(agent, agent_target)
        ring = queue.spec.ring_timeout
        safety_net = now + ring + self._settings.ring_grace_seconds
        self._timers.add(safety_net, timers.RING, call.call_id, call.seq, offer.offer_id)
        if call.callback:
            self._emit(
                PlaceCallback(
                    call.call_id, agent.agent_id, call.number, queue.name, offer.offer_id, ring
                )
            )
        else:
            self._emit(OfferCall(call.call_id, agent.agent_id, queue.name, offer.offer_id, ring))

    def _offer_failed(self, offer: Offer, now: float) -> None:
        """Not answered: the call goes back to its place, the agent may go not ready (RONA)."""
        agent = offer.agent
        agent.misses += 1
        threshold = offer.queue.spec.rona_after_misses
        rona = threshold is not None and agent.misses >= threshold
        target = agent_to(agent, AgentTrigger.RONA if rona else AgentTrigger.MISS)
        agent.offer = None
        if rona:
            agent.misses = 0
            self._set_agent(agent, target)
            self._emit(SetAgentNotReady(agent.agent_id, NO_ANSWER))
        else:
            self._set_ready(agent, idle_since=now)  # to the back of the idle line
        self._return_to_waiting(offer, now)  # first, so that it goes to someone else if it can
        if rona:
            self._release_sticky(agent, now)
        else:
            self._dispatch_agent(agent, now)

    def _return_to_waiting(self, offer: Offer, now: float) -> None:
        call = offer.call
        call.state = call_to(call, CallTrigger.OFFER_FAILED)
        call.offer = None
        self._emit(ReturnToWaiting(call.call_id))
        if call.expired and call.state is CallState.WAITING:
            self._route_out(call)
        else:
            self._place(call, now)

    def _withdraw_offer(self, offer: Offer) -> None:
        """Stop an offer for a reason that is not the agent's fault."""
        self._emit(CancelOffer(offer.call.call_id, offer.agent.agent_id, offer.offer_id))
        offer.call.offer = offer.agent.offer = None

    def _release_agent(self, agent: Agent, now: float) -> None:
        """An agent whose offer was withdrawn is ready again, keeping their idle time."""
        agent_to(agent, AgentTrigger.RELEASE)
        self._make_ready(agent, now, idle_since=agent.idle_since)

    def _release_sticky(self, agent: Agent, now: float) -> None:
        """Calls waiting for an agent who left service go to everyone else."""
        for entry in list(agent.sticky):
            call = entry[2]
            matching.withdraw(call)
            self._place(call, now)

    # -- agent state --------------------------------------------------------------------

    def _set_agent(self, agent: Agent, state: AgentState) -> None:
        was_staffed = agent.state in STAFFED
        agent.state = state
        if was_staffed != (state in STAFFED):
            delta = -1 if was_staffed else 1
            for queue in agent.queues:
                queue.staffed += delta

    def _set_ready(self, agent: Agent, idle_since: float) -> None:
        self._set_agent(agent, AgentState.READY)
        agent.ready_token += 1
        agent.idle_since = idle_since

    def _make_ready(self, agent: Agent, now: float, idle_since: float) -> None:
        self._set_ready(agent, idle_since)
        self._dispatch_agent(agent, now)

    def _end_talk(self, call: Call, now: float) -> None:
        """The conversation is over: the call is finished, its agent goes to wrap-up."""
        answered = call.answered
        if answered is None:
            raise RoutingError(f"internal error: call {call.call_id!r} talked unanswered")
        agent = answered.agent
        self._finish(call, Outcome.CALLED_BACK if call.callback else Outcome.ANSWERED)
        self._to_wrap_up(agent, answered.queue.spec.wrapup_seconds, now)

    def _to_wrap_up(self, agent: Agent, seconds: float | None, now: float) -> None:
        """The agent's talk is over: wrap-up for `seconds` (None: until they say so)."""
        self._set_agent(agent, agent_to(agent, AgentTrigger.END_CALL))
        if seconds == 0:
            self._wrap_up_over(agent, now)
        else:
            self._start_wrap_up(agent, None if seconds is None else now + seconds)

    def _start_wrap_up(self, agent: Agent, until: float | None) -> None:
        agent.wrapup_token += 1
        if until is not None:
            self._timers.add(until, timers.WRAP_UP, agent.agent_id, agent.wrapup_token)
        self._emit(SetAgentWrapUp(agent.agent_id, until))

    def _wrap_up_over(self, agent: Agent, now: float) -> None:
        agent_to(agent, AgentTrigger.END_WRAP_UP)
        self._end_handling(agent, now)
        if agent.then_not_ready is None:
            self._emit(SetAgentReady(agent.agent_id))
        self._after_wrap_up(agent, now)

    def _after_wrap_up(self, agent: Agent, now: float) -> None:
        """Wrap-up is over: the agent is ready, or not ready again if they were before
        their own outbound call (`then_not_ready`)."""
        reason, agent.then_not_ready = agent.then_not_ready, None
        if reason is None:
            self._make_ready(agent, now, idle_since=now)
            return
        self._set_agent(agent, agent_to(agent, AgentTrigger.GO_NOT_READY))
        self._emit(SetAgentNotReady(agent.agent_id, reason))
        self._release_sticky(agent, now)

    def _end_handling(self, agent: Agent, now: float) -> None:
        """Leaving wrap-up: the handle time (talk + wrap-up) feeds the wait estimate."""
        if agent.state is AgentState.WRAP_UP and agent.handling is not None:
            queue, answered_at = agent.handling
            queue.handle_times.add(now - answered_at)
            agent.handling = None

    # -- timers and endings -------------------------------------------------------------

    def _timer_live(self, timer: Timer) -> bool:
        return self._timer_subject(timer) is not None

    def _timer_subject(self, timer: Timer) -> Call | Agent | None:
        """The call or agent a timer is about, None if the timer no longer applies."""
        _, _, kind, subject, generation, token = timer
        if kind == timers.WRAP_UP:
            agent = self._agents[subject]
            live = agent.state is AgentState.WRAP_UP and agent.wrapup_token == generation
            return agent if live else None
        call = self._calls.get(subject)
        if call is None or call.seq != generation:
            return None
        if kind == timers.RING:
            live = call.offer is not None and call.offer.offer_id == token
        elif kind == timers.OVERFLOW:
            live = call.state in _IN_LINE
        elif kind == timers.STICKY:
            live = call.sticky_agent is not None
        else:  # MAX_WAIT, ANNOUNCE
            live = call.state in _ON_THE_LINE
        return call if live else None

    def _fire(self, kind: int, subject: Call | Agent, token: int, now: float) -> None:
        if isinstance(subject, Agent):
            self._wrap_up_over(subject, now)
        elif kind == timers.RING and subject.offer is not None:
            self._emit(CancelOffer(subject.call_id, subject.offer.agent.agent_id, token))
            self._offer_failed(subject.offer, now)
        elif kind == timers.OVERFLOW:
            self._overflow(subject, token, now)
        elif kind == timers.MAX_WAIT:
            if subject.state is CallState.OFFERED:
                subject.expired = True  # leaves if this offer fails
            else:
                self._route_out(subject)
        elif kind == timers.ANNOUNCE:
            self._announce(subject, now)
        elif kind == timers.STICKY:
            matching.withdraw(subject)
            self._place(subject, now)

    def _overflow(self, call: Call, index: int, now: float) -> None:
        rule = call.queue.spec.overflow[index]
        target = self._queues[rule.to_queue]
        needs = normalize_needs(target.spec.needs if rule.needs is None else tuple(rule.needs))
        lane = matching.lane_for(target, needs)
        if not matching.add_lane(call, lane):
            return
        self._emit(OverflowCall(call.call_id, target.name))
        if call.admitted and call.sticky_agent is None:
            found = matching.best_agent([lane])
            if found is not None:
                self._offer(call, found[0], found[1], now)

    def _announce(self, call: Call, now: float) -> None:
        every = call.queue.spec.announce_every_seconds
        if every is None:
            return
        if call.state is CallState.WAITING:
            place = matching.position(call)
            queue = call.queue
            wait = estimated_wait(place, queue.handle_times.mean(), queue.staffed)
            self._emit(Announce(call.call_id, place, wait))
        self._timers.add(now + every, timers.ANNOUNCE, call.call_id, call.seq)

    def _route_out(self, call: Call) -> None:
        max_wait = call.queue.spec.max_wait
        if max_wait is None or call_next(call.call_id, call.state, CallTrigger.ROUTE_OUT) is None:
            return
        if call.admitted:
            matching.withdraw(call)
        self._emit(RouteOut(call.call_id, max_wait.target.kind, max_wait.target.destination))
        self._finish(call, Outcome.ROUTED_OUT)

    def _finish(self, call: Call, outcome: Outcome) -> None:
        call.state = CallState.FINISHED
        call.answered = None
        del self._calls[call.call_id]
        _remember(self._finished, call.call_id, outcome, self._settings.finished_call_memory)
        self._emit(CallFinished(call.call_id, outcome))

    def _remember_agent(self, customer_id: str, agent_id: str) -> None:
        _remember(self._last_agent, customer_id, agent_id, self._settings.sticky_memory)

    def _emit(self, command: Command) -> None:
        self._out.append(command)


def call_to(call: Call, trigger: CallTrigger) -> CallState:
    """The state a transition the router itself decided leads to (never a no-op)."""
    target = call_next(call.call_id, call.state, trigger)
    if target is None:
        raise RoutingError(f"internal error: call {call.call_id!r} ignored {trigger.value}")
    return target


def agent_to(agent: Agent, trigger: AgentTrigger) -> AgentState:
    """The state a transition the router itself decided leads to (never a no-op)."""
    target = agent_next(agent.agent_id, agent.state, trigger)
    if target is None:
        raise RoutingError(f"internal error: agent {agent.agent_id!r} ignored {trigger.value}")
    return target


def _remember(memory: OrderedDict[str, _V], key: str, value: _V, size: int) -> None:
    """Insert into a bounded memory that forgets the least recently written entry first."""
    memory[key] = value
    memory.move_to_end(key)
    if len(memory) > size:
        memory.popitem(last=False)
