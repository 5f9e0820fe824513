"""The KPI definitions of PRODUCT.md, as pure functions over plain call and agent records.

One definition per KPI lives here and nowhere else; reading records (queue_log, the
database) and presenting results belong to other modules. Times are epoch seconds,
durations seconds, rates fractions in 0..1. A rate or mean whose denominator is empty
is None ("no data"), never 0.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

SL_BANDS: tuple[int, ...] = (5, 10, 15, 20, *range(30, 121, 10))
_DEFAULTS = {"sl_threshold": 20.0, "short_abandon": 5.0, "fcr_window_days": 7.0}
_ANONYMOUS = {"", "anonymous", "unknown", "restricted", "private", "unavailable", "withheld"}


class Outcome(StrEnum):
    """How a call left the queue."""

    ANSWERED = "answered"
    ABANDONED = "abandoned"  # the caller hung up while queued
    TIMEOUT = "timeout"  # the queue's maximum wait expired
    EXITED = "exited"  # left otherwise: empty queue, key pressed, callback taken


class AgentState(StrEnum):
    """An agent's state over an interval; RINGING counts as idle ready time."""

    READY = "ready"
    RINGING = "ringing"
    TALK = "talk"
    HOLD = "hold"
    ACW = "acw"
    NOT_READY = "not_ready"


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One call's passage through one queue, arrived_at being when it entered the queue
    and queue_seconds its wait there until answered or it left. None means "not known"."""

    call_id: str
    queue: str
    arrived_at: float
    ended_at: float
    outcome: Outcome
    queue_seconds: float
    agent: str | None = None
    customer_id: str | None = None
    caller_number: str | None = None  # normalised, see normalise_number; None if anonymous
    answered_at: float | None = None
    talk_seconds: float | None = None
    hold_seconds: float | None = None
    acw_seconds: float | None = None
    transferred: bool = False
    resolved: bool | None = None  # the agent's "resolved on this call" mark at wrap-up
    direction: str = "inbound"  # or "outbound": a call we placed (callback, campaign)
    segment_of: str | None = None  # after a transfer: the call it continues (same contact)

    def __post_init__(self) -> None:
        object.__setattr__(self, "outcome", Outcome(self.outcome))  # "answered" is accepted
        durations = (self.queue_seconds, self.talk_seconds, self.hold_seconds, self.acw_seconds)
        if any(d is not None and not d >= 0 for d in durations):
            raise ValueError(f"call {self.call_id}: durations must be >= 0, got {durations}")


@dataclass(frozen=True, slots=True)
class AgentInterval:
    """An agent in one state from start to end."""

    agent: str
    state: AgentState
    start: float
    end: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", AgentState(self.state))  # "talk" is accepted
        if not self.end >= self.start:
            raise ValueError(f"agent {self.agent}: interval ends ({self.end}) before it starts")


def normalise_number(raw: str | None) -> str | None:
    """Digits with an optional leading '+' ('00' becomes '+'); None for anonymous numbers."""
    if raw is None or raw.strip().lower() in _ANONYMOUS:
        return None
    text = raw.strip()
    plus = text.startswith("+") or text.startswith("00")
    digits = "".join(ch for ch in text if ch.isdigit())
    if text.startswith("00"):
        digits = digits[2:]
    if not digits:
        return None
    return "+" + digits if plus else digits


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _answered(calls: Iterable[CallRecord]) -> list[CallRecord]:
    return [c for c in calls if c.outcome is Outcome.ANSWERED]


def offered(calls: Sequence[CallRecord]) -> int:
    """Calls that reached the queue, whatever became of them."""
    return len(calls)


def answered(calls: Iterable[CallRecord]) -> int:
    return len(_answered(calls))


def abandoned(calls: Iterable[CallRecord]) -> int:
    """Calls the caller hung up while queued."""
    return sum(1 for c in calls if c.outcome is Outcome.ABANDONED)


def short_abandoned(calls: Iterable[CallRecord], short_abandon: float = 5) -> int:
    """Abandoned calls whose wait was under the threshold (a wait equal to it is not short)."""
    return sum(
        1 for c in calls if c.outcome is Outcome.ABANDONED and c.queue_seconds < short_abandon
    )


def transferred(calls: Iterable[CallRecord]) -> int:
    return sum(1 for c in calls if c.transferred)


def asa_seconds(calls: Iterable[CallRecord]) -> float | None:
    """Average speed of answer: total queue time of answered calls / answered calls.

    The source says "total queue time / answered calls"; we read the queue time as that
    of the answered calls only (the industry meaning), so abandons do not inflate it.
    """
    return _mean([c.queue_seconds for c in _answered(calls)])


def avg_queue_seconds(calls: Iterable[CallRecord]) -> float | None:
    """Mean wait of the calls that left the queue answered or abandoned."""
    ends = (Outcome.ANSWERED, Outcome.ABANDONED)
    return _mean([c.queue_seconds for c in calls if c.outcome in ends])


def _known(
    calls: Iterable[CallRecord], duration: Callable[[CallRecord], float | None]
) -> list[float]:
    values = (duration(c) for c in _answered(calls))
    return [v for v in values if v is not None]


def avg_hold_seconds(calls: Iterable[CallRecord]) -> float | None:
    """Mean on-call hold (not queue time) per answered call whose hold time is known."""
    return _mean(_known(calls, lambda c: c.hold_seconds))


def avg_talk_seconds(calls: Iterable[CallRecord]) -> float | None:
    return _mean(_known(calls, lambda c: c.talk_seconds))


def avg_acw_seconds(calls: Iterable[CallRecord]) -> float | None:
    """Mean after-call work (wrap-up) per answered call whose wrap-up time is known."""
    return _mean(_known(calls, lambda c: c.acw_seconds))


def _handle(c: CallRecord) -> float | None:
    if c.talk_seconds is None or c.hold_seconds is None or c.acw_seconds is None:
        return None
    return c.talk_seconds + c.hold_seconds + c.acw_seconds


def aht_seconds(calls: Iterable[CallRecord]) -> float | None:
    """Average handle time, talk + hold + ACW, over answered calls where all three are known."""
    return _mean(_known(calls, _handle))


def fcr_caller(c: CallRecord) -> str | None:
    """Whose repeat contacts an answered call counts among: its customer, else its number;
    None for an anonymous caller, for a call we placed (FCR counts inbound contacts) and
    for a transfer's next segment (the same contact as the call it continues)."""
    if c.direction != "inbound" or c.segment_of is not None:
        return None
    if c.customer_id:
        return "customer:" + c.customer_id
    return "number:" + c.caller_number if c.caller_number else None


def fcr_clusters(calls: Iterable[CallRecord], window_days: float = 7) -> list[list[CallRecord]]:
    """Group answered calls of one caller into repeat-contact clusters.

    The caller is the customer id when known, else the normalised caller number; an
    answered call with neither (anonymous) is left out, since a repeat cannot be seen,
    and so is an outbound call (see fcr_caller).
    Calls sorted by arrival chain: a call joins the cluster of the same caller's previous
    call when it arrived at most `window_days` after that previous call, so calls on
    days 0, 5 and 10 form one cluster of three with a 7-day window.
    """
    window = window_days * 86400
    clusters: list[list[CallRecord]] = []
    last: dict[str, list[CallRecord]] = {}
    for call in sorted(_answered(calls), key=lambda c: (c.arrived_at, c.call_id)):
        key = fcr_caller(call)
        if key is None:
            continue
        cluster = last.get(key)
        if cluster is not None and call.arrived_at - cluster[-1].arrived_at <= window:
            cluster.append(call)
        else:
            cluster = [call]
            clusters.append(cluster)
            last[key] = cluster
    return clusters


def fcr_rate(calls: Iterable[CallRecord], window_days: float = 7) -> float | None:
    """Clusters of one (resolved at the first contact) / clusters; see fcr_clusters."""
    return _resolved_first_time(fcr_clusters(calls, window_days))


def _resolved_first_time(clusters: list[list[CallRecord]]) -> float | None:
    return _ratio(sum(1 for c in clusters if len(c) == 1), len(clusters))


def resolved_mark_rate(calls: Iterable[CallRecord]) -> float | None:
    """Share of answered calls the agent marked resolved, among those with a mark."""
    marks = [c.resolved for c in _answered(calls) if c.resolved is not None]
    return _ratio(sum(marks), len(marks))


def abandon_rate(calls: Sequence[CallRecord]) -> float | None:
    """Abandoned / offered."""
    return _ratio(abandoned(calls), offered(calls))


def abandon_rate_excl_short(calls: Sequence[CallRecord], short_abandon: float = 5) -> float | None:
    """Abandoned / offered, with short abandons removed from both."""
    short = short_abandoned(calls, short_abandon)
    return _ratio(abandoned(calls) - short, offered(calls) - short)


def _state_seconds(intervals: Iterable[AgentInterval]) -> dict[AgentState, float]:
    totals: dict[AgentState, float] = defaultdict(float)
    for i in intervals:
        totals[i.state] += i.end - i.start
    return totals


def occupancy(intervals: Iterable[AgentInterval]) -> float | None:
    """(talk + hold) / (talk + hold + idle ready); not-ready and ACW time are in neither."""
    s = _state_seconds(intervals)
    busy = s[AgentState.TALK] + s[AgentState.HOLD]
    return _ratio(busy, busy + s[AgentState.READY] + s[AgentState.RINGING])


def occupancy_with_acw(intervals: Iterable[AgentInterval]) -> float | None:
    """(talk + hold + ACW) / (talk + hold + ACW + idle ready); not-ready time in neither."""
    s = _state_seconds(intervals)
    busy = s[AgentState.TALK] + s[AgentState.HOLD] + s[AgentState.ACW]
    return _ratio(busy, busy + s[AgentState.READY] + s[AgentState.RINGING])


def _answered_within(calls: Iterable[CallRecord], threshold: float) -> int:
    return sum(1 for c in _answered(calls) if c.queue_seconds <= threshold)


def service_level(calls: Iterable[CallRecord], threshold: float = 20) -> float | None:
    """Answered within T (a wait of at most T) / answered: Asterisk's service level."""
    calls = list(calls)
    return _ratio(_answered_within(calls, threshold), answered(calls))


def service_level_with_abandons(
    calls: Iterable[CallRecord], threshold: float = 20, short_abandon: float = 5
) -> float | None:
    """Answered within T / (answered + abandoned, short abandons excluded)."""
    calls = list(calls)
    long_abandons = abandoned(calls) - short_abandoned(calls, short_abandon)
    return _ratio(_answered_within(calls, threshold), answered(calls) + long_abandons)


def service_level_bands(calls: Iterable[CallRecord]) -> dict[int, float | None]:
    """Cumulative share of answered calls answered within each band of SL_BANDS seconds."""
    waits = sorted(c.queue_seconds for c in _answered(calls))  # one pass, then a bisect a band
    if not waits:
        return dict.fromkeys(SL_BANDS)
    return {band: bisect_right(waits, band) / len(waits) for band in SL_BANDS}


def longest_wait_seconds(calls: Iterable[CallRecord]) -> float | None:
    """The longest queue wait of any offered call, whatever its outcome."""
    return max((c.queue_seconds for c in calls), default=None)


def _summary(
    calls: Sequence[CallRecord],
    intervals: Sequence[AgentInterval],
    clusters: list[list[CallRecord]],
    sl_threshold: float,
    short_abandon: float,
) -> dict[str, Any]:
    ids = {id(c) for c in calls}
    mine = [cluster for cluster in clusters if id(cluster[0]) in ids]
    return {
        "offered": offered(calls),
        "answered": answered(calls),
        "abandoned": abandoned(calls),
        "short_abandoned": short_abandoned(calls, short_abandon),
        "transferred": transferred(calls),
        "asa_seconds": asa_seconds(calls),
        "avg_queue_seconds": avg_queue_seconds(calls),
        "avg_hold_seconds": avg_hold_seconds(calls),
        "avg_talk_seconds": avg_talk_seconds(calls),
        "avg_acw_seconds": avg_acw_seconds(calls),
        "aht_seconds": aht_seconds(calls),
        "fcr_rate": _resolved_first_time(mine),
        "abandon_rate": abandon_rate(calls),
        "abandon_rate_excl_short": abandon_rate_excl_short(calls, short_abandon),
        "occupancy": occupancy(intervals),
        "occupancy_with_acw": occupancy_with_acw(intervals),
        "service_level": service_level(calls, sl_threshold),
        "service_level_with_abandons": service_level_with_abandons(
            calls, sl_threshold, short_abandon
        ),
        "longest_wait_seconds": longest_wait_seconds(calls),
        "service_level_bands": service_level_bands(calls),
        "resolved_mark_rate": resolved_mark_rate(calls),
    }


def summarise(
    calls: Iterable[CallRecord],
    intervals: Iterable[AgentInterval] = (),
    *,
    sl_threshold: float = 20,
    short_abandon: float = 5,
    fcr_window_days: float = 7,
) -> dict[str, Any]:
    """Every KPI under its PRODUCT.md field name; None where the records cannot tell."""
    calls = list(calls)
    clusters = fcr_clusters(calls, fcr_window_days)
    return _summary(calls, list(intervals), clusters, sl_threshold, short_abandon)
