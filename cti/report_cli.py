"""`cti report --database`: historical KPIs from the store, computed by SQL.

    cti report --database [--url URL] --tenant T --from ISO --to ISO [--queue Q]
        [--agent A] [--by total|queue|agent|interval|day|month] [--interval 15|30|60]
        [--utc-offset MINUTES] [--sl-threshold S] [--short-abandon S]
        [--fcr-window-days D] [--format table|csv|json]

The `report` command reads an Asterisk queue_log (`--queue-log`) or the database
(`--database`); both print the PRODUCT.md fields through `reports.export.render`: the
table and CSV have one row (column) per group then "total". The database report's JSON
is `{"by": ..., "tenant": ..., "from": ISO, "to": ISO, "groups": {key: fields},
"total": fields}`, groups being empty with `--by total` (the queue_log's JSON keeps its
own `{"queues": ..., "total": ...}`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from cti.db import create_engine
from cti.settings import Settings
from cti.store.kpi_queries import GROUPINGS, kpi_report
from reports.export import render
from reports.grouping import BUCKET_MINUTES, local_iso, period_start


def add_arguments(report: argparse.ArgumentParser) -> None:
    """Add the database options to the `report` command's parser (it already has --from,
    --to, --queue, --sl-threshold, --short-abandon and --format)."""
    report.add_argument(
        "--database", action="store_true", help="report from the database instead of a queue_log"
    )
    report.add_argument("--url", help="database URL (default: CTI_DATABASE_URL)")
    report.add_argument("--tenant", help="the tenant whose calls to report (with --database)")
    report.add_argument("--agent", help="only the calls this agent answered, and their time")
    report.add_argument("--by", choices=GROUPINGS, default="total", help="one row per group")
    report.add_argument("--interval", type=int, choices=BUCKET_MINUTES, default=60)
    report.add_argument(
        "--utc-offset",
        type=int,
        default=0,
        metavar="MINUTES",
        help="local time for interval, day and month edges (e.g. 330 for +05:30)",
    )
    report.add_argument("--fcr-window-days", type=float, default=7.0)
    report.add_argument(
        "--direction",
        choices=("inbound", "outbound"),
        default="inbound",
        help="the callers' calls (default) or the calls we placed (with --database)",
    )
    report.add_argument(
        "--campaign", help="the calls this campaign placed (outbound; with --database)"
    )


def run(args: argparse.Namespace) -> int:
    """Carry out `cti report --database`; 2 on a usage or database error."""
    if not args.database or getattr(args, "queue_log", None) is not None:
        print("cti report: give either --queue-log FILE or --database", file=sys.stderr)
        return 2
    if not args.tenant:
        print("cti report: --database needs --tenant", file=sys.stderr)
        return 2
    end = args.to if args.to is not None else time.time()
    start = args.from_ if args.from_ is not None else period_start(end, "day", args.utc_offset)
    if not start < end:
        print("cti report: --from must come before --to", file=sys.stderr)
        return 2
    url = args.url or Settings().database_url
    try:
        groups, total = asyncio.run(_query(url, args, start, end))
    except Exception as exc:  # the database's own error, shown to the operator
        print(f"cti report: cannot read the database: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        document = {
            "by": args.by,
            "tenant": args.tenant,
            "from": local_iso(start, args.utc_offset),
            "to": local_iso(end, args.utc_offset),
            "groups": groups,
            "total": total,
        }
        print(json.dumps(document))  # fields in PRODUCT.md order
        return 0
    sys.stdout.write(render(groups, total, args.format, label=args.by))
    print(
        f"tenant {args.tenant}, calls queued from {local_iso(start, args.utc_offset)} "
        f"to {local_iso(end, args.utc_offset)} (exclusive), {len(groups)} group(s) by {args.by}",
        file=sys.stderr,
    )
    return 0


async def _query(
    url: str, args: argparse.Namespace, start: float, end: float
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    options: dict[str, Any] = {
        "start": start,
        "end": end,
        "interval_minutes": args.interval,
        "queue": args.queue,
        "agent": args.agent,
        "sl_threshold": args.sl_threshold,
        "short_abandon": args.short_abandon,
        "fcr_window_days": args.fcr_window_days,
        "direction": "outbound" if args.campaign else args.direction,
        "campaign": args.campaign,
        "utc_offset_minutes": args.utc_offset,
    }
    engine = create_engine(url)
    try:
        total = (await kpi_report(engine, args.tenant, **options))["total"]
        groups = {}
        if args.by != "total":
            groups = await kpi_report(engine, args.tenant, group_by=args.by, **options)
    finally:
        await engine.dispose()
    return groups, total
