"""`cti db upgrade [--url]`: bring the database to the current schema (Alembic head)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from cti.db import create_engine
from cti.settings import Settings
from cti.store.schema import current_revision, upgrade


def add_arguments(subparsers: Any) -> None:
    """Add the `db` command to the `cti` parser's subparsers."""
    parser = subparsers.add_parser("db", help="the database: upgrade the schema")
    actions = parser.add_subparsers(dest="db_action", required=True)
    up = actions.add_parser("upgrade", help="apply the migrations up to the newest")
    up.add_argument("--url", help="database URL (default: CTI_DATABASE_URL)")


def run(args: argparse.Namespace) -> int:
    """Carry out `cti db upgrade`; 0 when the schema is current, 2 when it cannot be."""
    url = args.url or Settings().database_url
    try:
        before, after = asyncio.run(_upgrade(url))
    except Exception as exc:  # the database's own error, shown to the operator
        print(f"cti db: cannot upgrade: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    if before == after:
        print(f"database already at {after}")
    else:
        print(f"database upgraded from {before or 'empty'} to {after}")
    return 0


async def _upgrade(url: str) -> tuple[str | None, str | None]:
    engine = create_engine(url)
    try:
        before = await current_revision(engine)
        await upgrade(engine)
        after = await current_revision(engine)
    finally:
        await engine.dispose()
    return before, after
