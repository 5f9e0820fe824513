"""Abandoned calls still to call back, and one call's record, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.store.calls import abandoned_not_called_back, call_record
from cti.store.journal import Journal
from cti.store.models import Call, Callback
from tests.store.test_journal import T0, script


def call(call_id: str, at: float, outcome: str, number: str | None, **kw: Any) -> dict[str, Any]:
    return {
        "tenant_id": kw.pop("tenant", "acme"),
        "call_id": call_id,
        "queue": kw.pop("queue", "sales"),
        "caller_number": number,
        "queued_at": at,
        "outcome": outcome,
        "queue_seconds": 30.0,
        "answered_at": at + 30 if outcome == "answered" else None,
        **kw,
    }


async def test_the_abandoned_list_leaves_out_callers_reached_since(
    store_engine: AsyncEngine,
) -> None:
    rows = [
        call("a1", T0, "abandoned", "+33611111111"),  # still to call back
        call("a2", T0 + 10, "abandoned", "+33622222222"),  # called again, answered
        call("a3", T0 + 20, "answered", "+33622222222"),
        call("a4", T0 + 30, "abandoned", "+33633333333"),  # a callback is pending
        call("a5", T0 + 40, "abandoned", None),  # anonymous
        call("a6", T0 + 50, "abandoned", "+33644444444", queue="support"),
        call("a7", T0 + 60, "abandoned", "+33655555555", tenant="other"),
        call("a8", T0 + 70, "answered", "+33611111111", answered_at=None),  # not answered
        call("a9", T0 - 3600, "abandoned", "+33666666666"),  # before the range
    ]
    async with store_engine.begin() as conn:
        await conn.execute(insert(Call), rows)
        await conn.execute(
            insert(Callback),
            [
                {
                    "tenant_id": "acme",
                    "ref": "abandoned-1",
                    "number": "+33633333333",
                    "source": "abandoned",
                    "requested_at": T0 + 35,
                    "status": "pending",
                    "updated_at": T0 + 35,
                }
            ],
        )
    listed = await abandoned_not_called_back(store_engine, "acme", start=T0, end=T0 + 3600)
    assert [c.call_id for c in listed] == ["a1", "a6"]
    sales = await abandoned_not_called_back(
        store_engine, "acme", start=T0, end=T0 + 3600, queue="sales"
    )
    assert [c.call_id for c in sales] == ["a1"]
    other = await abandoned_not_called_back(store_engine, "other", start=T0, end=T0 + 3600)
    assert [c.call_id for c in other] == ["a7"]


async def test_a_call_record_has_its_events_in_order(store_engine: AsyncEngine) -> None:
    journal = Journal(store_engine)
    for event in script():
        journal.record(event)
    await journal.flush()
    record = await call_record(store_engine, "acme", "c1")
    assert record is not None and record["outcome"] == "answered"
    kinds = [e["kind"] for e in record["events"]]
    assert kinds[:4] == ["call.arrived", "ivr.finished", "call.queued", "call.offered"]
    assert record["events"][1]["data"]["path"] == ["welcome", "main"]
    assert await call_record(store_engine, "other", "c1") is None
