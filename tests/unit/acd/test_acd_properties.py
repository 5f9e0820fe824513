"""Invariants of the router under random event sequences, checked against a small model.

The model follows the router only through the events it is sent and the
commands it returns, and checks, at every command:

- a call is offered to at most one agent at a time;
- an agent holds at most one call or offer (offers go to ready agents only);
- within equal effective priority the longest-waiting call is served first, and
  more generally an agent always gets the eligible waiting call with the
  smallest virtual enqueue time (plain machine);
- the ageing bound: no eligible caller who arrived more than the bound earlier
  is passed over;
- every call ends in exactly one outcome, consistent with where it was;

and after every step that no ready agent is left beside a call it could take,
that agents' and calls' states agree with the model, and that positions are the
model's. The rich machine adds overflow, the maximum wait and sticky agents.
"""

import sys

import pytest
from acd_model import IGNORED, ILLEGAL, IN_LINE, A, Model, ModelAgent, ModelCall, S, agent_rule
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from acd import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentNotReady,
    AgentReady,
    AgentSpec,
    AgentState,
    CallbackCancelled,
    CallbackRequested,
    CallConnected,
    CallEnded,
    CallerHungUp,
    CallQueued,
    CallState,
    ClockTick,
    Command,
    Event,
    IllegalTransition,
    MaxWait,
    OfferAnswered,
    OfferNotAnswered,
    OverflowRule,
    Policy,
    QueueSpec,
    Router,
    RouteTarget,
    SkillNeed,
    TargetKind,
    WrapUpDone,
    WrapUpExtended,
)
from acd.policies import normalize_needs

AGENTS = {
    "a0": ({"tech": 1}, ("sales", "support", "express")),
    "a1": ({"tech": 3, "french": 1}, ("support", "tech")),
    "a2": ({"tech": 2}, ("sales", "tech")),
    "a3": ({"tech": 5, "french": 2}, ("tech",)),
    "a4": ({}, ("sales", "express")),
}
NEEDS = [
    (),
    (),
    (),
    (SkillNeed("french"),),
    (SkillNeed("tech", 3),),
    (SkillNeed("tech"), SkillNeed("french", 2)),
]
STEPS = [0.0, 0.5, 1.0, 5.0, 12.0, 21.0, 45.0]
ACTIONS = ["login", "ready", "not_ready", "logout", "done", "extend"]


class RouterMachine(RuleBasedStateMachine):
    """Random events against the router; the model checks every command."""

    QUEUES: tuple[QueueSpec, ...] = (
        QueueSpec(
            "sales",
            seconds_per_tier=20,
            ageing_bound_seconds=60,
            sticky_wait_seconds=None,
            announce_every_seconds=25,
            wrapup_seconds=10,
            rona_after_misses=2,
        ),
        QueueSpec("support", policy=Policy.EVEN, wrapup_seconds=0),
        QueueSpec(
            "tech",
            policy=Policy.SKILLS,
            needs=(SkillNeed("tech", 2),),
            wrapup_seconds=None,
            rona_after_misses=None,
        ),
        QueueSpec("express", policy=Policy.ROUND_ROBIN, wrapup_seconds=3),
    )
    CHECK_ORDER = True

    def __init__(self) -> None:
        super().__init__()
        profiles = [AgentSpec(a, skills, queues) for a, (skills, queues) in AGENTS.items()]
        self.router = Router(self.QUEUES, profiles)
        self.model = Model(
            {spec.name: spec for spec in self.QUEUES},
            {a: ModelAgent(dict(s), q) for a, (s, q) in AGENTS.items()},
            check_order=self.CHECK_ORDER,
        )
        self.now = 0.0
        self.last_tick = 0.0
        self.count = 0

    # -- sending --------------------------------------------------------------------

    def send(self, event: Event) -> list[Command]:
        commands = self.router.handle(event, self.now)
        for command in commands:
            self.model.apply(command)
        return commands

    def refused(self, event: Event) -> None:
        before = self.snapshot()
        with pytest.raises(IllegalTransition):
            self.router.handle(event, self.now)
        assert self.snapshot() == before

    def unchanged(self, event: Event) -> None:
        before = self.snapshot()
        assert self.send(event) == []
        assert self.snapshot() == before

    def snapshot(self) -> tuple[object, ...]:
        return (
            tuple(self.router.agent_state(a) for a in AGENTS),
            tuple(
                (c, self.router.call_state(c), self.router.position(c)) for c in self.model.calls
            ),
        )

    # -- rules ----------------------------------------------------------------------

    def live(self, *statuses: CallState) -> list[str]:
        return sorted(c for c, call in self.model.calls.items() if call.status in statuses)

    def agents_in(self, *states: AgentState) -> list[str]:
        return sorted(a for a, agent in self.model.agents.items() if agent.state in states)

    @initialize(shift=st.sets(st.sampled_from(sorted(AGENTS)), min_size=1))
    def start_the_shift(self, shift: set[str]) -> None:
        for agent_id in sorted(shift):
            self.request(agent_id, "login")
            self.request(agent_id, "ready")

    @rule(dt=st.sampled_from(STEPS))
    def tick(self, dt: float) -> None:
        self.now += dt
        self.send(ClockTick())
        self.last_tick = self.now
        self.after_tick()

    @rule(
        queue=st.sampled_from(["sales", "support", "tech", "express"]),
        tier=st.integers(0, 4),
        needs=st.sampled_from(NEEDS),
        customer=st.sampled_from([None, "k1", "k2"]),
        last_agent=st.sampled_from([None, None, "a0", "a2", "a4"]),
        dt=st.sampled_from(STEPS[:4]),
    )
    def queue_call(
        self,
        queue: str,
        tier: int,
        needs: tuple[SkillNeed, ...],
        customer: str | None,
        last_agent: str | None,
        dt: float,
    ) -> None:
        self.now += dt
        self.count += 1
        call_id = f"c{self.count}"
        spec = self.model.specs[queue]
        bonus = min(tier * spec.seconds_per_tier, spec.ageing_bound_seconds)
        virtual = self.now - (bonus if spec.policy is Policy.VALUE else 0.0)
        lane = (queue, normalize_needs(needs or spec.needs))
        self.model.calls[call_id] = ModelCall(
            queue, (virtual, self.count), self.now, customer, [lane]
        )
        self.send(CallQueued(call_id, queue, needs, tier, customer, last_agent))

    @precondition(lambda self: self.agents_in(A.LOGGED_OUT, A.NOT_READY, A.WRAP_UP))
    @rule(data=st.data(), done=st.booleans())
    def an_agent_gets_back_to_work(self, data: st.DataObject, done: bool) -> None:
        agent_id = data.draw(st.sampled_from(self.agents_in(A.LOGGED_OUT, A.NOT_READY, A.WRAP_UP)))
        state = self.model.agents[agent_id].state
        if state is A.LOGGED_OUT:
            self.request(agent_id, "login")
        self.request(agent_id, "done" if done and state is A.WRAP_UP else "ready")

    @rule(
        agent_id=st.sampled_from(sorted(AGENTS)),
        action=st.sampled_from(ACTIONS),
        extra=st.sampled_from([None, 4.0, 60.0]),
    )
    def request(self, agent_id: str, action: str, extra: float | None = None) -> None:
        agent = self.model.agents[agent_id]
        event: Event = {
            "login": AgentLoggedIn(agent_id),
            "ready": AgentReady(agent_id),
            "not_ready": AgentNotReady(agent_id, "break"),
            "logout": AgentLoggedOut(agent_id),
            "done": WrapUpDone(agent_id),
            "extend": WrapUpExtended(agent_id, extra),
        }[action]
        target = agent_rule(action, agent.state)
        if target == ILLEGAL:
            self.refused(event)
        elif target == IGNORED:
            self.unchanged(event)
        else:
            assert isinstance(target, AgentState)
            agent.state = target
            self.send(event)

    @precondition(lambda self: self.model.offers)
    @rule(data=st.data(), answered=st.sampled_from([True, True, False]), with_id=st.booleans())
    def report_the_offer(self, data: st.DataObject, answered: bool, with_id: bool) -> None:
        call_id, agent_id = data.draw(st.sampled_from(sorted(self.model.offers.items())))
        if answered:
            call, agent = self.model.calls[call_id], self.model.agents[agent_id]
            del self.model.offers[call_id]
            call.status, call.agent = S.TALKING, agent_id
            agent.state, agent.offer, agent.talking = A.ON_CALL, None, call_id
            assert self.send(OfferAnswered(call_id, agent_id)) == []
        else:
            self.send(OfferNotAnswered(call_id, agent_id))

    @rule(data=st.data(), duplicate=st.booleans(), customer=st.sampled_from([None, "k1"]))
    def a_consulted_agent_takes_a_transfer(
        self, data: st.DataObject, duplicate: bool, customer: str | None
    ) -> None:
        """An attended transfer completed: the call talks at once to the agent consulted,
        who comes from ready or not ready, never from an offer, a call or wrap-up."""
        if duplicate and self.model.calls:
            call_id = data.draw(st.sampled_from(sorted(self.model.calls)))
            agent_id = data.draw(st.sampled_from(sorted(AGENTS)))
            self.unchanged(CallConnected(call_id, self.model.calls[call_id].queue, agent_id))
            return
        agent_id = data.draw(st.sampled_from(sorted(AGENTS)))
        agent = self.model.agents[agent_id]
        queue = data.draw(st.sampled_from(agent.queues))
        self.count += 1
        call_id = f"t{self.count}"
        event = CallConnected(call_id, queue, agent_id, customer)
        if agent.state not in (A.READY, A.NOT_READY):
            self.refused(event)
            return
        lane = (queue, normalize_needs(self.model.specs[queue].needs))
        self.model.calls[call_id] = ModelCall(
            queue, (self.now, self.count), self.now, customer, [lane], S.TALKING, agent=agent_id
        )
        agent.state, agent.talking = A.ON_CALL, call_id
        assert self.send(event) == []

    @precondition(lambda self: self.live(S.TALKING))
    @rule(data=st.data(), caller_first=st.booleans())
    def a_conversation_ends(self, data: st.DataObject, caller_first: bool) -> None:
        call_id = data.draw(st.sampled_from(self.live(S.TALKING)))
        if caller_first and not self.model.calls[call_id].callback:
            self.send(CallerHungUp(call_id))
        else:
            self.send(CallEnded(call_id))

    @precondition(lambda self: self.live(S.WAITING, S.OFFERED))
    @rule(data=st.data(), callback=st.booleans())
    def a_caller_gives_up_waiting(self, data: st.DataObject, callback: bool) -> None:
        call_id = data.draw(st.sampled_from(self.live(S.WAITING, S.OFFERED)))
        if callback:
            call = self.model.calls[call_id]
            call.status, call.callback = S.CALLBACK_WAITING, True
            self.send(CallbackRequested(call_id, "+15550100"))
        else:
            self.send(CallerHungUp(call_id))

    @precondition(lambda self: self.live(S.CALLBACK_WAITING, S.CALLBACK_OFFERED))
    @rule(data=st.data())
    def a_callback_is_cancelled(self, data: st.DataObject) -> None:
        call_id = data.draw(st.sampled_from(self.live(S.CALLBACK_WAITING, S.CALLBACK_OFFERED)))
        self.send(CallbackCancelled(call_id))

    @precondition(lambda self: self.model.calls)
    @rule(data=st.data(), answered=st.booleans())
    def a_stale_offer_report(self, data: st.DataObject, answered: bool) -> None:
        call_id = data.draw(st.sampled_from(sorted(self.model.calls)))
        agent_id = data.draw(st.sampled_from(sorted(AGENTS)))
        if self.model.offers.get(call_id) == agent_id:
            return  # not stale: report_the_offer covers it
        event = OfferAnswered if answered else OfferNotAnswered
        self.unchanged(event(call_id, agent_id))

    @precondition(lambda self: self.model.calls)
    @rule(data=st.data(), kind=st.sampled_from(["hang_up", "end", "callback", "cancel"]))
    def any_report_about_any_call(self, data: st.DataObject, kind: str) -> None:
        """Duplicates, late reports and impossible requests: harmless or refused."""
        call_id = data.draw(st.sampled_from(sorted(self.model.calls)))
        call = self.model.calls[call_id]
        status = call.status
        if kind == "hang_up":
            if status is S.FINISHED or call.callback:
                self.unchanged(CallerHungUp(call_id))
            else:
                self.send(CallerHungUp(call_id))
        elif kind == "end":
            if status is S.TALKING:
                self.send(CallEnded(call_id))
            elif status is S.FINISHED:
                self.unchanged(CallEnded(call_id))
            else:
                self.refused(CallEnded(call_id))
        elif kind == "callback":
            if status in (S.WAITING, S.OFFERED):
                call.status, call.callback = S.CALLBACK_WAITING, True
                self.send(CallbackRequested(call_id, "+15550100"))
            else:
                self.unchanged(CallbackRequested(call_id, "+15550100"))
        elif status in (S.CALLBACK_WAITING, S.CALLBACK_OFFERED):
            self.send(CallbackCancelled(call_id))
        elif status is S.FINISHED:
            self.unchanged(CallbackCancelled(call_id))
        else:
            self.refused(CallbackCancelled(call_id))

    def after_tick(self) -> None:
        """Hook for checks that hold right after the deadlines fired."""

    def exempt(self, call: ModelCall) -> bool:
        """Calls a ready agent may legitimately leave waiting (none here)."""
        return False

    # -- invariants -----------------------------------------------------------------

    @invariant()
    def states_agree_with_the_model(self) -> None:
        for agent_id, agent in self.model.agents.items():
            assert self.router.agent_state(agent_id) is agent.state, agent_id
        for call_id, call in self.model.calls.items():
            assert self.router.call_state(call_id) is call.status, call_id
            expected = self.model.rank(call) if call.status in IN_LINE else None
            assert self.router.position(call_id) == expected, call_id

    @invariant()
    def no_ready_agent_is_left_beside_a_call_it_could_take(self) -> None:
        for agent_id, agent in self.model.agents.items():
            if agent.state is A.READY:
                for call in self.model.calls.values():
                    if call.status in IN_LINE and not self.exempt(call):
                        assert not self.model.eligible(agent_id, call), (agent_id, call)

    def teardown(self) -> None:
        if sys.exc_info()[1] is not None:
            return  # the run already failed: keep its error
        for _ in range(10 * len(self.model.calls) + 10):
            live = [c for c, call in self.model.calls.items() if call.status is not S.FINISHED]
            if not live:
                break
            call = self.model.calls[live[0]]
            if call.status is S.TALKING:
                self.send(CallEnded(live[0]))
            elif call.callback:
                self.send(CallbackCancelled(live[0]))
            else:
                self.send(CallerHungUp(live[0]))
        assert set(self.model.outcomes) == set(self.model.calls), "every call ends"


class RichRouterMachine(RouterMachine):
    """Overflow, maximum wait and sticky agents too; the strict order check is off."""

    QUEUES = (
        QueueSpec(
            "sales",
            seconds_per_tier=20,
            ageing_bound_seconds=60,
            sticky_wait_seconds=10,
            max_wait=MaxWait(35, RouteTarget(TargetKind.VOICEMAIL, "2000")),
            overflow=(OverflowRule(30, "support"),),
            announce_every_seconds=25,
            wrapup_seconds=10,
        ),
        QueueSpec(
            "support",
            policy=Policy.EVEN,
            overflow=(OverflowRule(20, "tech", needs=(SkillNeed("tech"),)),),
            wrapup_seconds=0,
        ),
        QueueSpec(
            "tech",
            policy=Policy.SKILLS,
            needs=(SkillNeed("tech", 2),),
            overflow=(OverflowRule(40, "tech", needs=(SkillNeed("tech"),)),),
            max_wait=MaxWait(60, RouteTarget(TargetKind.CALLBACK, "list")),
            wrapup_seconds=None,
            rona_after_misses=None,
        ),
        QueueSpec("express", sticky_wait_seconds=0, wrapup_seconds=3),
    )
    CHECK_ORDER = False  # sticky waits make a call eligible for one agent only, for a while

    def exempt(self, call: ModelCall) -> bool:
        spec = self.model.specs[call.queue]
        if spec.policy is not Policy.VALUE or not spec.sticky_wait_seconds:
            return False
        return call.enqueued + spec.sticky_wait_seconds > self.last_tick  # may wait for its agent

    def after_tick(self) -> None:
        for call in self.model.calls.values():
            max_wait = self.model.specs[call.queue].max_wait
            if call.status is S.WAITING and max_wait is not None:
                assert call.enqueued + max_wait.after_seconds > self.now, "maximum wait"


FAST = settings(
    max_examples=200,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

TestRouterInvariants = RouterMachine.TestCase
TestRouterInvariants.settings = FAST
TestRichRouterInvariants = RichRouterMachine.TestCase
TestRichRouterInvariants.settings = FAST
