"""`cti demo`: a real Asterisk, our service, and generated calls.

Generates an Asterisk configuration (with the Local-channel phone stand-ins)
under `var/demo/`, starts Asterisk and the service, places a few calls into
`cti-inbound` from different caller numbers, and prints what the service saw.
Stops on Ctrl-C, or by itself after `seconds` (`CTI_DEMO_SECONDS`), leaving no
process behind either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import time
from pathlib import Path

from cti.asterisk_conf import write_asterisk_config
from cti.asterisk_proc import AsteriskProcess
from cti.calls import CallEnded
from cti.config import PlatformConfig
from cti.prompts import build_prompts
from cti.service import Service
from cti.settings import Settings
from cti.store.customer_import import import_file
from cti.store.customers import TenantScope

DEMO_DIR = Path("var/demo")


async def run_demo(
    settings: Settings, config: PlatformConfig, *, seconds: float | None, calls: int
) -> int:
    if seconds is None and os.environ.get("CTI_DEMO_SECONDS"):
        seconds = float(os.environ["CTI_DEMO_SECONDS"])
    settings = settings.model_copy(update={"agent_device": "Local/{extension}@cti-sim-agent/n"})
    conf_dir = (DEMO_DIR / "asterisk").resolve()
    write_asterisk_config(conf_dir, settings, config, simulation=True)
    built = build_prompts(config, settings.prompts_dir)
    print(f"demo: {len(built)} IVR prompt(s) spoken into {settings.prompts_dir}")
    asterisk = AsteriskProcess(conf_dir, settings.asterisk_bin)
    print(f"demo: starting Asterisk from {conf_dir}")
    asterisk.start()
    service = Service(settings, config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await service.start()
        await _import_customers(service, config, settings)
        await service.ami.wait_connected(15)
        print(
            f"demo: service up, health at http://{settings.http_host}:{settings.http_port}/health"
        )
        await _agents_ready(service, config)
        generator = asyncio.create_task(_place_calls(service, config, calls, stop))
        wrapper = asyncio.create_task(_wrap_up(service))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)
        for task in (generator, wrapper):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        _summary(service)
    finally:
        await service.stop()
        asterisk.stop()
        print("demo: stopped Asterisk and the service")
    return 0


async def _agents_ready(service: Service, config: PlatformConfig) -> None:
    """Simulated agents: their phones answer after 1-3 s and talk 3-8 s."""
    rng = random.Random(3)
    for tenant in config.tenants:
        runner = service.acd[tenant.tenant.id]
        for agent in tenant.agents:
            ext = agent.extension
            await service.ami.action("Setvar", Variable=f"SIM_RING_{ext}", Value=rng.randint(1, 3))
            await service.ami.action("Setvar", Variable=f"SIM_TALK_{ext}", Value=rng.randint(3, 8))
            runner.login(agent.id)
            runner.ready(agent.id)
            print(f"demo: agent {agent.name} ({ext}) logged in and ready")


async def _wrap_up(service: Service) -> None:
    """Simulated agents finish their after-call work 3 s after the call."""
    since: dict[str, float] = {}
    while True:
        now = time.monotonic()
        for runner in service.acd.values():
            for agent_id, state in runner.agent_states.items():
                if state != "wrap_up":
                    since.pop(agent_id, None)
                elif now - since.setdefault(agent_id, now) >= 3:
                    runner.wrapup_done(agent_id)
        await asyncio.sleep(0.5)


async def _place_calls(
    service: Service, config: PlatformConfig, calls: int, stop: asyncio.Event
) -> None:
    rng = random.Random(7)
    numbers = [n for t in config.tenants for n in t.tenant.numbers]
    for i in range(calls):
        caller = f"+3361234{rng.randrange(10_000):04d}"
        dnis = numbers[i % len(numbers)]
        hold = rng.randint(8, 20)
        await service.ami.originate(
            f"Local/{dnis}@cti-inbound",
            context="cti-sim-caller",
            exten=rng.choice("1112"),
            caller_id=f'"Caller {i + 1}" <{caller}>',
            variables={"SIM_HOLD": str(hold)},
        )
        print(f"demo: placed call {i + 1}/{calls}: {caller} -> {dnis}, will hang up after {hold}s")
        await asyncio.sleep(rng.uniform(0.5, 2.0))
    await stop.wait()


def _summary(service: Service) -> None:
    ended = [c for c in service.call_changes if isinstance(c, CallEnded)]
    print(f"demo: the service saw {len(ended)} call(s) end, {len(service.calls.calls)} still live")
    outcomes = {cid: o for r in service.acd.values() for cid, o in r.stats.outcomes.items()}
    print(f"demo: ACD outcomes: {sorted(outcomes.values())}")
    for call in ended:
        print(
            f"  {call.call_id:>16}  ani={call.ani:<14} dnis={call.dnis:<6}"
            f" {call.duration_seconds:5.1f}s  cause={call.cause} {call.cause_text}"
        )


async def _import_customers(service: Service, config: PlatformConfig, settings: Settings) -> None:
    """The example customers (idempotent: a second import changes nothing)."""
    path = settings.config_dir / "customers.csv"
    if not path.exists():
        return
    for tenant in config.tenants:
        report = await import_file(service.engine, TenantScope.from_config(tenant), path)
        print(
            f"demo: customers of {tenant.tenant.id}: {report.created} new,"
            f" {report.updated} updated, {len(report.rejected)} rejected"
        )
