"""The static configuration refuses what cannot work, with a message naming the culprit."""

from typing import Any

import pytest

from acd import (
    AgentSpec,
    MaxWait,
    OverflowRule,
    QueueSpec,
    Router,
    RouterSettings,
    RouteTarget,
    RoutingError,
    SkillNeed,
    SpecError,
    TargetKind,
)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "empty name"),
        ({"ring_timeout": 0}, "ring_timeout"),
        ({"wrapup_seconds": -1}, "wrapup_seconds"),
        ({"rona_after_misses": 0}, "rona_after_misses"),
        ({"sticky_wait_seconds": -1}, "sticky_wait_seconds"),
        ({"seconds_per_tier": -1}, "ageing"),
        ({"ageing_bound_seconds": -1}, "ageing"),
        ({"announce_every_seconds": 0}, "announce_every_seconds"),
        ({"expected_handle_seconds": 0}, "expected_handle_seconds"),
    ],
)
def test_queue_spec_refuses_impossible_values(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        QueueSpec(**{"name": "sales", **fields})


def test_queue_spec_defaults_are_the_value_policy_with_a_sane_timers() -> None:
    spec = QueueSpec("sales")
    assert spec.policy == "value"
    assert (spec.ring_timeout, spec.wrapup_seconds, spec.rona_after_misses) == (15.0, 30.0, 1)


def test_skill_needs_and_agents_refuse_levels_below_one() -> None:
    with pytest.raises(SpecError, match="min_level"):
        SkillNeed("sales", 0)
    with pytest.raises(SpecError, match="empty skill"):
        SkillNeed("")
    with pytest.raises(SpecError, match="'ann': skill 'sales' level"):
        AgentSpec("ann", {"sales": 0})
    with pytest.raises(SpecError, match="empty agent_id"):
        AgentSpec("")


def test_agent_spec_keeps_its_own_copy_of_the_skills() -> None:
    skills = {"sales": 3}
    spec = AgentSpec("ann", skills, ("sales",))
    skills["sales"] = 5
    assert spec.skills["sales"] == 3
    with pytest.raises(TypeError):
        spec.skills["sales"] = 4  # type: ignore[index]


def test_overflow_and_max_wait_refuse_negative_times() -> None:
    with pytest.raises(SpecError, match="overflow to 'support'"):
        OverflowRule(-1, "support")
    with pytest.raises(SpecError, match="max wait"):
        MaxWait(0, RouteTarget(TargetKind.VOICEMAIL, "2000"))


def test_router_settings_refuse_empty_memories() -> None:
    with pytest.raises(SpecError, match="ring_grace_seconds"):
        RouterSettings(ring_grace_seconds=-1)
    with pytest.raises(SpecError, match="at least one"):
        RouterSettings(finished_call_memory=0)


def test_router_refuses_inconsistent_configuration() -> None:
    with pytest.raises(SpecError, match="queue 'sales' is defined twice"):
        Router([QueueSpec("sales"), QueueSpec("sales")])
    with pytest.raises(SpecError, match="overflows to unknown 'support'"):
        Router([QueueSpec("sales", overflow=(OverflowRule(30, "support"),))])
    with pytest.raises(SpecError, match="agent 'ann' serves unknown queue 'support'"):
        Router([QueueSpec("sales")], [AgentSpec("ann", {}, ("support",))])
    with pytest.raises(SpecError, match="agent 'ann' is defined twice"):
        Router([QueueSpec("sales")], [AgentSpec("ann"), AgentSpec("ann")])


def test_spec_errors_are_routing_errors() -> None:
    assert issubclass(SpecError, RoutingError)
