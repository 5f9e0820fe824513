"""`cti campaign ...` and `cti dnc ...`: campaigns and the do-not-call list from a shell.

    cti campaign create spring --tenant acme --name "Spring offer" --queue sales \\
        --caller-id +33140000000 [--mode progressive] [--hours 09:00-20:00] \\
        [--days mon,tue,wed,thu,fri] [--zone Europe/Paris] [--max-attempts 3] ...
    cti campaign import spring list.csv --tenant acme
    cti campaign start|pause|resume|stop spring --tenant acme
    cti campaign status [spring] --tenant acme [--format table|json]
    cti dnc add|remove NUMBER --tenant acme [--reason "..."];  cti dnc list --tenant acme

The running service's dialer follows the store: a campaign started here is dialed by
it; one paused or stopped here has its calls not yet given an agent withdrawn at the
dialer's next turn. Exit status 0 done, 1 lines rejected by an import, 2 refused.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.ext.asyncio import AsyncEngine

from acd.campaign import CampaignError
from cti.config import load_config
from cti.customers_cli import _scope
from cti.db import create_engine
from cti.errors import ConfigError
from cti.settings import Settings
from cti.store import campaigns as store
from cti.store.customers import InvalidPhone, TenantScope
from cti.store.schema import upgrade

PROGRESS = ("contacts", "dialed", "connected", "contact_rate", "remaining")


def add_arguments(subparsers: Any) -> None:
    campaign = subparsers.add_parser("campaign", help="outbound campaigns: create, fill, run")
    actions = campaign.add_subparsers(dest="campaign_action", required=True)
    create = actions.add_parser("create", help="a new campaign (draft)")
    create.add_argument("id")
    create.add_argument("--name", required=True)
    create.add_argument("--queue", required=True, help="whose agents make the calls")
    create.add_argument("--caller-id", required=True, help="the number customers see")
    create.add_argument("--mode", default="progressive", choices=store.MODES)
    create.add_argument("--hours", default="09:00-20:00", help="in each customer's local time")
    create.add_argument("--days", default="mon,tue,wed,thu,fri")
    create.add_argument("--zone", default="UTC", help="for customers whose zone is unknown")
    create.add_argument("--busy-minutes", type=float, default=10.0)
    create.add_argument("--no-answer-minutes", type=float, default=30.0)
    create.add_argument("--failed-minutes", type=float, default=60.0)
    create.add_argument("--max-attempts", type=int, default=3)
    create.add_argument("--ring-seconds", type=int, default=25)
    create.add_argument("--record", action="store_true", help="record the calls")
    create.add_argument(
        "--dispositions", default="", help="its wrap-up codes, e.g. sale,no_interest (default: all)"
    )
    load = actions.add_parser("import", help="add a CSV list (phone, name, customer_id, timezone)")
    load.add_argument("id")
    load.add_argument("file", type=Path, metavar="FILE.csv")
    for action in store.MOVES:
        actions.add_parser(action, help=f"{action} the campaign").add_argument("id")
    status = actions.add_parser("status", help="progress of one campaign or all")
    status.add_argument("id", nargs="?")
    status.add_argument("--format", choices=("table", "json"), default="table")
    dnc = subparsers.add_parser("dnc", help="the do-not-call list")
    dnc_actions = dnc.add_subparsers(dest="dnc_action", required=True)
    add = dnc_actions.add_parser("add", help="never call this number")
    add.add_argument("number")
    add.add_argument("--reason")
    dnc_actions.add_parser("remove", help="take a number off the list").add_argument("number")
    dnc_actions.add_parser("list", help="the tenant's list")
    for parser in (*actions.choices.values(), *dnc_actions.choices.values()):
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--url", help="database URL (default: CTI_DATABASE_URL)")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    config_dir = getattr(args, "config_dir", None)
    settings = Settings() if config_dir is None else Settings(config_dir=config_dir)
    try:
        config = load_config(settings.config_dir)
        scope = _scope(config, args.tenant)
        queues = [q.id for q in config.tenant(args.tenant).queues]
        args.codes = [d.code for d in config.tenant(args.tenant).dispositions]
        command = _campaign if args.command == "campaign" else _dnc
        return asyncio.run(
            _with_engine(args.url or settings.database_url, command, args, scope, queues, out)
        )
    except (ConfigError, CampaignError, InvalidPhone) as exc:
        print(f"cti {args.command}: {exc}", file=sys.stderr)
        return 2


Command = Callable[
    [AsyncEngine, argparse.Namespace, TenantScope, list[str], TextIO], Awaitable[int]
]


async def _with_engine(
    url: str,
    command: Command,
    args: argparse.Namespace,
    scope: TenantScope,
    queues: list[str],
    out: TextIO,
) -> int:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        return await command(engine, args, scope, queues, out)
    finally:
        await engine.dispose()


async def _campaign(
    engine: AsyncEngine,
    args: argparse.Namespace,
    scope: TenantScope,
    queues: list[str],
    out: TextIO,
) -> int:
    tenant = scope.tenant_id
    action = args.campaign_action
    if action == "create":
        spec = store.CampaignSpec(
            id=args.id,
            name=args.name,
            queue=args.queue,
            caller_id=args.caller_id,
            mode=args.mode,
            hours=args.hours,
            days=tuple(d.strip() for d in args.days.split(",") if d.strip()),
            zone=args.zone,
            busy_minutes=args.busy_minutes,
            no_answer_minutes=args.no_answer_minutes,
            failed_minutes=args.failed_minutes,
            max_attempts=args.max_attempts,
            ring_seconds=args.ring_seconds,
            record=args.record,
            dispositions=tuple(c.strip() for c in args.dispositions.split(",") if c.strip()),
        )
        made = await store.create_campaign(engine, tenant, spec, queues, args.codes)
        print(f"campaign {made.spec.id} created ({made.status})", file=out)
        return 0
    if action == "import":
        try:
            text = args.file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CampaignError(f"{args.file}: {exc}") from None
        report = await store.import_contacts(engine, scope, args.id, text)
        for line, why in report.rejected:
            print(f"line {line}: rejected: {why}", file=out)
        print(
            f"{report.added} added, {report.duplicates} already listed,"
            f" {report.linked} linked to customers, {len(report.rejected)} rejected",
            file=out,
        )
        return 1 if report.rejected else 0
    if action in store.MOVES:
        moved = await store.move_campaign(engine, tenant, args.id, action)
        print(f"campaign {moved.spec.id}: {moved.status}", file=out)
        return 0
    views = (
        [await store.get_campaign(engine, tenant, args.id)]
        if args.id
        else await store.list_campaigns(engine, tenant)
    )
    rows = [
        {**v.as_dict(), "progress": await store.progress(engine, tenant, v.spec.id)} for v in views
    ]
    if args.format == "json":
        print(json.dumps(rows, indent=2), file=out)
        return 0
    print(f"{'campaign':<16}{'status':<10}" + "".join(f"{p:>14}" for p in PROGRESS), file=out)
    for row in rows:
        figures = row["progress"]
        rate = figures["contact_rate"]
        shown = {**figures, "contact_rate": "-" if rate is None else f"{rate:.1%}"}
        print(
            f"{row['id']:<16}{row['status']:<10}" + "".join(f"{shown[p]!s:>14}" for p in PROGRESS),
            file=out,
        )
    return 0


async def _dnc(
    engine: AsyncEngine,
    args: argparse.Namespace,
    scope: TenantScope,
    _queues: list[str],
    out: TextIO,
) -> int:
    if args.dnc_action == "add":
        number = await store.add_dnc(engine, scope, args.number, args.reason, "cli")
        print(f"{number} will never be called", file=out)
    elif args.dnc_action == "remove":
        if not await store.remove_dnc(engine, scope, args.number):
            raise CampaignError(f"{args.number} is not on the do-not-call list")
        print(f"{args.number} taken off the do-not-call list", file=out)
    else:
        for entry in await store.list_dnc(engine, scope.tenant_id):
            print(f"{entry['number']}\t{entry['reason'] or ''}", file=out)
    return 0
