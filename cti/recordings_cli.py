"""`cti recordings purge [--tenant T] [--dry-run]`: delete recordings past retention.

Each tenant keeps its recordings `recording_retention_days` (tenant configuration);
older files and their rows are deleted. `--dry-run` lists them and deletes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from typing import Any

from cti.cli_support import settings_and_config
from cti.config import PlatformConfig
from cti.db import create_engine
from cti.recording import Purged, purge
from cti.store.schema import upgrade


def add_arguments(subparsers: Any) -> None:
    """Add the `recordings` command to the `cti` parser's subparsers."""
    parser = subparsers.add_parser("recordings", help="call recordings: purge past retention")
    actions = parser.add_subparsers(dest="recordings_action", required=True)
    clean = actions.add_parser("purge", help="delete recordings older than the retention")
    clean.add_argument("--tenant", help="only this tenant (default: every tenant)")
    clean.add_argument("--dry-run", action="store_true", help="list them, delete nothing")
    clean.add_argument("--url", help="database URL (default: CTI_DATABASE_URL)")


def run(args: argparse.Namespace) -> int:
    loaded = settings_and_config(args.config_dir)
    if loaded is None:
        return 2
    settings, config = loaded
    if args.tenant is not None and args.tenant not in {t.tenant.id for t in config.tenants}:
        print(f"cti recordings: unknown tenant {args.tenant!r}", file=sys.stderr)
        return 2
    purged = asyncio.run(_purge(args.url or settings.database_url, config, args))
    for item in purged:
        when = datetime.fromtimestamp(item.started_at, UTC).isoformat(timespec="seconds")
        print(f"{item.tenant}\t{item.call_id}\t{when}\t{item.path}")
    verb = "would delete" if args.dry_run else "deleted"
    print(f"{verb} {len(purged)} recording(s)")
    return 0


async def _purge(url: str, config: PlatformConfig, args: argparse.Namespace) -> list[Purged]:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        return await purge(engine, config, tenant=args.tenant, dry_run=args.dry_run)
    finally:
        await engine.dispose()
