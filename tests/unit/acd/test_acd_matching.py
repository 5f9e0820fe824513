"""The lanes: sorted calls, a lazily cleaned heap of ready agents, bounded in size."""

from acd.entities import Agent, Queue
from acd.matching import Lane, lane_for, link_agent, push_ready, unlink_agent
from acd.policies import normalize_needs
from acd.specs import Policy, QueueSpec, SkillNeed
from acd.state import AgentState


def ready_agent(agent_id: str, seq: int, queue: Queue, idle_since: float) -> Agent:
    agent = Agent(agent_id, seq)  # logged in not ready, as the router does, then ready
    agent.skills = {"sales": 2}
    agent.queues = [queue]
    link_agent(agent)
    agent.state = AgentState.READY
    agent.idle_since = idle_since
    return agent


def test_a_lane_pops_the_best_ready_agent_and_skips_stale_entries() -> None:
    queue = Queue(QueueSpec("sales", policy=Policy.EVEN), handle_time_window=10)
    lane = lane_for(queue, normalize_needs((SkillNeed("sales"),)))
    ann = ready_agent("ann", 1, queue, idle_since=5.0)
    bob = ready_agent("bob", 2, queue, idle_since=3.0)
    push_ready(ann)
    push_ready(bob)
    bob.state = AgentState.NOT_READY  # bob's entry is stale now
    assert lane.pop_ready() is ann
    assert lane.pop_ready() is None


def test_a_lane_heap_stays_bounded_however_often_agents_toggle() -> None:
    queue = Queue(QueueSpec("sales", policy=Policy.EVEN), handle_time_window=10)
    lane: Lane = lane_for(queue, normalize_needs((SkillNeed("sales"),)))
    agents = [ready_agent(f"a{n}", n, queue, idle_since=float(n)) for n in range(5)]
    for round_ in range(200):
        for agent in agents:
            agent.ready_token += 1  # each round is a new ready period
            agent.idle_since = float(round_ * 10 + agent.seq)
            lane.push_ready(agent)
        assert len(lane._ready) <= 2 * len(lane.eligible) + 16
    assert [lane.pop_ready() for _ in range(6)] == [*agents, None]


def test_agents_are_linked_only_to_lanes_whose_needs_they_meet() -> None:
    queue = Queue(QueueSpec("tech"), handle_time_window=10)
    novice = lane_for(queue, normalize_needs((SkillNeed("tech", 1),)))
    expert = lane_for(queue, normalize_needs((SkillNeed("tech", 4),)))
    agent = ready_agent("ann", 1, queue, idle_since=0.0)  # tech is missing: sales only
    assert agent.lanes == []
    unlink_agent(agent)
    agent.skills = {"tech": 2}
    link_agent(agent)
    assert agent.lanes == [novice]
    assert "ann" in novice.eligible and "ann" not in expert.eligible
