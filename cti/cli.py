"""The `cti` command: serve, asterisk-config, check-config, demo."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from cti.asterisk_conf import write_asterisk_config
from cti.config import PlatformConfig, load_config
from cti.errors import ConfigError
from cti.service import Service
from cti.settings import Settings


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
    demo = sub.add_parser("demo", help="Asterisk + service + generated calls")
    demo.add_argument(
        "--seconds",
        type=float,
        default=None,
        help="stop after this many seconds (default: CTI_DEMO_SECONDS or Ctrl-C)",
    )
    demo.add_argument("--calls", type=int, default=6)
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    settings = Settings() if args.config_dir is None else Settings(config_dir=args.config_dir)
    try:
        config = load_config(settings.config_dir)
    except ConfigError as exc:
        print(f"cti: configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "check-config":
        print(f"configuration ok: {len(config.tenants)} tenant(s)")
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
