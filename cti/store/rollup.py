"""Hourly call totals (`call_hours`) and repeat-contact chains, kept equal to the calls.

The historical reports read whole hours from `call_hours` instead of scanning every call
of a year (`cti.store.kpi_queries`). Each row holds, for the calls of one tenant that
entered a queue in one UTC hour, per direction and queue or answering agent, the additive
totals the KPI formulas need (`call_totals`, the one definition of them, also used by the
reports on the calls themselves). FCR is not additive over a range cut anywhere, so each
answered call also carries its caller's key and the arrival of the caller's previous and
next answered call within the window (over all the tenant's calls, the same queue's, the
same agent's); an hour counts the clusters its calls begin and those of one call, and a
report corrects the few chains its range cuts (`kpi_queries`).

`refresh(conn, tenant, call_ids)` runs in the transaction that writes those calls (the
journal): it recomputes the chains around them and the hours whose totals changed.
`rebuild` does the whole table (the migration, a bulk load).
"""

from __future__ import annotations

import typing
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    Table,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from cti.store.models import Call, CallHour
from reports.kpis import SL_BANDS, Outcome

FCR_WINDOW_DAYS = 7.0
FCR_WINDOW = FCR_WINDOW_DAYS * 86400
HOUR = 3600.0
SHORT_ABANDON_BANDS: tuple[int, ...] = (3, 5, 10)
CHAINS = ("", "_queue", "_agent")  # over all calls, the same queue's, the same agent's

_calls = typing.cast(Table, Call.__table__)
_hours = typing.cast(Table, CallHour.__table__)


def fcr_key() -> ColumnElement[Any]:
    """The caller of an answered inbound call for FCR (`reports.kpis.fcr_caller`): its
    customer, else its number, else None (anonymous: never clustered); None too for a
    call that does not take part."""
    c = _calls.c
    eligible = and_(
        c.outcome == Outcome.ANSWERED.value,
        c.queue.is_not(None),
        c.direction == "inbound",
        c.segment_of.is_(None),
    )
    return case(
        (and_(eligible, c.customer_id.is_not(None), c.customer_id != ""), "c:" + c.customer_id),
        (
            and_(eligible, c.caller_number.is_not(None), c.caller_number != ""),
            "n:" + c.caller_number,
        ),
        else_=None,
    )


def call_totals(
    *, sl_thresholds: Mapping[str, float], short_abandons: Mapping[str, float]
) -> dict[str, ColumnElement[Any]]:
    """The additive totals of the calls rows selected, as aggregate expressions by name.

    `sl_thresholds` name counts of answered calls with a wait of at most T, and
    `short_abandons` counts of abandoned ones with a wait under S. Sums come with their
    counts (`<name>_n`), since a mean leaves the unknown values out."""
    c = _calls.c
    answered = c.outcome == Outcome.ANSWERED.value
    abandoned = c.outcome == Outcome.ABANDONED.value
    wait = func.coalesce(c.queue_seconds, 0.0)
    hold_known = and_(answered, c.talk_ended_at.is_not(None))
    handle_known = and_(hold_known, c.talk_seconds.is_not(None), c.acw_seconds.is_not(None))

    def count(condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    totals: dict[str, ColumnElement[Any]] = {
        "offered": func.count(),
        "answered": count(answered),
        "abandoned": count(abandoned),
        "transferred": count(c.transfers > 0),
    }
    for name, seconds in short_abandons.items():
        totals[name] = count(and_(abandoned, wait < seconds))
    for name, condition, value in (
        ("answer_wait", answered, wait),
        ("queue_wait", or_(answered, abandoned), wait),
        ("hold", hold_known, c.hold_seconds),
        ("talk", and_(answered, c.talk_seconds.is_not(None)), c.talk_seconds),
        ("acw", and_(answered, c.acw_seconds.is_not(None)), c.acw_seconds),
        ("handle", handle_known, c.talk_seconds + c.hold_seconds + c.acw_seconds),
    ):
        totals[name] = func.sum(case((condition, value), else_=None))
        totals[f"{name}_n"] = count(condition)
    totals["longest_wait"] = func.max(wait)
    for name, seconds in sl_thresholds.items():
        totals[name] = count(and_(answered, wait <= seconds))
    totals["resolved_marks"] = count(and_(answered, c.resolved.is_not(None)))
    totals["resolved"] = count(and_(answered, c.resolved.is_(True)))
    return totals


def chain_flags(chain: str) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """(begins a cluster, is a cluster of one) of a call, by its stored chain `chain`."""
    c = _calls.c
    prev, nxt = c[f"fcr_prev{chain}_at"], c[f"fcr_next{chain}_at"]
    first = and_(c.fcr_key.is_not(None), prev.is_(None))
    return first, and_(first, nxt.is_(None))


ALL = "*"  # the queue of an agent's row, the agent of a queue's row


def _hour_totals(by_agent: bool) -> dict[str, ColumnElement[Any]]:
    c = _calls.c
    totals = call_totals(
        sl_thresholds={f"within_{band}": band for band in SL_BANDS},
        short_abandons={f"short_abandoned_{s}": s for s in SHORT_ABANDON_BANDS},
    )
    for chain in CHAINS:
        first, alone = chain_flags(chain)
        totals[f"fcr_first{chain}"] = func.coalesce(func.sum(case((first, 1), else_=0)), 0)
        totals[f"fcr_alone{chain}"] = func.coalesce(func.sum(case((alone, 1), else_=0)), 0)
    keys: dict[str, ColumnElement[Any]] = {
        "tenant_id": c.tenant_id,
        "hour": func.floor(c.queued_at / HOUR) * HOUR,
        "direction": c.direction,
        "queue": literal(ALL, String(64)) if by_agent else c.queue,
        "agent": c.agent if by_agent else literal(ALL, String(64)),
    }
    return {**keys, **totals}


def counted() -> list[ColumnElement[bool]]:
    """The calls a report (and so an hour) counts: left a queue, with a queue and a time."""
    c = _calls.c
    return [c.outcome.is_not(None), c.queue.is_not(None), c.queued_at.is_not(None)]


def _fill(where: Sequence[ColumnElement[bool]]) -> list[Any]:
    """The two kinds of rows of some hours: per queue (agent "*"), and per answering
    agent (queue "*") over the answered calls, which are all an agent's report counts."""
    c = _calls.c
    statements = []
    for by_agent in (False, True):
        columns = _hour_totals(by_agent)
        keys = [
            columns["hour"],
            columns["direction"],
            columns["queue" if not by_agent else "agent"],
        ]
        query = select(*(v.label(k) for k, v in columns.items())).where(*counted(), *where)
        if by_agent:
            query = query.where(c.outcome == Outcome.ANSWERED.value, c.agent.is_not(None))
        statements.append(
            insert(_hours).from_select(list(columns), query.group_by(c.tenant_id, *keys))
        )
    return statements


# -- the chains --------------------------------------------------------------------------


def chains(calls: Sequence[tuple[str, float, str | None, str | None]]) -> dict[str, dict[str, Any]]:
    """Previous / next arrival within the window of each call of one caller, per chain.

    `calls`: (call_id, queued_at, queue, agent) of one caller's answered calls. Calls are
    ordered by arrival, then call id (as `reports.kpis.fcr_clusters`)."""
    ordered = sorted(calls, key=lambda c: (c[1], c[0]))
    out: dict[str, dict[str, Any]] = {c[0]: {} for c in ordered}
    for chain, part in (("", None), ("_queue", 2), ("_agent", 3)):
        last: dict[Any, tuple[str, float]] = {}
        for call in ordered:
            call_id, at = call[0], call[1]
            group = None if part is None else call[part]
            row = out[call_id]
            row[f"fcr_prev{chain}_at"] = row[f"fcr_next{chain}_at"] = None
            before = last.get(group)
            if before is not None and at - before[1] <= FCR_WINDOW:
                row[f"fcr_prev{chain}_at"] = before[1]
                out[before[0]][f"fcr_next{chain}_at"] = at
            last[group] = (call_id, at)
    return out


_CHAIN_COLUMNS = tuple(f"fcr_{side}{chain}_at" for chain in CHAINS for side in ("prev", "next"))


async def refresh(conn: AsyncConnection, tenant: str, call_ids: Collection[str]) -> None:
    """Bring the chains and hours touched by these (just written) calls up to date."""
    c = _calls.c
    hours: set[float] = set()
    spans: dict[str, list[float]] = defaultdict(list)  # caller -> arrivals to relink around
    for part in _chunks(sorted(set(call_ids))):
        mine = and_(c.tenant_id == tenant, c.call_id.in_(part))
        before: dict[str, str | None] = {
            call_id: key
            for call_id, key in await conn.execute(select(c.call_id, c.fcr_key).where(mine))
        }
        await conn.execute(update(_calls).where(mine).values(fcr_key=fcr_key()))
        await conn.execute(
            update(_calls).where(mine, c.fcr_key.is_(None)).values(dict.fromkeys(_CHAIN_COLUMNS))
        )
        for call_id, key, at in await conn.execute(
            select(c.call_id, c.fcr_key, c.queued_at).where(mine)
        ):
            if at is None:
                continue
            hours.add(_hour_of(at))
            for caller in {key, before.get(call_id)} - {None}:
                spans[caller].append(at)
    hours |= await _relink(conn, tenant, spans)
    await _refill(conn, tenant, hours)


async def _relink(conn: AsyncConnection, tenant: str, spans: dict[str, list[float]]) -> set[float]:
    """Recompute the chains of these callers around these arrivals; the hours that changed."""
    if not spans:
        return set()
    c = _calls.c
    lo = min(min(ats) for ats in spans.values()) - 2 * FCR_WINDOW
    hi = max(max(ats) for ats in spans.values()) + 2 * FCR_WINDOW
    by_key: dict[str, list[Any]] = defaultdict(list)
    for part in _chunks(sorted(spans)):
        found = await conn.execute(
            select(
                c.fcr_key, c.call_id, c.queued_at, c.queue, c.agent, *map(c.get, _CHAIN_COLUMNS)
            ).where(c.tenant_id == tenant, c.fcr_key.in_(part), c.queued_at.between(lo, hi))
        )
        for row in found:
            by_key[row[0]].append(row)
    changes: list[dict[str, Any]] = []
    hours: set[float] = set()
    for key, rows in by_key.items():
        near_lo = min(spans[key]) - FCR_WINDOW
        near_hi = max(spans[key]) + FCR_WINDOW
        computed = chains([(r[1], r[2], r[3], r[4]) for r in rows])
        for r in rows:
            if not near_lo <= r[2] <= near_hi:
                continue  # its neighbours within the window may lie outside what was read
            now = computed[r[1]]
            if any(now[name] != r[5 + i] for i, name in enumerate(_CHAIN_COLUMNS)):
                changes.append({"b_call_id": r[1], **now})
                hours.add(_hour_of(r[2]))
    if changes:
        statement = (
            update(_calls)
            .where(c.tenant_id == tenant, c.call_id == bindparam("b_call_id"))
            .values({name: bindparam(name) for name in _CHAIN_COLUMNS})
        )
        await conn.execute(statement, changes)
    return hours


async def _refill(conn: AsyncConnection, tenant: str, hours: Iterable[float]) -> None:
    h = _hours.c
    c = _calls.c
    for start, end in _runs(sorted(hours)):
        await conn.execute(
            delete(_hours).where(h.tenant_id == tenant, h.hour >= start, h.hour < end)
        )
        for statement in _fill([c.tenant_id == tenant, c.queued_at >= start, c.queued_at < end]):
            await conn.execute(statement)


def _runs(hours: Sequence[float]) -> Iterable[tuple[float, float]]:
    """Consecutive hours as [start, end) ranges."""
    start = previous = None
    for hour in hours:
        if previous is not None and hour == previous + HOUR:
            previous = hour
            continue
        if start is not None and previous is not None:
            yield start, previous + HOUR
        start = previous = hour
    if start is not None and previous is not None:
        yield start, previous + HOUR


def _hour_of(at: float) -> float:
    return (at // HOUR) * HOUR


def _chunks(items: list[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- the whole table ---------------------------------------------------------------------


def rebuild_sync(conn: Connection, tenant: str | None = None) -> None:
    """Recompute every chain and hour (of one tenant, or all) from the calls, in SQL: one
    pass over the calls sets each one's key and chains, then the hours are refilled."""
    c = _calls.c
    mine = [] if tenant is None else [c.tenant_id == tenant]
    key = fcr_key()
    order = [
        c.queued_at,
        c.call_id.collate("C") if conn.dialect.name == "postgresql" else c.call_id,
    ]
    columns = []
    for chain, part in (("", []), ("_queue", [c.queue]), ("_agent", [c.agent])):
        partition = [c.tenant_id, key, *part]
        columns += [
            func.lag(c.queued_at).over(partition_by=partition, order_by=order).label(f"p{chain}"),
            func.lead(c.queued_at).over(partition_by=partition, order_by=order).label(f"n{chain}"),
        ]
    linked = (
        select(
            c.tenant_id.label("t"),
            c.call_id.label("i"),
            c.queued_at.label("at"),
            key.label("k"),
            *columns,
        )
        .where(*mine)
        .subquery("linked")
    )
    s = linked.c
    values: dict[str, Any] = {"fcr_key": s.k}
    for chain in CHAINS:
        prev, nxt = s[f"p{chain}"], s[f"n{chain}"]
        keyed = s.k.is_not(None)
        values[f"fcr_prev{chain}_at"] = case((and_(keyed, s.at - prev <= FCR_WINDOW), prev))
        values[f"fcr_next{chain}_at"] = case((and_(keyed, nxt - s.at <= FCR_WINDOW), nxt))
    conn.execute(update(_calls).where(c.tenant_id == s.t, c.call_id == s.i).values(values))
    conn.execute(delete(_hours).where(*([] if tenant is None else [_hours.c.tenant_id == tenant])))
    for statement in _fill(mine):
        conn.execute(statement)


async def rebuild(conn: AsyncConnection, tenant: str | None = None) -> None:
    """`rebuild_sync` on an async connection."""
    await conn.run_sync(rebuild_sync, tenant)
