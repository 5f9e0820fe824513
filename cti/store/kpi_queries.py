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
  out; nor a transfer's next segment, the same contact), within each queue or agent when
  grouped by them (as `reports.grouping`), else over all of them and counted in the group
  of their first call.
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
    not_,
    or_,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cti.store.models import AgentStateInterval, Call, CallHour
from cti.store.rollup import (
    ALL,
    FCR_WINDOW,
    FCR_WINDOW_DAYS,
    HOUR,
    SHORT_ABANDON_BANDS,
    call_totals,
    chain_flags,
    fcr_key,
)
from reports.grouping import BUCKET_MINUTES, local_iso
from reports.kpis import SL_BANDS, Outcome

GROUPINGS: tuple[str, ...] = ("total", "queue", "agent", "interval", "day", "month")
DIRECTIONS: tuple[str, ...] = ("inbound", "outbound")
_IDLE = ("ready", "reserved")
_BUSY = ("on_call", "hold")
_ACW = ("wrap_up",)
_STATES = (*_IDLE, *_BUSY, *_ACW, "not_ready")
_BUCKETED = ("interval", "day", "month")

_calls = Call.__table__
_states = AgentStateInterval.__table__
_hours = CallHour.__table__


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
    direction: str = "inbound",
    campaign: str | None = None,
    use_hours: bool = True,
) -> dict[str, dict[str, Any]]:
    """KPI summaries of `tenant`'s calls queued in [start, end), one per group.

    group_by: "total" (one summary, key "total", even when empty), "queue", "agent",
    "interval" (buckets of `interval_minutes`, 15, 30 or 60), "day" or "month" (local
    calendar at `utc_offset_minutes`). Grouped reports have a key per group with data,
    in order: the queue or agent id, or the group's start as ISO 8601 at the offset.
    `queue` and `agent` restrict the calls (an agent's calls are those they answered)
    and `agent` the agent time as well. `direction`: the callers' calls ("inbound") or
    the calls we placed ("outbound"); agent time counts both. Whole hours are read from
    the hourly totals (`cti.store.rollup`) when they hold what the report needs, and
    FCR from the calls' stored chains when they serve it; `use_hours=False`: neither,
    the calls alone (window functions); both ways give the same figures. `campaign`:
    the calls a campaign placed (read from the calls; agent time is all of it).
    """
    if group_by not in GROUPINGS:
        raise ValueError(f"group_by {group_by!r}: use one of {GROUPINGS}")
    if interval_minutes not in BUCKET_MINUTES:
        raise ValueError(f"interval of {interval_minutes} minutes: use one of {BUCKET_MINUTES}")
    if direction not in DIRECTIONS:
        raise ValueError(f"direction {direction!r}: use one of {DIRECTIONS}")
    grouping = _Grouping(group_by, interval_minutes, utc_offset_minutes, engine.dialect.name)
    selection = _Selection(tenant, float(start), float(end), queue, agent, direction, campaign)
    hourly = use_hours and _hours_answer(
        selection, grouping, sl_threshold, short_abandon, fcr_window_days
    )
    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            # analytic scans: compiling them (JIT) costs more than it saves, and their sorts
            # need more than the default 4 MB; both only for this report's transaction
            await conn.execute(text("SET LOCAL jit = off"))
            await conn.execute(text("SET LOCAL work_mem = '64MB'"))
        if hourly:
            stats = await _named(
                conn, _hour_stats(selection, grouping, sl_threshold, short_abandon)
            )
            edges = await _fcr_edges(conn, selection, grouping)
            fcr: dict[Any, Sequence[Any]] = {
                k: _fcr_counts(stats.get(k), edges.get(k)) for k in set(stats) | set(edges)
            }
        else:
            chained = use_hours and _chained(selection, grouping, fcr_window_days)
            stats = await _named(
                conn, _call_stats(selection, grouping, sl_threshold, short_abandon, chained)
            )
            if chained:
                fcr = {k: _fcr_counts(v, None) for k, v in stats.items()}
            else:
                window = float(fcr_window_days) * 86400
                fcr = await _rows(conn, _fcr(selection, grouping, window))
        time: dict[Any, dict[str, float]] = {}
        if queue is None and group_by != "queue":
            for key, state, seconds in (await conn.execute(_state_time(selection, grouping))).all():
                time.setdefault(key, {})[state] = seconds
    if group_by == "total":
        keys: list[Any] = [tenant]
    else:
        keys = sorted((set(stats) | set(time)) - {None})
    return {grouping.label(k): _summary(stats.get(k), fcr.get(k), time.get(k, {})) for k in keys}


def _hours_answer(
    selection: _Selection,
    grouping: _Grouping,
    sl_threshold: float,
    short_abandon: float,
    fcr_window_days: float,
) -> bool:
    """Whether `call_hours` holds what this report needs: whole hours, groups of whole
    hours, thresholds it keeps, its FCR window, and not both a queue and agents (its rows
    are per queue or per agent)."""
    return (
        selection.campaign is None  # the hourly totals are not kept per campaign
        and selection.start % HOUR == 0
        and selection.end % HOUR == 0
        and (grouping.by not in _BUCKETED or grouping.offset % HOUR == 0)
        and (grouping.by != "interval" or grouping.size == HOUR)
        and sl_threshold in SL_BANDS
        and short_abandon in SHORT_ABANDON_BANDS
        and _chained(selection, grouping, fcr_window_days)
        and not (grouping.by == "queue" and selection.agent is not None)
        and not (grouping.by == "agent" and selection.queue is not None)
    )


class _Selection:
    """The calls and agent time a report covers."""

    def __init__(
        self,
        tenant: str,
        start: float,
        end: float,
        queue: str | None,
        agent: str | None,
        direction: str = "inbound",
        campaign: str | None = None,
    ) -> None:
        self.tenant, self.start, self.end, self.queue, self.agent = tenant, start, end, queue, agent
        self.direction, self.campaign = direction, campaign
        c = _calls.c
        self.answered = c.outcome == Outcome.ANSWERED.value
        self.agent_of_call = case((self.answered, c.agent), else_=None)
        self.calls: list[ColumnElement[bool]] = [
            c.tenant_id == tenant,
            c.outcome.is_not(None),
            c.queue.is_not(None),
            c.queued_at >= start,
            c.queued_at < end,
            c.direction == direction,
        ]
        if queue is not None:
            self.calls.append(c.queue == queue)
        if agent is not None:
            self.calls.append(and_(self.answered, c.agent == agent))
        if campaign is not None:
            self.calls.append(c.campaign == campaign)
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
        return self._key(c.tenant_id, c.queue, selection.agent_of_call, c.queued_at)

    def hour_key(self) -> ColumnElement[Any]:
        h = _hours.c
        return self._key(h.tenant_id, h.queue, h.agent, h.hour)

    def hour_rows(self, selection: _Selection) -> list[ColumnElement[bool]]:
        """The `call_hours` rows of the selection: its agents' rows when the report is by
        agent or for one, else the queues' rows (see `cti.store.rollup`)."""
        h = _hours.c
        rows = [
            h.tenant_id == selection.tenant,
            h.hour >= selection.start,
            h.hour < selection.end,
            h.direction == selection.direction,
        ]
        if self.by == "agent" or selection.agent is not None:
            rows.append(h.queue == ALL)
            if selection.agent is not None:
                rows.append(h.agent == selection.agent)
        else:
            rows.append(h.agent == ALL)
            if selection.queue is not None:
                rows.append(h.queue == selection.queue)
        return rows

    def _key(
        self,
        tenant: ColumnElement[Any],
        queue: ColumnElement[Any],
        agent: ColumnElement[Any],
        moment: ColumnElement[Any],
    ) -> ColumnElement[Any]:
        if self.by == "queue":
            return queue
        if self.by == "agent":
            return agent
        if self.by in _BUCKETED:
            return self.start_of(moment)
        return tenant  # "total": one group

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


def _chained(selection: _Selection, grouping: _Grouping, fcr_window_days: float) -> bool:
    """Whether the calls' stored FCR chains serve this report: its window, and one chain
    it follows (not both a queue's and an agent's, see `_chain`)."""
    by_queue = selection.queue is not None or grouping.by == "queue"
    by_agent = selection.agent is not None or grouping.by == "agent"
    return fcr_window_days == FCR_WINDOW_DAYS and not (by_queue and by_agent)


def _range_flags(
    selection: _Selection, chain: str
) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """(begins a cluster, is a cluster of one) of a call within the selection's range, by
    the stored chain it follows: its previous call is none or before the range, and its
    next one too is none or after the range. An hour counts the same flags with no range
    (`cti.store.rollup.chain_flags`); the two differ only within a window of the edges."""
    c = _calls.c
    prev, nxt = c[f"fcr_prev{chain}_at"], c[f"fcr_next{chain}_at"]
    first = and_(c.fcr_key.is_not(None), or_(prev.is_(None), prev < selection.start))
    return first, and_(first, or_(nxt.is_(None), nxt >= selection.end))


def _call_stats(
    selection: _Selection,
    grouping: _Grouping,
    sl_threshold: float,
    short_abandon: float,
    chained: bool = False,
) -> Select[Any]:
    """Per group: the totals of `_summary`, from the calls themselves; `chained`: with the
    FCR counts read off the stored chains in the same pass (a call begins a cluster of
    the range when its previous one is none or before the range, and is alone in it when
    its next one is none or after the range too), no window sort needed."""
    totals = call_totals(
        sl_thresholds={"within": sl_threshold, **{f"within_{b}": b for b in SL_BANDS}},
        short_abandons={"short_abandoned": short_abandon},
    )
    if chained:
        first, alone = _range_flags(selection, _chain(selection, grouping))
        totals["fcr_first"] = func.coalesce(func.sum(case((first, 1), else_=0)), 0)
        totals["fcr_alone"] = func.coalesce(func.sum(case((alone, 1), else_=0)), 0)
    key = grouping.call_key(selection).label("key")
    return (
        select(key, *(value.label(name) for name, value in totals.items()))
        .where(*selection.calls)
        .group_by(key)
    )


def _hour_stats(
    selection: _Selection, grouping: _Grouping, sl_threshold: float, short_abandon: float
) -> Select[Any]:
    """Per group: the totals of `_summary` and the FCR counts of the chain the selection
    follows (`fcr_first`, `fcr_alone`), from the hourly totals. Time groups add the hours
    up first, so that the group of each hour is worked out once, not once a row."""
    h = _hours.c
    chain = _chain(selection, grouping)
    columns = {name: h[name] for name in _TOTALS if name not in ("within", "short_abandoned")}
    columns["within"] = h[f"within_{sl_threshold:g}"]
    columns["short_abandoned"] = h[f"short_abandoned_{short_abandon:g}"]
    columns["fcr_first"] = h[f"fcr_first{chain}"]
    columns["fcr_alone"] = h[f"fcr_alone{chain}"]

    def totals(source: Mapping[str, Any]) -> list[Any]:
        return [
            (func.max if name == "longest_wait" else func.sum)(source[name]).label(name)
            for name in columns
        ]

    if grouping.by not in _BUCKETED:
        key = grouping.hour_key().label("key")
        return select(key, *totals(columns)).where(*grouping.hour_rows(selection)).group_by(key)
    hours = (
        select(h.hour, *totals(columns))
        .where(*grouping.hour_rows(selection))
        .group_by(h.hour)
        .subquery("hours")
    )
    key = grouping.start_of(hours.c.hour).label("key")
    return select(key, *totals({column.key: column for column in hours.c})).group_by(key)


def _chain(selection: _Selection, grouping: _Grouping) -> str:
    """The FCR chain a report follows: a queue's repeat contacts are its own calls' (one
    queue's report, or a report by queue), likewise an agent's; else all calls'."""
    if selection.queue is not None or grouping.by == "queue":
        return "_queue"
    return "_agent" if selection.agent is not None or grouping.by == "agent" else ""


async def _fcr_edges(
    conn: AsyncConnection, selection: _Selection, grouping: _Grouping
) -> dict[Any, Sequence[Any]]:
    """Per group: what the chains the range cuts add to the hourly FCR counts: the range's
    flags (`_range_flags`) where the hour's (`rollup.chain_flags`) are not. A call whose
    previous one came before the start begins a cluster in the range, and one whose next
    comes after the end may close a cluster of one there."""
    c = _calls.c
    start, end = selection.start, selection.end
    chain = _chain(selection, grouping)
    first, alone = _range_flags(selection, chain)
    hour_first, hour_alone = chain_flags(chain)
    key = grouping.call_key(selection).label("key")
    counts = select(
        key,
        func.sum(case((and_(first, not_(hour_first)), 1), else_=0)),
        func.sum(case((and_(alone, not_(hour_alone)), 1), else_=0)),
    ).where(*selection.calls, c.fcr_key.is_not(None))
    # the first and the last window of the range, each a range of the index (together
    # when they overlap): never a scan of the whole range
    if end - start <= 2 * FCR_WINDOW:
        ranges = [(start, end)]
    else:
        ranges = [(start, start + FCR_WINDOW), (end - FCR_WINDOW, end)]
    out: dict[Any, list[int]] = {}
    for low, high in ranges:
        query = counts.where(c.queued_at >= low, c.queued_at < high).group_by(key)
        for group, first, alone in (await conn.execute(query)).all():
            sums = out.setdefault(group, [0, 0])
            sums[0] += int(first or 0)
            sums[1] += int(alone or 0)
    return {k: tuple(v) for k, v in out.items()}


def _fcr_counts(hours: Mapping[str, Any] | None, edges: Sequence[Any] | None) -> tuple[int, int]:
    """(clusters, clusters of one) of a group: the hours' counts and the edges' additions."""
    first = int((hours or {}).get("fcr_first") or 0) + int((edges or (0, 0))[0] or 0)
    alone = int((hours or {}).get("fcr_alone") or 0) + int((edges or (0, 0))[1] or 0)
    return first, alone


def _fcr(selection: _Selection, grouping: _Grouping, window: float) -> Select[Any]:
    """Per group: clusters begun there, and those of one call (resolved first time)."""
    c = _calls.c
    caller = fcr_key()  # the caller of an answered inbound call, computed here, not read
    call_id = c.call_id.collate("C") if grouping.dialect == "postgresql" else c.call_id
    order = [c.queued_at, call_id]  # reports.kpis.fcr_clusters: by arrival, then call id
    # a queue's or an agent's repeat contacts are its own calls' (see `_chain`)
    own = grouping.by in ("queue", "agent")
    partition = [caller, grouping.call_key(selection)] if own else [caller]
    ordered = (
        select(
            grouping.call_key(selection).label("key"),
            c.queued_at.label("at"),
            func.lag(c.queued_at).over(partition_by=partition, order_by=order).label("prev"),
            func.lead(c.queued_at).over(partition_by=partition, order_by=order).label("next"),
        )
        .where(*selection.calls, caller.is_not(None))
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


async def _named(conn: AsyncConnection, query: Select[Any]) -> dict[Any, dict[str, Any]]:
    """Rows by their first column ("key"), each as its other columns by name."""
    rows = (await conn.execute(query)).mappings().all()
    return {row["key"]: {k: v for k, v in row.items() if k != "key"} for row in rows}


async def _rows(conn: AsyncConnection, query: Select[Any]) -> dict[Any, Sequence[Any]]:
    return {row[0]: tuple(row[1:]) for row in (await conn.execute(query)).all()}


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _mean(total: float | None, count: int) -> float | None:
    return total / count if count and total is not None else None


_TOTALS: tuple[str, ...] = tuple(
    call_totals(
        sl_thresholds={"within": 0, **{f"within_{b}": b for b in SL_BANDS}},
        short_abandons={"short_abandoned": 0},
    )
)


def _summary(
    totals: Mapping[str, Any] | None,
    fcr: Sequence[Any] | None,
    time: Mapping[str, float],
) -> dict[str, Any]:
    """The fields of `reports.kpis.summarise`, in its order, from the SQL totals."""
    t = totals or {}
    offered, answered, abandoned, short = (
        int(t.get(name) or 0) for name in ("offered", "answered", "abandoned", "short_abandoned")
    )
    within = int(t.get("within") or 0)
    longest = t.get("longest_wait")

    def mean(name: str) -> float | None:
        return _mean(t.get(name), int(t.get(f"{name}_n") or 0))

    clusters, alone = fcr if fcr is not None else (0, 0)
    seconds = {state: float(time.get(state) or 0.0) for state in _STATES}
    busy = seconds["on_call"] + seconds["hold"]
    busy_acw = busy + seconds["wrap_up"]
    long_abandons = abandoned - short
    return {
        "offered": offered,
        "answered": answered,
        "abandoned": abandoned,
        "short_abandoned": short,
        "transferred": int(t.get("transferred") or 0),
        "asa_seconds": mean("answer_wait"),
        "avg_queue_seconds": mean("queue_wait"),
        "avg_hold_seconds": mean("hold"),
        "avg_talk_seconds": mean("talk"),
        "avg_acw_seconds": mean("acw"),
        "aht_seconds": mean("handle"),
        "fcr_rate": _ratio(int(alone), int(clusters)),
        "abandon_rate": _ratio(int(abandoned), int(offered)),
        "abandon_rate_excl_short": _ratio(int(long_abandons), int(offered - short)),
        "occupancy": _ratio(busy, busy + seconds["ready"] + seconds["reserved"]),
        "occupancy_with_acw": _ratio(busy_acw, busy_acw + seconds["ready"] + seconds["reserved"]),
        "service_level": _ratio(int(within), int(answered)),
        "service_level_with_abandons": _ratio(int(within), int(answered + long_abandons)),
        "longest_wait_seconds": None if longest is None else float(longest),
        "service_level_bands": {
            band: _ratio(int(t.get(f"within_{band}") or 0), answered) for band in SL_BANDS
        },
        "resolved_mark_rate": _ratio(
            int(t.get("resolved") or 0), int(t.get("resolved_marks") or 0)
        ),
    }
