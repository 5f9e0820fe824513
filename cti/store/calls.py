"""Reading calls back: the abandoned calls still to call back, and one call's record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import aliased

from acd.callback_life import OPEN
from cti.store.models import AgentStateInterval, Call, Callback, Event
from reports.fold import CallRow, StateInterval
from reports.kpis import CallRecord

OPEN_CALLBACK = tuple(sorted(str(s) for s in OPEN))  # acd.callback_life


@dataclass(frozen=True, slots=True)
class AbandonedCall:
    call_id: str
    queue: str
    caller_number: str
    customer_id: str | None
    queued_at: float
    queue_seconds: float | None


async def abandoned_not_called_back(
    engine: AsyncEngine,
    tenant: str,
    *,
    start: float,
    end: float,
    queue: str | None = None,
    limit: int = 500,
) -> list[AbandonedCall]:
    """Abandoned calls in [start, end) whose caller has not been reached since.

    Reached means: a later call of the same number was answered, or the number has a
    callback that is still open or connected after the abandon. Anonymous callers cannot
    be called back and are not listed. Oldest first.
    """
    later = aliased(Call)
    answered_since = exists().where(
        later.tenant_id == Call.tenant_id,
        later.caller_number == Call.caller_number,
        later.answered_at.is_not(None),
        later.queued_at > Call.queued_at,
    )
    callback_since = exists().where(
        Callback.tenant_id == Call.tenant_id,
        Callback.number == Call.caller_number,
        Callback.requested_at >= Call.queued_at,
        Callback.status.in_((*OPEN_CALLBACK, "connected")),
    )
    query = (
        select(
            Call.call_id,
            Call.queue,
            Call.caller_number,
            Call.customer_id,
            Call.queued_at,
            Call.queue_seconds,
        )
        .where(
            Call.tenant_id == tenant,
            Call.outcome == "abandoned",
            Call.caller_number.is_not(None),
            Call.queued_at >= start,
            Call.queued_at < end,
            ~answered_since,
            ~callback_since,
        )
        .order_by(Call.queued_at)
        .limit(limit)
    )
    if queue is not None:
        query = query.where(Call.queue == queue)
    async with engine.connect() as conn:
        rows = await conn.execute(query)
        return [
            AbandonedCall(
                r.call_id, r.queue, r.caller_number, r.customer_id, r.queued_at, r.queue_seconds
            )
            for r in rows
        ]


async def call_record(engine: AsyncEngine, tenant: str, call_id: str) -> dict[str, Any] | None:
    """One call's row and its events in order (the IVR timeline among them), or None."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(Call).where(and_(Call.tenant_id == tenant, Call.call_id == call_id))
            )
        ).first()
        if row is None:
            return None
        events = await conn.execute(
            select(Event.at, Event.kind, Event.agent_id, Event.queue, Event.payload)
            .where(Event.tenant_id == tenant, Event.call_id == call_id)
            .order_by(Event.at, Event.seq)
        )
        record = {c.name: getattr(row, c.name) for c in Call.__table__.columns}
        record["events"] = [
            {
                "at": e.at,
                "kind": e.kind,
                "agent_id": e.agent_id,
                "queue": e.queue,
                "data": e.payload,
            }
            for e in events
        ]
        return record


async def records_since(
    engine: AsyncEngine, tenant: str, since: float
) -> tuple[list[CallRecord], list[StateInterval]]:
    """The call records and closed agent intervals from `since` on (to seed live figures)."""
    fields = [f for f in CallRow.__dataclass_fields__ if f not in ("tenant", "held_since")]
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(Call).where(
                Call.tenant_id == tenant, Call.queued_at >= since, Call.outcome.is_not(None)
            )
        )
        records = []
        for row in rows:
            record = CallRow(tenant, **{f: getattr(row, f) for f in fields}).record()
            if record is not None:
                records.append(record)
        intervals = [
            StateInterval(r.agent_id, r.state, r.reason, r.start, r.end)
            for r in await conn.execute(
                select(AgentStateInterval).where(
                    AgentStateInterval.tenant_id == tenant, AgentStateInterval.end > since
                )
            )
        ]
    return records, intervals
