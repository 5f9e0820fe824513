"""The journal: every domain event is folded at once and written to the store in batches.

`Journal.record(event)` is synchronous and never waits on the database: it folds
the event (`reports.fold`), tells the in-process subscribers (the live
aggregates, the bus, the consoles) what changed, and queues the event. A
background task writes the queue in batches, in two steps:

1. the events are appended to `events` (`folded = false`), and committed: from
   here on nothing Asterisk reported and we acknowledged can be lost;
2. the folded `calls` rows and closed `agent_states` intervals are upserted and
   the events marked folded, in one transaction.

A crash between the two leaves events unfolded; `recover()` at the next start
folds them again from the events of the calls and agents they touch (the fold is
deterministic and the writes are upserts, so folding twice changes nothing), and
re-adopts the calls still in progress so that their later events continue them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cti.store import campaigns, rollup
from cti.store.models import AgentStateInterval, Call, Callback, Event, Survey
from cti.tasks import stop_task
from reports import events as ev
from reports.events import DomainEvent
from reports.fold import CallRow, Folded, Folder, StateInterval

log = logging.getLogger("cti.store.journal")

Subscriber = Callable[[DomainEvent, Folded], None]
RECENT_SECONDS = 86_400.0  # calls older than this are not re-adopted after a restart


@dataclass
class JournalStats:
    recorded: int = 0
    written: int = 0
    batches: int = 0
    write_errors: int = 0
    last_error: str = ""
    subscriber_errors: int = 0
    refolded: int = 0


@dataclass
class _Pending:
    events: list[DomainEvent] = field(default_factory=list)
    rows: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    intervals: list[StateInterval] = field(default_factory=list)
    interval_tenants: list[str] = field(default_factory=list)


def upsert(
    conn: AsyncConnection, table: Any, rows: Sequence[dict[str, Any]], keys: list[str]
) -> Awaitable[Any]:
    """INSERT ... ON CONFLICT (keys) DO UPDATE of the columns the rows give (every row
    gives the same ones), on SQLite and PostgreSQL."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    given = set(rows[0]) if rows else set()
    columns = {
        c.name: statement.excluded[c.name]
        for c in table.columns
        if c.name not in keys and c.name in given
    }
    return conn.execute(
        statement.on_conflict_do_update(index_elements=keys, set_=columns), list(rows)
    )


def _interval_row(tenant: str, interval: StateInterval) -> dict[str, Any]:
    return {
        "tenant_id": tenant,
        "agent_id": interval.agent,
        "state": interval.state,
        "reason": interval.reason,
        "start": interval.start,
        "end": interval.end,
    }


def _event_row(event: DomainEvent) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "tenant_id": event.tenant,
        "at": event.at,
        "kind": event.kind,
        "call_id": event.call_id,
        "agent_id": event.agent_id,
        "queue": event.queue,
        "payload": event.data,
        "folded": False,
    }


def _domain_event(row: Any) -> DomainEvent:
    return DomainEvent(
        tenant=row.tenant_id,
        at=row.at,
        kind=row.kind,
        call_id=row.call_id,
        agent_id=row.agent_id,
        queue=row.queue,
        data=dict(row.payload or {}),
        event_id=row.event_id,
    )


class Journal:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        batch_size: int = 500,
        flush_interval: float = 0.2,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.clock = clock
        self.folders: dict[str, Folder] = {}
        self.subscribers: list[Subscriber] = []
        self.stats = JournalStats()
        self._pending = _Pending()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def folder(self, tenant: str) -> Folder:
        folder = self.folders.get(tenant)
        if folder is None:
            folder = self.folders[tenant] = Folder(tenant)
        return folder

    def subscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.append(subscriber)

    # -- recording (hot path, synchronous) ---------------------------------------------

    def record(self, event: DomainEvent) -> Folded:
        folded = self.folder(event.tenant).apply(event)
        self.stats.recorded += 1
        pending = self._pending
        pending.events.append(event)
        for change in folded.calls:
            pending.rows[(event.tenant, change.call_id)] = change.row.columns()
        pending.intervals.extend(folded.intervals)
        pending.interval_tenants.extend(event.tenant for _ in folded.intervals)
        for subscriber in self.subscribers:
            try:
                subscriber(event, folded)
            except Exception:
                self.stats.subscriber_errors += 1
                log.exception("journal subscriber failed on %s", event.kind)
        if len(pending.events) >= self.batch_size:
            self._wakeup.set()
        return folded

    def event(self, tenant: str, kind: str, **fields: Any) -> Folded:
        """Record a new event happening now."""
        at = fields.pop("at", None)
        return self.record(DomainEvent(tenant, self.clock() if at is None else at, kind, **fields))

    # -- writing ------------------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="journal")

    async def close(self) -> None:
        if self._task is not None:
            await stop_task(self._task)
            self._task = None
        with contextlib.suppress(Exception):
            await self.flush()

    @property
    def backlog(self) -> int:
        return len(self._pending.events)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self.flush_interval)
            self._wakeup.clear()
            try:
                await self.flush()
            except Exception as exc:  # the database is away: keep the batch, retry
                self.stats.write_errors += 1
                self.stats.last_error = f"{type(exc).__name__}: {exc}".splitlines()[0]
                log.warning("journal write failed (%s); retrying", self.stats.last_error)
                await asyncio.sleep(min(5.0, self.flush_interval * 5))

    async def flush(self) -> None:
        """Write everything recorded so far (both steps)."""
        async with self._lock:
            pending, self._pending = self._pending, _Pending()
            if not pending.events and not pending.rows:
                return
            try:
                await self._write_events(pending.events)
            except Exception:
                self._requeue(pending, events=True)
                raise
            try:
                await self._write_folds(pending)
            except Exception:
                pending.events = []  # appended already; the rows are retried
                self._requeue(pending, events=False)
                raise
            self.stats.written += len(pending.events)
            self.stats.batches += 1

    def _requeue(self, pending: _Pending, *, events: bool) -> None:
        """Put a failed batch back in front of what was recorded meanwhile."""
        newer = self._pending
        if events:
            pending.events.extend(newer.events)
        else:
            pending.events = newer.events
        for key, row in newer.rows.items():
            pending.rows[key] = row
        pending.intervals.extend(newer.intervals)
        pending.interval_tenants.extend(newer.interval_tenants)
        self._pending = pending

    async def _write_events(self, events: list[DomainEvent]) -> None:
        if not events:
            return
        async with self.engine.begin() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            statement = dialect.insert(Event.__table__).on_conflict_do_nothing(
                index_elements=["event_id"]
            )
            await conn.execute(statement, [_event_row(e) for e in events])

    async def _write_folds(self, pending: _Pending) -> None:
        async with self.engine.begin() as conn:
            await self._write_rows(
                conn, pending.rows.values(), pending.intervals, pending.interval_tenants
            )
            await write_records(conn, pending.events)
            surveys = [e for e in pending.events if e.kind == ev.SURVEY_ANSWERED]
            if surveys:
                await upsert(
                    conn,
                    Survey.__table__,
                    _survey_rows(surveys),
                    ["tenant_id", "call_id", "question"],
                )
            ids = [e.event_id for e in pending.events]
            for start in range(0, len(ids), 500):
                await conn.execute(
                    update(Event)
                    .where(Event.event_id.in_(ids[start : start + 500]))
                    .values(folded=True)
                )

    @staticmethod
    async def _write_rows(
        conn: AsyncConnection,
        rows: Iterable[dict[str, Any]],
        intervals: Sequence[StateInterval],
        tenants: Sequence[str],
    ) -> None:
        call_rows = [{"tenant_id": r["tenant"], **_without(r, "tenant")} for r in rows]
        if call_rows:
            await upsert(conn, Call.__table__, call_rows, ["tenant_id", "call_id"])
            by_tenant: dict[str, list[str]] = {}
            for row in call_rows:
                by_tenant.setdefault(row["tenant_id"], []).append(row["call_id"])
            for tenant, call_ids in by_tenant.items():
                await rollup.refresh(conn, tenant, call_ids)
        if intervals:
            interval_rows = {
                (t, i.agent, i.start, i.state): _interval_row(t, i)
                for t, i in zip(tenants, intervals, strict=True)
            }
            await upsert(
                conn,
                AgentStateInterval.__table__,
                list(interval_rows.values()),
                ["tenant_id", "agent_id", "start", "state"],
            )

    # -- recovery -----------------------------------------------------------------------

    async def recover(self) -> int:
        """Fold again what a crash left unfolded; re-adopt the calls and agents in progress.

        The events folded again are those of every call an unfolded event touches (and
        of the calls whose after-call work an unfolded agent event may close), with their
        agents' state events from the last one before the earliest of them. Returns the
        number of events that were unfolded.
        """
        now = self.clock()
        async with self.engine.begin() as conn:
            unfolded = (
                await conn.execute(
                    select(Event.tenant_id, Event.call_id, Event.agent_id, Event.at).where(
                        Event.folded.is_(False)
                    )
                )
            ).all()
            for tenant in sorted({r.tenant_id for r in unfolded}):
                mine = [r for r in unfolded if r.tenant_id == tenant]
                await self._refold(conn, tenant, mine)
            await conn.execute(update(Event).where(Event.folded.is_(False)).values(folded=True))
            self.stats.refolded = len(unfolded)
            await self._adopt(conn, now)
        if unfolded:
            log.warning("journal: folded %d events a crash had left unfolded", len(unfolded))
        return len(unfolded)

    async def _refold(self, conn: AsyncConnection, tenant: str, unfolded: list[Any]) -> None:
        callbacks = await conn.execute(
            select(Event).where(
                Event.tenant_id == tenant,
                Event.folded.is_(False),
                Event.kind.in_((ev.CALLBACK_CHANGED, ev.CAMPAIGN_RESULT)),
            )
        )
        await write_records(conn, [_domain_event(r) for r in callbacks])
        call_ids = {r.call_id for r in unfolded if r.call_id}
        agents = {r.agent_id for r in unfolded if r.agent_id}
        if agents:  # calls whose wrap-up an unfolded agent event may have ended
            open_acw = await conn.execute(
                select(Call.call_id).where(
                    Call.tenant_id == tenant,
                    Call.agent.in_(sorted(agents)),
                    Call.answered_at.is_not(None),
                    Call.wrapup_ended_at.is_(None),
                )
            )
            call_ids.update(open_acw.scalars())
        rows: dict[int, Any] = {}
        for chunk in _chunks(sorted(call_ids)):
            for row in await conn.execute(
                select(Event).where(Event.tenant_id == tenant, Event.call_id.in_(chunk))
            ):
                rows[row.seq] = row
        agents.update(r.agent_id for r in rows.values() if r.agent_id)
        since = min([r.at for r in rows.values()] + [r.at for r in unfolded])
        for agent_id in sorted(agents):
            mine = (
                (Event.tenant_id == tenant)
                & (Event.agent_id == agent_id)
                & (Event.kind == ev.AGENT_STATE)
            )
            start = (
                await conn.execute(
                    select(Event.at)
                    .where(mine, Event.at <= since)
                    .order_by(Event.at.desc(), Event.seq.desc())
                    .limit(1)
                )
            ).scalar_one_or_none()
            for row in await conn.execute(
                select(Event).where(mine, Event.at >= (since if start is None else start))
            ):
                rows[row.seq] = row
        folder = Folder(tenant)
        intervals: list[StateInterval] = []
        for row in sorted(rows.values(), key=lambda r: (r.at, r.seq)):
            intervals.extend(folder.apply(_domain_event(row)).intervals)
        call_rows = [folder.calls[c].columns() for c in call_ids if c in folder.calls]
        await self._write_rows(conn, call_rows, intervals, [tenant] * len(intervals))

    async def _adopt(self, conn: AsyncConnection, now: float) -> None:
        """Calls still in progress, and every agent's last state, continue in memory."""
        open_calls = await conn.execute(
            select(Call).where(
                Call.arrived_at.is_(None) | (Call.arrived_at > now - RECENT_SECONDS),
                or_(
                    Call.outcome.is_(None) & Call.ended_at.is_(None),
                    and_(Call.answered_at.is_not(None), Call.wrapup_ended_at.is_(None)),
                ),
            )
        )
        for row in open_calls:
            folder = self.folder(row.tenant_id)
            data = {
                k: getattr(row, k)
                for k in CallRow.__dataclass_fields__
                if k != "tenant" and hasattr(row, k)
            }
            call = CallRow(tenant=row.tenant_id, **data)
            folder.adopt(call)
            if call.talk_ended_at is not None and call.agent is not None:
                folder.in_wrap_up(call.agent, call.call_id)
        newest = (
            select(func.max(Event.seq))
            .where(Event.kind == ev.AGENT_STATE)
            .group_by(Event.tenant_id, Event.agent_id)
        )
        last = select(Event.tenant_id, Event.agent_id, Event.at, Event.payload).where(
            Event.seq.in_(newest)
        )
        for row in await conn.execute(last):
            payload = row.payload or {}
            self.folder(row.tenant_id).restore_agent(
                row.agent_id, str(payload.get("state")), row.at, str(payload.get("reason") or "")
            )


def _chunks(items: list[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _without(row: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in names}


async def write_records(conn: AsyncConnection, events: Iterable[DomainEvent]) -> None:
    """The records other than calls that events keep: callbacks, campaign contacts."""
    events = list(events)
    await write_callbacks(conn, events)
    for event in sorted(events, key=lambda e: e.at):
        if event.kind == ev.CAMPAIGN_RESULT:
            await campaigns.apply_result(conn, event.tenant, {**event.data, "at": event.at})


async def write_callbacks(conn: AsyncConnection, events: Iterable[DomainEvent]) -> None:
    """Upsert the callbacks whose life these events changed (the last word of each)."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for event in sorted(events, key=lambda e: e.at):
        if event.kind != ev.CALLBACK_CHANGED:
            continue
        d = event.data
        rows[(event.tenant, d["ref"])] = {
            "tenant_id": event.tenant,
            "ref": d["ref"],
            "call_id": d.get("call_id"),
            "number": d["number"],
            "customer_id": d.get("customer_id"),
            "queue": d.get("queue"),
            "source": d.get("source", "queue"),
            "requested_at": d.get("requested_at", event.at),
            "attempts": d.get("attempts", 0),
            "status": d["status"],
            "outcome": d.get("last_result"),
            "agent_id": d.get("agent_id"),
            "due_at": d.get("due_at"),
            "window_start": d.get("window_start"),
            "window_end": d.get("window_end"),
            "updated_at": event.at,
        }
    if rows:
        await upsert(conn, Callback.__table__, list(rows.values()), ["tenant_id", "ref"])


def _survey_rows(events: list[DomainEvent]) -> list[dict[str, Any]]:
    rows = []
    for event in events:
        for question, score in enumerate(event.data.get("scores") or [], start=1):
            rows.append(
                {
                    "tenant_id": event.tenant,
                    "call_id": event.call_id,
                    "question": question,
                    "agent_id": event.agent_id,
                    "score": int(score),
                    "at": event.at,
                }
            )
    return rows
