"""The router's deadlines: one heap of timers, cancelled lazily.

A timer is never removed when what it watches changes; it carries a token (an
offer id, a wrap-up generation) and the router checks, when the timer comes up,
whether it still applies. `Router.next_deadline` skips the stale ones, so the
driver is only woken for deadlines that matter.
"""

from collections.abc import Callable
from enum import Enum
from heapq import heappop, heappush
from typing import NamedTuple

from acd.entities import Agent, Call


class TimerKind(Enum):
    RING = "ring"  # safety net for an offer the dialplan should have reported
    WRAP_UP = "wrap_up"  # the queue's maximum after-call work
    OVERFLOW = "overflow"  # the token is the index of the queue's overflow rule
    MAX_WAIT = "max_wait"
    ANNOUNCE = "announce"
    STICKY = "sticky"  # end of the wait for the customer's last agent


class Timer(NamedTuple):
    at: float
    seq: int  # creation order: ties at the same time fire in that order
    kind: TimerKind
    subject: Call | Agent
    token: int


class Timers:
    """A min-heap of timers ordered by (time, creation order)."""

    __slots__ = ("_heap", "_seq")

    def __init__(self) -> None:
        self._heap: list[Timer] = []
        self._seq = 0

    def add(self, at: float, kind: TimerKind, subject: Call | Agent, token: int = 0) -> None:
        self._seq += 1
        heappush(self._heap, Timer(at, self._seq, kind, subject, token))

    def pop_due(self, now: float) -> Timer | None:
        """The earliest timer due at `now`, taken off the heap; None if none is due."""
        heap = self._heap
        if heap and heap[0].at <= now:
            return heappop(heap)
        return None

    def next_at(self, is_live: Callable[[Timer], bool]) -> float | None:
        """When the earliest live timer is due, dropping stale ones ahead of it."""
        heap = self._heap
        while heap and not is_live(heap[0]):
            heappop(heap)
        return heap[0].at if heap else None
