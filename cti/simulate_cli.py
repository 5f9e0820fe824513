"""`cti simulate`: run generated or recorded traffic through routing policies, on a virtual clock.

    cti simulate --agents 10 --calls-per-hour 168 --aht 180 --hours 1000 --seed 1 \\
        [--format table|csv|json] [--sl-threshold 20]
    cti simulate ... --patience 120 --wrapup 30 --tiers 0:0.8,1:0.15,2:0.05 \\
        --repeat-share 0.1 --handle lognormal --compare
    cti simulate --replay 2026-01-05 2026-01-12 --url sqlite+aiosqlite:///var/cti.db \\
        --tenant acme --agents 25 --policy value --policy leastrecent
    cti --config-dir config simulate --configured --tenant acme --compare ...

One queue ("main", or the queues of the replayed calls) served by every agent, or
with `--configured` the tenant's own queues, agents and policies (`cti.routing`);
Poisson arrivals (`--calls-per-hour` may list one rate per `--interval-minutes`,
repeating), handle times exponential unless `--handle` says otherwise, callers
who never hang up unless `--patience` gives their mean patience, no after-call
work unless `--wrapup`, every agent logged in unless `--staffing` gives the
agents per interval. Arrivals stop after `--hours` and the run drains until
every call has finished. `--policy` may be repeated, `--compare` runs them all;
every policy gets the same callers (same seed). The router's policies run in the
real routing core (`acd.Router`); app_queue's strategies in the baseline
dispatcher of `acd.baseline`. KPIs come from `reports.kpis` via
`reports.simulation`. The database is read here only (`--replay`), never in `acd/`.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gc
import io
import json
import random
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any

from acd import AgentSpec, Policy, QueueSpec, Router, SkillNeed, SpecError
from acd.baseline import QueueStrategyDispatcher, Strategy
from acd.simulate import Dispatcher, Shift, SimulationError, simulate, staffing_shifts
from acd.traffic import (
    NEVER,
    CallType,
    Distribution,
    Shape,
    SimCall,
    Traffic,
    generate,
)
from cti.errors import ConfigError
from reports.simulation import simulation_kpis

POLICIES = tuple(str(p) for p in Policy) + tuple(str(s) for s in Strategy)
CONFIGURED = "configured"  # each queue's policy as configured (with --configured)
TABLE_FIELDS = (
    "offered",
    "answered",
    "abandoned",
    "service_level",
    "asa_seconds",
    "abandon_rate",
    "occupancy",
    "occupancy_with_acw",
    "longest_wait_seconds",
)


def add_arguments(subparsers: Any) -> None:
    """Add the `simulate` command to the `cti` parser's subparsers."""
    parser = subparsers.add_parser(
        "simulate", help="discrete-event simulation of routing policies on generated traffic"
    )
    parser.add_argument("--agents", type=int, default=10, help="agents serving every queue")
    parser.add_argument(
        "--calls-per-hour",
        type=_numbers,
        default=[100.0],
        metavar="R[,R...]",
        help="arrival rate, or one rate per --interval-minutes (the profile repeats)",
    )
    parser.add_argument("--interval-minutes", type=float, default=60.0)
    parser.add_argument("--aht", type=float, default=180.0, help="mean handle (talk) time, s")
    parser.add_argument("--handle", choices=("exponential", "lognormal", "fixed"), default=None)
    parser.add_argument(
        "--handle-sigma", type=float, default=1.0, help="log-normal spread (handle, patience)"
    )
    parser.add_argument("--hours", type=float, default=8.0, help="hours of arrivals")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--patience", type=float, help="callers' mean patience, s (default: they never hang up)"
    )
    parser.add_argument(
        "--patience-dist", choices=("exponential", "fixed", "lognormal"), default="exponential"
    )
    parser.add_argument("--wrapup", type=float, help="after-call work per call, s (default none)")
    parser.add_argument("--ring-delay", type=float, default=0.0, help="seconds before answering")
    parser.add_argument(
        "--tiers",
        type=_tiers,
        default=[(0, 1.0)],
        metavar="T:SHARE,...",
        help="value tiers of the callers, e.g. 0:0.8,1:0.15,2:0.05",
    )
    parser.add_argument(
        "--repeat-share", type=float, default=0.0, help="share of calls from recent callers"
    )
    parser.add_argument(
        "--staffing",
        type=_counts,
        metavar="N[,N...]",
        help="agents logged in per --interval-minutes (default: all --agents throughout)",
    )
    parser.add_argument(
        "--policy",
        action="append",
        choices=(*POLICIES, CONFIGURED),
        help="routing policy (repeatable)",
    )
    parser.add_argument("--compare", action="store_true", help="run every policy")
    parser.add_argument("--sl-threshold", type=float, default=20.0)
    parser.add_argument("--short-abandon", type=float, default=5.0)
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument(
        "--replay",
        nargs=2,
        metavar=("FROM", "TO"),
        help="replay the recorded calls queued in [FROM, TO) (ISO date/time UTC or epoch)",
    )
    parser.add_argument("--url", help="database URL for --replay (default: CTI_DATABASE_URL)")
    parser.add_argument(
        "--tenant", default="default", help="tenant of the replayed calls and of --configured"
    )
    parser.add_argument(
        "--configured",
        action="store_true",
        help="the tenant's queues, agents and policies from the configuration (--config-dir)"
        " instead of one queue served by --agents agents",
    )


def run(args: argparse.Namespace) -> int:
    """Simulate and print the KPIs; 0 on success, 2 when the input cannot be used."""
    default = CONFIGURED if args.configured else "value"
    every = [CONFIGURED, *POLICIES] if args.configured else list(POLICIES)
    policies = every if args.compare else list(dict.fromkeys(args.policy or [default]))
    try:
        _check(args)
        recorded = _replayed(args) if args.replay else None
        queues, agents = _center(args, recorded)
        results = {}
        for policy in policies:
            calls = _calls(args, recorded, queues)
            results[policy] = _run_policy(args, policy, calls, queues, agents)
    except (ValueError, SimulationError, ConfigError, SpecError) as exc:
        print(f"cti simulate: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(render(results, args.format, parameters=_parameters(args)))
    return 0


def render(
    results: dict[str, dict[str, Any]], fmt: str, *, parameters: dict[str, Any] | None = None
) -> str:
    """JSON (one object), CSV (one row per policy) or a side-by-side table."""
    if fmt == "json":
        if len(results) == 1:
            (policy, kpis), *_ = results.items()
            return json.dumps({"parameters": parameters, "policy": policy, **kpis}) + "\n"
        return json.dumps({"parameters": parameters, "policies": results}) + "\n"
    tiers = sorted({tier for kpis in results.values() for tier in kpis["tiers"]})
    columns = [*TABLE_FIELDS, *(f"asa_tier_{tier}" for tier in tiers)]
    rows = {
        policy: {
            **{name: kpis[name] for name in TABLE_FIELDS},
            **{f"asa_tier_{t}": kpis["tiers"].get(t, {}).get("asa_seconds") for t in tiers},
        }
        for policy, kpis in results.items()
    }
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["policy", *columns])
        for policy, row in rows.items():
            writer.writerow([policy, *("" if row[c] is None else f"{row[c]:.6g}" for c in columns)])
        return out.getvalue()
    policies = list(rows)
    width = max(len(c) for c in columns)
    cells = [[_cell(c, rows[p][c]) for p in policies] for c in columns]
    widths = [max(len(p), *(len(texts[i]) for texts in cells)) for i, p in enumerate(policies)]
    header = "  ".join(p.rjust(w) for p, w in zip(policies, widths, strict=True))
    lines = [" " * width + "  " + header]
    for column, texts in zip(columns, cells, strict=True):
        line = "  ".join(c.rjust(w) for c, w in zip(texts, widths, strict=True))
        lines.append(column.ljust(width) + "  " + line)
    return "\n".join(lines) + "\n"


# -- building a run ---------------------------------------------------------------


def _check(args: argparse.Namespace) -> None:
    if args.agents < 1:
        raise ValueError("--agents must be at least 1")
    if args.aht <= 0 or args.hours < 0 or args.ring_delay < 0:
        raise ValueError("--aht must be > 0, --hours and --ring-delay >= 0")


def _center(
    args: argparse.Namespace, recorded: list[SimCall] | None
) -> tuple[list[QueueSpec], list[AgentSpec]]:
    """The tenant's configured queues and agents, or one skill per queue and --agents agents."""
    if args.configured:
        queues, agents = _configured(args)
        known = {q.name for q in queues}
        unknown = sorted({c.queue for c in recorded or ()} - known)
        if unknown:
            raise ValueError(f"replayed calls of queues the configuration lacks: {unknown}")
        return queues, agents
    names = sorted({call.queue for call in recorded or ()}) or ["main"]
    # after-call work, when simulated, is ended by the agent (SimCall.acw_seconds)
    wrapup = None if args.wrapup is not None else 0.0
    queues = [
        QueueSpec(name, policy=Policy.VALUE, needs=(SkillNeed(name),), wrapup_seconds=wrapup)
        for name in names
    ]
    ids = [f"agent{i + 1:03d}" for i in range(args.agents)]
    return queues, [AgentSpec(a, dict.fromkeys(names, 1), tuple(names)) for a in ids]


def _configured(args: argparse.Namespace) -> tuple[list[QueueSpec], list[AgentSpec]]:
    from cti.config import load_config
    from cti.routing import router_specs
    from cti.settings import Settings

    settings = Settings() if args.config_dir is None else Settings(config_dir=args.config_dir)
    config = load_config(settings.config_dir)
    tenants = {t.tenant.id: t for t in config.tenants}
    tenant = tenants.get(args.tenant)
    if tenant is None and args.tenant == "default" and len(tenants) == 1:
        (tenant,) = tenants.values()
    if tenant is None:
        raise ValueError(f"no tenant {args.tenant!r} in the configuration: {sorted(tenants)}")
    queues, agents = router_specs(tenant)
    if not agents:
        raise ValueError(f"tenant {tenant.tenant.id!r} has no agents configured")
    return queues, agents


def _calls(
    args: argparse.Namespace, recorded: list[SimCall] | None, queues: list[QueueSpec]
) -> Iterator[SimCall]:
    if recorded is not None:
        return iter(recorded)
    shape = Shape(args.handle or "exponential")
    handle = Distribution(shape, args.aht, args.handle_sigma)
    patience = NEVER
    if args.patience is not None:
        patience = Distribution(Shape(args.patience_dist), args.patience, args.handle_sigma)
    total = sum(share for _, share in args.tiers)
    mix = tuple(
        CallType(queue.name, tier, share / total) for queue in queues for tier, share in args.tiers
    )
    traffic = Traffic(
        hours=args.hours,
        calls_per_hour=tuple(args.calls_per_hour),
        handle=handle,
        patience=patience,
        mix=mix,
        interval_minutes=args.interval_minutes,
        repeat_share=args.repeat_share,
        acw=None if args.wrapup is None else Distribution(Shape.FIXED, args.wrapup),
    )
    return generate(traffic, random.Random(args.seed))


def dispatcher_for(
    policy: str, queues: Iterable[QueueSpec], agents: Iterable[AgentSpec], seed: int
) -> Dispatcher:
    """The real router for our policies (CONFIGURED: each queue's own), else app_queue's."""
    queues = list(queues)
    if policy in tuple(Strategy):
        return QueueStrategyDispatcher(queues, agents, Strategy(policy), seed=seed)
    if policy != CONFIGURED:
        queues = [replace(q, policy=Policy(policy)) for q in queues]
    return Router(queues, agents)


def _run_policy(
    args: argparse.Namespace,
    policy: str,
    calls: Iterator[SimCall],
    queues: list[QueueSpec],
    agents: list[AgentSpec],
) -> dict[str, Any]:
    ids = [a.agent_id for a in agents]
    if args.staffing and max(args.staffing) > len(ids):
        raise ValueError(f"--staffing asks for more than the {len(ids)} agents")
    if args.staffing:
        shifts = staffing_shifts(ids, args.staffing, args.interval_minutes * 60, last_stays=True)
    else:
        shifts = [Shift(a) for a in ids]
    dispatcher = dispatcher_for(policy, queues, agents, args.seed)
    progress = None if args.quiet else _progress(policy, args.hours * 3600)
    started = time.perf_counter()
    gc.disable()  # the core keeps no reference cycles; collecting them only slows a long run
    try:
        result = simulate(calls, dispatcher, shifts, ring_delay=args.ring_delay, progress=progress)
    finally:
        gc.enable()
    kpis = simulation_kpis(result, sl_threshold=args.sl_threshold, short_abandon=args.short_abandon)
    if not args.quiet:
        seconds = time.perf_counter() - started
        print(
            f"cti simulate: {policy}: {result.offered} calls in {seconds:.1f} s",
            file=sys.stderr,
        )
    return kpis


def _progress(policy: str, total_seconds: float) -> Callable[[float, int], None]:
    last = [time.perf_counter()]

    def report(now: float, finished: int) -> None:
        if time.perf_counter() - last[0] < 2.0:
            return
        last[0] = time.perf_counter()
        share = min(1.0, now / total_seconds) if total_seconds else 1.0
        print(
            f"cti simulate: {policy}: {share:.0%} of the time simulated, {finished} calls done",
            file=sys.stderr,
        )

    return report


def _parameters(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "agents": args.agents,
        "calls_per_hour": args.calls_per_hour,
        "aht_seconds": args.aht,
        "hours": args.hours,
        "seed": args.seed,
        "patience_seconds": args.patience,
        "wrapup_seconds": args.wrapup,
        "sl_threshold": args.sl_threshold,
        "replay": args.replay,
    }


# -- replay -----------------------------------------------------------------------


def _replayed(args: argparse.Namespace) -> list[SimCall]:
    from cti.cli import _when
    from cti.settings import Settings

    start, end = (_when(text) for text in args.replay)
    if end <= start:
        raise ValueError("--replay TO must be after FROM")
    url = args.url or Settings().database_url
    rows = asyncio.run(_read_calls(url, args.tenant, start, end))
    if not rows:
        raise ValueError(f"no recorded calls of tenant {args.tenant!r} in that period")
    return recorded_calls(rows, start, default_handle=args.aht)


def recorded_calls(
    rows: Iterable[dict[str, Any]], start: float, *, default_handle: float
) -> list[SimCall]:
    """Rows of the store's `calls` table as callers to replay, from `start` on.

    An answered call talks as long as it did (talk + hold); a call that was never
    answered talks `default_handle` if it gets through. A caller who abandoned had
    the patience of their wait; one who was answered waits as long as needed.
    """
    calls = []
    for row in rows:
        talk, outcome = row.get("talk_seconds"), row.get("outcome")
        answered = outcome == "answered" and talk is not None
        handle = (talk or 0.0) + (row.get("hold_seconds") or 0.0)
        calls.append(
            SimCall(
                arrival=row["queued_at"] - start,
                queue=row["queue"],
                tier=row.get("tier") or 0,
                customer_id=row.get("customer_id"),
                handle_seconds=handle if answered else default_handle,
                patience=row.get("queue_seconds") if outcome == "abandoned" else None,
                acw_seconds=row.get("acw_seconds"),
            )
        )
    calls.sort(key=lambda call: call.arrival)
    return calls


async def _read_calls(url: str, tenant: str, start: float, end: float) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from cti.db import create_engine
    from cti.store.models import Call

    engine = create_engine(url)
    columns = (
        Call.queued_at,
        Call.queue,
        Call.tier,
        Call.customer_id,
        Call.outcome,
        Call.talk_seconds,
        Call.hold_seconds,
        Call.queue_seconds,
        Call.acw_seconds,
    )
    query = (
        select(*columns)
        .where(Call.tenant_id == tenant)
        .where(Call.direction == "inbound")
        .where(Call.queue.is_not(None))
        .where(Call.queued_at >= start)
        .where(Call.queued_at < end)
        .order_by(Call.queued_at)
    )
    try:
        async with engine.connect() as connection:
            result = await connection.execute(query)
            return [dict(row._mapping) for row in result]
    finally:
        await engine.dispose()


# -- argument types and cells -------------------------------------------------------


def _numbers(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of numbers: {text!r}"
        ) from exc
    if not values or any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"need one or more numbers >= 0: {text!r}")
    return values


def _counts(text: str) -> list[int]:
    values = _numbers(text)
    if any(not v.is_integer() for v in values):
        raise argparse.ArgumentTypeError(f"agents per interval are whole numbers: {text!r}")
    return [int(v) for v in values]


def _tiers(text: str) -> list[tuple[int, float]]:
    tiers = []
    for part in text.split(","):
        tier, _, share = part.partition(":")
        try:
            tiers.append((int(tier), float(share or 1)))
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"tiers are T:SHARE pairs, not {part!r}") from exc
    if any(t < 0 or s <= 0 for t, s in tiers):
        raise argparse.ArgumentTypeError("tiers must be >= 0 with shares > 0")
    return tiers


def _cell(column: str, value: Any) -> str:
    if value is None:
        return "-"
    if column in ("offered", "answered", "abandoned"):
        return str(value)
    if column.endswith("_seconds") or column.startswith("asa_"):
        return f"{value:.1f}"
    return f"{value:.1%}"
