"""AMI ingest benchmark: our parser, normaliser and call model vs bare panoramisk.

    python bench/ami_ingest.py [--quick] [--json]      replay the recorded stream
    python bench/ami_ingest.py --record [--calls N]    record a new stream from a
                                                       real Asterisk into the fixture

The fixture is a real AMI byte stream recorded from a generated Asterisk:
callers enter `cti-inbound`, pass our FastAGI, wait in `cti-wait`, are
redirected to `cti-connect` and answered by simulated agents. The replay feeds
it through `AmiLink.replay` (framing, parsing, typed events) into a `CallModel`,
and beside it through panoramisk's parser alone; the ratio shows how close our
pipeline runs to the parser's own limit.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cti.ami import AmiLink, parse_bare  # noqa: E402
from cti.ami_events import AmiEvent, UserEvent  # noqa: E402
from cti.calls import CallEnded, CallModel  # noqa: E402

FIXTURE = ROOT / "bench" / "fixtures" / "ami_stream.raw.gz"


def replay_ours(data: bytes) -> tuple[int, int]:
    """One pass of the full pipeline; returns (events, calls ended)."""
    link = AmiLink("127.0.0.1", 0, "bench", "bench", clock=lambda: 0.0)
    model = CallModel()
    ended = 0

    def fold(event: AmiEvent) -> None:
        nonlocal ended
        for change in model.apply(event):
            ended += isinstance(change, CallEnded)

    link.subscribe(fold)
    link.replay(data, chunk_size=8192)
    return link.stats.messages, ended


def measure(data: bytes, repeats: int) -> dict[str, float]:
    messages, ended = replay_ours(data)
    best_ours = best_bare = float("inf")
    for _ in range(repeats):
        began = time.perf_counter()
        replay_ours(data)
        best_ours = min(best_ours, time.perf_counter() - began)
        began = time.perf_counter()
        bare = parse_bare(data)
        best_bare = min(best_bare, time.perf_counter() - began)
    ours_rate = messages / best_ours
    bare_rate = bare / best_bare
    return {
        "events": messages,
        "calls": ended,
        "bytes": len(data),
        "events_per_second": round(ours_rate),
        "parser_events_per_second": round(bare_rate),
        "ratio": round(ours_rate / bare_rate, 3),
    }


async def record(calls: int) -> None:
    from cti.asterisk_conf import write_asterisk_config
    from cti.asterisk_proc import AsteriskProcess, free_port, free_udp_port
    from cti.config import load_config
    from cti.service import Service
    from cti.settings import Settings

    config = load_config(ROOT / "config")
    settings = Settings(
        ami_port=free_port(),
        agi_port=free_port(),
        http_port=free_port(),
        sip_port=free_udp_port(),
        agent_device="Local/{extension}@cti-sim-agent/n",
    )
    with tempfile.TemporaryDirectory() as tmp:
        write_asterisk_config(Path(tmp), settings, config, simulation=True)
        asterisk = AsteriskProcess(Path(tmp))
        asterisk.start()
        service = Service(settings, config)  # serves the FastAGI the dialplan calls
        raw = Path(tmp) / "stream.raw"
        recorder = AmiLink(
            "127.0.0.1", settings.ami_port, settings.ami_user, settings.ami_secret, record_to=raw
        )
        rng = random.Random(1)
        agents = [a.extension for _, a in config.all_agents()]
        pending: list[str] = []
        recorder.subscribe(
            lambda e: (
                pending.append(e.uniqueid)
                if isinstance(e, UserEvent) and e.name == "CtiWaiting"
                else None
            )
        )
        try:
            await service.start()
            await recorder.start(wait=10)
            for ext in agents:
                await recorder.action("Setvar", Variable=f"SIM_TALK_{ext}", Value="2")
            for i in range(calls):
                await recorder.originate(
                    f"Local/500{i % 2}@cti-inbound",
                    context="cti-sim-caller",
                    exten="1",
                    caller_id=f'"Caller {i}" <+336{rng.randrange(10**8):08d}>',
                    variables={"SIM_HOLD": "30"},
                )
                await asyncio.sleep(0.3)
                while pending:
                    uniqueid = pending.pop()
                    await recorder.action(
                        "Redirect",
                        Channel=await _channel_of(recorder, uniqueid),
                        Context="cti-connect",
                        Exten=rng.choice(agents),
                        Priority=1,
                    )
            await asyncio.sleep(8)
        finally:
            await recorder.close()
            await service.stop()
            asterisk.stop()
        FIXTURE.write_bytes(gzip.compress(raw.read_bytes(), 9))
    print(f"recorded {FIXTURE.stat().st_size} bytes from {calls} calls into {FIXTURE}")


async def _channel_of(link: AmiLink, uniqueid: str) -> str:
    for entry in await link.action_list("CoreShowChannels"):
        if entry.get("Uniqueid") == uniqueid:
            return entry["Channel"]
    raise LookupError(uniqueid)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run (CI)")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.add_argument("--record", action="store_true", help="record a new fixture")
    parser.add_argument("--calls", type=int, default=40)
    args = parser.parse_args()
    if args.record:
        asyncio.run(record(args.calls))
        return 0
    data = gzip.decompress(FIXTURE.read_bytes())
    figures = measure(data, repeats=3 if args.quick else 15)
    print(
        f"stream: {figures['bytes']} bytes, {figures['events']} messages, {figures['calls']} calls"
    )
    print(f"ours (framing + typed events + call model): {figures['events_per_second']:,} events/s")
    print(
        f"panoramisk parser alone:                    "
        f"{figures['parser_events_per_second']:,} events/s"
    )
    print(f"ratio: {figures['ratio']}")
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
