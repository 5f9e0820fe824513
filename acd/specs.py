"""Static configuration the router is built from: queues, agents, settings.

Plain frozen dataclasses, validated on construction (`SpecError`). They say what
a queue or an agent is, never what is happening now; the live state lives in
`acd.entities`. The YAML loader in `cti` builds these from `config/`.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from acd.errors import SpecError


class Policy(StrEnum):
    """How a queue picks among the agents able to take a call, and orders its callers.

    EVEN: the longest-idle agent; callers in arrival order.
    ROUND_ROBIN: the agent offered a call least recently; callers in arrival order.
    SKILLS: the best proficiency on the needed skills, then longest idle; arrival order.
    VALUE: callers ordered by value tier with ageing (see `acd.policies`); the
        customer's last agent first when free or free within the sticky wait,
        then best proficiency, then longest idle.
    """

    EVEN = "even"
    ROUND_ROBIN = "round_robin"
    SKILLS = "skills"
    VALUE = "value"


class TargetKind(StrEnum):
    """Where a caller goes when they leave a queue at its maximum wait."""

    VOICEMAIL = "voicemail"
    CALLBACK = "callback"
    NUMBER = "number"


@dataclass(frozen=True, slots=True)
class SkillNeed:
    """A call needs `skill` at `min_level` or better."""

    skill: str
    min_level: int = 1

    def __post_init__(self) -> None:
        if not self.skill:
            raise SpecError("a skill need has an empty skill name")
        if self.min_level < 1:
            raise SpecError(f"skill {self.skill!r}: min_level must be 1 or more")


@dataclass(frozen=True, slots=True)
class OverflowRule:
    """After `after_seconds` of waiting, agents of `to_queue` may take the call too.

    They are held to `needs`, or to `to_queue`'s own needs when None. The call keeps
    its place in its own queue; overflowing to the same queue with lower levels is
    how a queue relaxes its skill requirements over time.
    """

    after_seconds: float
    to_queue: str
    needs: tuple[SkillNeed, ...] | None = None

    def __post_init__(self) -> None:
        if self.after_seconds < 0:
            raise SpecError(f"overflow to {self.to_queue!r}: after_seconds must be >= 0")


@dataclass(frozen=True, slots=True)
class RouteTarget:
    """A destination outside the queue: a voicemail box, a callback list, a number."""

    kind: TargetKind
    destination: str


@dataclass(frozen=True, slots=True)
class MaxWait:
    """A caller still waiting after `after_seconds` leaves the queue for `target`."""

    after_seconds: float
    target: RouteTarget

    def __post_init__(self) -> None:
        if self.after_seconds <= 0:
            raise SpecError("max wait: after_seconds must be > 0")


@dataclass(frozen=True, slots=True)
class QueueSpec:
    """One queue: its routing policy and its timers.

    wrapup_seconds: after-call work allowed before the agent is made ready by the
        router; 0 skips wrap-up, None waits for the agent to say they are done.
    rona_after_misses: consecutive unanswered offers after which the agent is set
        not ready ("no answer"); None never does.
    sticky_wait_seconds: VALUE policy only: how long a caller may wait for the agent
        who last served them; 0 takes them only when free at once, None disables.
    seconds_per_tier, ageing_bound_seconds: VALUE policy only: a tier-t caller counts
        as having waited min(t * seconds_per_tier, ageing_bound_seconds) more.
    announce_every_seconds: position and estimated wait are announced on entry and
        then at this interval; None never announces.
    expected_handle_seconds: handle time assumed by the wait estimate until the
        queue has served calls of its own.
    """

    name: str
    policy: Policy = Policy.VALUE
    needs: tuple[SkillNeed, ...] = ()
    ring_timeout: float = 15.0
    wrapup_seconds: float | None = 30.0
    rona_after_misses: int | None = 1
    overflow: tuple[OverflowRule, ...] = ()
    max_wait: MaxWait | None = None
    sticky_wait_seconds: float | None = 30.0
    seconds_per_tier: float = 30.0
    ageing_bound_seconds: float = 120.0
    announce_every_seconds: float | None = None
    expected_handle_seconds: float = 180.0

    def __post_init__(self) -> None:
        where = f"queue {self.name!r}"
        if not self.name:
            raise SpecError("a queue has an empty name")
        if self.ring_timeout <= 0:
            raise SpecError(f"{where}: ring_timeout must be > 0")
        if self.wrapup_seconds is not None and self.wrapup_seconds < 0:
            raise SpecError(f"{where}: wrapup_seconds must be >= 0 or None")
        if self.rona_after_misses is not None and self.rona_after_misses < 1:
            raise SpecError(f"{where}: rona_after_misses must be >= 1 or None")
        if self.sticky_wait_seconds is not None and self.sticky_wait_seconds < 0:
            raise SpecError(f"{where}: sticky_wait_seconds must be >= 0 or None")
        if self.seconds_per_tier < 0 or self.ageing_bound_seconds < 0:
            raise SpecError(f"{where}: ageing parameters must be >= 0")
        if self.announce_every_seconds is not None and self.announce_every_seconds <= 0:
            raise SpecError(f"{where}: announce_every_seconds must be > 0 or None")
        if self.expected_handle_seconds <= 0:
            raise SpecError(f"{where}: expected_handle_seconds must be > 0")


@dataclass(frozen=True, slots=True)
class AgentSpec:
    """One agent: proficiency per skill (1 = novice, higher is better) and queues served."""

    agent_id: str
    skills: Mapping[str, int] = field(default_factory=dict)
    queues: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.agent_id:
            raise SpecError("an agent has an empty agent_id")
        for skill, level in self.skills.items():
            if level < 1:
                raise SpecError(f"agent {self.agent_id!r}: skill {skill!r} level must be >= 1")
        object.__setattr__(self, "skills", MappingProxyType(dict(self.skills)))


@dataclass(frozen=True, slots=True)
class RouterSettings:
    """Router-wide knobs.

    ring_grace_seconds: the dialplan owns the ring timeout; the router's own safety
        net fires this much later, in case the no-answer report never comes.
    finished_call_memory: how many finished call ids are remembered, so that late
        and duplicate reports about them are recognised and ignored.
    sticky_memory: how many customers' last agents are remembered.
    handle_time_window: calls per queue in the rolling mean handle time.
    """

    ring_grace_seconds: float = 5.0
    finished_call_memory: int = 100_000
    sticky_memory: int = 100_000
    handle_time_window: int = 50

    def __post_init__(self) -> None:
        if self.ring_grace_seconds < 0:
            raise SpecError("ring_grace_seconds must be >= 0")
        if min(self.finished_call_memory, self.sticky_memory, self.handle_time_window) < 1:
            raise SpecError("memories and windows must hold at least one item")
