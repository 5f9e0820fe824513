"""The transition tables are the spec: allowed, tolerated, or IllegalTransition."""

import itertools

import pytest
from acd_story import agent, ready

from acd import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentNotReady,
    AgentReady,
    AgentState,
    CallbackCancelled,
    CallEnded,
    CallQueued,
    CallState,
    IllegalTransition,
    OfferAnswered,
    QueueSpec,
    Router,
    RoutingError,
)
from acd.state import (
    AGENT_IGNORED,
    AGENT_TRANSITIONS,
    CALL_IGNORED,
    CALL_TRANSITIONS,
    AgentTrigger,
    CallTrigger,
    agent_next,
    call_next,
)


def test_tables_never_both_allow_and_ignore_a_pair() -> None:
    assert set(AGENT_TRANSITIONS).isdisjoint(AGENT_IGNORED)
    assert set(CALL_TRANSITIONS).isdisjoint(CALL_IGNORED)


def test_every_agent_pair_is_allowed_ignored_or_illegal() -> None:
    for state, trigger in itertools.product(AgentState, AgentTrigger):
        if (state, trigger) in AGENT_TRANSITIONS:
            assert agent_next("ann", state, trigger) == AGENT_TRANSITIONS[state, trigger]
        elif (state, trigger) in AGENT_IGNORED:
            assert agent_next("ann", state, trigger) is None
        else:
            with pytest.raises(IllegalTransition):
                agent_next("ann", state, trigger)


def test_every_call_pair_is_allowed_ignored_or_illegal() -> None:
    for state, trigger in itertools.product(CallState, CallTrigger):
        if (state, trigger) in CALL_TRANSITIONS:
            assert call_next("c1", state, trigger) == CALL_TRANSITIONS[state, trigger]
        elif (state, trigger) in CALL_IGNORED:
            assert call_next("c1", state, trigger) is None
        else:
            with pytest.raises(IllegalTransition):
                call_next("c1", state, trigger)


def test_a_finished_call_ignores_everything() -> None:
    for trigger in CallTrigger:
        assert call_next("c1", CallState.FINISHED, trigger) is None


def test_illegal_transition_says_who_tried_what_in_which_state() -> None:
    with pytest.raises(IllegalTransition) as caught:
        agent_next("ann", AgentState.ON_CALL, AgentTrigger.LOG_OUT)
    error = caught.value
    assert str(error) == "agent 'ann' cannot log out while on call"
    assert (error.entity, error.entity_id, error.state, error.trigger) == (
        "agent",
        "ann",
        "on_call",
        "log_out",
    )
    assert isinstance(error, RoutingError)


@pytest.fixture
def talking() -> Router:
    """ann is on call c1; the sales queue has nobody else."""
    router = Router([QueueSpec("sales")], [agent("ann", "sales")])
    ready(router, "ann", 0)
    router.handle(CallQueued("c1", "sales"), 1)
    router.handle(OfferAnswered("c1", "ann"), 2)
    return router


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (AgentReady("ann"), "agent 'ann' cannot go ready while on call"),
        (AgentNotReady("ann", "break"), "agent 'ann' cannot go not ready while on call"),
        (AgentLoggedOut("ann"), "agent 'ann' cannot log out while on call"),
        (AgentLoggedIn("ann"), "agent 'ann' cannot log in while on call"),
        (CallbackCancelled("c1"), "call 'c1' cannot cancel a callback while talking"),
    ],
)
def test_illegal_requests_raise_and_change_nothing(
    talking: Router, event: AgentReady, message: str
) -> None:
    with pytest.raises(IllegalTransition, match=message):
        talking.handle(event, 3)
    assert talking.agent_state("ann") is AgentState.ON_CALL
    assert talking.call_state("c1") is CallState.TALKING


def test_a_call_cannot_end_before_it_was_answered() -> None:
    router = Router([QueueSpec("sales")])
    router.handle(CallQueued("c1", "sales"), 0)
    with pytest.raises(IllegalTransition, match="call 'c1' cannot end while waiting"):
        router.handle(CallEnded("c1"), 1)
    assert router.call_state("c1") is CallState.WAITING


def test_an_agent_must_log_in_before_going_ready() -> None:
    router = Router([QueueSpec("sales")], [agent("ann", "sales")])
    with pytest.raises(IllegalTransition, match="agent 'ann' cannot go ready while logged out"):
        router.handle(AgentReady("ann"), 0)


def test_a_ringing_agent_cannot_go_not_ready_but_can_log_out() -> None:
    router = Router([QueueSpec("sales")], [agent("ann", "sales")])
    ready(router, "ann", 0)
    router.handle(CallQueued("c1", "sales"), 1)
    with pytest.raises(IllegalTransition, match="cannot go not ready while reserved"):
        router.handle(AgentNotReady("ann", "break"), 2)
    assert router.agent_state("ann") is AgentState.RESERVED
