"""The router's deadlines: one heap of timers, cancelled lazily.

A timer is never removed when what it watches changes. It names its subject by
id with a generation (the call's arrival sequence, the agent's wrap-up count)
and a token (an offer id, an overflow rule's index), and the router checks,
when the timer comes up, whether it still applies. `Router.next_deadline`
skips the stale ones, so the driver is only woken for deadlines that matter.

Timers are plain tuples of numbers and strings: the cycle collector stops
tracking them, and they keep no finished call alive.
"""

from collections.abc import Callable
from heapq import heappop, heappush
from typing import Final

# What a timer is for; small ints keep a timer free of tracked objects.
RING: Final = 0  # safety net for an offer the dialplan should have reported
WRAP_UP: Final = 1  # the queue's maximum after-call work (the subject is an agent)
OVERFLOW: Final = 2  # the token is the index of the queue's overflow rule
MAX_WAIT: Final = 3
ANNOUNCE: Final = 4
STICKY: Final = 5  # end of the wait for the customer's last agent

# (due at, creation order, kind, subject id, generation, token); ties fire in creation order.
Timer = tuple[float, int, int, str, int, int]


class Timers:
    """A min-heap of timers ordered by (time, creation order)."""

    __slots__ = ("_heap", "_seq")

    def __init__(self) -> None:
        self._heap: list[Timer] = []
        self._seq = 0

    def add(self, at: float, kind: int, subject: str, generation: int, token: int = 0) -> None:
        self._seq += 1
        heappush(self._heap, (at, self._seq, kind, subject, generation, token))

    def pop_due(self, now: float) -> Timer | None:
        """The earliest timer due at `now`, taken off the heap; None if none is due."""
        heap = self._heap
        if heap and heap[0][0] <= now:
            return heappop(heap)
        return None

    def next_at(self, is_live: Callable[[Timer], bool]) -> float | None:
        """When the earliest live timer is due, dropping stale ones ahead of it."""
        heap = self._heap
        while heap and not is_live(heap[0]):
            heappop(heap)
        return heap[0][0] if heap else None
