"""Historical KPIs by SQL (`cti.store.kpi_queries`) agree with the pure KPI functions.

Random call rows (as the fold writes them) and agent-state intervals go into the store;
`kpi_report` must give, for every grouping, what `reports.kpis.summarise` and
`reports.grouping` give on the records `CallRow.record()` and `StateInterval.interval()`
make of the same data, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import math
import random
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.cli import main
from cti.db import create_engine
from cti.store import rollup
from cti.store.kpi_queries import kpi_report
from cti.store.models import AgentStateInterval, Call
from cti.store.schema import upgrade
from reports.fold import CallRow, StateInterval
from reports.grouping import (
    local_iso,
    summarise_by_agent,
    summarise_by_interval,
    summarise_by_period,
    summarise_by_queue,
)
from reports.kpis import AgentInterval, CallRecord, Outcome, fcr_rate, summarise

T0 = 1_799_971_200.0  # 2027-01-15 00:00 UTC
DAY = 86_400.0
START, END = T0, T0 + 50 * DAY  # crosses the February and March month edges
STATES = ("ready", "reserved", "on_call", "hold", "wrap_up", "not_ready", "logged_out")
AGENTS = ("ann", "bob", "cid", "dan")


def random_rows(rng: random.Random, n: int) -> list[CallRow]:
    rows = []
    for i in range(n):
        queued = rng.uniform(START - 3 * DAY, END + 3 * DAY)
        if rng.random() < 0.3:  # ties, and calls on bucket edges
            queued = float(round(queued / 3600) * 3600)
        outcome = rng.choice([*(o.value for o in Outcome), None])
        wait = rng.choice([0.0, 5.0, 20.0, rng.uniform(0, 200), rng.uniform(0, 10)])
        row = CallRow(
            tenant=rng.choice(["acme"] * 4 + ["other"]),
            call_id=rng.choice(["a", "B", "_", "z", "Z"]) + str(rng.randrange(10**6)) + f"-{i}",
            queue=rng.choice(["sales", "support", "vip", None] if i % 7 == 0 else ["sales", "x"]),
            queued_at=queued,
            left_queue_at=queued + wait if rng.random() < 0.95 else None,
            outcome=outcome,
            customer_id=rng.choice([None, None, "", *(f"C{k}" for k in range(12))]),
            caller_number=rng.choice([None, "", *(f"+3361{k}" for k in range(12))]),
            transfers=rng.choice([0, 0, 0, 1, 2]),
            hold_seconds=rng.choice([0.0, rng.uniform(0, 90)]),
        )
        if rng.random() < 0.05:  # a transfer's next segment (the same contact)
            row.segment_of = f"s{i}"
        if outcome == Outcome.ANSWERED or rng.random() < 0.1:  # RONA agents on some others
            row.agent = rng.choice(AGENTS)
        if outcome == Outcome.ANSWERED:
            row.answered_at = (row.left_queue_at or queued) if rng.random() < 0.9 else None
            if rng.random() < 0.9:
                row.talk_ended_at = (row.answered_at or queued) + rng.uniform(0, 900)
                if rng.random() < 0.8:
                    row.wrapup_ended_at = row.talk_ended_at + rng.uniform(0, 120)
            row.resolved = rng.choice([None, True, False])
        rows.append(row)
    return rows


def random_intervals(rng: random.Random, n: int) -> list[StateInterval]:
    intervals: dict[tuple[str, float, str], StateInterval] = {}
    for _ in range(n):
        agent, state = rng.choice(AGENTS), rng.choice(STATES)
        start = rng.uniform(START - 2 * DAY, END + DAY)
        if rng.random() < 0.2:
            start = float(round(start / 900) * 900)
        length = rng.choice(
            [0.0, rng.uniform(0, 600), rng.uniform(0, 7200), rng.uniform(0, 3 * DAY)]
        )
        intervals[(agent, start, state)] = StateInterval(agent, state, "", start, start + length)
    return list(intervals.values())


def call_columns(row: CallRow) -> dict[str, Any]:
    columns = row.columns()
    columns["tenant_id"] = columns.pop("tenant")
    return columns


def interval_columns(tenant: str, i: StateInterval) -> dict[str, Any]:
    return {
        "tenant_id": tenant,
        "agent_id": i.agent,
        "state": i.state,
        "start": i.start,
        "end": i.end,
        "reason": i.reason,
    }


async def store(
    engine: AsyncEngine, rows: list[CallRow], intervals: dict[str, list[StateInterval]]
) -> None:
    async with engine.begin() as conn:
        await conn.execute(delete(Call))
        await conn.execute(delete(AgentStateInterval))
        if rows:
            await conn.execute(insert(Call), [call_columns(r) for r in rows])
        for tenant, mine in intervals.items():
            if mine:
                await conn.execute(
                    insert(AgentStateInterval), [interval_columns(tenant, i) for i in mine]
                )
        await rollup.rebuild(conn)


def records(rows: list[CallRow], tenant: str = "acme") -> list[CallRecord]:
    out = []
    for row in rows:
        record = row.record()
        if row.tenant == tenant and record is not None and START <= record.arrived_at < END:
            out.append(record)
    return out


def clipped(intervals: list[StateInterval]) -> list[AgentInterval]:
    out = []
    for i in intervals:
        interval = i.interval()
        if interval is not None and interval.start < END and interval.end > START:
            start, end = max(interval.start, START), min(interval.end, END)
            out.append(AgentInterval(interval.agent, interval.state, start, end))
    return out


def assert_same(got: dict[str, Any], want: dict[str, Any], where: str) -> None:
    assert list(got) == list(want), where
    for field, expected in want.items():
        value = got[field]
        if isinstance(expected, dict):  # the SL bands (JSON makes their keys strings)
            assert_same(
                {str(k): v for k, v in value.items()},
                {str(k): v for k, v in expected.items()},
                f"{where}.{field}",
            )
        elif expected is None or isinstance(expected, int):
            assert value == expected and type(value) is type(expected), (where, field, value)
        else:
            assert isinstance(value, float), (where, field, value)
            assert math.isclose(value, expected, rel_tol=1e-9, abs_tol=1e-9), (where, field)


def assert_report(got: dict[str, dict[str, Any]], want: dict[str, dict[str, Any]]) -> None:
    assert list(got) == list(want)
    for key in want:
        assert_same(got[key], want[key], key)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_sql_kpis_match_the_pure_functions_for_every_grouping(
    store_engine: AsyncEngine, seed: int
) -> None:
    rng = random.Random(seed)
    rows = random_rows(rng, 400)
    acme_time, other_time = random_intervals(rng, 150), random_intervals(rng, 40)
    await store(store_engine, rows, {"acme": acme_time, "other": other_time})
    calls, time = records(rows), clipped(acme_time)
    assert len(calls) > 150 and len(time) > 80  # the data exercises the report
    opts = {"sl_threshold": rng.choice([10.0, 20.0]), "short_abandon": 5.0}
    opts["fcr_window_days"] = rng.choice([0.5, 2.0, 7.0])
    offset = rng.choice([0, 330, -300])

    async def report(group_by: str, **kw: Any) -> dict[str, dict[str, Any]]:
        return await kpi_report(
            store_engine, "acme", start=START, end=END, group_by=group_by, **opts, **kw
        )

    def iso(summaries: dict[float, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {local_iso(k, offset): v for k, v in summaries.items()}

    assert_report(await report("total"), {"total": summarise(calls, time, **opts)})
    assert_report(await report("queue"), summarise_by_queue(calls, **opts))
    assert_report(await report("agent"), summarise_by_agent(calls, time, **opts))
    for minutes in (15, 30, 60):
        got = await report("interval", interval_minutes=minutes, utc_offset_minutes=offset)
        want = summarise_by_interval(
            calls, time, minutes=minutes, utc_offset_minutes=offset, **opts
        )
        assert_report(got, iso(want))
    for period in ("day", "month"):
        got = await report(period, utc_offset_minutes=offset)
        want = summarise_by_period(calls, time, period=period, utc_offset_minutes=offset, **opts)
        assert_report(got, iso(want))
    assert len(await report("month")) == 3  # January, February, March

    sales = [c for c in calls if c.queue == "sales"]
    assert_report(await report("total", queue="sales"), {"total": summarise(sales, **opts)})
    assert_report(await report("agent", queue="sales"), summarise_by_agent(sales, [], **opts))
    bob = [c for c in calls if c.agent == "bob"]
    bob_time = [i for i in time if i.agent == "bob"]
    assert_report(await report("total", agent="bob"), {"total": summarise(bob, bob_time, **opts)})
    got = await report("day", agent="bob", utc_offset_minutes=offset)
    want = summarise_by_period(bob, bob_time, period="day", utc_offset_minutes=offset, **opts)
    assert_report(got, iso(want))


async def test_another_tenants_rows_never_reach_a_report(store_engine: AsyncEngine) -> None:
    rng = random.Random(7)
    rows = [r for r in random_rows(rng, 200) if r.tenant == "other"]
    await store(store_engine, rows, {"other": random_intervals(rng, 50)})
    assert len(records(rows, "other")) > 10
    empty = summarise([])
    for group_by in ("queue", "agent", "interval", "day", "month"):
        assert await kpi_report(store_engine, "acme", start=START, end=END, group_by=group_by) == {}
    assert await kpi_report(store_engine, "acme", start=START, end=END) == {"total": empty}
    theirs = await kpi_report(store_engine, "other", start=START, end=END)
    assert theirs["total"]["offered"] == len(records(rows, "other"))


async def test_an_empty_range_gives_zero_offered_and_no_rates(store_engine: AsyncEngine) -> None:
    rng = random.Random(8)
    await store(store_engine, random_rows(rng, 100), {"acme": random_intervals(rng, 30)})
    later = END + 10 * DAY
    got = await kpi_report(store_engine, "acme", start=later, end=later + DAY)
    assert got["total"]["offered"] == 0 and got["total"]["answered"] == 0
    rates = [k for k in got["total"] if k not in ("offered", "answered", "abandoned")]
    rates = [k for k in rates if k not in ("short_abandoned", "transferred")]
    bands = got["total"]["service_level_bands"]
    rates.remove("service_level_bands")
    assert all(v is None for v in bands.values())
    assert all(got["total"][k] is None for k in rates), got
    assert list(got["total"]) == list(summarise([]))  # exactly summarise's fields
    for group_by in ("queue", "agent", "interval", "day", "month"):
        assert (
            await kpi_report(store_engine, "acme", start=later, end=later, group_by=group_by) == {}
        )


def answered(
    call_id: str, at: float, *, customer: str | None, number: str | None, **kw: Any
) -> CallRow:
    return CallRow(
        tenant="acme",
        call_id=call_id,
        queue=kw.pop("queue", "sales"),
        queued_at=at,
        left_queue_at=at + 10,
        answered_at=at + 10,
        talk_ended_at=at + 100,
        outcome="answered",
        agent="ann",
        customer_id=customer,
        caller_number=number,
        **kw,
    )


async def test_fcr_clusters_repeat_callers_inside_the_window_only(
    store_engine: AsyncEngine,
) -> None:
    t = START + DAY
    rows = [
        answered("c1", t, customer="C1", number="+331"),  # C1: days 0, 5 and 10 chain
        answered("c2", t + 5 * DAY, customer="C1", number="+339", queue="support"),
        answered("c3", t + 10 * DAY, customer="C1", number=None),
        answered("n1", t, customer=None, number="+332"),  # +332: day 0 alone ...
        answered("n2", t + 7 * DAY + 1, customer=None, number="+332"),  # ... then day 7+
        answered("n3", t + 14 * DAY + 1, customer="", number="+332"),  # exactly 7 days on
        answered("x1", t + DAY, customer=None, number=None),  # anonymous: left out
        answered("x2", t + DAY + 5, customer=None, number=None),
        answered("s1", t + 2 * DAY, customer="C2", number="+333"),  # C2 alone
        # s1 transferred to support: its next segment is the same contact, not a repeat
        answered("s1-t1", t + 2 * DAY + 30, customer="C2", number="+333", queue="support"),
        answered("o1", t + 2 * DAY + 60, customer="C2", number="+333"),
    ]
    rows[-2].segment_of = "s1"
    rows[-1].tenant = "other"  # another tenant's repeat does not make C2 a repeat caller
    await store(store_engine, rows, {})
    got = await kpi_report(store_engine, "acme", start=START, end=END, fcr_window_days=7)
    # clusters: {c1,c2,c3}, {n1}, {n2,n3}, {s1}: two of four resolved first time
    assert got["total"]["fcr_rate"] == 0.5 == fcr_rate(records(rows), 7)
    by_queue = await kpi_report(store_engine, "acme", start=START, end=END, group_by="queue")
    # a queue's repeats are its own calls': sales {c1}, {c3}, {n1}, {n2,n3}, {s1}; support {c2}
    assert by_queue["sales"]["fcr_rate"] == 0.8
    assert by_queue["support"]["fcr_rate"] == 1.0
    for queue in ("sales", "support"):  # as a report on that queue alone
        alone = await kpi_report(store_engine, "acme", start=START, end=END, queue=queue)
        assert alone["total"]["fcr_rate"] == by_queue[queue]["fcr_rate"]
    assert by_queue == await kpi_report(
        store_engine, "acme", start=START, end=END, group_by="queue", use_hours=False
    )
    narrow = await kpi_report(store_engine, "acme", start=START, end=END, fcr_window_days=4)
    # {c1}, {c2}, {c3}, {n1}, {n2}, {n3}, {s1}: every contact resolved first time
    assert narrow["total"]["fcr_rate"] == 1.0 == fcr_rate(records(rows), 4)
    inside = await kpi_report(store_engine, "acme", start=t + DAY, end=END)  # without c1, n1
    later = [c for c in records(rows) if c.arrived_at >= t + DAY]
    # {c2,c3}, {n2,n3}, {s1}
    assert inside["total"]["fcr_rate"] == pytest.approx(1 / 3) == fcr_rate(later, 7)


async def test_fcr_ties_are_broken_by_call_id_in_code_point_order(
    store_engine: AsyncEngine,
) -> None:
    t = START + DAY
    rows = [
        answered("t1", t, customer="C1", number=None, queue="support"),
        answered("T2", t, customer="C1", number=None, queue="sales"),  # "T2" < "t1": first
    ]
    if store_engine.dialect.name == "postgresql":  # as on a server with a linguistic locale
        async with store_engine.begin() as conn:
            collation = 'TYPE varchar(64) COLLATE "und-x-icu"'  # where "t1" < "T2"
            await conn.execute(text(f"ALTER TABLE calls ALTER COLUMN call_id {collation}"))
    await store(store_engine, rows, {})
    got = await kpi_report(store_engine, "acme", start=START, end=END, group_by="queue")
    want = summarise_by_queue(records(rows))
    assert want["sales"]["fcr_rate"] == 1 and want["support"]["fcr_rate"] == 1  # their own
    assert got["sales"]["fcr_rate"] == 1 and got["support"]["fcr_rate"] == 1
    by_hour = await kpi_report(store_engine, "acme", start=START, end=END, group_by="interval")
    assert [g["fcr_rate"] for g in by_hour.values()] == [0]  # one cluster of two, "T2" first
    slow = await kpi_report(
        store_engine, "acme", start=START, end=END, group_by="interval", use_hours=False
    )
    assert slow == by_hour


async def test_agent_time_is_clipped_to_the_range_and_split_at_bucket_edges(
    store_engine: AsyncEngine,
) -> None:
    time = [
        StateInterval("eve", "ready", "", START - 100, START),  # ends as the range starts
        StateInterval("ann", "on_call", "", START - 50, START + 50),  # 50 s inside
        StateInterval("ann", "ready", "", START + 50, START + 150),
        StateInterval("ann", "on_call", "", START + 800, START + 1000),  # across 15-min edge
        StateInterval("ann", "wrap_up", "", START + 1000, START + 1100),
        StateInterval("ann", "not_ready", "", START + 1100, START + 5000),
        StateInterval("ann", "on_call", "", END - 30, END + 100),  # 30 s inside
        StateInterval("ann", "logged_out", "", START + 5000, START + 9000),  # not a KPI state
    ]
    await store(store_engine, [], {"acme": time})
    by_agent = await kpi_report(store_engine, "acme", start=START, end=END, group_by="agent")
    assert list(by_agent) == ["ann"]
    assert by_agent["ann"]["occupancy"] == pytest.approx(280 / 380)
    assert by_agent["ann"]["occupancy_with_acw"] == pytest.approx(380 / 480)
    buckets = await kpi_report(
        store_engine, "acme", start=START, end=END, group_by="interval", interval_minutes=15
    )
    first, second = local_iso(START), local_iso(START + 900)
    assert list(buckets)[:3] == [first, second, local_iso(START + 1800)]
    assert buckets[first]["occupancy"] == pytest.approx(150 / 250)  # 50 + 100 busy, 100 idle
    assert buckets[second]["occupancy"] == 1.0  # 100 busy, no idle time
    assert buckets[second]["occupancy_with_acw"] == 1.0
    assert buckets[local_iso(START + 1800)]["occupancy"] is None  # not ready only
    assert buckets[local_iso(END - 900)]["occupancy"] == 1.0
    assert list(buckets)[-1] == local_iso(END - 900)


async def test_options_are_checked(store_engine: AsyncEngine) -> None:
    with pytest.raises(ValueError, match="group_by"):
        await kpi_report(store_engine, "acme", start=START, end=END, group_by="week")
    with pytest.raises(ValueError, match="minutes"):
        await kpi_report(
            store_engine, "acme", start=START, end=END, group_by="interval", interval_minutes=20
        )


def test_cli_reports_from_a_sqlite_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cti.db'}"
    rng = random.Random(11)
    rows = random_rows(rng, 200)
    time = random_intervals(rng, 60)

    async def fill() -> None:
        engine = create_engine(url)
        await upgrade(engine)
        await store(engine, rows, {"acme": time})
        await engine.dispose()

    asyncio.run(fill())
    calls = records(rows)
    base = ["report", "--database", "--url", url, "--tenant", "acme"]
    base += ["--from", "2027-01-15T00:00:00", "--to", str(END)]

    assert main([*base, "--by", "queue", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["by"] == "queue" and document["from"] == "2027-01-15T00:00:00+00:00"
    want = summarise_by_queue(calls)
    assert list(document["groups"]) == list(want)
    for key, summary in want.items():
        assert_same(document["groups"][key], summary, key)
    assert_same(document["total"], summarise(calls, clipped(time)), "total")

    assert main([*base, "--by", "agent", "--agent", "ann", "--format", "csv"]) == 0
    table = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    ann = [c for c in calls if c.agent == "ann"]
    assert table[0][0] == "agent" and [r[0] for r in table[1:]] == ["ann", "total"]
    assert int(table[1][table[0].index("offered")]) == len(ann)
    assert int(table[2][table[0].index("answered")]) == len(ann)

    assert main([*base, "--by", "interval", "--interval", "30"]) == 0
    out = capsys.readouterr()
    assert out.out.splitlines()[0].split()[-1] == "total"
    assert "offered" in out.out and "group(s) by interval" in out.err

    assert main(["report", "--database", "--url", url]) == 2  # no tenant
    assert "--tenant" in capsys.readouterr().err
    assert main(["report"]) == 2  # neither a queue_log nor the database
    assert "--queue-log" in capsys.readouterr().err
