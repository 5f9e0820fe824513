"""From our configuration to the routing core's specs (`acd.specs`).

One place maps a tenant's queues and agents to `QueueSpec`/`AgentSpec`, so the
live runner and the simulator build the same router from the same file.
"""

from __future__ import annotations

from acd import AgentSpec, MaxWait, OverflowRule, Policy, QueueSpec, RouteTarget, SkillNeed
from acd.specs import TargetKind
from cti.config import Queue, TenantConfig

POLICIES = {
    "value_aware": Policy.VALUE,
    "skills_based": Policy.SKILLS,
    "longest_idle": Policy.EVEN,
    "round_robin": Policy.ROUND_ROBIN,
}


def queue_spec(queue: Queue) -> QueueSpec:
    max_wait = None
    if queue.max_wait is not None:
        target = RouteTarget(
            TargetKind(queue.max_wait.target.kind), queue.max_wait.target.destination
        )
        max_wait = MaxWait(queue.max_wait.after_seconds, target)
    return QueueSpec(
        name=queue.id,
        policy=POLICIES[queue.policy],
        needs=tuple(SkillNeed(skill, level) for skill, level in queue.skills.items()),
        ring_timeout=queue.ring_timeout_seconds,
        wrapup_seconds=queue.wrapup_max_seconds,
        rona_after_misses=queue.rona_after_misses,
        overflow=tuple(OverflowRule(r.after_seconds, r.to_queue) for r in queue.overflow),
        max_wait=max_wait,
        sticky_wait_seconds=queue.sticky_wait_seconds,
        announce_every_seconds=queue.announce_every_seconds,
    )


def router_specs(tenant: TenantConfig) -> tuple[list[QueueSpec], list[AgentSpec]]:
    queues = [queue_spec(q) for q in tenant.queues]
    agents = [AgentSpec(a.id, dict(a.skills), tuple(a.queues)) for a in tenant.agents]
    return queues, agents
