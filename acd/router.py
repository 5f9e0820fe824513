"""The routing engine: `Router.handle(event, now) -> list[Command]`, without I/O.

Events go in with the time they are applied at; commands come out, already
applied to the router's state, for the driver to carry out in order. The router
reads no clock: `next_deadline()` says when it next needs `ClockTick`, and
`handle(ClockTick(), now)` fires every deadline due at `now`. Other events never
fire deadlines, so an event that arrives late is applied to the state as it is.

Ring timeout. The dialplan owns it: `OfferCall.ring_timeout` is the `Dial`
timeout and Asterisk reports `OfferNotAnswered`. The router keeps a safety net
`ring_grace_seconds` later; when it fires, the router emits `CancelOffer` and
treats the offer as not answered. Reports about an offer the router no longer
holds (by offer id when given, else by call and agent) are ignored, so the
dialplan's late NOANSWER and the router's own timeout cannot both count.

Races and duplicates. A call id names one visit to the router, remembered for
`finished_call_memory` calls after it ends: anything reported about a finished
call is ignored (a hang-up after the call ended, a no-answer after the caller
hung up), as are a second `CallQueued`, answer, wrap-up "done" or "ready".
`acd.state` lists every tolerated pair. A call or agent the router never heard
of is a `RoutingError`, and so is a transition the tables forbid
(`IllegalTransition`); a handler that raises has changed nothing.

Callbacks. `CallbackRequested` takes the caller off the line but leaves the
call in its place (same key, same lanes): it cannot pass anyone nor be passed
unfairly, and a second request is a duplicate. When its turn comes an agent is
reserved and `PlaceCallback` goes out; an unanswered one returns to its place
like any offer. After the request, hang-ups of the caller's old channel are
ignored: a callback conversation ends with `CallEnded`.

Agents' own outbound calls (click-to-call, a preview campaign's contact) are no calls
of the router's: `OutboundAnswered` puts the agent on a call (offered nothing), and
`OutboundEnded` into wrap-up like any call, after which they are ready, or not ready
again if they were before the call.
"""

from collections.abc import Callable, Iterable
from typing import Any

from acd import matching, timers
from acd.commands import CancelOffer, Command, Outcome
from acd.engine import Engine, agent_to, call_to
from acd.entities import STAFFED, Agent, Call, Offer
from acd.errors import RoutingError
from acd.estimates import estimated_wait
from acd.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentNotReady,
    AgentReady,
    CallbackCancelled,
    CallbackRequested,
    CallConnected,
    CallEnded,
    CallerHungUp,
    CallQueued,
    ClockTick,
    Event,
    OfferAnswered,
    OfferNotAnswered,
    OutboundAnswered,
    OutboundEnded,
    WrapUpDone,
    WrapUpExtended,
)
from acd.policies import normalize_needs, virtual_enqueue_time
from acd.specs import AgentSpec, Policy, QueueSpec, RouterSettings
from acd.state import (
    AgentState,
    AgentTrigger,
    CallState,
    CallTrigger,
    agent_next,
    call_next,
)

TRANSFER_WAIT_SECONDS = 60.0  # how long a call transferred to an agent waits for them


class Router(Engine):
    """The ACD: decides which agent takes which call, and when."""

    def __init__(
        self,
        queues: Iterable[QueueSpec],
        agents: Iterable[AgentSpec] = (),
        settings: RouterSettings | None = None,
    ) -> None:
        super().__init__(queues, agents, settings)
        self._now = float("-inf")
        self._handlers: dict[type, Callable[[Any, float], None]] = {
            AgentLoggedIn: self._on_agent_logged_in,
            AgentReady: self._on_agent_ready,
            AgentNotReady: self._on_agent_not_ready,
            AgentLoggedOut: self._on_agent_logged_out,
            CallQueued: self._on_call_queued,
            CallConnected: self._on_call_connected,
            OfferAnswered: self._on_offer_answered,
            OfferNotAnswered: self._on_offer_not_answered,
            CallerHungUp: self._on_caller_hung_up,
            CallEnded: self._on_call_ended,
            WrapUpDone: self._on_wrap_up_done,
            WrapUpExtended: self._on_wrap_up_extended,
            CallbackRequested: self._on_callback_requested,
            CallbackCancelled: self._on_callback_cancelled,
            OutboundAnswered: self._on_outbound_answered,
            OutboundEnded: self._on_outbound_ended,
            ClockTick: self._on_clock_tick,
        }

    # -- the driver's interface -------------------------------------------------------

    def handle(self, event: Event, now: float) -> list[Command]:
        """Apply `event` at time `now` and return what the driver must do, in order."""
        if now < self._now:
            raise RoutingError(f"time went backwards: now={now} after now={self._now}")
        handler = self._handlers.get(type(event))
        if handler is None:
            raise RoutingError(f"not a routing event: {event!r}")
        self._out = []
        handler(event, now)
        self._now = now
        return self._out

    def next_deadline(self) -> float | None:
        """When the router next needs `ClockTick`, None if nothing is pending."""
        return self._timers.next_at(self._timer_live)

    def call_state(self, call_id: str) -> CallState:
        if call_id in self._finished:
            return CallState.FINISHED
        return self._call(call_id).state

    def agent_state(self, agent_id: str) -> AgentState:
        return self._agent(agent_id).state

    def position(self, call_id: str) -> int | None:
        """The caller's place in their queue's line (1 = next), None if not in line."""
        call = self._calls.get(call_id)
        if call is None or not call.admitted:
            return None
        return matching.position(call)

    def estimated_wait(self, call_id: str) -> float | None:
        """Seconds the caller should still expect to wait (see `acd.estimates`)."""
        place = self.position(call_id)
        if place is None:
            return None
        queue = self._calls[call_id].queue
        return estimated_wait(place, queue.handle_times.mean(), queue.staffed)

    # -- agent events -------------------------------------------------------------------

    def _on_agent_logged_in(self, event: AgentLoggedIn, now: float) -> None:
        agent = self._agents.get(event.agent_id)
        if agent is not None:
            agent_next(agent.agent_id, agent.state, AgentTrigger.LOG_IN)
        configured = self._profiles.get(event.agent_id)
        skills, queues = event.skills, event.queues
        if configured is not None:
            skills = configured.skills if skills is None else skills
            queues = configured.queues if queues is None else queues
        if skills is None or queues is None:
            raise RoutingError(
                f"agent {event.agent_id!r} is not configured: log in with skills and queues"
            )
        profile = AgentSpec(event.agent_id, skills, queues)
        self._check_queues(profile)
        if agent is None:
            agent = self._agents[event.agent_id] = Agent(event.agent_id, len(self._agents) + 1)
        agent.skills = dict(profile.skills)
        agent.queues = [self._queues[name] for name in dict.fromkeys(profile.queues)]
        agent.misses = 0
        self._set_agent(agent, AgentState.NOT_READY)
        matching.link_agent(agent)

    def _on_agent_ready(self, event: AgentReady, now: float) -> None:
        agent = self._agent(event.agent_id)
        if agent_next(agent.agent_id, agent.state, AgentTrigger.GO_READY) is None:
            return
        agent.then_not_ready = None  # their own word wins
        self._end_handling(agent, now)
        self._make_ready(agent, now, idle_since=now)

    def _on_agent_not_ready(self, event: AgentNotReady, now: float) -> None:
        agent = self._agent(event.agent_id)
        target = agent_next(agent.agent_id, agent.state, AgentTrigger.GO_NOT_READY)
        if target is None:
            return
        agent.then_not_ready = None
        self._end_handling(agent, now)
        self._set_agent(agent, target)
        self._release_sticky(agent, now)

    def _on_agent_logged_out(self, event: AgentLoggedOut, now: float) -> None:
        agent = self._agent(event.agent_id)
        target = agent_next(agent.agent_id, agent.state, AgentTrigger.LOG_OUT)
        if target is None:
            return
        offer = agent.offer
        agent.then_not_ready = None
        self._end_handling(agent, now)
        self._set_agent(agent, target)
        matching.unlink_agent(agent)
        agent.queues = []
        if offer is not None:
            agent.offer = None
            self._emit(CancelOffer(offer.call.call_id, agent.agent_id, offer.offer_id))
            self._return_to_waiting(offer, now)
        self._release_sticky(agent, now)

    def _on_wrap_up_done(self, event: WrapUpDone, now: float) -> None:
        agent = self._agent(event.agent_id)
        if agent_next(agent.agent_id, agent.state, AgentTrigger.END_WRAP_UP) is None:
            return
        self._end_handling(agent, now)
        self._after_wrap_up(agent, now)

    def _on_wrap_up_extended(self, event: WrapUpExtended, now: float) -> None:
        if event.seconds is not None and event.seconds <= 0:
            raise RoutingError(f"agent {event.agent_id!r}: wrap-up extension must be > 0 s")
        agent = self._agent(event.agent_id)
        if agent_next(agent.agent_id, agent.state, AgentTrigger.EXTEND_WRAP_UP) is None:
            return
        self._start_wrap_up(agent, None if event.seconds is None else now + event.seconds)

    # -- call events --------------------------------------------------------------------

    def _on_call_queued(self, event: CallQueued, now: float) -> None:
        if event.call_id in self._calls or event.call_id in self._finished:
            return  # a duplicate: see CALL_IGNORED
        queue = self._queues.get(event.queue)
        if queue is None:
            raise RoutingError(f"call {event.call_id!r} queued to unknown queue {event.queue!r}")
        spec = queue.spec
        virtual_time = virtual_enqueue_time(spec, now, event.tier)
        needs = normalize_needs(tuple(event.needs) or spec.needs)
        self._seq += 1
        call = Call(event.call_id, self._seq, queue, virtual_time, event.customer_id)
        call.lanes.append(matching.lane_for(queue, needs))
        if event.callback_number:  # a callback from the start: no caller on the line
            target = call_next(call.call_id, call.state, CallTrigger.REQUEST_CALLBACK)
            assert target is not None
            call.callback, call.number, call.state = True, event.callback_number, target
        self._calls[call.call_id] = call
        for index, rule in enumerate(spec.overflow):
            self._timers.add(
                now + rule.after_seconds, timers.OVERFLOW, call.call_id, call.seq, index
            )
        if spec.max_wait is not None:
            at = now + spec.max_wait.after_seconds
            self._timers.add(at, timers.MAX_WAIT, call.call_id, call.seq)
        sticky, wait = self._sticky_agent(call, event)
        if sticky is not None and sticky.state is AgentState.READY:
            self._offer(call, sticky, queue, now)
        elif sticky is not None and wait:
            call.sticky_agent = sticky
            matching.admit(call)
            at = now + wait
            self._timers.add(at, timers.STICKY, call.call_id, call.seq)
        else:
            self._place(call, now)
        if spec.announce_every_seconds is not None:
            self._announce(call, now)

    def _on_call_connected(self, event: CallConnected, now: float) -> None:
        if event.call_id in self._calls or event.call_id in self._finished:
            return  # a duplicate: see CALL_IGNORED
        queue = self._queues.get(event.queue)
        if queue is None:
            raise RoutingError(f"call {event.call_id!r} connected in unknown queue {event.queue!r}")
        agent = self._agent(event.agent_id)
        agent_target = agent_to(agent, AgentTrigger.CONNECT)  # else IllegalTransition
        self._seq += 1
        call = Call(event.call_id, self._seq, queue, now, event.customer_id)
        call.state = CallState.TALKING
        self._offer_seq += 1
        call.answered = Offer(self._offer_seq, call, agent, queue)
        self._calls[call.call_id] = call
        self._set_agent(agent, agent_target)  # a ready agent's heap entries go stale
        agent.handling = (queue, now)
        agent.misses = 0
        if call.customer_id is not None:
            self._remember_agent(call.customer_id, agent.agent_id)

    def ready_agents(self, queue: str) -> int:
        """How many agents able to take the queue's calls are ready now."""
        return len(self.ready_agent_ids(queue))

    def ready_agent_ids(self, queue: str) -> list[str]:
        """The agents able to take the queue's calls who are ready now, longest idle first."""
        spec = self._queues.get(queue)
        if spec is None:
            raise RoutingError(f"unknown queue {queue!r}")
        lane = matching.lane_for(spec, normalize_needs(spec.spec.needs))
        ready = [
            self._agents[a] for a in lane.eligible if self._agents[a].state is AgentState.READY
        ]
        return [a.agent_id for a in sorted(ready, key=lambda a: (a.idle_since, a.seq))]

    def free_agent(self, queue: str) -> str | None:
        """The agent the queue's next caller would be offered to now, None if no one is
        ready (read only: an attended transfer to a queue consults them)."""
        spec = self._queues.get(queue)
        if spec is None:
            raise RoutingError(f"unknown queue {queue!r}")
        lane = matching.lane_for(spec, normalize_needs(spec.spec.needs))
        agent = lane.peek_ready()
        return None if agent is None else agent.agent_id

    def _on_offer_answered(self, event: OfferAnswered, now: float) -> None:
        offer = self._reported_offer(event.call_id, event.agent_id, event.offer_id)
        if offer is None:
            return
        call, agent = offer.call, offer.agent
        call_target = call_to(call, CallTrigger.ANSWER)
        agent_target = agent_to(agent, AgentTrigger.ANSWER)
        call.state = call_target
        self._set_agent(agent, agent_target)
        call.offer = agent.offer = None
        call.answered = offer
        agent.handling = (offer.queue, now)
        agent.misses = 0
        if call.customer_id is not None:
            self._remember_agent(call.customer_id, agent.agent_id)

    def _on_offer_not_answered(self, event: OfferNotAnswered, now: float) -> None:
        offer = self._reported_offer(event.call_id, event.agent_id, event.offer_id)
        if offer is not None:
            self._offer_failed(offer, now)

    def _on_caller_hung_up(self, event: CallerHungUp, now: float) -> None:
        call = self._live_call(event.call_id)
        if call is None or call_next(call.call_id, call.state, CallTrigger.HANG_UP) is None:
            return  # late, or the old channel of a caller waiting for a callback
        if call.callback:
            return  # that old channel again: a callback conversation ends with CallEnded
        if call.state is CallState.TALKING:
            self._end_talk(call, now)
        elif call.offer is not None:
            offer = call.offer
            self._withdraw_offer(offer)
            self._finish(call, Outcome.ABANDONED)
            self._release_agent(offer.agent, now)
        else:
            matching.withdraw(call)
            self._finish(call, Outcome.ABANDONED)

    def _on_call_ended(self, event: CallEnded, now: float) -> None:
        call = self._live_call(event.call_id)
        if call is None or call_next(call.call_id, call.state, CallTrigger.END) is None:
            return
        self._end_talk(call, now)

    def _on_callback_requested(self, event: CallbackRequested, now: float) -> None:
        if not event.number:
            raise RoutingError(f"call {event.call_id!r}: a callback needs a number")
        call = self._live_call(event.call_id)
        if call is None:
            return
        target = call_next(call.call_id, call.state, CallTrigger.REQUEST_CALLBACK)
        if target is None:
            return
        offer = call.offer
        call.callback = True
        call.number = event.number
        call.state = target
        if offer is not None:
            self._withdraw_offer(offer)
            self._place(call, now)
            self._release_agent(offer.agent, now)

    def _on_callback_cancelled(self, event: CallbackCancelled, now: float) -> None:
        call = self._live_call(event.call_id)
        if call is None or call_next(call.call_id, call.state, CallTrigger.CANCEL_CALLBACK) is None:
            return
        offer = call.offer
        if offer is None:
            matching.withdraw(call)
            self._finish(call, Outcome.CALLBACK_CANCELLED)
        else:
            self._withdraw_offer(offer)
            self._finish(call, Outcome.CALLBACK_CANCELLED)
            self._release_agent(offer.agent, now)

    # -- the agents' own outbound calls ---------------------------------------------------

    def _on_outbound_answered(self, event: OutboundAnswered, now: float) -> None:
        agent = self._agent(event.agent_id)
        self._set_agent(agent, agent_to(agent, AgentTrigger.DIAL_OUT))  # else IllegalTransition
        agent.outbound = True

    def _on_outbound_ended(self, event: OutboundEnded, now: float) -> None:
        agent = self._agent(event.agent_id)
        if not agent.outbound:
            raise RoutingError(f"agent {agent.agent_id!r} is not on an outbound call")
        seconds = self._outbound_wrapup(agent, event.queue)
        agent.outbound = False
        agent.then_not_ready = event.then_not_ready
        self._to_wrap_up(agent, seconds, now)

    def _outbound_wrapup(self, agent: Agent, queue: str | None) -> float | None:
        """The wrap-up after an outbound call: `queue`'s, else the most generous of the
        agent's queues (None: no limit), none if they serve no queue."""
        if queue is not None:
            if queue not in self._queues:
                raise RoutingError(f"outbound call of {agent.agent_id!r}: no queue {queue!r}")
            return self._queues[queue].spec.wrapup_seconds
        limits = [q.spec.wrapup_seconds for q in agent.queues]
        if None in limits:
            return None
        return max((s for s in limits if s is not None), default=0.0)

    def _on_clock_tick(self, event: ClockTick, now: float) -> None:
        while (timer := self._timers.pop_due(now)) is not None:
            subject = self._timer_subject(timer)
            if subject is not None:
                self._fire(timer[2], subject, timer[5], now)

    # -- reading events ------------------------------------------------------------

    def _reported_offer(self, call_id: str, agent_id: str, offer_id: int | None) -> Offer | None:
        """The offer a report is about, None if the router no longer holds it."""
        call = self._live_call(call_id)
        agent = self._agent(agent_id)
        offer = None if call is None else call.offer
        if offer is None or offer.agent is not agent:
            return None
        if offer_id is not None and offer_id != offer.offer_id:
            return None
        return offer

    def _sticky_agent(self, call: Call, event: CallQueued) -> tuple[Agent | None, float | None]:
        """The agent the call waits for first, and how long: the transfer's target (any
        policy), or the agent who last served the caller if the queue waits for them."""
        spec = call.queue.spec
        if event.for_agent_id is not None:
            agent_id: str | None = event.for_agent_id
            wait = spec.sticky_wait_seconds or TRANSFER_WAIT_SECONDS
        elif spec.policy is not Policy.VALUE or spec.sticky_wait_seconds is None:
            return None, None
        else:
            agent_id, wait = event.sticky_agent_id, spec.sticky_wait_seconds
            if agent_id is None and event.customer_id is not None:
                agent_id = self._last_agent.get(event.customer_id)
        agent = None if agent_id is None else self._agents.get(agent_id)
        if agent is None or agent.state not in STAFFED:
            return None, None
        return (agent, wait) if agent.agent_id in call.lanes[0].eligible else (None, None)
