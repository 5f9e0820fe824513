"""What the call center is: tenants, skills, queues, agents, IVR menus.

Loaded from YAML files (one per tenant) under `<config_dir>/tenants/`,
validated by pydantic models. A bad file stops start-up with a `ConfigError`
naming the file, the line and what is wrong. How to *reach* things (ports,
URLs, secrets) is not here: see `cti.settings`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import phonenumbers
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from acd.callback_life import DEFAULT_WINDOW_HOURS
from cti.errors import ConfigError
from ivr.model import (
    TERMINAL,
    CallbackNode,
    HoursNode,
    Ivr,
    QueueNode,
    Survey,
    survey_problems,
)

Ident = Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")]
Digits = Annotated[str, Field(pattern=r"^[0-9*#+]{1,32}$")]
Proficiency = Annotated[int, Field(ge=1, le=5)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Tenant(_Model):
    id: Ident
    name: str
    timezone: str = "UTC"
    numbers: tuple[Digits, ...] = Field(
        default=(), description="Dialed numbers (DNIS) that belong to this tenant."
    )
    region: str = Field(
        default="FR",
        description="Region (ISO 3166 alpha-2) for customer numbers written without +country.",
    )

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        if value not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown phone region {value!r} (ISO 3166 alpha-2, e.g. FR)")
        return value


class Skill(_Model):
    id: Ident
    name: str


Policy = Literal["value_aware", "skills_based", "longest_idle", "round_robin"]


class Overflow(_Model):
    after_seconds: Annotated[int, Field(ge=0, le=86400)]
    to_queue: Ident


class RouteOutTarget(_Model):
    kind: Literal["voicemail", "callback", "number"]
    destination: str = ""


class MaxWaitRule(_Model):
    after_seconds: Annotated[int, Field(ge=1, le=86400)]
    target: RouteOutTarget


class Threshold(_Model):
    """A live figure turns amber, then red, when it reaches these levels (with `below`:
    when it falls under them, as a service level does)."""

    amber: Annotated[float, Field(ge=0)]
    red: Annotated[float, Field(ge=0)]
    below: bool = False

    @model_validator(mode="after")
    def _red_is_worse(self) -> Threshold:
        if self.below and self.red > self.amber:
            raise ValueError("with below: true, red must not be above amber")
        if not self.below and self.red < self.amber:
            raise ValueError("red must not be below amber (or set below: true)")
        return self


class QueueThresholds(_Model):
    """The wallboard's alert levels for one queue; `longest_wait_seconds` is the
    longest wait of the callers waiting now, the rates are fractions in 0..1."""

    calls_waiting: Threshold | None = None
    longest_wait_seconds: Threshold | None = None
    asa_seconds: Threshold | None = None
    service_level: Threshold | None = None
    abandon_rate: Threshold | None = None

    @model_validator(mode="after")
    def _rates_are_fractions(self) -> QueueThresholds:
        for name in ("service_level", "abandon_rate"):
            level = getattr(self, name)
            if level is not None and max(level.amber, level.red) > 1:
                raise ValueError(f"{name} thresholds are fractions in 0..1 (0.8 for 80%)")
        return self


class CallbackRetry(_Model):
    """When a called-back customer does not answer (their phone rang `ring_seconds`) or
    is busy: try again after `retry_minutes`, at most `max_attempts` attempts in all;
    then the callback has failed."""

    retry_minutes: Annotated[float, Field(ge=0, le=1440)] = 10
    max_attempts: Annotated[int, Field(ge=1, le=20)] = 3
    ring_seconds: Annotated[int, Field(ge=5, le=120)] = 40  # the customer's phone rings


class Queue(_Model):
    id: Ident
    name: str
    policy: Policy = "value_aware"
    skills: dict[Ident, Proficiency] = Field(
        default_factory=dict, description="Skill -> minimum proficiency a call needs."
    )
    ring_timeout_seconds: Annotated[int, Field(ge=5, le=120)] = 15
    wrapup_max_seconds: Annotated[int, Field(ge=0, le=3600)] = 60
    service_level_seconds: Annotated[int, Field(ge=1, le=600)] = 20
    fallback_after_seconds: Annotated[int, Field(ge=5, le=3600)] = 60
    rona_after_misses: Annotated[int, Field(ge=1, le=10)] | None = 1
    announce_every_seconds: Annotated[int, Field(ge=10, le=600)] | None = 30
    sticky_wait_seconds: Annotated[int, Field(ge=0, le=600)] | None = 30
    overflow: tuple[Overflow, ...] = ()
    max_wait: MaxWaitRule | None = None
    offer_callback: bool = Field(
        default=False, description="Waiting callers may press 1 to be called back instead."
    )
    callback_prompt: Ident | None = Field(
        default=None, description="Tenant prompt offering the callback (default: core sounds)."
    )
    callback_retry: CallbackRetry = Field(default_factory=CallbackRetry)
    callback_window_hours: Annotated[float, Field(gt=0, le=2160)] = Field(
        default=DEFAULT_WINDOW_HOURS,
        description="A callback asked for without an end (pressed 1, promised by an agent, "
        "from the web or the abandoned list) may be made for this long after it is due; "
        "then it expires.",
    )
    survey: Survey | None = None
    thresholds: QueueThresholds = Field(
        default_factory=QueueThresholds, description="Wallboard alert levels."
    )
    record: bool = Field(default=False, description="Record answered calls (MixMonitor).")


class Agent(_Model):
    id: Ident
    name: str
    extension: Digits
    skills: dict[Ident, Proficiency] = Field(default_factory=dict)
    queues: tuple[Ident, ...] = ()


Language = Annotated[str, Field(pattern=r"^[a-z]{2}(_[A-Z]{2})?$")]


class TierRule(_Model):
    """Customers whose revenue reaches `min_revenue` get at least `tier` (unless given one)."""

    min_revenue: Annotated[float, Field(ge=0)]
    tier: Annotated[int, Field(ge=0, le=9)]


class Disposition(_Model):
    """A wrap-up code; `resolved` is the default of the "resolved on this call" mark."""

    code: Ident
    label: str
    resolved: bool | None = None


class WebCallback(_Model):
    """The public "call me back" page and endpoint (`/public/<tenant>/callback`)."""

    topics: dict[Ident, Ident] = Field(
        description="What the visitor may pick -> the queue that calls them back."
    )
    hours: Ident | None = Field(
        default=None,
        description="An `hours` node of the IVR: out of them a request waits for the opening.",
    )
    per_address_per_hour: Annotated[int, Field(ge=1, le=1000)] = 5
    per_number_per_day: Annotated[int, Field(ge=1, le=100)] = 3


class TenantConfig(_Model):
    tenant: Tenant
    prompts: dict[Ident, dict[Language, Annotated[str, Field(min_length=1, max_length=2000)]]] = (
        Field(default_factory=dict, description="Our own prompts: name -> language -> text.")
    )
    skills: tuple[Skill, ...] = ()
    queues: tuple[Queue, ...]
    agents: tuple[Agent, ...] = ()
    ivr: Ivr | None = None
    customer_tiers: tuple[TierRule, ...] = Field(
        default=(), description="Value tier derived from revenue, lowest threshold first."
    )
    not_ready_reasons: tuple[Annotated[str, Field(min_length=1, max_length=64)], ...] = Field(
        default=("break", "lunch", "training", "meeting", "admin"),
        description="The reason codes an agent picks when going not ready.",
    )
    dispositions: tuple[Disposition, ...] = Field(
        default=(),
        description="Wrap-up codes; empty: the agent writes any code (or none).",
    )
    recording_retention_days: Annotated[int, Field(ge=1, le=3650)] = Field(
        default=90, description="Call recordings older than this are purged."
    )
    agents_may_play_recordings: bool = Field(
        default=False, description="Agents may play the recordings of calls they took."
    )
    web_callback: WebCallback | None = None

    def queue(self, queue_id: str) -> Queue:
        for queue in self.queues:
            if queue.id == queue_id:
                return queue
        raise KeyError(queue_id)


class PlatformConfig(_Model):
    tenants: tuple[TenantConfig, ...]

    def tenant(self, tenant_id: str) -> TenantConfig:
        for tenant in self.tenants:
            if tenant.tenant.id == tenant_id:
                return tenant
        raise KeyError(tenant_id)

    def tenant_for_number(self, dnis: str) -> TenantConfig | None:
        """The tenant owning a dialed number, or None if no tenant claims it."""
        for tenant in self.tenants:
            if dnis in tenant.tenant.numbers:
                return tenant
        return None

    def all_agents(self) -> Iterable[tuple[TenantConfig, Agent]]:
        for tenant in self.tenants:
            for agent in tenant.agents:
                yield tenant, agent


Loc = tuple[str | int, ...]


def load_config(config_dir: Path) -> PlatformConfig:
    """Load and validate every `tenants/*.yaml` under `config_dir`."""
    tenant_dir = Path(config_dir) / "tenants"
    files = sorted(tenant_dir.glob("*.yaml")) + sorted(tenant_dir.glob("*.yml"))
    if not files:
        raise ConfigError(tenant_dir, None, "no tenant files (*.yaml) found")
    tenants = [load_tenant_file(path) for path in files]
    _check_across_tenants(tenants, files)
    return PlatformConfig(tenants=tuple(tenants))


def load_tenant_file(path: Path) -> TenantConfig:
    """Parse and validate one tenant file; errors carry the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(path, None, f"cannot read: {exc.strerror}") from exc
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(path, line, f"invalid YAML: {problem}") from exc
    if not isinstance(data, dict):
        raise ConfigError(path, 1, "expected a mapping with 'tenant', 'queues', ...")
    try:
        config = TenantConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc: Loc = tuple(first["loc"])
        where = ".".join(str(p) for p in loc) or "(top)"
        raise ConfigError(path, _line_of(root, loc), f"{where}: {first['msg']}") from exc
    problems = list(_reference_problems(config))
    if problems:
        loc, reason = problems[0]
        raise ConfigError(path, _line_of(root, loc), reason)
    return config


def _reference_problems(cfg: TenantConfig) -> Iterable[tuple[Loc, str]]:
    """Cross-references pydantic cannot check field by field."""
    skills = {s.id for s in cfg.skills}
    queues = {q.id for q in cfg.queues}
    yield from _duplicates("skills", [s.id for s in cfg.skills])
    yield from _duplicates("queues", [q.id for q in cfg.queues])
    yield from _duplicates("agents", [a.id for a in cfg.agents])
    yield from _duplicates("agents", [a.extension for a in cfg.agents], key="extension")
    for i, queue in enumerate(cfg.queues):
        for skill in queue.skills:
            if skill not in skills:
                yield ("queues", i, "skills", skill), f"queue {queue.id!r}: unknown skill {skill!r}"
        for j, rule in enumerate(queue.overflow):
            if rule.to_queue not in queues:
                loc = ("queues", i, "overflow", j, "to_queue")
                yield loc, f"queue {queue.id!r}: overflow to unknown queue {rule.to_queue!r}"
    for i, agent in enumerate(cfg.agents):
        for skill in agent.skills:
            if skill not in skills:
                yield ("agents", i, "skills", skill), f"agent {agent.id!r}: unknown skill {skill!r}"
        for j, queue_id in enumerate(agent.queues):
            if queue_id not in queues:
                yield ("agents", i, "queues", j), f"agent {agent.id!r}: unknown queue {queue_id!r}"
    for i, queue in enumerate(cfg.queues):
        if queue.callback_prompt is not None and queue.callback_prompt not in cfg.prompts:
            reason = f"queue {queue.id!r}: unknown prompt {queue.callback_prompt!r}"
            yield ("queues", i, "callback_prompt"), reason
        if queue.survey is not None:
            yield from survey_problems(queue.survey, cfg.prompts, ("queues", i, "survey"))
    if cfg.ivr is not None:
        yield from _ivr_problems(cfg.ivr, queues, skills)
    yield from _tier_problems(cfg.customer_tiers)
    if cfg.web_callback is not None:
        for topic, queue_id in cfg.web_callback.topics.items():
            if queue_id not in queues:
                where: Loc = ("web_callback", "topics", topic)
                yield where, f"web_callback: topic {topic!r} goes to unknown queue {queue_id!r}"
        hours = cfg.web_callback.hours
        nodes = cfg.ivr.nodes if cfg.ivr is not None else {}
        if hours is not None and not isinstance(nodes.get(hours), HoursNode):
            yield ("web_callback", "hours"), f"web_callback: no IVR hours node {hours!r}"


def _tier_problems(rules: Sequence[TierRule]) -> Iterable[tuple[Loc, str]]:
    """Thresholds strictly rising, tiers never falling: one reading of revenue, one tier."""
    for i in range(1, len(rules)):
        before, rule = rules[i - 1], rules[i]
        if rule.min_revenue <= before.min_revenue:
            loc: Loc = ("customer_tiers", i, "min_revenue")
            yield loc, "customer_tiers: min_revenue must rise from one rule to the next"
        elif rule.tier < before.tier:
            loc = ("customer_tiers", i, "tier")
            yield loc, "customer_tiers: a higher min_revenue cannot give a lower tier"


def _ivr_problems(
    ivr: Ivr, queues: set[str], skills: set[str] | None = None
) -> Iterable[tuple[Loc, str]]:
    nodes = ivr.nodes
    if ivr.start not in nodes:
        yield ("ivr", "start"), f"ivr: start node {ivr.start!r} is not defined"
        return
    for name, node in nodes.items():
        for where, target in node.links():
            if target not in nodes:
                loc = ("ivr", "nodes", name, *where)
                yield loc, f"ivr node {name!r}: unknown node {target!r}"
        if isinstance(node, QueueNode | CallbackNode) and node.queue not in queues:
            loc = ("ivr", "nodes", name, "queue")
            yield loc, f"ivr node {name!r}: unknown queue {node.queue!r}"
        if isinstance(node, QueueNode) and skills is not None:
            for skill in node.skills:
                if skill not in skills:
                    loc = ("ivr", "nodes", name, "skills", skill)
                    yield loc, f"ivr node {name!r}: unknown skill {skill!r}"
    reachable = _reachable(ivr.start, nodes)
    for name in nodes:
        if name not in reachable:
            yield ("ivr", "nodes", name), f"ivr node {name!r} is unreachable from {ivr.start!r}"
    exits = _can_exit(nodes)
    for name in reachable:
        if name not in exits:
            yield ("ivr", "nodes", name), f"ivr node {name!r} loops without a way out"


def _reachable(start: str, nodes: dict[str, Any]) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen or name not in nodes:
            continue
        seen.add(name)
        todo.extend(target for _, target in nodes[name].links())
    return seen


def _can_exit(nodes: dict[str, Any]) -> set[str]:
    """Nodes from which some terminal node (queue, hangup, ...) can be reached."""
    exits = {name for name, node in nodes.items() if isinstance(node, TERMINAL)}
    changed = True
    while changed:
        changed = False
        for name, node in nodes.items():
            if name not in exits and any(t in exits for _, t in node.links()):
                exits.add(name)
                changed = True
    return exits


def _duplicates(section: str, ids: Sequence[str], key: str = "id") -> Iterable[tuple[Loc, str]]:
    seen: set[str] = set()
    for i, ident in enumerate(ids):
        if ident in seen:
            yield (section, i, key), f"{section}: duplicate {key} {ident!r}"
        seen.add(ident)


def _check_across_tenants(tenants: Sequence[TenantConfig], files: Sequence[Path]) -> None:
    """Tenant ids, dialed numbers and phone extensions are unique installation-wide."""
    tenant_files: dict[str, Path] = {}
    numbers: dict[str, str] = {}
    extensions: dict[str, str] = {}
    for tenant, path in zip(tenants, files, strict=True):
        tid = tenant.tenant.id
        if tid in tenant_files:
            raise ConfigError(path, None, f"tenant id {tid!r} is also used by {tenant_files[tid]}")
        tenant_files[tid] = path
        for number in tenant.tenant.numbers:
            if number in numbers:
                raise ConfigError(
                    path, None, f"number {number} already belongs to {numbers[number]!r}"
                )
            numbers[number] = tid
        for agent in tenant.agents:
            if agent.extension in extensions:
                owner = extensions[agent.extension]
                raise ConfigError(
                    path, None, f"extension {agent.extension} already used by {owner!r}"
                )
            extensions[agent.extension] = tid


def _line_of(root: yaml.Node | None, loc: Loc) -> int | None:
    """The 1-based line of the deepest YAML node that `loc` reaches."""
    if root is None:
        return None
    node = root
    for i, part in enumerate(loc):
        child = _child(node, part)
        rest = loc[i + 1 :]
        if (  # a union's tag that is also a field name ("queue" of a queue node)
            child is not None
            and isinstance(child, yaml.ScalarNode)
            and rest
            and _child(node, rest[0]) is not None
        ):
            continue
        if child is not None:  # parts with no node (a union's tag) are skipped
            node = child
    line: int = node.start_mark.line + 1
    return line


def _child(node: yaml.Node, part: str | int) -> yaml.Node | None:
    found: yaml.Node | None = None
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if str(key.value) == str(part):
                # an empty value has no line of its own: point at its key
                found = value if not isinstance(value, yaml.ScalarNode) or value.value else key
    elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        found = node.value[part]
    return found
