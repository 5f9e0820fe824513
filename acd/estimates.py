"""Estimated wait time: a rolling mean handle time per queue and the estimate itself.

Method: a caller at position p (1 = next) in a queue with n staffed agents
(logged in and not "not ready": ready, ringing, talking or in wrap-up) whose
recent mean handle time (talk + wrap-up) is h waits about

    p * h / n  seconds,

the time for n agents, each freeing up once per h seconds, to serve p callers.
h is the mean of the last `window` handle times measured by the router (from
answer to the end of wrap-up, with the injected clock), or the queue's
`expected_handle_seconds` until it has served a call. With no staffed agent the
wait is unknown (None). Deterministic: it depends only on events and `now`.
"""

from collections import deque


class HandleTimes:
    """The last `window` handle times of a queue and their mean, in O(1) per call."""

    __slots__ = ("_added", "_default", "_times", "_total", "_window")

    def __init__(self, window: int, default: float) -> None:
        self._times: deque[float] = deque(maxlen=window)
        self._window = window
        self._default = default
        self._total = 0.0
        self._added = 0

    def add(self, seconds: float) -> None:
        seconds = max(seconds, 0.0)
        if len(self._times) == self._window:
            self._total -= self._times[0]
        self._times.append(seconds)
        self._total += seconds
        self._added += 1
        if self._added % self._window == 0:
            self._total = sum(self._times)  # cancels rounding drift over a long day

    def mean(self) -> float:
        return self._total / len(self._times) if self._times else self._default


def estimated_wait(position: int, mean_handle: float, staffed: int) -> float | None:
    """Seconds a caller at `position` should expect to wait, None when nobody is staffed."""
    if staffed <= 0:
        return None
    return position * mean_handle / staffed
