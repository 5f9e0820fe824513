"""Reading the callbacks (`callbacks`, one row per asking call, written by the journal
from `callback.changed` events: see `acd.callback_life`) for supervisors."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.callback_life import OPEN, CallbackStatus
from cti.store.models import Callback


@dataclass(frozen=True, slots=True)
class CallbackView:
    id: int
    ref: str
    call_id: str | None
    number: str
    customer_id: str | None
    queue: str | None
    source: str
    status: str
    attempts: int
    last_result: str | None
    agent_id: str | None
    requested_at: float
    due_at: float | None
    updated_at: float
    window_start: float | None = None  # may be made from
    window_end: float | None = None  # and until (then it expires)


async def list_callbacks(
    engine: AsyncEngine, tenant: str, statuses: Iterable[str], *, limit: int = 500
) -> list[CallbackView]:
    """The tenant's callbacks in these statuses, most recently changed first."""
    wanted = sorted(set(statuses))
    unknown = [s for s in wanted if s not in CallbackStatus.__members__.values()]
    if unknown:
        raise ValueError(
            f"unknown callback status {unknown}: use {[str(s) for s in CallbackStatus]}"
        )
    c = Callback.__table__.c
    query = (
        select(Callback.__table__)
        .where(c.tenant_id == tenant, c.status.in_(wanted))
        .order_by(c.updated_at.desc(), c.id.desc())
        .limit(limit)
    )
    async with engine.connect() as conn:
        return [_view(r) for r in (await conn.execute(query)).all()]


def _view(r: Any) -> CallbackView:
    return CallbackView(
        id=r.id,
        ref=r.ref,
        call_id=r.call_id,
        number=r.number,
        customer_id=r.customer_id,
        queue=r.queue,
        source=r.source,
        status=r.status,
        attempts=r.attempts,
        last_result=r.outcome,
        agent_id=r.agent_id,
        requested_at=r.requested_at,
        due_at=r.due_at,
        updated_at=r.updated_at,
        window_start=r.window_start,
        window_end=r.window_end,
    )


async def due_callbacks(engine: AsyncEngine, tenant: str, now: float) -> list[CallbackView]:
    """The tenant's open callbacks whose time has come (the next attempt's, else the
    window's start, else at once), in that order; those the ACD already holds among
    them are the caller's to skip."""
    c = Callback.__table__.c
    when = func.coalesce(c.due_at, c.window_start, c.requested_at)
    still_open = or_(c.window_end.is_(None), c.window_end >= now)
    query = (
        select(Callback.__table__)
        .where(c.tenant_id == tenant, c.status.in_([str(s) for s in OPEN]), when <= now, still_open)
        .order_by(when, c.id)
    )
    async with engine.connect() as conn:
        return [_view(r) for r in (await conn.execute(query)).all()]


@dataclass(frozen=True, slots=True)
class Requested:
    ref: str
    merged: bool  # an open callback of the number took the request in
    due_at: float  # when it may go out at the earliest
    window_end: float | None = None  # and until when (then it expires)


async def request_callback(
    engine: AsyncEngine,
    tenant: str,
    *,
    number: str,
    queue: str,
    source: str,
    now: float,
    due_at: float,
    window_end: float | None = None,
    name: str | None = None,
    topic: str | None = None,
    customer_id: str | None = None,
) -> Requested:
    """A callback asked for outside a call (web, the abandoned list): a pending row due
    from `due_at` until `window_end`, or, when the number has an open callback already,
    that one (its details brought up to date, its window lasting until the later end)."""
    c = Callback.__table__.c
    async with engine.begin() as conn:
        found = (
            await conn.execute(
                select(c.id, c.ref, c.window_start, c.window_end, c.due_at)
                .where(
                    c.tenant_id == tenant, c.number == number, c.status.in_([str(s) for s in OPEN])
                )
                .order_by(c.id)
                .limit(1)
            )
        ).first()
        if found is not None:  # its window lasts until the later of the two ends
            ends = [e for e in (found.window_end, window_end) if e is not None]
            end = max(ends) if ends else None
            changes = {"name": name, "topic": topic, "updated_at": now, "window_end": end}
            await conn.execute(
                update(Callback)
                .where(c.id == found.id)
                .values({k: v for k, v in changes.items() if v is not None})
            )
            when = found.due_at or found.window_start or now
            return Requested(found.ref, True, max(when, now), end)
        ref = f"{source}-{uuid.uuid4().hex[:16]}"
        await conn.execute(
            insert(Callback).values(
                tenant_id=tenant,
                ref=ref,
                number=number,
                customer_id=customer_id,
                queue=queue,
                source=source,
                name=name,
                topic=topic,
                requested_at=now,
                window_start=due_at,
                window_end=window_end,
                attempts=0,
                status=str(CallbackStatus.PENDING),
                updated_at=now,
            )
        )
    return Requested(ref, False, due_at, window_end)


async def expire_callbacks(
    engine: AsyncEngine, tenant: str, now: float, *, keep: Iterable[str] = ()
) -> list[str]:
    """Open callbacks whose window closed before `now` expire (but those in `keep`, which
    the ACD holds); their refs."""
    c = Callback.__table__.c
    held = set(keep)
    async with engine.begin() as conn:
        found = (
            await conn.execute(
                select(c.ref).where(
                    c.tenant_id == tenant,
                    c.status.in_([str(s) for s in OPEN]),
                    c.window_end.is_not(None),
                    c.window_end < now,
                )
            )
        ).scalars()
        refs = [ref for ref in found if ref not in held]
        if refs:
            await conn.execute(
                update(Callback)
                .where(c.tenant_id == tenant, c.ref.in_(refs))
                .values(status=str(CallbackStatus.EXPIRED), due_at=None, updated_at=now)
            )
    return refs


class CallbackRefused(ValueError):
    """A supervisor's change a callback's status does not allow."""


async def change_callback(
    engine: AsyncEngine, tenant: str, ref: str, now: float, *, due_at: float | None = None
) -> CallbackView:
    """A supervisor cancels (`due_at` None) or reschedules a callback that waits in the
    store (pending, or retry): cancelled, or pending again from `due_at` (its window
    moved along). One the ACD is making now cannot be changed here."""
    c = Callback.__table__.c
    async with engine.begin() as conn:
        row = (
            await conn.execute(select(Callback).where(c.tenant_id == tenant, c.ref == ref))
        ).first()
        if row is None:
            raise CallbackRefused(f"no callback {ref!r}")
        if row.status not in (str(CallbackStatus.PENDING), str(CallbackStatus.RETRY)):
            raise CallbackRefused(f"callback {ref!r} is {row.status}: it cannot be changed now")
        if due_at is None:
            values: dict[str, Any] = {"status": str(CallbackStatus.CANCELLED), "due_at": None}
        else:
            if due_at < now - 60:
                raise CallbackRefused("a callback cannot be rescheduled in the past")
            window_end = row.window_end
            if window_end is not None:  # the window moves with the callback
                start = row.window_start if row.window_start is not None else row.requested_at
                window_end = due_at + max(window_end - start, 3600.0)
            values = {
                "status": str(CallbackStatus.PENDING),
                "due_at": due_at,
                "window_start": due_at,
                "window_end": window_end,
            }
        await conn.execute(
            update(Callback)
            .where(c.tenant_id == tenant, c.ref == ref)
            .values(updated_at=now, **values)
        )
        changed = (
            await conn.execute(select(Callback).where(c.tenant_id == tenant, c.ref == ref))
        ).one()
    return _view(changed)
