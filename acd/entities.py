"""The live state of the router: calls, agents, queues and offers (internal).

Mutable, slotted records owned by one `Router`; the driver never sees them. The
transitions between their states are decided in `acd.state`, the indexes they
sit in are in `acd.matching`, and the static configuration they start from is in
`acd.specs`.
"""

from typing import TYPE_CHECKING

from acd.estimates import HandleTimes
from acd.policies import Needs
from acd.specs import QueueSpec
from acd.state import AgentState, CallState

if TYPE_CHECKING:
    from acd.matching import Lane

CallKey = tuple[float, int]  # (virtual enqueue time, arrival sequence)
CallEntry = tuple[float, int, "Call"]  # a CallKey carrying its call; sorts like the key

# Calls hold no reference to their entries, nor (once finished) to their offers: a
# finished call is freed by reference counting, never left to the cycle collector.

STAFFED = frozenset({AgentState.READY, AgentState.RESERVED, AgentState.ON_CALL, AgentState.WRAP_UP})


class Queue:
    """A queue: its spec, its lanes, its logged-in members and its line of callers."""

    __slots__ = ("handle_times", "lanes", "members", "name", "order", "spec", "staffed")

    def __init__(self, spec: QueueSpec, handle_time_window: int) -> None:
        self.spec = spec
        self.name = spec.name
        self.lanes: dict[Needs, Lane] = {}
        self.members: dict[str, Agent] = {}
        self.order: list[CallKey] = []  # every caller in line, for positions
        self.staffed = 0
        self.handle_times = HandleTimes(handle_time_window, spec.expected_handle_seconds)


class Agent:
    """An agent's live state: what they are doing and where they can be found."""

    __slots__ = (
        "agent_id",
        "handling",
        "idle_since",
        "lanes",
        "last_offer",
        "misses",
        "offer",
        "outbound",
        "queues",
        "ready_token",
        "seq",
        "skills",
        "state",
        "sticky",
        "then_not_ready",
        "wrapup_token",
    )

    def __init__(self, agent_id: str, seq: int) -> None:
        self.agent_id = agent_id
        self.seq = seq
        self.skills: dict[str, int] = {}
        self.queues: list[Queue] = []
        self.state = AgentState.LOGGED_OUT
        self.lanes: list[Lane] = []  # lanes whose calls this agent may take
        self.sticky: list[CallEntry] = []  # calls waiting for this agent alone
        self.ready_token = 0  # bumped on each entry into READY: stale heap entries differ
        self.idle_since = 0.0
        self.last_offer = 0  # offer id of the last offer made to the agent
        self.misses = 0  # consecutive unanswered offers
        self.offer: Offer | None = None
        self.handling: tuple[Queue, float] | None = None  # (queue, answer time) until wrap-up ends
        self.wrapup_token = 0  # bumped on each wrap-up (re)start: stale timers differ
        self.outbound = False  # on a call of their own (not the ACD's)
        self.then_not_ready: str | None = None  # not ready again, for this, after wrap-up


class Call:
    """A call's visit to the router, from queued to finished."""

    __slots__ = (
        "admitted",
        "answered",
        "call_id",
        "callback",
        "customer_id",
        "expired",
        "key",
        "lanes",
        "number",
        "offer",
        "queue",
        "seq",
        "state",
        "sticky_agent",
    )

    def __init__(
        self, call_id: str, seq: int, queue: Queue, virtual_time: float, customer_id: str | None
    ) -> None:
        self.call_id = call_id
        self.seq = seq  # arrival order; also tells this visit's timers from an older one's
        self.queue = queue
        self.customer_id = customer_id
        self.key: CallKey = (virtual_time, seq)
        self.state = CallState.WAITING
        self.lanes: list[Lane] = []  # its own lane first, then overflow lanes
        self.admitted = False  # in its queue's line and in its lanes (or sticky list)
        self.sticky_agent: Agent | None = None  # set while waiting for that agent alone
        self.offer: Offer | None = None  # while ringing an agent
        self.answered: Offer | None = None  # the offer that connected, until the call ends
        self.callback = False
        self.number = ""  # the callback number
        self.expired = False  # reached its maximum wait while ringing an agent


class Offer:
    """A call ringing an agent (or a callback going out through them)."""

    __slots__ = ("agent", "call", "offer_id", "queue")

    def __init__(self, offer_id: int, call: Call, agent: Agent, queue: Queue) -> None:
        self.offer_id = offer_id
        self.call = call
        self.agent = agent
        self.queue = queue
