"""The hourly totals (`cti.store.rollup`) give the same reports as the calls themselves.

Two ways to keep them: `refresh` as the journal writes calls (in batches, in any order,
rewriting rows as calls progress) and `rebuild` over the whole table; both must end in
the same chains and hours, and reports read from the hours must equal the reports read
from the calls, for ranges the FCR window crosses, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from sqlalchemy import column, delete, insert, select, table
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.db import create_engine
from cti.store import rollup
from cti.store.journal import upsert
from cti.store.kpi_queries import kpi_report
from cti.store.models import Call, Callback, CallHour
from cti.store.schema import current_revision, head_revision, upgrade
from reports.fold import CallRow

from .test_journal import T0
from .test_queries import DAY, END, START, answered, assert_report, call_columns, random_rows
from .test_report_indexes import _downgrade

HOUR = 3600.0
CHAIN_COLUMNS = [
    "fcr_key",
    *(f"fcr_{s}{c}_at" for c in ("", "_queue", "_agent") for s in ("prev", "next")),
]


async def snapshot(engine: AsyncEngine) -> tuple[list[Any], list[Any]]:
    async with engine.connect() as conn:
        hours = (
            await conn.execute(select(CallHour.__table__).order_by(*CallHour.__table__.primary_key))
        ).all()
        c = Call.__table__.c
        chains = (
            await conn.execute(
                select(c.tenant_id, c.call_id, *(c[n] for n in CHAIN_COLUMNS)).order_by(
                    c.tenant_id, c.call_id
                )
            )
        ).all()
    return [tuple(round(v, 6) if isinstance(v, float) else v for v in h) for h in hours], chains


async def write_as_the_journal_does(engine: AsyncEngine, batches: list[list[CallRow]]) -> None:
    for batch in batches:
        async with engine.begin() as conn:
            rows = [call_columns(r) for r in batch]
            await upsert(conn, Call.__table__, rows, ["tenant_id", "call_id"])
            for tenant in {r.tenant for r in batch}:
                await rollup.refresh(conn, tenant, [r.call_id for r in batch if r.tenant == tenant])


def progress(row: CallRow) -> CallRow:
    """The same call earlier in its life: still queued (no outcome, no agent)."""
    return CallRow(tenant=row.tenant, call_id=row.call_id, queue=row.queue, queued_at=row.queued_at)


@pytest.mark.parametrize("seed", [4, 5])
async def test_refresh_in_batches_ends_where_a_rebuild_does(
    store_engine: AsyncEngine, seed: int
) -> None:
    rng = random.Random(seed)
    rows = random_rows(rng, 300)
    for row in rng.sample(rows, 60):  # a dense caller, so chains cross batches
        row.customer_id = "C-dense"
    timeline: list[tuple[float, CallRow]] = []
    for row in rows:
        at = rng.random()
        if rng.random() < 0.3:  # written first while queued, then as it ended
            timeline.append((at, progress(row)))
            at = rng.uniform(at, 1)
        timeline.append((at, row))
    writes = [row for _, row in sorted(timeline, key=lambda t: t[0])]
    batches = []
    while writes:
        size = rng.randrange(1, 40)
        batch = {(r.tenant, r.call_id): r for r in writes[:size]}  # the journal keeps the last
        batches.append(list(batch.values()))
        writes = writes[size:]
    await write_as_the_journal_does(store_engine, batches)
    incremental = await snapshot(store_engine)
    assert incremental[0], "hours were filled"
    assert any(chain[3] is not None for chain in incremental[1]), "some calls chain"
    async with store_engine.begin() as conn:
        await conn.execute(delete(CallHour))
        await rollup.rebuild(conn)
    assert await snapshot(store_engine) == incremental


async def test_a_new_call_relinks_its_neighbours_chains(store_engine: AsyncEngine) -> None:
    t = START + DAY
    first = answered("a1", t, customer="C1", number=None)
    third = answered("a3", t + 6 * DAY, customer="C1", number=None)
    await write_as_the_journal_does(store_engine, [[first, third]])
    got = await kpi_report(store_engine, "acme", start=START, end=END)
    assert got["total"]["fcr_rate"] == 0.0  # one cluster of two
    middle = answered("a2", t + 3 * DAY, customer="C1", number=None, queue="support")
    await write_as_the_journal_does(store_engine, [[middle]])
    async with store_engine.connect() as conn:
        c = Call.__table__.c
        rows = dict(
            (
                await conn.execute(select(c.call_id, c.fcr_next_at).where(c.tenant_id == "acme"))
            ).all()
        )
    assert rows == {"a1": t + 3 * DAY, "a2": t + 6 * DAY, "a3": None}
    by_queue = await kpi_report(store_engine, "acme", start=START, end=END, queue="sales")
    assert by_queue["total"]["fcr_rate"] == 0.0  # a1 and a3 still chain within sales


@pytest.mark.parametrize("seed", [6, 7, 8])
async def test_reports_from_the_hours_equal_reports_from_the_calls(
    store_engine: AsyncEngine, seed: int
) -> None:
    rng = random.Random(seed)
    rows = random_rows(rng, 400)
    for row in rows:  # repeat callers close together, so the range edges cut chains
        if row.customer_id:
            row.queued_at = (
                START + rng.choice([0, 1, 2, 47, 48, 49]) * DAY + rng.uniform(-HOUR, HOUR)
            )
            if row.left_queue_at is not None:
                row.left_queue_at = row.queued_at + 5
    await write_as_the_journal_does(store_engine, [rows[i : i + 50] for i in range(0, 400, 50)])
    for _ in range(6):
        start = START + rng.randrange(-2, 30) * DAY + rng.randrange(0, 24) * HOUR
        end = start + rng.choice([HOUR, DAY, 3 * DAY, 20 * DAY])
        options: dict[str, Any] = rng.choice(
            [{}, {"queue": "sales"}, {"agent": "bob"}, {"queue": "x", "sl_threshold": 30}]
        )
        for group_by in ("total", "queue", "agent", "day", "month", "interval"):
            ask = {
                "start": start,
                "end": end,
                "group_by": group_by,
                "utc_offset_minutes": 60,
                **options,
            }
            fast = await kpi_report(store_engine, "acme", **ask)
            slow = await kpi_report(store_engine, "acme", use_hours=False, **ask)
            assert_report(fast, slow)


async def test_outbound_and_inbound_calls_keep_apart_in_the_hours(
    store_engine: AsyncEngine,
) -> None:
    t = START + 2 * HOUR
    inbound = answered("i1", t, customer="C1", number=None)
    outbound = answered("o1", t + 60, customer="C1", number=None)
    outbound.direction = "outbound"
    await write_as_the_journal_does(store_engine, [[inbound, outbound]])
    async with store_engine.connect() as conn:
        h = CallHour.__table__.c
        rows = (await conn.execute(select(h.direction, h.queue, h.agent, h.offered, h.hour))).all()
    assert sorted(rows) == [  # per queue and per agent
        ("inbound", "*", "ann", 1, t),
        ("inbound", "sales", "*", 1, t),
        ("outbound", "*", "ann", 1, t),
        ("outbound", "sales", "*", 1, t),
    ]
    for use_hours in (True, False):
        ask: dict[str, Any] = {"start": START, "end": END, "use_hours": use_hours}
        theirs = (await kpi_report(store_engine, "acme", **ask))["total"]
        ours = (await kpi_report(store_engine, "acme", direction="outbound", **ask))["total"]
        assert theirs["offered"] == ours["offered"] == 1
        # the outbound call is no repeat of the customer's own call, and no contact of theirs
        assert theirs["fcr_rate"] == 1.0 and ours["fcr_rate"] is None
    with pytest.raises(ValueError, match="direction"):
        await kpi_report(store_engine, "acme", start=START, end=END, direction="both")


async def test_a_report_the_hours_cannot_answer_reads_the_calls(store_engine: AsyncEngine) -> None:
    t = START + DAY
    await write_as_the_journal_does(
        store_engine, [[answered("a1", t + 30, customer=None, number="+331")]]
    )
    async with store_engine.begin() as conn:  # hours out of step: only the calls can tell
        await conn.execute(delete(CallHour))
    odd = await kpi_report(store_engine, "acme", start=t + 1, end=t + DAY)  # not whole hours
    assert odd["total"]["offered"] == 1
    narrow = await kpi_report(store_engine, "acme", start=t, end=t + DAY, sl_threshold=25)
    assert narrow["total"]["offered"] == 1
    whole = await kpi_report(store_engine, "acme", start=t, end=t + DAY)
    assert whole["total"]["offered"] == 0  # read from the (emptied) hours


async def test_the_migration_fills_the_hours_of_calls_already_stored(store_url: str) -> None:
    engine = create_engine(store_url)
    try:
        await _downgrade(engine, "0003")
        rows = random_rows(random.Random(9), 200)
        later = ("fcr_", "campaign", "segment_of")  # columns of 0004, 0006, 0007
        old = {c.name for c in Call.__table__.columns if not c.name.startswith(later)}
        async with engine.begin() as conn:  # the calls as 0003 knew them
            await conn.execute(
                insert(table("calls", *(column(n) for n in sorted(old)))),
                [{k: v for k, v in call_columns(r).items() if k in old} for r in rows],
            )
            old_callback = {"tenant_id": "acme", "number": "+331", "source": "agent"}
            old_callback |= {"requested_at": T0, "attempts": 0, "status": "pending"}
            await conn.execute(
                insert(table("callbacks", *map(column, old_callback), column("updated_at"))),
                [{**old_callback, "updated_at": T0}],
            )
        await upgrade(engine)
        assert await current_revision(engine) == head_revision()
        async with engine.connect() as conn:  # 0005: its key of its own
            (ref,) = (await conn.execute(select(Callback.ref))).scalars()
            assert ref.startswith("row-")
        fast = await kpi_report(engine, "acme", start=START, end=END, group_by="day")
        slow = await kpi_report(
            engine, "acme", start=START, end=END, group_by="day", use_hours=False
        )
        assert fast and any(day["offered"] for day in fast.values())
        assert_report(fast, slow)
    finally:
        await engine.dispose()
