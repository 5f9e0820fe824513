"""KPI summaries per group: per queue, per agent, per interval bucket, per day or month.

The KPI definitions are those of `reports.kpis`; this module only decides which calls and
which agent time fall in which group. FCR: a queue's or an agent's repeat contacts are
those of its own calls (clusters are formed within each queue or agent, as for a report
on one queue or agent and in the live figures); for time groups (interval, day, month)
clusters are formed over all the calls given and counted in the group of their first
call, so a repeat in the next group still counts against it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any, Literal

from reports.kpis import _DEFAULTS, AgentInterval, CallRecord, _summary, fcr_clusters

BUCKET_MINUTES: tuple[int, ...] = (15, 30, 60)
Period = Literal["day", "month"]
PERIODS: tuple[Period, ...] = ("day", "month")


def _grouped(
    calls: Sequence[CallRecord],
    intervals: Sequence[AgentInterval],
    call_key: Callable[[CallRecord], Any],
    interval_key: Callable[[AgentInterval], Any],
    options: dict[str, float],
    *,
    own: bool = False,
) -> dict[Any, dict[str, Any]]:
    """Summaries per group. FCR clusters are formed within each group when `own` (queues,
    agents), else over all calls and counted in the group of their first call."""
    if unknown := set(options) - set(_DEFAULTS):
        raise TypeError(f"unknown KPI options {sorted(unknown)}: use {sorted(_DEFAULTS)}")
    options = {**_DEFAULTS, **options}
    window = options["fcr_window_days"]
    call_groups: dict[Any, list[CallRecord]] = defaultdict(list)
    interval_groups: dict[Any, list[AgentInterval]] = defaultdict(list)
    for call in calls:
        call_groups[call_key(call)].append(call)
    for interval in intervals:
        interval_groups[interval_key(interval)].append(interval)
    sl, short = options["sl_threshold"], options["short_abandon"]
    keys = sorted((set(call_groups) | set(interval_groups)) - {None})  # one type per grouping
    everyone = [] if own else fcr_clusters(calls, window)
    return {
        k: _summary(
            call_groups[k],
            interval_groups[k],
            fcr_clusters(call_groups[k], window) if own else everyone,
            sl,
            short,
        )
        for k in keys
    }


def summarise_by_queue(calls: Iterable[CallRecord], **options: float) -> dict[str, dict[str, Any]]:
    """One summary per queue. Agent time belongs to no single queue, so occupancy is None."""
    return _grouped(list(calls), [], lambda c: c.queue, lambda i: None, options, own=True)


def summarise_by_agent(
    calls: Iterable[CallRecord], intervals: Iterable[AgentInterval], **options: float
) -> dict[str, dict[str, Any]]:
    """One summary per agent, over the calls they answered and their own state time.

    Calls no agent answered (abandons, timeouts) belong to no agent and are left out.
    """
    return _grouped(
        list(calls), list(intervals), lambda c: c.agent, lambda i: i.agent, options, own=True
    )


def bucket_start(moment: float, minutes: int, utc_offset_minutes: int = 0) -> float:
    """Start (epoch seconds) of the interval bucket holding `moment`.

    Buckets are aligned on local wall-clock time at a fixed UTC offset (0 = UTC), so with
    an offset of +05:30 the 30-minute buckets start at local :00 and :30. A fixed offset
    does not follow daylight-saving changes; report such days in UTC or per offset.
    """
    if minutes not in BUCKET_MINUTES:
        raise ValueError(f"interval bucket of {minutes} minutes: use one of {BUCKET_MINUTES}")
    size, offset = minutes * 60, utc_offset_minutes * 60
    return float((moment + offset) // size * size - offset)


def period_start(moment: float, period: Period, utc_offset_minutes: int = 0) -> float:
    """Start (epoch seconds) of the local calendar day or month holding `moment`, at a
    fixed UTC offset (see bucket_start)."""
    offset = utc_offset_minutes * 60
    if period == "day":
        return float((moment + offset) // 86400 * 86400 - offset)
    if period == "month":
        local = datetime.fromtimestamp(moment + offset, UTC)
        first = datetime(local.year, local.month, 1, tzinfo=UTC)
        return first.timestamp() - offset
    raise ValueError(f"period {period!r}: use one of {PERIODS}")


def period_end(moment: float, period: Period, utc_offset_minutes: int = 0) -> float:
    """End (exclusive) of the day or month holding `moment`: the next one's start."""
    start = period_start(moment, period, utc_offset_minutes)
    if period == "day":
        return start + 86400
    offset = utc_offset_minutes * 60
    local = datetime.fromtimestamp(start + offset, UTC)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return datetime(year, month, 1, tzinfo=UTC).timestamp() - offset


def local_iso(moment: float, utc_offset_minutes: int = 0) -> str:
    """ISO 8601 date and time of `moment` at the given UTC offset, offset included."""
    zone = timezone(timedelta(minutes=utc_offset_minutes))
    return datetime.fromtimestamp(moment, zone).isoformat()


def _split_at(interval: AgentInterval, end_of: Callable[[float], float]) -> list[AgentInterval]:
    pieces, start = [], interval.start
    while start < interval.end:
        edge = end_of(start)
        if not edge > start:  # float rounding at an edge: the next period's end
            edge = end_of(edge + 1.0)
        end = min(interval.end, edge)
        pieces.append(AgentInterval(interval.agent, interval.state, start, end))
        start = end
    return pieces


def _split(interval: AgentInterval, minutes: int, offset: int) -> list[AgentInterval]:
    pieces, start = [], interval.start
    while start < interval.end:
        edge = bucket_start(start, minutes, offset) + minutes * 60
        end = min(interval.end, edge if edge > start else edge + minutes * 60)  # float rounding
        pieces.append(AgentInterval(interval.agent, interval.state, start, end))
        start = end
    return pieces


def summarise_by_interval(
    calls: Iterable[CallRecord],
    intervals: Iterable[AgentInterval] = (),
    *,
    minutes: int = 15,
    utc_offset_minutes: int = 0,
    **options: float,
) -> dict[float, dict[str, Any]]:
    """One summary per bucket start (see bucket_start), only for buckets with data.

    A call counts in the bucket it arrived in; agent state time is split at bucket edges.
    """
    bucket_start(0, minutes)  # validates minutes
    pieces = [p for i in intervals for p in _split(i, minutes, utc_offset_minutes)]
    return _grouped(
        list(calls),
        pieces,
        lambda c: bucket_start(c.arrived_at, minutes, utc_offset_minutes),
        lambda i: bucket_start(i.start, minutes, utc_offset_minutes),
        options,
    )


def summarise_by_period(
    calls: Iterable[CallRecord],
    intervals: Iterable[AgentInterval] = (),
    *,
    period: Period = "day",
    utc_offset_minutes: int = 0,
    **options: float,
) -> dict[float, dict[str, Any]]:
    """One summary per local day or month start (see period_start), only for those with data.

    A call counts in the day or month it arrived in; agent state time is split at its edges.
    """
    if period not in PERIODS:
        raise ValueError(f"period {period!r}: use one of {PERIODS}")

    def start_of(moment: float) -> float:
        return period_start(moment, period, utc_offset_minutes)

    def end_of(moment: float) -> float:
        return period_end(moment, period, utc_offset_minutes)

    pieces = [p for i in intervals for p in _split_at(i, end_of)]
    return _grouped(
        list(calls), pieces, lambda c: start_of(c.arrived_at), lambda i: start_of(i.start), options
    )


def parse_moment(text: str, zone: tzinfo = UTC) -> float:
    """Epoch seconds from epoch seconds or an ISO date/date-time (read in `zone` when it
    has no offset: a date alone is midnight there); ValueError when it is neither."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a time: {text!r} (ISO 8601 or epoch seconds)") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).timestamp()
