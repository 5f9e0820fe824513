"""Routing policies as pure functions: which caller first, which agent first.

Callers: the virtual enqueue time
---------------------------------
Under the VALUE policy a caller of tier t (0 = standard) gets a head start

    bonus(t) = min(t * seconds_per_tier, ageing_bound_seconds)

and their effective priority at time `now` is the time they have waited plus
that head start:

    priority(now) = (now - enqueued_at) + bonus(t) = now - v,
    where v = enqueued_at - bonus(t) is the *virtual enqueue time*.

Every caller's priority grows at the same rate (one second per second waited:
that is the ageing), so the order between two callers never changes with time:
higher priority now means smaller v, forever. Callers are therefore kept in
sorted structures keyed by (v, arrival sequence) and never re-sorted; nothing is
re-evaluated on a timer. Equal v falls back to arrival order, so among equal
effective priorities the longest-waiting caller goes first.

The bound. Caller A (enqueued at a, tier t_a) is ahead of caller B (b, t_b) iff
v_A < v_B, i.e. b > a + bonus(t_b) - bonus(t_a). With bonuses capped at
B = ageing_bound_seconds, any caller who arrives more than B seconds after A is
behind A, whatever the tiers: once A has waited B seconds nobody new can pass
them, so the wait others' tiers add to A's is at most the time to serve the
callers who arrived within B seconds after A. A lower-tier caller's priority
rises with waiting time and catches up with a higher tier's after exactly the
difference of their bonuses. Across queues sharing agents the guarantee holds
with the largest bound among them (virtual times are in the same seconds).

Other policies order callers by arrival (v = enqueued_at); tiers are ignored.

Agents: a rank per lane, smaller first
--------------------------------------
EVEN: longest idle (earliest `idle_since`). ROUND_ROBIN: the agent offered a
call least recently (a global offer sequence; never offered first). SKILLS and
VALUE: highest proficiency (sum of the agent's levels on the skills the calls
need), then longest idle. A rank is fixed while the agent stays ready, which
lets ready agents sit in heaps. The sticky agent of VALUE is handled by the
router before these ranks apply.
"""

from collections.abc import Mapping
from functools import lru_cache

from acd.errors import RoutingError
from acd.specs import Policy, QueueSpec, SkillNeed

Needs = tuple[SkillNeed, ...]


@lru_cache(maxsize=4096)
def normalize_needs(needs: tuple[SkillNeed, ...]) -> Needs:
    """One need per skill (the highest level asked), sorted by skill: a lane's identity."""
    levels: dict[str, int] = {}
    for need in needs:
        levels[need.skill] = max(levels.get(need.skill, 0), need.min_level)
    return tuple(SkillNeed(skill, levels[skill]) for skill in sorted(levels))


def meets(skills: Mapping[str, int], needs: Needs) -> bool:
    """Whether an agent with `skills` can take a call that needs `needs`."""
    return all(skills.get(need.skill, 0) >= need.min_level for need in needs)


def proficiency(skills: Mapping[str, int], needs: Needs) -> int:
    """The agent's total level on the skills a call needs."""
    return sum(skills.get(need.skill, 0) for need in needs)


def tier_bonus(spec: QueueSpec, tier: int) -> float:
    """The head start, in seconds of waiting, of a caller of `tier` in a VALUE queue."""
    if tier < 0:
        raise RoutingError(f"queue {spec.name!r}: tier must be >= 0, got {tier}")
    if spec.policy is not Policy.VALUE:
        return 0.0
    return min(tier * spec.seconds_per_tier, spec.ageing_bound_seconds)


def virtual_enqueue_time(spec: QueueSpec, enqueued_at: float, tier: int) -> float:
    """The time-invariant ordering key of a caller: smaller goes first (see module doc)."""
    return enqueued_at - tier_bonus(spec, tier)


def agent_rank(
    policy: Policy,
    skills: Mapping[str, int],
    needs: Needs,
    idle_since: float,
    last_offer: int,
) -> tuple[float, float]:
    """The rank of a ready agent among those able to take a lane's calls; smaller first."""
    if policy is Policy.EVEN:
        return (idle_since, 0.0)
    if policy is Policy.ROUND_ROBIN:
        return (float(last_offer), 0.0)
    return (float(-proficiency(skills, needs)), idle_since)
