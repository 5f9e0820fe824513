"""A sliding-window rate limit per key (a client address, a phone number), in memory."""

from __future__ import annotations

from collections import deque


class RateLimit:
    """At most `limit` hits per key in any `seconds`; `hit` says when the next is allowed."""

    def __init__(self, limit: int, seconds: float) -> None:
        if limit < 1 or seconds <= 0:
            raise ValueError(f"rate limit of {limit} per {seconds} s")
        self.limit, self.seconds = limit, seconds
        self._hits: dict[str, deque[float]] = {}

    def retry_after(self, key: str, now: float) -> float:
        """0 when a hit is allowed now, else the seconds until it is."""
        hits = self._hits.get(key)
        if hits is None:
            return 0.0
        while hits and hits[0] <= now - self.seconds:
            hits.popleft()
        if not hits:
            del self._hits[key]
            return 0.0
        return 0.0 if len(hits) < self.limit else hits[0] + self.seconds - now

    def hit(self, key: str, now: float) -> None:
        self._hits.setdefault(key, deque()).append(now)
