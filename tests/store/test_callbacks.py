"""Stored callbacks on SQLite and PostgreSQL: asked for (merged per number), due when
their time comes, expired when their window closes first, listed by status."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.store.callbacks import (
    CallbackRefused,
    change_callback,
    due_callbacks,
    expire_callbacks,
    list_callbacks,
    request_callback,
)
from cti.store.journal import Journal
from reports.events import DomainEvent

T = 1_800_000_000.0


async def test_requests_merge_per_number_and_fall_due_then_expire(
    store_engine: AsyncEngine,
) -> None:
    ask = {"queue": "sales", "source": "web", "now": T}
    now = await request_callback(store_engine, "acme", number="+331", due_at=T, **ask)
    later = await request_callback(
        store_engine, "acme", number="+332", due_at=T + 600, window_end=T + 900, **ask
    )
    same = await request_callback(store_engine, "acme", number="+331", due_at=T + 50, **ask)
    theirs = await request_callback(store_engine, "globex", number="+331", due_at=T, **ask)
    assert same.merged and same.ref == now.ref and not theirs.merged
    assert [c.ref for c in await due_callbacks(store_engine, "acme", T)] == [now.ref]
    due = await due_callbacks(store_engine, "acme", T + 600)
    assert [c.ref for c in due] == [now.ref, later.ref]
    assert due[1].number == "+332" and due[1].status == "pending"
    # the window closes: expired, unless the ACD holds it
    assert await expire_callbacks(store_engine, "acme", T + 901, keep=[later.ref]) == []
    assert await expire_callbacks(store_engine, "acme", T + 901) == [later.ref]
    assert [c.ref for c in await due_callbacks(store_engine, "acme", T + 901)] == [now.ref]
    expired = await list_callbacks(store_engine, "acme", ["expired"])
    assert [(c.ref, c.status) for c in expired] == [(later.ref, "expired")]
    fresh = await request_callback(store_engine, "acme", number="+332", due_at=T + 1000, **ask)
    assert not fresh.merged  # an expired callback takes no more requests


async def test_a_supervisor_cancels_or_moves_a_stored_callback(store_engine: AsyncEngine) -> None:
    ask = {"queue": "sales", "source": "web", "now": T}
    one = await request_callback(
        store_engine, "acme", number="+331", due_at=T + 600, window_end=T + 4200, **ask
    )
    two = await request_callback(store_engine, "acme", number="+332", due_at=T, **ask)
    moved = await change_callback(store_engine, "acme", one.ref, T + 10, due_at=T + 7200)
    assert (moved.status, moved.due_at) == ("pending", T + 7200)
    assert [c.ref for c in await due_callbacks(store_engine, "acme", T + 3600)] == [two.ref]
    assert [c.ref for c in await due_callbacks(store_engine, "acme", T + 7200)] == [
        two.ref,
        one.ref,
    ]
    # its window moved with it: it does not expire at the old end
    assert await expire_callbacks(store_engine, "acme", T + 5000) == []
    gone = await change_callback(store_engine, "acme", two.ref, T + 20)
    assert gone.status == "cancelled"
    with pytest.raises(CallbackRefused, match="cancelled: it cannot be changed"):
        await change_callback(store_engine, "acme", two.ref, T + 30, due_at=T + 60)
    with pytest.raises(CallbackRefused, match="no callback"):
        await change_callback(store_engine, "globex", one.ref, T + 30)  # another tenant's
    with pytest.raises(CallbackRefused, match="in the past"):
        await change_callback(store_engine, "acme", one.ref, T + 9000, due_at=T)


async def test_a_merged_request_keeps_the_later_end_and_the_journal_keeps_the_window(
    store_engine: AsyncEngine,
) -> None:
    ask = {"queue": "sales", "source": "web", "now": T}
    first = await request_callback(
        store_engine, "acme", number="+331", due_at=T, window_end=T + 7200, **ask
    )
    assert first.window_end == T + 7200
    shorter = await request_callback(
        store_engine, "acme", number="+331", due_at=T, window_end=T + 3600, **ask
    )
    longer = await request_callback(
        store_engine, "acme", number="+331", due_at=T, window_end=T + 9000, **ask
    )
    assert (shorter.window_end, longer.window_end) == (T + 7200, T + 9000)
    assert await expire_callbacks(store_engine, "acme", T + 8000) == []
    # a callback asked for in the queue: its window comes with its life's events
    journal = Journal(store_engine)
    life = {"ref": "c9", "number": "+339", "queue": "sales", "status": "pending"}
    window = {"window_start": T, "window_end": T + 600, "requested_at": T, "attempts": 0}
    journal.record(DomainEvent("acme", T, "callback.changed", data={**life, **window}))
    await journal.flush()
    [row] = [c for c in await list_callbacks(store_engine, "acme", ["pending"]) if c.ref == "c9"]
    assert (row.window_start, row.window_end) == (T, T + 600)
    assert await expire_callbacks(store_engine, "acme", T + 601) == ["c9"]
    assert await expire_callbacks(store_engine, "acme", T + 9001) == [first.ref]
