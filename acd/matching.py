"""The indexes that let a routing decision avoid scanning agents or calls.

A *lane* holds the waiting calls of one queue that need the same skills (kept
sorted by virtual enqueue time, see `acd.policies`) and a heap of the ready
agents able to take them (ranked by the queue's policy). Every call in a lane
suits every agent linked to it, so:

- a ready agent looks only at the heads of its lanes (and of its own sticky
  list): O(lanes of the agent), and takes the smallest across all of them,
  which is what makes an agent serving several queues fair across them;
- a waiting call pops the best ready agent of its lanes: O(log agents),
  amortised over the stale entries it drops;
- a call enters or leaves a line by binary search plus a list shift (a
  memmove of pointers: microseconds even for thousands of callers).

Lanes are created on first use for each (queue, needs) and kept; an agent is
linked to the lanes of its queues whose needs it meets when it logs in. Heap
entries of agents who stopped being ready are dropped lazily, and a heap is
rebuilt when it grows past twice its linked agents. The router keeps the
invariant that no call in line suits a ready agent (a call waiting for its
sticky agent suits that agent alone), so each event needs one look from the
side that changed, never a scan.
"""

from bisect import bisect_left, insort
from heapq import heapify, heappop, heappush
from typing import cast

from acd.entities import Agent, Call, CallEntry, CallKey, Queue
from acd.errors import RoutingError
from acd.policies import Needs, agent_rank, meets
from acd.state import AgentState

ReadyEntry = tuple[float, float, int, int, Agent]  # rank, agent seq, ready token, agent

_READY = AgentState.READY


class Lane:
    """The waiting calls of one queue that need the same skills, and who can take them."""

    __slots__ = ("_ready", "calls", "eligible", "needs", "queue")

    def __init__(self, queue: Queue, needs: Needs) -> None:
        self.queue = queue
        self.needs = needs
        self.calls: list[CallEntry] = []
        self.eligible: set[str] = set()  # ids of the logged-in agents linked to the lane
        self._ready: list[ReadyEntry] = []

    def push_ready(self, agent: Agent) -> None:
        rank = agent_rank(
            self.queue.spec.policy, agent.skills, self.needs, agent.idle_since, agent.last_offer
        )
        heappush(self._ready, (rank[0], rank[1], agent.seq, agent.ready_token, agent))
        if len(self._ready) > 2 * len(self.eligible) + 16:
            self._ready = [entry for entry in self._ready if _live(entry)]
            heapify(self._ready)

    def peek_ready(self) -> Agent | None:
        """The best ready agent of the lane, left on its heap; None if there is none."""
        heap = self._ready
        while heap and not _live(heap[0]):
            heappop(heap)
        return heap[0][4] if heap else None

    def pop_ready(self) -> Agent | None:
        """The best ready agent of the lane, taken off its heap; None if there is none."""
        heap = self._ready
        while heap:
            entry = heappop(heap)
            if _live(entry):
                return entry[4]
        return None


def _live(entry: ReadyEntry) -> bool:
    agent = entry[4]
    return agent.state is _READY and agent.ready_token == entry[3]


def lane_for(queue: Queue, needs: Needs) -> Lane:
    """The lane of `queue` for calls needing `needs`, created and linked on first use."""
    lane = queue.lanes.get(needs)
    if lane is None:
        lane = Lane(queue, needs)
        queue.lanes[needs] = lane
        for agent in queue.members.values():
            if meets(agent.skills, needs):
                _link(agent, lane)
    return lane


def _link(agent: Agent, lane: Lane) -> None:
    lane.eligible.add(agent.agent_id)
    agent.lanes.append(lane)
    if agent.state is _READY:
        lane.push_ready(agent)


def link_agent(agent: Agent) -> None:
    """Make a logged-in agent a member of its queues and link it to the lanes it suits."""
    for queue in agent.queues:
        queue.members[agent.agent_id] = agent
        for lane in queue.lanes.values():
            if meets(agent.skills, lane.needs):
                _link(agent, lane)


def unlink_agent(agent: Agent) -> None:
    """Remove a logging-out agent from its queues and lanes."""
    for lane in agent.lanes:
        lane.eligible.discard(agent.agent_id)
    agent.lanes = []
    for queue in agent.queues:
        del queue.members[agent.agent_id]


def push_ready(agent: Agent) -> None:
    """Offer a ready agent that found no call to the lanes it is linked to."""
    for lane in agent.lanes:
        lane.push_ready(agent)


def best_agent(lanes: list[Lane]) -> tuple[Agent, Queue] | None:
    """The best ready agent for a call in `lanes` (own lane first), and through which queue."""
    for lane in lanes:
        agent = lane.pop_ready()
        if agent is not None:
            return agent, lane.queue
    return None


def best_call(agent: Agent) -> tuple[Call, Queue] | None:
    """The waiting call a ready agent should take, and through which queue; None if none."""
    best: CallEntry | None = agent.sticky[0] if agent.sticky else None
    for lane in agent.lanes:
        calls = lane.calls
        if calls and (best is None or calls[0] < best):
            best = calls[0]
    if best is None:
        return None
    call = best[2]
    via = next((lane.queue for lane in call.lanes if agent.agent_id in lane.eligible), call.queue)
    return call, via


def admit(call: Call) -> None:
    """Put a waiting call in its queue's line and in its lanes (or its sticky agent's list)."""
    insort(call.queue.order, call.key)
    entry = _entry(call)
    if call.sticky_agent is not None:
        insort(call.sticky_agent.sticky, entry)
    else:
        for lane in call.lanes:
            insort(lane.calls, entry)
    call.admitted = True


def withdraw(call: Call) -> None:
    """Take a call out of every index it was admitted to (it ends its sticky wait too)."""
    key = call.key
    _remove(call.queue.order, key)
    if call.sticky_agent is not None:
        _remove(call.sticky_agent.sticky, key)
        call.sticky_agent = None
    else:
        for lane in call.lanes:
            _remove(lane.calls, key)
    call.admitted = False


def add_lane(call: Call, lane: Lane) -> bool:
    """Let the agents of `lane` take `call` too; False if they already could."""
    if lane in call.lanes:
        return False
    call.lanes.append(lane)
    if call.admitted and call.sticky_agent is None:
        insort(lane.calls, _entry(call))
    return True


def position(call: Call) -> int:
    """1 + the number of callers ahead of an admitted call in its own queue."""
    return bisect_left(call.queue.order, call.key) + 1


def _entry(call: Call) -> CallEntry:
    return (call.key[0], call.key[1], call)


def _remove(items: list[CallEntry] | list[CallKey], key: CallKey) -> None:
    """Delete the item with `key` from a sorted list (entries sort like their keys)."""
    index = bisect_left(cast("list[CallKey]", items), key)
    if index == len(items) or items[index][1] != key[1]:
        raise RoutingError(f"internal error: call #{key[1]} is missing from an index")
    del items[index]
