"""The `cti` command: serve, asterisk-config, check-config, demo, users."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from cti import (
    campaign_cli,
    customers_cli,
    db_cli,
    recordings_cli,
    report_cli,
    simulate_cli,
    staffing_cli,
)
from cti.asterisk_conf import write_asterisk_config
from cti.cli_support import settings_and_config
from cti.config import PlatformConfig
from cti.errors import CtiError
from cti.prompts import build_prompts
from cti.service import Service
from cti.settings import Settings
from cti.users_cli import add_arguments as add_users_arguments
from cti.users_cli import run as run_users
from reports.export import render
from reports.grouping import parse_moment
from reports.queue_log import read_queue_log


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cti", description="Open call-center platform")
    parser.add_argument("--config-dir", type=Path, help="configuration folder (CTI_CONFIG_DIR)")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the service")
    conf = sub.add_parser("asterisk-config", help="write a self-contained Asterisk configuration")
    conf.add_argument("--out", type=Path, required=True)
    conf.add_argument(
        "--simulation",
        action="store_true",
        help="add the Local-channel phone stand-ins used by tests and the demo",
    )
    sub.add_parser("check-config", help="validate the configuration and exit")
    prompts = sub.add_parser("prompts", help="our own IVR prompts")
    prompts.add_argument("action", choices=("build",), help="build: speak them into audio files")
    report = sub.add_parser("report", help="KPIs (PRODUCT.md field names) as table, CSV or JSON")
    report.add_argument(
        "--queue-log",
        type=Path,
        help="an Asterisk queue_log written by app_queue (or by our ACD); or --database",
    )
    report.add_argument("--from", dest="from_", type=_when, help="ISO date/time (UTC) or epoch")
    report.add_argument("--to", type=_when, help="ISO date/time (UTC) or epoch, exclusive")
    report.add_argument("--queue")
    report.add_argument("--sl-threshold", type=float, default=20.0)
    report.add_argument("--short-abandon", type=float, default=5.0)
    report.add_argument("--format", choices=("table", "csv", "json"), default="table")
    report_cli.add_arguments(report)
    demo = sub.add_parser("demo", help="Asterisk + service + generated calls")
    demo.add_argument(
        "--seconds",
        type=float,
        default=None,
        help="stop after this many seconds (default: CTI_DEMO_SECONDS or Ctrl-C)",
    )
    demo.add_argument(
        "--calls", type=int, default=0, help="stop placing calls after this many (0: never)"
    )
    add_users_arguments(sub)
    customers_cli.add_arguments(sub)
    campaign_cli.add_arguments(sub)
    db_cli.add_arguments(sub)
    staffing_cli.add_arguments(sub)
    simulate_cli.add_arguments(sub)
    recordings_cli.add_arguments(sub)
    args = parser.parse_args(argv)

    if args.command == "report":
        return _report(args) if args.queue_log and not args.database else report_cli.run(args)
    if args.command == "users":
        return run_users(args)
    if args.command == "customers":
        return customers_cli.run(args)
    if args.command in ("campaign", "dnc"):
        return campaign_cli.run(args)
    if args.command == "db":
        return db_cli.run(args)
    if args.command == "staffing":
        return staffing_cli.run(args)
    if args.command == "simulate":
        return simulate_cli.run(args)
    if args.command == "recordings":
        return recordings_cli.run(args)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    loaded = settings_and_config(args.config_dir)
    if loaded is None:
        return 2
    settings, config = loaded
    if args.command == "check-config":
        print(f"configuration ok: {len(config.tenants)} tenant(s)")
        return 0
    if args.command == "prompts":
        try:
            files = build_prompts(config, settings.prompts_dir)
        except CtiError as exc:
            print(f"cti: {exc}", file=sys.stderr)
            return 2
        print(f"built {len(files)} prompt file(s) under {settings.prompts_dir.resolve()}")
        return 0
    if args.command == "asterisk-config":
        files = write_asterisk_config(args.out, settings, config, simulation=args.simulation)
        print(f"wrote {len(files)} files to {args.out.resolve()}")
        print(f"start with: asterisk -C {args.out.resolve() / 'asterisk.conf'} -f")
        return 0
    if args.command == "demo":
        from cti.demo import run_demo

        return asyncio.run(run_demo(settings, config, seconds=args.seconds, calls=args.calls))
    return asyncio.run(_serve(settings, config))


def _when(text: str) -> float:
    """An epoch, or an ISO date/time read as UTC when it has no offset."""
    try:
        return parse_moment(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _report(args: argparse.Namespace) -> int:
    try:
        with args.queue_log.open(encoding="utf-8", errors="replace") as lines:
            result = read_queue_log(
                lines,
                from_epoch=args.from_,
                to_epoch=args.to,
                queue=args.queue,
                sl_threshold=args.sl_threshold,
                short_abandon=args.short_abandon,
                fcr_window_days=args.fcr_window_days,
            )
    except OSError as exc:
        print(f"cti: cannot read {args.queue_log}: {exc.strerror}", file=sys.stderr)
        return 2
    sys.stdout.write(render(result.queues, result.total, args.format))
    # on standard error in every format: the JSON on standard output stays one object
    print(
        f"malformed lines: {result.malformed_lines}; unknown events: "
        f"{dict(result.unknown_events) or 'none'}; still waiting at the end: "
        f"{result.incomplete_calls}",
        file=sys.stderr,
    )
    return 0


async def _serve(settings: Settings, config: PlatformConfig) -> int:
    service = Service(settings, config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await service.start()
    failed = asyncio.create_task(service.ami.failed())
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({failed, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if failed.done():
            print(f"cti: {failed.result()}", file=sys.stderr)
            return 3
    finally:
        failed.cancel()
        stopped.cancel()
        await service.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
