"""Commands: what the driver must do, in the imperative, returned by `Router.handle`.

The router has already applied each command to its own state when it returns
it; the driver carries it out (Asterisk actions, console updates, queue_log,
the store) in the order given. `CallFinished` closes every call exactly once.
"""

from dataclasses import dataclass
from enum import StrEnum

from acd.specs import TargetKind


class Outcome(StrEnum):
    """How a call left the router. Each call gets exactly one."""

    ANSWERED = "answered"
    ABANDONED = "abandoned"
    ROUTED_OUT = "routed_out"
    CALLED_BACK = "called_back"
    CALLBACK_CANCELLED = "callback_cancelled"


@dataclass(frozen=True, slots=True)
class OfferCall:
    """Ring `agent_id` for the waiting caller `call_id`, dialling for `ring_timeout` seconds.

    The dialplan owns the ring timeout and reports `OfferNotAnswered`; the router
    keeps a later safety net of its own (see `CancelOffer`). `queue` is the queue
    through which the agent takes the call (its own, or an overflow target).
    """

    call_id: str
    agent_id: str
    queue: str
    offer_id: int
    ring_timeout: float


@dataclass(frozen=True, slots=True)
class PlaceCallback:
    """Originate the callback `call_id` to `number`, ringing `agent_id` first."""

    call_id: str
    agent_id: str
    number: str
    queue: str
    offer_id: int
    ring_timeout: float


@dataclass(frozen=True, slots=True)
class CancelOffer:
    """Stop ringing `agent_id` for `call_id`: hang up the agent leg, keep the caller.

    Any answer that races this command is void: the router no longer holds the
    offer, so the driver must tear the agent leg down even if it connected.
    """

    call_id: str
    agent_id: str
    offer_id: int


@dataclass(frozen=True, slots=True)
class ReturnToWaiting:
    """The call is back in line, in its original place (after a failed or withdrawn offer)."""

    call_id: str


@dataclass(frozen=True, slots=True)
class SetAgentNotReady:
    """The router made the agent not ready (e.g. reason "no answer" after RONA)."""

    agent_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class SetAgentReady:
    """The router made the agent ready (wrap-up time over, or no wrap-up)."""

    agent_id: str


@dataclass(frozen=True, slots=True)
class SetAgentWrapUp:
    """The agent is in wrap-up until `until` (None: until they say they are done)."""

    agent_id: str
    until: float | None


@dataclass(frozen=True, slots=True)
class OverflowCall:
    """Agents of `to_queue` may now take `call_id` too (it keeps its place)."""

    call_id: str
    to_queue: str


@dataclass(frozen=True, slots=True)
class RouteOut:
    """Send the caller out of the queue to a voicemail, callback list or number."""

    call_id: str
    kind: TargetKind
    destination: str


@dataclass(frozen=True, slots=True)
class Announce:
    """Tell the caller their position (1 = next) and estimated wait (None: unknown)."""

    call_id: str
    position: int
    estimated_wait_seconds: float | None


@dataclass(frozen=True, slots=True)
class CallFinished:
    """The call left the router with `outcome`; nothing more will be said about it."""

    call_id: str
    outcome: Outcome


Command = (
    OfferCall
    | PlaceCallback
    | CancelOffer
    | ReturnToWaiting
    | SetAgentNotReady
    | SetAgentReady
    | SetAgentWrapUp
    | OverflowCall
    | RouteOut
    | Announce
    | CallFinished
)
