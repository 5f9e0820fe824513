"""`cti customers import FILE.csv --tenant T`: bring a tenant's customers into the store.

The tenant's phone region and tier rules come from its configuration
(`<config_dir>/tenants/*.yaml`); the database (`--url`, default
`CTI_DATABASE_URL`) is brought to the current schema first. Rejected rows are
listed with their line and reason, then one summary line; `--dry-run` reports
the same without writing. See `cti.store.customer_import` for the merging rules.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any, TextIO

from cti.config import PlatformConfig, load_config
from cti.db import create_engine
from cti.errors import ConfigError
from cti.settings import Settings
from cti.store.customer_import import (
    FIELDS,
    ImportFileError,
    ImportReport,
    import_file,
    parse_map_args,
)
from cti.store.customers import TenantScope
from cti.store.schema import upgrade


def add_arguments(subparsers: Any) -> None:
    """Add the `customers` command to the `cti` parser's subparsers."""
    parser = subparsers.add_parser("customers", help="customer records: import")
    actions = parser.add_subparsers(dest="customers_action", required=True)
    load = actions.add_parser(
        "import",
        help="import (merge) customers from a CSV file",
        description=(
            "Columns named like a field are mapped to it; others become self-service "
            f"fields. Fields: {', '.join(FIELDS)}, fields.<name>, or - to skip a column."
        ),
    )
    load.add_argument("file", type=Path, metavar="FILE.csv")
    load.add_argument("--tenant", required=True)
    load.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="COLUMN=FIELD",
        help="map a CSV column to a field (repeatable), e.g. --map Tel=phone",
    )
    load.add_argument("--url", help="database URL (default: CTI_DATABASE_URL)")
    load.add_argument("--dry-run", action="store_true", help="report without writing")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Carry out `cti customers import`; 0 when done, 1 if rows were rejected, 2 on error."""
    out = out or sys.stdout
    config_dir = getattr(args, "config_dir", None)
    settings = Settings() if config_dir is None else Settings(config_dir=config_dir)
    try:
        scope = _scope(load_config(settings.config_dir), args.tenant)
        overrides = parse_map_args(args.map)
        report = asyncio.run(
            _import(args.url or settings.database_url, scope, args.file, overrides, args.dry_run)
        )
    except (ConfigError, ImportFileError) as exc:
        print(f"cti customers: {exc}", file=sys.stderr)
        return 2
    print_report(report, out)
    return 1 if report.rejected else 0


def _scope(config: PlatformConfig, tenant_id: str) -> TenantScope:
    try:
        return TenantScope.from_config(config.tenant(tenant_id))
    except KeyError:
        known = ", ".join(t.tenant.id for t in config.tenants)
        raise ConfigError("tenants", None, f"no tenant {tenant_id!r} (known: {known})") from None


async def _import(
    url: str, scope: TenantScope, path: Path, overrides: dict[str, str], dry_run: bool
) -> ImportReport:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        return await import_file(engine, scope, path, overrides, dry_run=dry_run)
    finally:
        await engine.dispose()


def print_report(report: ImportReport, out: TextIO) -> None:
    for column, target in report.mapping.items():
        print(f"column {column!r} -> {target}", file=out)
    for rejected in report.rejected:
        print(f"line {rejected.line}: rejected: {rejected.reason}", file=out)
    print(("dry run, nothing written: " if report.dry_run else "") + report.summary(), file=out)
