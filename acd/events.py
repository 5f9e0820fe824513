"""Events: what happened, in the past tense, fed to `Router.handle(event, now)`.

Small immutable records with their fields and nothing else. Agent events come
from the console (or a supervisor); call events from the Asterisk adapter, which
may deliver duplicates and late reports: `acd.state` lists which of those are
harmless no-ops. Time is never a field: it is the `now` argument of `handle`.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from acd.specs import SkillNeed


@dataclass(frozen=True, slots=True)
class AgentLoggedIn:
    """An agent logged in; they start not ready.

    `skills` and `queues` replace the agent's configured ones for this session
    (None keeps them); an agent the router was not built with must give both.
    """

    agent_id: str
    skills: Mapping[str, int] | None = None
    queues: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class AgentReady:
    """The agent is available for calls (also ends their wrap-up)."""

    agent_id: str


@dataclass(frozen=True, slots=True)
class AgentNotReady:
    """The agent is unavailable for `reason` (break, training, ...)."""

    agent_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class AgentLoggedOut:
    """The agent logged out; a call ringing them goes back to waiting."""

    agent_id: str


@dataclass(frozen=True, slots=True)
class CallQueued:
    """A call entered `queue` needing `needs` (the queue's own when empty).

    `tier` is the customer's value tier (0 = standard, higher = more valuable).
    `customer_id` enables the sticky agent; `sticky_agent_id` names the agent who
    last served the customer when the caller knows it (e.g. from the store, after
    a restart); otherwise the router's own memory is used. `for_agent_id` (a transfer
    to that agent) offers the call to that agent alone, whatever the queue's policy,
    for the queue's sticky wait (`TRANSFER_WAIT_SECONDS` when it has none), then to
    the queue.
    """

    call_id: str
    queue: str
    needs: tuple[SkillNeed, ...] = ()
    tier: int = 0
    customer_id: str | None = None
    sticky_agent_id: str | None = None
    for_agent_id: str | None = None
    callback_number: str | None = None  # queued as a callback to this number (a retry)


@dataclass(frozen=True, slots=True)
class CallConnected:
    """A call reached `agent_id` outside the line: an attended transfer the agent took
    after a consultation. It is talking at once, through `queue` (whose wrap-up follows);
    the agent goes straight to the call from ready or not ready (reserved for the
    consultation), so no waiting call can be offered to them in between."""

    call_id: str
    queue: str
    agent_id: str
    customer_id: str | None = None
    tier: int = 0


@dataclass(frozen=True, slots=True)
class OfferAnswered:
    """The agent answered the offer (or the callback leg they were given).

    `offer_id`, when given, must match the offer's; reports about an older offer
    are ignored.
    """

    call_id: str
    agent_id: str
    offer_id: int | None = None


@dataclass(frozen=True, slots=True)
class OfferNotAnswered:
    """The offer failed: ring timeout, busy or declined, as reported by Asterisk."""

    call_id: str
    agent_id: str
    offer_id: int | None = None


@dataclass(frozen=True, slots=True)
class CallerHungUp:
    """The caller's channel hung up (while waiting, ringing or talking)."""

    call_id: str


@dataclass(frozen=True, slots=True)
class CallEnded:
    """The conversation is over; the agent goes to wrap-up."""

    call_id: str


@dataclass(frozen=True, slots=True)
class WrapUpDone:
    """The agent finished their after-call work."""

    agent_id: str


@dataclass(frozen=True, slots=True)
class WrapUpExtended:
    """The agent asked for more wrap-up time: `seconds` from now, or unlimited (None)."""

    agent_id: str
    seconds: float | None = None


@dataclass(frozen=True, slots=True)
class CallbackRequested:
    """The caller left the line asking to be called back on `number`; they keep their place."""

    call_id: str
    number: str


@dataclass(frozen=True, slots=True)
class CallbackCancelled:
    """A pending callback is withdrawn (by the customer or a supervisor)."""

    call_id: str


@dataclass(frozen=True, slots=True)
class OutboundAnswered:
    """The agent's own outbound call (click-to-call, a preview campaign's contact) was
    answered: they are on a call, offered nothing, until `OutboundEnded`."""

    agent_id: str


@dataclass(frozen=True, slots=True)
class OutboundEnded:
    """The agent's outbound call is over: wrap-up as `queue` allows (None: as the most
    generous of the agent's queues), then ready, or not ready for `then_not_ready` (the
    agent was not ready before the call)."""

    agent_id: str
    queue: str | None = None
    then_not_ready: str | None = None


@dataclass(frozen=True, slots=True)
class ClockTick:
    """Time passed: fire every deadline due at `now`."""


Event = (
    AgentLoggedIn
    | AgentReady
    | AgentNotReady
    | AgentLoggedOut
    | CallQueued
    | CallConnected
    | OfferAnswered
    | OfferNotAnswered
    | CallerHungUp
    | CallEnded
    | WrapUpDone
    | WrapUpExtended
    | CallbackRequested
    | CallbackCancelled
    | OutboundAnswered
    | OutboundEnded
    | ClockTick
)
