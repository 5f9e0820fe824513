"""Stored callbacks on SQLite and PostgreSQL: asked for (merged per number), due when
their time comes, expired when their window closes first, listed by status."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from cti.store.callbacks import (
    due_callbacks,
    expire_callbacks,
    list_callbacks,
    request_callback,
)

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
