"""Benchmark of the historical KPI reports (`cti.store.kpi_queries.kpi_report`) on a year of calls.

A synthetic year (2025, UTC) for one tenant: four queues, 50 agents, arrivals shaped
by hour of day, weekday and season; outcomes about 88% answered, 8% abandoned (a
tenth of them short), 1.5% timed out, 2.5% taken as callbacks; lognormal talk times,
hold on a quarter of the calls, wrap-up, transfers, dispositions, "resolved" marks,
repeat callers (customers and bare numbers) and some anonymous ones. Beside the
calls, agent state intervals: each agent works a shift most days (fewer at weekends)
cut into a handful of ready / on-call / hold / wrap-up / not-ready intervals, enough
for occupancy without one row per call.

The rows are loaded, in time order as a live system writes them, into a fresh
PostgreSQL database (created and dropped here; asyncpg COPY) and a temporary SQLite
file (executemany, one transaction per chunk of rows), both migrated with
`cti.store.schema.upgrade`. The migrations' secondary indexes are dropped for the load
and rebuilt after it (the usual bulk-load practice; the tables end as migrated), then
the tables are analysed (VACUUM ANALYZE / ANALYZE) as autovacuum would. Then, per
backend, three reports are timed, each the median of 3 runs after a warm-up:

* day:   one day (Wed 2025-06-11) by 15-minute interval (group_by="interval");
* month: June 2025 by day (group_by="day");
* year:  2025 by month, per queue: kpi_report(group_by="month", queue=q) run once for
         each of the four queues; one timing is all four runs, as a page showing a
         monthly table per queue would make them.

Every report is checked against the generated data (call counts), so a wrong result
fails the benchmark rather than timing it. Targets (PostgreSQL): day under 100 ms,
year under 2 s. `--explain` prints PostgreSQL's EXPLAIN (ANALYZE, BUFFERS) of every
statement the reports send.

    python bench/reports.py [--quick] [--rows N] [--json] [--explain]
                            [--backends postgresql,sqlite] [--postgres URL]

The full run loads 5,000,000 calls; `--quick` 50,000 over the same year. `--json`
prints one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import numpy as np  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from cti.db import create_engine  # noqa: E402
from cti.store import rollup  # noqa: E402
from cti.store.kpi_queries import kpi_report  # noqa: E402
from cti.store.schema import upgrade  # noqa: E402

TENANT = "bench"
YEAR_START = datetime(2025, 1, 1, tzinfo=UTC).timestamp()
YEAR_END = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
DAYS = round((YEAR_END - YEAR_START) / 86400)
DAY = datetime(2025, 6, 11, tzinfo=UTC).timestamp()  # a Wednesday
MONTH = (datetime(2025, 6, 1, tzinfo=UTC).timestamp(), datetime(2025, 7, 1, tzinfo=UTC).timestamp())
QUEUES = ("support", "sales", "billing", "vip")
QUEUE_SHARE = (0.42, 0.33, 0.17, 0.08)
AGENTS = 50
# which agents serve which queue (overlapping skill groups)
QUEUE_AGENTS = {
    "support": list(range(0, 24)),
    "sales": list(range(18, 38)),
    "billing": list(range(34, 46)),
    "vip": [*range(44, 50), 0, 1, 18, 19],
}
# arrivals by hour of day (UTC = local here), two peaks, a quiet night
HOURLY = np.array(
    [1, 1, 1, 1, 1, 2, 6, 20, 55, 90, 100, 95, 70, 75, 95, 90, 75, 60, 40, 25, 15, 8, 4, 2],
    dtype=float,
)
WEEKDAY = np.array([1.0, 0.95, 0.92, 0.92, 0.9, 0.45, 0.25])  # Monday first
OUTCOMES = ("answered", "abandoned", "timeout", "exited")
OUTCOME_SHARE = (0.88, 0.08, 0.015, 0.025)
ACD_OUTCOME = {"answered": "answered", "abandoned": "abandoned", "timeout": "routed_out"}
DISPOSITIONS = ("info", "sale", "complaint", "technical", "billing", "other")
CALL_COLUMNS = (
    "tenant_id",
    "call_id",
    "direction",
    "caller_number",
    "dnis",
    "customer_id",
    "tier",
    "language",
    "queue",
    "agent",
    "arrived_at",
    "ivr_left_at",
    "queued_at",
    "first_offered_at",
    "answered_at",
    "left_queue_at",
    "talk_ended_at",
    "ended_at",
    "wrapup_ended_at",
    "outcome",
    "acd_outcome",
    "offers",
    "queue_seconds",
    "talk_seconds",
    "hold_seconds",
    "acw_seconds",
    "transfers",
    "disposition",
    "notes",
    "resolved",
    "ivr_path",
    "survey_score",
    "hangup_cause",
    "callback_number",
)
STATE_COLUMNS = ("tenant_id", "agent_id", "start", "state", "end", "reason")
# the shape of a shift: states in order, and their relative share of the shift
SHIFT = (
    ("ready", 0.10),
    ("on_call", 0.30),
    ("wrap_up", 0.06),
    ("not_ready", 0.05),
    ("on_call", 0.20),
    ("hold", 0.03),
    ("ready", 0.08),
    ("on_call", 0.12),
    ("wrap_up", 0.04),
    ("ready", 0.02),
)
CHUNK = 100_000
TARGETS_MS = {"day_ms": 100.0, "year_ms": 2000.0}  # PostgreSQL
ADMIN_URL = os.environ.get(
    "CTI_TEST_POSTGRES", "postgresql+asyncpg://postgres:postgres@127.0.0.1:5432/postgres"
)


# --- the synthetic year ------------------------------------------------------------------


def arrivals(rows: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted queue-entry times over the year, by weekday, season and hour of day."""
    days = np.arange(DAYS)
    weekday = (days + datetime(2025, 1, 1).weekday()) % 7
    season = 1.0 + 0.15 * np.cos(2 * np.pi * (days - 15) / DAYS)  # busier in January
    weights = WEEKDAY[weekday] * season
    per_day = rng.multinomial(rows, weights / weights.sum())
    day_of_call = np.repeat(days, per_day)
    hour = rng.choice(24, size=rows, p=HOURLY / HOURLY.sum())
    moment = YEAR_START + day_of_call * 86400.0 + hour * 3600.0 + rng.random(rows) * 3600.0
    return np.sort(np.round(moment, 3))


def _nullable(values: np.ndarray, keep: np.ndarray) -> list[Any]:
    out = values.astype(object)
    out[~keep] = None
    return list(out.tolist())


def call_chunks(rows: int, seed: int) -> Iterator[list[tuple[Any, ...]]]:
    """The calls in time order, CHUNK rows at a time, as tuples in CALL_COLUMNS order."""
    rng = np.random.default_rng(seed)
    queued = arrivals(rows, rng)
    customers = max(500, rows // 6)
    for first in range(0, rows, CHUNK):
        yield _calls(first, queued[first : first + CHUNK], customers, rng)


def _calls(
    first: int, queued: np.ndarray, customers: int, rng: np.random.Generator
) -> list[tuple[Any, ...]]:
    n = len(queued)
    queue_ix = rng.choice(len(QUEUES), size=n, p=QUEUE_SHARE)
    outcome_ix = rng.choice(len(OUTCOMES), size=n, p=OUTCOME_SHARE)
    answered = outcome_ix == 0
    abandoned = outcome_ix == 1
    timeout = outcome_ix == 2
    exited = outcome_ix == 3
    wait = rng.exponential(22.0, n)  # answered calls
    wait = np.where(abandoned, rng.exponential(45.0, n), wait)
    wait = np.where(timeout, 300.0 + rng.random(n) * 2, wait)
    wait = np.where(exited, 20.0 + rng.random(n) * 100.0, wait)
    wait = np.round(np.minimum(wait, 900.0), 3)
    ivr = np.round(5.0 + rng.random(n) * 55.0, 3)
    left = queued + wait
    ring = np.round(2.0 + rng.random(n) * 6.0, 3)
    offers = np.where(answered, 1 + (rng.random(n) < 0.08), (rng.random(n) < 0.3).astype(int))
    talk = np.round(np.minimum(rng.lognormal(math.log(190.0), 0.6, n), 7200.0), 3)
    hold = np.where(rng.random(n) < 0.25, np.round(rng.exponential(45.0, n), 3), 0.0)
    hold = np.where(answered, hold, 0.0)
    acw = np.round(3.0 + rng.exponential(25.0, n), 3)
    talk_end = left + talk + hold
    # agents: one of the queue's agents for answered calls
    agent = np.empty(n, dtype=object)
    for q, name in enumerate(QUEUES):
        mask = queue_ix == q
        pool = np.array([f"agent{a:02d}" for a in QUEUE_AGENTS[name]], dtype=object)
        agent[mask] = pool[rng.integers(len(pool), size=int(mask.sum()))]
    # callers: known customers (repeat callers are skewed), unknown numbers, anonymous
    kind = rng.random(n)
    known = kind < 0.72
    anonymous = kind >= 0.95
    customer = np.floor(customers * rng.random(n) ** 2).astype(np.int64)
    stranger = rng.integers(10**7, size=n)
    resolved_draw = rng.random(n)
    dispo = rng.integers(len(DISPOSITIONS), size=n)
    survey = rng.random(n) < 0.2
    score = rng.integers(1, 6, size=n)
    transferred = answered & (rng.random(n) < 0.04)
    lang = rng.random(n) < 0.8

    queued_l, left_l = queued.tolist(), left.tolist()
    ivr_l, wait_l, ring_l = ivr.tolist(), wait.tolist(), ring.tolist()
    talk_l, hold_l, acw_l, talk_end_l = (
        talk.tolist(),
        hold.tolist(),
        acw.tolist(),
        talk_end.tolist(),
    )
    out = []
    for i in range(n):
        q = QUEUES[queue_ix[i]]
        outcome = OUTCOMES[outcome_ix[i]]
        is_answered = outcome == "answered"
        if anonymous[i]:
            number, customer_id, tier = None, None, None
        elif known[i]:
            c = int(customer[i])
            number, customer_id, tier = f"+3361{c:07d}", f"K{c:07d}", c % 4
        else:
            number, customer_id, tier = f"+3362{int(stranger[i]):07d}", None, None
        t0 = queued_l[i]
        t_left = left_l[i]
        if is_answered:
            r = resolved_draw[i]
            resolved = True if r < 0.72 else (False if r < 0.9 else None)
            t_end = talk_end_l[i]
            answer = (t_left - ring_l[i], t_left, t_left, t_end, t_end, t_end + acw_l[i])
            times = answer
            durations = (talk_l[i], hold_l[i], acw_l[i])
            who = agent[i]
            disposition = DISPOSITIONS[dispo[i]]
            scored = int(score[i]) if survey[i] else None
        else:
            resolved = None
            times = (t_left - ring_l[i] if offers[i] else None, None, t_left, None, t_left, None)
            durations = (None, 0.0, None)
            who, disposition, scored = None, None, None
        out.append(
            (
                TENANT,
                f"c{first + i:09d}",
                "inbound",
                number,
                f"+33180000{queue_ix[i]:02d}",
                customer_id,
                tier,
                "fr" if lang[i] else "en",
                q,
                who,
                t0 - ivr_l[i],
                t0,
                t0,
                times[0],
                times[1],
                times[2],
                times[3],
                times[4],
                times[5],
                outcome,
                ACD_OUTCOME.get(outcome, "called_back"),
                int(offers[i]),
                wait_l[i],
                durations[0],
                durations[1],
                durations[2],
                int(transferred[i]),
                disposition,
                None,
                resolved,
                f"main>{q}",
                scored,
                16,
                number if outcome == "exited" else None,
            )
        )
    return out


def agent_states(rows: int, seed: int) -> list[tuple[Any, ...]]:
    """Shifts cut into intervals: more intervals per shift the busier the year (3 to 10)."""
    rng = np.random.default_rng(seed + 1)
    per_agent_day = rows / DAYS / AGENTS
    pieces = max(3, min(len(SHIFT), round(per_agent_day)))
    shape = SHIFT[:pieces]
    first_weekday = datetime(2025, 1, 1).weekday()
    out: list[tuple[Any, ...]] = []
    for day in range(DAYS):
        weekday = (day + first_weekday) % 7
        working = AGENTS if weekday < 5 else (20 if weekday == 5 else 10)
        for a in rng.permutation(AGENTS)[:working].tolist():
            start = YEAR_START + day * 86400 + (7 + a % 6) * 3600 + float(rng.integers(0, 1800))
            length = 8 * 3600.0
            weights = np.array([w for _, w in shape]) * (0.6 + 0.8 * rng.random(len(shape)))
            edges = start + np.concatenate(([0.0], np.cumsum(weights / weights.sum()))) * length
            edges = np.round(edges, 3).tolist()
            for (state, _), begin, end in zip(shape, edges, edges[1:], strict=False):
                reason = "break" if state == "not_ready" else ""
                out.append((TENANT, f"agent{a:02d}", begin, state, end, reason))
    return out


# --- loading -----------------------------------------------------------------------------


@dataclass
class Backend:
    name: str
    url: str
    load_s: float = 0.0
    rollup_s: float = 0.0
    times: dict[str, float] = field(default_factory=dict)
    close: Callable[[], Awaitable[None]] | None = None


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(sql: str, admin_url: str) -> None:
    conn = await asyncpg.connect(_dsn(admin_url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


class PostgresLoader:
    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.name = f"cti_bench_{uuid.uuid4().hex[:10]}"
        self.url = make_url(admin_url).set(database=self.name).render_as_string(hide_password=False)
        self.conn: asyncpg.Connection | None = None
        self.indexes: list[asyncpg.Record] = []

    async def open(self) -> None:
        await _admin(f'CREATE DATABASE "{self.name}"', self.admin_url)
        await _migrate(self.url)
        self.conn = await asyncpg.connect(_dsn(self.url))
        # the migrations' secondary indexes are built once after the load, not row by row
        self.indexes = await self.conn.fetch(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i"
            " JOIN pg_class c ON c.relname = i.indexname JOIN pg_index x ON x.indexrelid = c.oid"
            " WHERE i.tablename IN ('calls', 'agent_states') AND NOT x.indisprimary"
        )
        for index in self.indexes:
            await self.conn.execute(f'DROP INDEX "{index["indexname"]}"')

    async def calls(self, rows: list[tuple[Any, ...]]) -> None:
        assert self.conn is not None
        await self.conn.copy_records_to_table("calls", records=rows, columns=CALL_COLUMNS)

    async def states(self, rows: list[tuple[Any, ...]]) -> None:
        assert self.conn is not None
        await self.conn.copy_records_to_table("agent_states", records=rows, columns=STATE_COLUMNS)

    async def finish(self) -> None:
        assert self.conn is not None
        await self.conn.execute("SET maintenance_work_mem = '256MB'")
        for index in self.indexes:
            await self.conn.execute(index["indexdef"])
        await self.conn.execute("VACUUM ANALYZE calls")
        await self.conn.execute("VACUUM ANALYZE agent_states")
        await self.conn.execute("VACUUM ANALYZE call_hours")
        await self.conn.close()
        self.conn = None

    async def drop(self) -> None:
        if self.conn is not None:
            await self.conn.close()
        await _admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)', self.admin_url)


class SqliteLoader:
    def __init__(self, folder: Path) -> None:
        self.path = folder / "reports.db"
        self.url = f"sqlite+aiosqlite:///{self.path}"
        self.db: sqlite3.Connection | None = None
        self.indexes: list[tuple[str, str]] = []

    async def open(self) -> None:
        await _migrate(self.url)
        self.db = sqlite3.connect(self.path)
        self.db.execute("PRAGMA synchronous=OFF")
        # the migrations' indexes are built once after the load, not row by row
        self.indexes = self.db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            " AND tbl_name IN ('calls', 'agent_states')"
        ).fetchall()
        for name, _ in self.indexes:
            self.db.execute(f'DROP INDEX "{name}"')

    def _insert(self, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        assert self.db is not None
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" * len(columns))
        with self.db:  # one transaction per chunk
            self.db.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)

    async def calls(self, rows: list[tuple[Any, ...]]) -> None:
        self._insert("calls", CALL_COLUMNS, rows)

    async def states(self, rows: list[tuple[Any, ...]]) -> None:
        self._insert("agent_states", STATE_COLUMNS, rows)

    async def finish(self) -> None:
        assert self.db is not None
        for _, sql in self.indexes:
            self.db.execute(sql)
        self.db.execute("ANALYZE")
        self.db.close()
        self.db = None

    async def drop(self) -> None:
        if self.db is not None:
            self.db.close()


async def load(
    loaders: dict[str, Any], rows: int, seed: int, backends: dict[str, Backend]
) -> tuple[float, int, dict[str, Any]]:
    """Generate the year chunk by chunk and load each chunk into every backend.

    Returns the seconds spent generating, the agent state rows, and what the reports
    must count (see `check`); load times go to the backends.
    """
    generating = 0.0
    began = time.perf_counter()
    states = agent_states(rows, seed)
    generating += time.perf_counter() - began
    for name, loader in loaders.items():
        began = time.perf_counter()
        await loader.states(states)
        backends[name].load_s += time.perf_counter() - began
    expected: dict[str, Any] = {"day": 0, "month": 0, "year": dict.fromkeys(QUEUES, 0)}
    chunks = call_chunks(rows, seed)
    while True:
        began = time.perf_counter()
        chunk = next(chunks, None)
        generating += time.perf_counter() - began
        if chunk is None:
            break
        count(chunk, expected)
        for name, loader in loaders.items():
            began = time.perf_counter()
            await loader.calls(chunk)
            backends[name].load_s += time.perf_counter() - began
    for name, loader in loaders.items():
        await build_hours(backends[name])
        began = time.perf_counter()
        await loader.finish()
        backends[name].load_s += time.perf_counter() - began
    return generating, len(states), expected


async def build_hours(backend: Backend) -> None:
    """What the journal keeps up to date as it writes calls, built once after the bulk
    load as the migration does for existing rows (before the secondary indexes are
    rebuilt, as the rest of the load)."""
    engine = create_engine(backend.url)
    began = time.perf_counter()
    try:
        async with engine.begin() as conn:
            await rollup.rebuild(conn)
    finally:
        await engine.dispose()
    backend.rollup_s = time.perf_counter() - began


def count(chunk: list[tuple[Any, ...]], expected: dict[str, Any]) -> None:
    """Count the calls each report must find: by queue entry time, per queue for the year."""
    queued = CALL_COLUMNS.index("queued_at")
    queue = CALL_COLUMNS.index("queue")
    for row in chunk:
        at = row[queued]
        expected["day"] += DAY <= at < DAY + 86400
        expected["month"] += MONTH[0] <= at < MONTH[1]
        if YEAR_START <= at < YEAR_END:
            expected["year"][row[queue]] += 1


# --- the reports -------------------------------------------------------------------------


async def day_report(engine: AsyncEngine) -> Any:
    return await kpi_report(
        engine, TENANT, start=DAY, end=DAY + 86400, group_by="interval", interval_minutes=15
    )


async def month_report(engine: AsyncEngine) -> Any:
    return await kpi_report(engine, TENANT, start=MONTH[0], end=MONTH[1], group_by="day")


async def year_report(engine: AsyncEngine) -> Any:
    return {
        queue: await kpi_report(
            engine, TENANT, start=YEAR_START, end=YEAR_END, group_by="month", queue=queue
        )
        for queue in QUEUES
    }


REPORTS: dict[str, Callable[[AsyncEngine], Awaitable[Any]]] = {
    "day_ms": day_report,
    "month_ms": month_report,
    "year_ms": year_report,
}


def _offered(groups: dict[str, dict[str, Any]]) -> int:
    return sum(int(row.get("offered") or 0) for row in groups.values())


def check(name: str, result: Any, expected: dict[str, Any]) -> None:
    """Fail loudly when a report does not count the calls that were loaded."""
    if name == "day_ms":
        got, want = _offered(result), expected["day"]
        if len(result) > 96:
            raise SystemExit(f"day report has {len(result)} groups, more than 96 intervals")
    elif name == "month_ms":
        got, want = _offered(result), expected["month"]
        if len(result) > 30:
            raise SystemExit(f"month report has {len(result)} groups, more than 30 days")
    else:
        got = {q: _offered(groups) for q, groups in result.items()}
        want = expected["year"]
        if any(len(groups) > 12 for groups in result.values()):
            raise SystemExit("year report has more than 12 monthly groups for a queue")
    if got != want:
        raise SystemExit(f"{name[:-3]} report counts {got} offered calls, the data has {want}")


async def time_reports(
    backend: Backend, expected: dict[str, Any], runs: int, explain: bool
) -> None:
    engine = create_engine(backend.url)
    try:
        for name, report in REPORTS.items():
            check(name, await report(engine), expected)  # warm-up, and the answer is right
            spent = []
            for _ in range(runs):
                began = time.perf_counter()
                await report(engine)
                spent.append((time.perf_counter() - began) * 1000)
            backend.times[name] = round(statistics.median(spent), 1)
        if explain and backend.name == "postgresql":
            for name, report in REPORTS.items():
                await explain_report(engine, name, report)
    finally:
        await engine.dispose()


async def explain_report(
    engine: AsyncEngine, name: str, report: Callable[[AsyncEngine], Awaitable[Any]]
) -> None:
    """Run the report once recording its statements, then EXPLAIN ANALYZE each of them."""
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        await report(engine)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    seen = set()
    async with engine.connect() as conn:
        for statement, parameters in statements:
            if statement in seen:
                continue
            seen.add(statement)
            plan = await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            print(f"\n== EXPLAIN ANALYZE, {name[:-3]} report ==\n{statement}\n-- {parameters}")
            print("\n".join(str(line[0]) for line in plan))


# --- the run -----------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rows = args.rows or (50_000 if args.quick else 5_000_000)
    names = [b for b in args.backends.split(",") if b]
    if unknown := set(names) - {"postgresql", "sqlite"}:
        raise SystemExit(f"unknown backends {sorted(unknown)}: use postgresql, sqlite")
    with tempfile.TemporaryDirectory(prefix="cti-bench-") as folder:
        loaders: dict[str, Any] = {}
        if "postgresql" in names:
            loaders["postgresql"] = PostgresLoader(args.postgres)
        if "sqlite" in names:
            loaders["sqlite"] = SqliteLoader(Path(folder))
        backends = {name: Backend(name, loader.url) for name, loader in loaders.items()}
        try:
            for loader in loaders.values():
                await loader.open()
            generating, states, expected = await load(loaders, rows, args.seed, backends)
            print(
                f"{rows:,} calls and {states:,} agent state intervals generated "
                f"in {generating:.1f} s (not counted in load times)"
            )
            for backend in backends.values():
                print(
                    f"loaded {backend.name} in {backend.load_s:.1f} s, hourly totals and FCR "
                    f"chains built in {backend.rollup_s:.1f} s; timing the reports"
                )
                await time_reports(backend, expected, 3, args.explain)
                print(f"{backend.name}: {backend.times}")
        finally:
            for loader in loaders.values():
                await loader.drop()
    return summarise(rows, states, backends)


def summarise(rows: int, states: int, backends: dict[str, Backend]) -> dict[str, Any]:
    figures: dict[str, Any] = {"rows": rows, "agent_state_rows": states}
    print()
    print(
        f"{'backend':<12}{'load s':>9}{'hours s':>9}{'day ms':>10}{'month ms':>10}{'year ms':>10}"
    )
    for backend in backends.values():
        t = backend.times
        print(
            f"{backend.name:<12}{backend.load_s:>9.1f}{backend.rollup_s:>9.1f}{t['day_ms']:>10.1f}"
            f"{t['month_ms']:>10.1f}{t['year_ms']:>10.1f}"
        )
        figures[backend.name] = {
            **t,
            "load_s": round(backend.load_s, 1),
            "hours_build_s": round(backend.rollup_s, 1),
        }
    print(
        "day = 96 x 15 min for one day; month = 30 days by day; "
        f"year = 12 months, run per queue for {len(QUEUES)} queues (total of the runs); "
        "median of 3 after a warm-up"
    )
    if "postgresql" in backends:
        met = {}
        for name, limit in TARGETS_MS.items():
            took = backends["postgresql"].times[name]
            met[name] = took < limit
            verdict = "met" if met[name] else "NOT met"
            print(f"target PostgreSQL {name[:-3]} < {limit:.0f} ms: {verdict} ({took:.1f} ms)")
        figures["targets_met"] = met
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50,000 calls (CI)")
    parser.add_argument("--rows", type=int, help="calls to load (default 5,000,000)")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE on PostgreSQL")
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument("--postgres", default=ADMIN_URL, help="an admin URL of the server")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    if args.rows is not None and args.rows < 1:
        parser.error("--rows must be at least 1")
    figures = asyncio.run(run(args))
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
