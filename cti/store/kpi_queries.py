"""Historical KPIs computed by SQL aggregates over the `calls` and `agent_states` tables.

`kpi_report` gives, per group, exactly the fields of `reports.kpis.summarise` (the
PRODUCT.md names) and agrees with the pure functions of `reports.kpis` and
`reports.grouping` applied to the same records; the database does the counting, summing,
clipping and clustering, Python only divides the totals it returns. The same statements
run on SQLite (aiosqlite) and PostgreSQL (asyncpg); every one filters on the tenant.

Which rows count (as `reports.fold.CallRow.record` reads a row):
- calls of the tenant that left the queue (`outcome` set) with a queue, whose `queued_at`
  (the record's arrival) is in [start, end); `queue_seconds` NULL counts as 0;
- the agent, talk, hold and wrap-up times are those of answered calls only; hold is known
  once the talk has ended (`talk_ended_at`), AHT needs talk, hold and wrap-up known;
- agent state time: `agent_states` intervals that overlap [start, end), clipped to it and,
  grouped by interval, day or month, split at the group edges; ready and reserved
  (ringing) are idle, on_call and hold busy, wrap_up after-call work, not_ready in
  neither. Agent time belongs to no queue: grouped by queue or filtered on a queue,
  occupancy is None (as in `summarise_by_queue`).
- FCR clusters (see `reports.kpis.fcr_clusters`) are formed over the selected answered
  calls with LAG/LEAD over the caller (customer id, else caller number; neither: left
  out) and counted in the group of their first call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    and_,
    case,
    cast,
    extract,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cti.store.models import AgentStateInterval, Call
from reports.grouping import BUCKET_MINUTES, local_iso
from reports.kpis import SL_BANDS, Outcome

GROUPINGS: tuple[str, ...] = ("total", "queue", "agent", "interval", "day", "month")
_IDLE = ("ready", "reserved")
_BUSY = ("on_call", "hold")
_ACW = ("wrap_up",)
_STATES = (*_IDLE, *_BUSY, *_ACW, "not_ready")
_BUCKETED = ("interval", "day", "month")

_calls = Call.__table__
_states = AgentStateInterval.__table__


async def kpi_report(
    engine: AsyncEngine,
    tenant: str,
    *,
    start: float,
    end: float,
    group_by: str = "total",
    interval_minutes: int = 60,
    queue: str | None = None,
    agent: str | None = None,
    sl_threshold: float = 20,
    short_abandon: float = 5,
    fcr_window_days: float = 7,
    utc_offset_minutes: int = 0,
) -> dict[str, dict[str, Any]]:
    """KPI summaries of `tenant`'s calls queued in [start, end), one per group.

    group_by: "total" (one summary, key "total", even when empty), "queue", "agent",
    "interval" (buckets of `interval_minutes`, 15, 30 or 60), "day" or "month" (local
    calendar at `utc_offset_minutes`). Grouped reports have a key per group with data,
    in order: the queue or agent id, or the group's start as ISO 8601 at the offset.
    `queue` and `agent` restrict the calls (an agent's calls are those they answered)
    and `agent` the agent time as well.
    """
    if group_by not in GROUPINGS:
        raise ValueError(f"group_by {group_by!r}: use one of {GROUPINGS}")
    if interval_minutes not in BUCKET_MINUTES:
        raise ValueError(f"interval of {interval_minutes} minutes: use one of {BUCKET_MINUTES}")
    grouping = _Grouping(group_by, interval_minutes, utc_offset_minutes, engine.dialect.name)
    selection = _Selection(tenant, float(start), float(end), queue, agent)
    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            # analytic scans: compiling them (JIT) costs more than it saves, and their sorts
            # need more than the default 4 MB; both only for this report's transaction
            await conn.execute(text("SET LOCAL jit = off"))
            await conn.execute(text("SET LOCAL work_mem = '64MB'"))
        stats = await _rows(conn, _call_stats(selection, grouping, sl_threshold, short_abandon))
        fcr = await _rows(conn, _fcr(selection, grouping, float(fcr_window_days) * 86400))
        time: dict[Any, dict[str, float]] = {}
        if queue is None and group_by != "queue":
            for key, state, seconds in (await conn.execute(_state_time(selection, grouping))).all():
                time.setdefault(key, {})[state] = seconds
    if group_by == "total":
        keys: list[Any] = [tenant]
    else:
        keys = sorted((set(stats) | set(time)) - {None})
    return {grouping.label(k): _summary(stats.get(k), fcr.get(k), time.get(k, {})) for k in keys}


class _Selection:
    """The calls and agent time a report covers."""

    def __init__(
        self, tenant: str, start: float, end: float, queue: str | None, agent: str | None
    ) -> None:
        self.tenant, self.start, self.end, self.queue, self.agent = tenant, start, end, queue, agent
        c = _calls.c
        self.answered = c.outcome == Outcome.ANSWERED.value
        self.agent_of_call = case((self.answered, c.agent), else_=None)
        self.calls: list[ColumnElement[bool]] = [
            c.tenant_id == tenant,
            c.outcome.is_not(None),
            c.queue.is_not(None),
            c.queued_at >= start,
            c.queued_at < end,
        ]
        if queue is not None:
            self.calls.append(c.queue == queue)
        if agent is not None:
            self.calls.append(and_(self.answered, c.agent == agent))
        s = _states.c
        self.intervals: list[ColumnElement[bool]] = [
            s.tenant_id == tenant,
            s.start < end,
            s.end > start,
            s.state.in_(_STATES),
        ]
        if agent is not None:
            self.intervals.append(s.agent_id == agent)


class _Grouping:
    """The group key of a call or of a piece of agent time, as SQL expressions."""

    def __init__(self, by: str, minutes: int, utc_offset_minutes: int, dialect: str) -> None:
        self.by, self.dialect = by, dialect
        self.offset_minutes = utc_offset_minutes
        self.offset = float(utc_offset_minutes * 60)
        self.size = float(minutes * 60 if by == "interval" else 86400)

    def call_key(self, selection: _Selection) -> ColumnElement[Any]:
        c = _calls.c
        if self.by == "queue":
            return c.queue
        if self.by == "agent":
            return selection.agent_of_call
        if self.by in _BUCKETED:
            return self.start_of(c.queued_at)
        return c.tenant_id  # "total": one group

    def start_of(self, moment: ColumnElement[float]) -> ColumnElement[float]:
        """Start of the bucket, day or month holding `moment` (epoch seconds)."""
        local = moment + self.offset
        if self.by != "month":
            return func.floor(local / self.size) * self.size - self.offset
        if self.dialect == "sqlite":
            first = func.datetime(local, "unixepoch", "start of month")
            return cast(func.strftime("%s", first), Float) - self.offset
        first = func.date_trunc("month", func.timezone("UTC", func.to_timestamp(local)))
        return cast(extract("epoch", first), Float) - self.offset

    def end_of(self, moment: ColumnElement[float]) -> ColumnElement[float]:
        """End (exclusive) of the bucket, day or month holding `moment`."""
        if self.by != "month":
            return self.start_of(moment) + self.size
        local = moment + self.offset
        if self.dialect == "sqlite":
            first = func.datetime(local, "unixepoch", "start of month", "+1 month")
            return cast(func.strftime("%s", first), Float) - self.offset
        first = func.date_trunc("month", func.timezone("UTC", func.to_timestamp(local)))
        month = first + literal_column("interval '1 month'")
        return cast(extract("epoch", month), Float) - self.offset

    def label(self, key: Any) -> str:
        if self.by == "total":
            return "total"
        if self.by in _BUCKETED:
            return local_iso(float(key), self.offset_minutes)
        return str(key)


def _call_stats(
    selection: _Selection, grouping: _Grouping, sl_threshold: float, short_abandon: float
) -> Select[Any]:
    c = _calls.c
    answered = selection.answered
    abandoned = c.outcome == Outcome.ABANDONED.value
    wait = func.coalesce(c.queue_seconds, 0.0)
    hold_known = and_(answered, c.talk_ended_at.is_not(None))
    handle_known = and_(hold_known, c.talk_seconds.is_not(None), c.acw_seconds.is_not(None))

    def count(condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    def total(condition: ColumnElement[bool], value: ColumnElement[Any]) -> list[Any]:
        return [func.sum(case((condition, value), else_=None)), func.count(case((condition, 1)))]

    key = grouping.call_key(selection).label("key")
    return (
        select(
            key,
            func.count(),
            count(answered),
            count(abandoned),
            count(and_(abandoned, wait < short_abandon)),
            count(c.transfers > 0),
            *total(answered, wait),  # ASA
            *total(or_(answered, abandoned), wait),  # average queue time
            *total(hold_known, c.hold_seconds),
            *total(and_(answered, c.talk_seconds.is_not(None)), c.talk_seconds),
            *total(and_(answered, c.acw_seconds.is_not(None)), c.acw_seconds),
            *total(handle_known, c.talk_seconds + c.hold_seconds + c.acw_seconds),
            count(and_(answered, wait <= sl_threshold)),
            func.max(wait),
            *(count(and_(answered, wait <= band)) for band in SL_BANDS),
            count(and_(answered, c.resolved.is_not(None))),
            count(and_(answered, c.resolved.is_(True))),
        )
        .where(*selection.calls)
        .group_by(key)
    )


def _fcr(selection: _Selection, grouping: _Grouping, window: float) -> Select[Any]:
    """Per group: clusters begun there, and those of one call (resolved first time)."""
    c = _calls.c
    by_customer = and_(c.customer_id.is_not(None), c.customer_id != "")
    by_number = and_(c.caller_number.is_not(None), c.caller_number != "")
    kind = case((by_customer, "customer"), (by_number, "number"), else_=None)
    caller = case((by_customer, c.customer_id), (by_number, c.caller_number), else_=None)
    call_id = c.call_id.collate("C") if grouping.dialect == "postgresql" else c.call_id
    order = [c.queued_at, call_id]  # reports.kpis.fcr_clusters: by arrival, then call id
    ordered = (
        select(
            grouping.call_key(selection).label("key"),
            c.queued_at.label("at"),
            func.lag(c.queued_at).over(partition_by=[kind, caller], order_by=order).label("prev"),
            func.lead(c.queued_at).over(partition_by=[kind, caller], order_by=order).label("next"),
        )
        .where(*selection.calls, selection.answered, kind.is_not(None))
        .subquery("ordered")
    )
    o = ordered.c
    first = or_(o.prev.is_(None), o.at - o.prev > window)
    alone = or_(o.next.is_(None), o.next - o.at > window)
    return (
        select(o.key, func.count(), func.coalesce(func.sum(case((alone, 1), else_=0)), 0))
        .where(first)
        .group_by(o.key)
    )


def _state_time(selection: _Selection, grouping: _Grouping) -> Select[Any]:
    """Seconds per group and state of the agent time in range (split at group edges)."""
    s = _states.c
    lo = case((s.start > selection.start, s.start), else_=selection.start)
    hi = case((s.end < selection.end, s.end), else_=selection.end)
    if grouping.by not in _BUCKETED:
        key = (s.agent_id if grouping.by == "agent" else s.tenant_id).label("key")
        return (
            select(key, s.state, func.sum(hi - lo))
            .where(*selection.intervals)
            .group_by(key, s.state)
        )
    clipped = select(
        s.agent_id.label("agent"), s.state.label("state"), lo.label("lo"), hi.label("hi")
    ).where(*selection.intervals)
    pieces = clipped.cte("pieces", recursive=True)
    p = pieces.alias("previous")
    edge = grouping.end_of(p.c.lo)
    pieces = pieces.union_all(
        select(p.c.agent, p.c.state, edge, p.c.hi).where(edge > p.c.lo, edge < p.c.hi)
    )
    edge = grouping.end_of(pieces.c.lo)
    piece_end = case((edge < pieces.c.hi, edge), else_=pieces.c.hi)
    key = grouping.start_of(pieces.c.lo).label("key")
    return (
        select(key, pieces.c.state, func.sum(piece_end - pieces.c.lo))
        .where(piece_end > pieces.c.lo)
        .group_by(key, pieces.c.state)
    )


async def _rows(conn: AsyncConnection, query: Select[Any]) -> dict[Any, Sequence[Any]]:
    return {row[0]: tuple(row[1:]) for row in (await conn.execute(query)).all()}


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _mean(total: float | None, count: int) -> float | None:
    return total / count if count and total is not None else None


_NO_CALLS: tuple[Any, ...] = (
    (0, 0, 0, 0, 0, None, 0, None, 0, None, 0, None, 0, None, 0, None, 0, 0, None)
    + (0,) * len(SL_BANDS)
    + (0, 0)
)


def _summary(
    stats: Sequence[Any] | None,
    fcr: Sequence[Any] | None,
    time: Mapping[str, float],
) -> dict[str, Any]:
    """The fields of `reports.kpis.summarise`, in its order, from the SQL totals."""
    if stats is None:
        stats = _NO_CALLS
    (offered, answered, abandoned, short, transferred, asa, asa_n, wait, wait_n) = stats[:9]
    (hold, hold_n, talk, talk_n, acw, acw_n, handle, handle_n, within, longest) = stats[9:19]
    bands, (marks, resolved) = stats[19 : 19 + len(SL_BANDS)], stats[19 + len(SL_BANDS) :]
    clusters, alone = fcr if fcr is not None else (0, 0)
    seconds = {state: float(time.get(state) or 0.0) for state in _STATES}
    busy = seconds["on_call"] + seconds["hold"]
    busy_acw = busy + seconds["wrap_up"]
    long_abandons = abandoned - short
    return {
        "offered": int(offered),
        "answered": int(answered),
        "abandoned": int(abandoned),
        "short_abandoned": int(short),
        "transferred": int(transferred),
        "asa_seconds": _mean(asa, asa_n),
        "avg_queue_seconds": _mean(wait, wait_n),
        "avg_hold_seconds": _mean(hold, hold_n),
        "avg_talk_seconds": _mean(talk, talk_n),
        "avg_acw_seconds": _mean(acw, acw_n),
        "aht_seconds": _mean(handle, handle_n),
        "fcr_rate": _ratio(int(alone), int(clusters)),
        "abandon_rate": _ratio(int(abandoned), int(offered)),
        "abandon_rate_excl_short": _ratio(int(long_abandons), int(offered - short)),
        "occupancy": _ratio(busy, busy + seconds["ready"] + seconds["reserved"]),
        "occupancy_with_acw": _ratio(busy_acw, busy_acw + seconds["ready"] + seconds["reserved"]),
        "service_level": _ratio(int(within), int(answered)),
        "service_level_with_abandons": _ratio(int(within), int(answered + long_abandons)),
        "longest_wait_seconds": None if longest is None else float(longest),
        "service_level_bands": {
            band: _ratio(int(n), int(answered)) for band, n in zip(SL_BANDS, bands, strict=True)
        },
        "resolved_mark_rate": _ratio(int(resolved), int(marks)),
    }
