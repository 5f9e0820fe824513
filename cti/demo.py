"""`cti demo`: the platform's showcase on a real Asterisk.

Generates an Asterisk configuration (with the Local-channel phone stand-ins)
under `var/demo/`, starts Asterisk and the service (SQLite store in `var/`),
imports the example customers, and then:

- simulated agents log in, answer on their stand-in phones and wrap up;
- one agent seat (each tenant's last agent) is left free for the person trying
  it: log in to the console as that agent and take calls, with the screen pop;
- a traffic generator places calls through the IVR with DTMF (sales, support,
  an account number keyed in, a callback request), some from known customers;
- a progressive campaign of the example customers (acme's sales queue) is created,
  left as a draft for the supervisor to start from the wallboard;
- the console and the wallboard URLs, with demo users, are printed.

Customers' phones (callbacks, click-to-call, campaigns) are stand-ins too: they ring
and answer in the simulation contexts.

Stops on Ctrl-C, or by itself after `seconds` (`CTI_DEMO_SECONDS`), leaving no
process behind either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import os
import random
import signal
import time
from pathlib import Path

from acd.campaign import DAYS, CampaignError
from cti.asterisk_conf import write_asterisk_config
from cti.asterisk_proc import AsteriskProcess
from cti.calls import CallEnded
from cti.config import PlatformConfig
from cti.errors import CtiError
from cti.prompts import build_prompts
from cti.service import Service
from cti.settings import Settings
from cti.store import campaigns as campaign_store
from cti.store import users
from cti.store.customer_import import import_file
from cti.store.customers import TenantScope

DEMO_DIR = Path("var/demo")
DEMO_PASSWORD = "demo-password"
# (caller number or None for a new one, DTMF keys, what they do) - the example IVR menu
DEMO_CALLERS = [
    ("+33612345305", "1", "Jeanne Martin (known, tier 3) presses 1 for sales"),
    ("+33612340791", "2", "Paul Durand (known) presses 2 for support"),
    ("+33612341542", "1", "Amina Diallo (known) presses 1 for sales"),
    (None, "1", "a new caller presses 1 for sales"),
    (None, "2", "a new caller presses 2 for support"),
    (None, "379927398713#", "a new caller keys Jeanne's account number"),
    (None, "9", "a new caller asks to be called back"),
]


async def run_demo(
    settings: Settings, config: PlatformConfig, *, seconds: float | None, calls: int
) -> int:
    if seconds is None and os.environ.get("CTI_DEMO_SECONDS"):
        seconds = float(os.environ["CTI_DEMO_SECONDS"])
    settings = settings.model_copy(
        update={
            "agent_device": "Local/{extension}@cti-sim-agent/n",
            "outbound_device": "Local/{number}@cti-sim-agent/n",  # customers answer too
        }
    )
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
        free = await _agents_ready(service, config)
        await _demo_users(service, config, settings, free)
        await _demo_campaign(service, config, settings)
        generator = asyncio.create_task(_place_calls(service, config, calls, stop))
        wrapper = asyncio.create_task(_wrap_up(service, free))
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


async def _agents_ready(service: Service, config: PlatformConfig) -> set[str]:
    """Simulated agents: their phones answer after 1-3 s and talk 5-15 s. Each tenant's
    last agent is left to the visitor (their stand-in phone answers after 2 s and talks
    20 s; the visitor logs in, goes ready and wraps up in the console). Returns those."""
    rng = random.Random(3)
    free: set[str] = set()
    for tenant in config.tenants:
        runner = service.acd[tenant.tenant.id]
        for agent in tenant.agents:
            ext = agent.extension
            seat = agent is tenant.agents[-1] and len(tenant.agents) > 1
            ring, talk = (2, 20) if seat else (rng.randint(1, 3), rng.randint(5, 15))
            await service.ami.action("Setvar", Variable=f"SIM_RING_{ext}", Value=ring)
            await service.ami.action("Setvar", Variable=f"SIM_TALK_{ext}", Value=talk)
            if seat:
                free.add(agent.id)
                continue
            runner.login(agent.id)
            runner.ready(agent.id)
            print(f"demo: agent {agent.name} ({ext}) logged in and ready")
    return free


async def _demo_users(
    service: Service, config: PlatformConfig, settings: Settings, free: set[str]
) -> None:
    """A user for each free seat and a supervisor per tenant (password: demo-password)."""
    base = f"http://{settings.http_host}:{settings.http_port}"
    for tenant in config.tenants:
        tid = tenant.tenant.id
        wanted = [("supervisor", "supervisor", None)]
        wanted += [(a.id, "agent", a.id) for a in tenant.agents if a.id in free]
        for username, role, agent_id in wanted:
            if await users.get_user(service.engine, tid, username) is None:
                await users.create_user(
                    service.engine, tid, username, role, DEMO_PASSWORD, agent_id=agent_id
                )
            page = "wallboard" if role == "supervisor" else "console"
            print(
                f"demo: {page:<9} {base}/login  tenant {tid}, user {username},"
                f" password {DEMO_PASSWORD}"
            )


async def _demo_campaign(service: Service, config: PlatformConfig, settings: Settings) -> None:
    """A progressive campaign calling the example customers for the first tenant's first
    queue, as a draft (idempotent): the supervisor starts it from the wallboard."""
    path = settings.config_dir / "customers.csv"
    tenant = config.tenants[0]
    if not path.exists() or not tenant.queues:
        return
    tid, queue = tenant.tenant.id, tenant.queues[0].id
    spec = campaign_store.CampaignSpec(
        id="demo-renewals",
        name="Contract renewals (demo)",
        queue=queue,
        caller_id=tenant.tenant.numbers[0] if tenant.tenant.numbers else "5000",
        hours="00:00-23:59",
        days=DAYS,
        zone=tenant.tenant.timezone,
        ring_seconds=20,
    )
    try:
        await campaign_store.get_campaign(service.engine, tid, spec.id)
        return  # made by an earlier run
    except CampaignError:
        pass
    await campaign_store.create_campaign(
        service.engine,
        tid,
        spec,
        [q.id for q in tenant.queues],
        [d.code for d in tenant.dispositions],
    )
    lines = ["customer_id,name,phone"]
    with path.open(encoding="utf-8") as rows:
        for row in csv.DictReader(rows):
            phone = (row.get("phone") or "").split(";")[0]
            if phone:
                lines.append(f"{row['id']},{row['name']},{phone}")
    report = await campaign_store.import_contacts(service.engine, tid, spec.id, "\n".join(lines))
    print(
        f"demo: campaign {spec.id} ({spec.mode}, queue {queue}): {report.added} contacts,"
        " a draft: start it from the wallboard"
    )


async def _wrap_up(service: Service, free: set[str]) -> None:
    """Simulated agents finish their after-call work 3 s after the call (not the visitor)."""
    since: dict[str, float] = {}
    while True:
        now = time.monotonic()
        for runner in service.acd.values():
            for agent_id, state in runner.agent_states.items():
                if state != "wrap_up" or agent_id in free:
                    since.pop(agent_id, None)
                elif now - since.setdefault(agent_id, now) >= 3:
                    runner.wrapup_done(agent_id)
        await asyncio.sleep(0.5)


async def _place_calls(
    service: Service, config: PlatformConfig, calls: int, stop: asyncio.Event
) -> None:
    """`calls` calls (0: until stopped), about one every 5 s, through the IVR's menu."""
    rng = random.Random(7)
    numbers = [n for t in config.tenants for n in t.tenant.numbers]
    i = 0
    while calls == 0 or i < calls:
        if stop.is_set():
            return
        caller, keys, what = rng.choice(DEMO_CALLERS)
        if caller is None:
            caller = f"+3361234{rng.randrange(10_000):04d}"
        dnis = numbers[i % len(numbers)]
        hold = rng.randint(15, 60)
        try:
            await service.ami.originate(
                f"Local/{dnis}@cti-inbound",
                context="cti-sim-caller",
                exten=keys,
                caller_id=f'"Caller {i + 1}" <{caller}>',
                variables={"SIM_HOLD": str(hold)},
            )
            print(f"demo: call {i + 1}: {caller} -> {dnis}, {what}, patience {hold}s")
        except CtiError as exc:
            print(f"demo: call {i + 1} not placed: {exc}")
        i += 1
        await asyncio.sleep(rng.uniform(2.0, 8.0))
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
