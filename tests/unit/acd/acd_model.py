"""An independent model of the router for the property tests (not a test module).

It knows the rules in plain words (which agent requests are allowed, which calls
an agent may take, where a call stands in line) and follows the router only
through the events it is sent and the commands it returns.
"""

from dataclasses import dataclass, field

from acd import (
    AgentState,
    Announce,
    CallFinished,
    CallState,
    CancelOffer,
    Command,
    OfferCall,
    Outcome,
    OverflowCall,
    PlaceCallback,
    Policy,
    QueueSpec,
    ReturnToWaiting,
    RouteOut,
    SetAgentNotReady,
    SetAgentReady,
    SetAgentWrapUp,
    SkillNeed,
)
from acd.policies import meets, normalize_needs

S, A = CallState, AgentState
IN_LINE = {S.WAITING, S.CALLBACK_WAITING}
IGNORED, ILLEGAL = "ignored", "illegal"


def agent_rule(action: str, state: AgentState) -> AgentState | str:
    """The agent requests, in plain words: new state, IGNORED, or ILLEGAL."""
    if action == "login":
        return A.NOT_READY if state is A.LOGGED_OUT else ILLEGAL
    if action == "ready":
        if state is A.READY:
            return IGNORED
        return A.READY if state in (A.NOT_READY, A.WRAP_UP) else ILLEGAL
    if action == "not_ready":
        return A.NOT_READY if state in (A.READY, A.NOT_READY, A.WRAP_UP) else ILLEGAL
    if action == "logout":
        if state is A.LOGGED_OUT:
            return IGNORED
        return ILLEGAL if state is A.ON_CALL else A.LOGGED_OUT
    if action == "done":
        return A.READY if state is A.WRAP_UP else IGNORED
    return A.WRAP_UP if state is A.WRAP_UP else IGNORED  # extend


@dataclass
class ModelCall:
    queue: str
    key: tuple[float, int]
    enqueued: float
    customer: str | None
    lanes: list[tuple[str, tuple[SkillNeed, ...]]]
    status: CallState = S.WAITING
    callback: bool = False
    agent: str | None = None


@dataclass
class ModelAgent:
    skills: dict[str, int]
    queues: tuple[str, ...]
    state: AgentState = A.LOGGED_OUT
    offer: str | None = None
    talking: str | None = None


@dataclass
class Model:
    specs: dict[str, QueueSpec]
    agents: dict[str, ModelAgent]
    calls: dict[str, ModelCall] = field(default_factory=dict)
    offers: dict[str, str] = field(default_factory=dict)  # call -> agent
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    check_order: bool = True  # off where sticky waits reserve calls for one agent

    def bound(self) -> float:
        """The ageing bound across queues: the largest among the VALUE queues."""
        values = [s.ageing_bound_seconds for s in self.specs.values() if s.policy is Policy.VALUE]
        return max(values, default=0.0)

    def eligible(self, agent_id: str, call: ModelCall) -> bool:
        agent = self.agents[agent_id]
        return any(q in agent.queues and meets(agent.skills, n) for q, n in call.lanes)

    def rank(self, call: ModelCall) -> int:
        return 1 + sum(
            1
            for other in self.calls.values()
            if other.queue == call.queue and other.status in IN_LINE and other.key < call.key
        )

    def clear_offer(self, call_id: str) -> None:
        agent = self.agents[self.offers.pop(call_id)]
        agent.offer = None
        if agent.state is A.RESERVED:
            agent.state = A.READY

    def apply(self, command: Command) -> None:
        """Follow one command, checking it against the rules."""
        model = self
        if isinstance(command, OfferCall | PlaceCallback):
            self.check_offer(command.call_id, command.agent_id)
            call, agent = model.calls[command.call_id], model.agents[command.agent_id]
            assert isinstance(command, PlaceCallback) == call.callback
            call.status = S.CALLBACK_OFFERED if call.callback else S.OFFERED
            agent.state, agent.offer = A.RESERVED, command.call_id
            model.offers[command.call_id] = command.agent_id
        elif isinstance(command, CancelOffer):
            assert model.offers.get(command.call_id) == command.agent_id
            model.clear_offer(command.call_id)
        elif isinstance(command, ReturnToWaiting):
            call = model.calls[command.call_id]
            assert call.status in (S.OFFERED, S.CALLBACK_OFFERED)
            if command.call_id in model.offers:
                model.clear_offer(command.call_id)
            call.status = S.CALLBACK_WAITING if call.callback else S.WAITING
        elif isinstance(command, SetAgentNotReady):  # RONA, maybe after CancelOffer released it
            assert model.agents[command.agent_id].state in (A.RESERVED, A.READY)
            model.agents[command.agent_id].state = A.NOT_READY
        elif isinstance(command, SetAgentReady):
            assert model.agents[command.agent_id].state is A.WRAP_UP
            model.agents[command.agent_id].state = A.READY
        elif isinstance(command, SetAgentWrapUp):
            assert model.agents[command.agent_id].state is A.WRAP_UP
        elif isinstance(command, CallFinished):
            self.finish(command.call_id, command.outcome)
        elif isinstance(command, Announce):
            call = model.calls[command.call_id]
            assert call.status is S.WAITING
            assert command.position == model.rank(call)
        elif isinstance(command, OverflowCall):
            call = model.calls[command.call_id]
            rule = next(
                r for r in model.specs[call.queue].overflow if r.to_queue == command.to_queue
            )
            needs = model.specs[rule.to_queue].needs if rule.needs is None else rule.needs
            call.lanes.append((rule.to_queue, normalize_needs(needs)))
        else:
            assert isinstance(command, RouteOut)
            assert model.calls[command.call_id].status is S.WAITING

    def check_offer(self, call_id: str, agent_id: str) -> None:
        """The invariants of an offer, checked as it is made."""
        model = self
        call, agent = model.calls[call_id], model.agents[agent_id]
        assert call_id not in model.offers, "a call is offered to one agent at a time"
        assert call.status in IN_LINE
        assert agent.state is A.READY, "offers go to ready agents only"
        assert agent.offer is None and agent.talking is None, "one call or offer per agent"
        assert model.eligible(agent_id, call)
        rivals = [
            other
            for other in model.calls.values()
            if other.status in IN_LINE and other is not call and model.eligible(agent_id, other)
        ]
        if self.check_order:
            assert all(call.key < other.key for other in rivals), "best call first"
        assert all(other.enqueued + self.bound() >= call.enqueued for other in rivals), "ageing"

    def finish(self, call_id: str, outcome: Outcome) -> None:
        """Exactly one outcome per call, consistent with where the call was."""
        model = self
        assert call_id not in model.outcomes, "exactly one outcome per call"
        model.outcomes[call_id] = outcome
        call = model.calls[call_id]
        expected = {
            S.WAITING: {Outcome.ABANDONED, Outcome.ROUTED_OUT},
            S.OFFERED: {Outcome.ABANDONED},
            S.CALLBACK_WAITING: {Outcome.CALLBACK_CANCELLED},
            S.CALLBACK_OFFERED: {Outcome.CALLBACK_CANCELLED},
            S.TALKING: {Outcome.CALLED_BACK if call.callback else Outcome.ANSWERED},
        }[call.status]
        assert outcome in expected
        assert call_id not in model.offers
        if call.status is S.TALKING:
            assert call.agent is not None
            agent = model.agents[call.agent]
            agent.state, agent.talking = A.WRAP_UP, None
        call.status = S.FINISHED
