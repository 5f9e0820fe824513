"""The states of agents and calls, and their transition tables, readable as a spec.

For each entity, `*_TRANSITIONS` maps (state, trigger) to the next state, and
`*_IGNORED` lists the (state, trigger) pairs that are harmless no-ops: duplicate
reports and reports that lost a race (a hang-up after the call already ended, a
"wrap-up done" after the wrap-up time ran out). Every other pair is an
`IllegalTransition`. The router decides which trigger an event means; these
tables decide whether it is allowed.
"""

from collections.abc import Mapping
from enum import StrEnum
from typing import Final, TypeVar

from acd.errors import IllegalTransition


class AgentState(StrEnum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    NOT_READY = "not_ready"
    RESERVED = "reserved"  # an offer is ringing the agent
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"  # after-call work


class AgentTrigger(StrEnum):
    LOG_IN = "log_in"
    GO_READY = "go_ready"
    GO_NOT_READY = "go_not_ready"
    LOG_OUT = "log_out"
    OFFER = "take_an_offer"
    ANSWER = "answer"
    CONNECT = "be_connected_to_a_call"  # an attended transfer taken after a consultation
    DIAL_OUT = "talk_on_an_outbound_call"  # the agent's own call was answered
    MISS = "miss_an_offer"  # not answered, RONA threshold not reached
    RONA = "miss_an_offer_for_the_last_time"  # not answered, set not ready
    RELEASE = "be_released_from_an_offer"  # the caller left or the offer was withdrawn
    END_CALL = "end_the_call"
    END_WRAP_UP = "end_wrap_up"
    EXTEND_WRAP_UP = "extend_wrap_up"


_A = AgentState
_AT = AgentTrigger

AGENT_TRANSITIONS: Final[Mapping[tuple[AgentState, AgentTrigger], AgentState]] = {
    (_A.LOGGED_OUT, _AT.LOG_IN): _A.NOT_READY,
    (_A.NOT_READY, _AT.GO_READY): _A.READY,
    (_A.NOT_READY, _AT.GO_NOT_READY): _A.NOT_READY,  # a new reason
    (_A.NOT_READY, _AT.LOG_OUT): _A.LOGGED_OUT,
    (_A.READY, _AT.GO_NOT_READY): _A.NOT_READY,
    (_A.READY, _AT.LOG_OUT): _A.LOGGED_OUT,
    (_A.READY, _AT.OFFER): _A.RESERVED,
    (_A.READY, _AT.CONNECT): _A.ON_CALL,
    (_A.NOT_READY, _AT.CONNECT): _A.ON_CALL,
    (_A.READY, _AT.DIAL_OUT): _A.ON_CALL,
    (_A.NOT_READY, _AT.DIAL_OUT): _A.ON_CALL,
    (_A.RESERVED, _AT.ANSWER): _A.ON_CALL,
    (_A.RESERVED, _AT.MISS): _A.READY,
    (_A.RESERVED, _AT.RONA): _A.NOT_READY,
    (_A.RESERVED, _AT.RELEASE): _A.READY,
    (_A.RESERVED, _AT.LOG_OUT): _A.LOGGED_OUT,  # the offer goes back to waiting
    (_A.ON_CALL, _AT.END_CALL): _A.WRAP_UP,
    (_A.WRAP_UP, _AT.EXTEND_WRAP_UP): _A.WRAP_UP,
    (_A.WRAP_UP, _AT.END_WRAP_UP): _A.READY,
    (_A.WRAP_UP, _AT.GO_READY): _A.READY,
    (_A.WRAP_UP, _AT.GO_NOT_READY): _A.NOT_READY,
    (_A.WRAP_UP, _AT.LOG_OUT): _A.LOGGED_OUT,
}

AGENT_IGNORED: Final[frozenset[tuple[AgentState, AgentTrigger]]] = frozenset(
    {
        (_A.READY, _AT.GO_READY),  # a second click on "ready"
        (_A.LOGGED_OUT, _AT.LOG_OUT),  # a second logout
    }
    # "done" or "more time" that raced the automatic end of wrap-up
    | {(state, _AT.END_WRAP_UP) for state in AgentState if state is not _A.WRAP_UP}
    | {(state, _AT.EXTEND_WRAP_UP) for state in AgentState if state is not _A.WRAP_UP}
)


class CallState(StrEnum):
    WAITING = "waiting"  # on the line, in the queue
    OFFERED = "offered"  # an agent is ringing for it
    TALKING = "talking"
    CALLBACK_WAITING = "callback_waiting"  # off the line, keeping its place
    CALLBACK_OFFERED = "callback_offered"  # an agent is reserved, the callback goes out
    FINISHED = "finished"


class CallTrigger(StrEnum):
    QUEUE = "be_queued"
    OFFER = "be_offered"
    ANSWER = "be_answered"
    OFFER_FAILED = "return_to_waiting"
    HANG_UP = "hang_up"
    REQUEST_CALLBACK = "request_a_callback"
    CANCEL_CALLBACK = "cancel_a_callback"
    END = "end"
    ROUTE_OUT = "be_routed_out"


_C = CallState
_CT = CallTrigger

CALL_TRANSITIONS: Final[Mapping[tuple[CallState, CallTrigger], CallState]] = {
    (_C.WAITING, _CT.OFFER): _C.OFFERED,
    (_C.WAITING, _CT.HANG_UP): _C.FINISHED,  # abandoned
    (_C.WAITING, _CT.REQUEST_CALLBACK): _C.CALLBACK_WAITING,
    (_C.WAITING, _CT.ROUTE_OUT): _C.FINISHED,  # maximum wait
    (_C.OFFERED, _CT.ANSWER): _C.TALKING,
    (_C.OFFERED, _CT.OFFER_FAILED): _C.WAITING,
    (_C.OFFERED, _CT.HANG_UP): _C.FINISHED,  # abandoned while ringing
    (_C.OFFERED, _CT.REQUEST_CALLBACK): _C.CALLBACK_WAITING,  # the offer is withdrawn
    (_C.TALKING, _CT.END): _C.FINISHED,
    (_C.TALKING, _CT.HANG_UP): _C.FINISHED,
    (_C.CALLBACK_WAITING, _CT.OFFER): _C.CALLBACK_OFFERED,
    (_C.CALLBACK_WAITING, _CT.CANCEL_CALLBACK): _C.FINISHED,
    (_C.CALLBACK_OFFERED, _CT.ANSWER): _C.TALKING,
    (_C.CALLBACK_OFFERED, _CT.OFFER_FAILED): _C.CALLBACK_WAITING,
    (_C.CALLBACK_OFFERED, _CT.CANCEL_CALLBACK): _C.FINISHED,
}

CALL_IGNORED: Final[frozenset[tuple[CallState, CallTrigger]]] = frozenset(
    {
        # the caller's own channel hangs up once they have asked for a callback
        (_C.CALLBACK_WAITING, _CT.HANG_UP),
        (_C.CALLBACK_OFFERED, _CT.HANG_UP),
        # a second callback request, or a keypress that raced the answer
        (_C.CALLBACK_WAITING, _CT.REQUEST_CALLBACK),
        (_C.CALLBACK_OFFERED, _CT.REQUEST_CALLBACK),
        (_C.TALKING, _CT.REQUEST_CALLBACK),
    }
    # a call id names one visit to the router: queuing it again is a duplicate
    | {(state, _CT.QUEUE) for state in CallState}
    # anything said about a finished call is late
    | {(_C.FINISHED, trigger) for trigger in CallTrigger}
)

_S = TypeVar("_S", AgentState, CallState)
_T = TypeVar("_T", AgentTrigger, CallTrigger)


def next_state(
    table: Mapping[tuple[_S, _T], _S],
    ignored: frozenset[tuple[_S, _T]],
    entity: str,
    entity_id: str,
    state: _S,
    trigger: _T,
) -> _S | None:
    """The state `trigger` leads to, None if it is a harmless no-op, else IllegalTransition."""
    target = table.get((state, trigger))
    if target is not None:
        return target
    if (state, trigger) in ignored:
        return None
    raise IllegalTransition(entity, entity_id, state.value, trigger.value)


def agent_next(agent_id: str, state: AgentState, trigger: AgentTrigger) -> AgentState | None:
    """Agent transition: the next state, None for a no-op, or IllegalTransition."""
    return next_state(AGENT_TRANSITIONS, AGENT_IGNORED, "agent", agent_id, state, trigger)


def call_next(call_id: str, state: CallState, trigger: CallTrigger) -> CallState | None:
    """Call transition: the next state, None for a no-op, or IllegalTransition."""
    return next_state(CALL_TRANSITIONS, CALL_IGNORED, "call", call_id, state, trigger)
