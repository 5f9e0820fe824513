"""The composition root: `cti serve` wires every part into one asyncio process.

AMI link -> call model (one log line per call event); FastAGI server with the
IVR's entry script; the MQTT bus; the database engine; the HTTP app with
`/health`; and the heartbeat that tells the dialplan we are alive (the global
`CTI_HEARTBEAT`, whose staleness sends waiting callers to the native queue).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import uvicorn

from acd.runner import AcdRunner
from agent_console.app import create_app
from agent_console.hub import Hub
from cti.agi import AgiServer
from cti.ami import AmiLink
from cti.ami_events import AmiEvent, LinkDown, LinkUp
from cti.bus import Bus
from cti.callback_scheduler import take_due_callbacks
from cti.calls import CallAnswered, CallArrived, CallChange, CallEnded, CallModel
from cti.campaign_dialer import dial_due
from cti.config import PlatformConfig, TenantConfig
from cti.console import ConsoleBridge
from cti.db import create_engine, database_status
from cti.errors import AsteriskError
from cti.live_publisher import LivePublisher
from cti.queue_log_writer import QueueLogWriter
from cti.recording import Recorder
from cti.settings import Settings
from cti.store import campaigns as campaign_store
from cti.store.calls import records_since
from cti.store.directory import StoreDirectories
from cti.store.journal import Journal
from cti.store.reference import mirror_config
from cti.store.schema import upgrade
from cti.tasks import stop_task
from ivr.agi import inbound_handler, survey_handler
from ivr.menu import Session as IvrSession
from reports import events as ev
from reports.events import DomainEvent
from reports.live import LiveOptions

log = logging.getLogger("cti.service")

HEARTBEAT_SECONDS = 2.0


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the service owns Ctrl-C."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Service:
    def __init__(self, settings: Settings, config: PlatformConfig) -> None:
        self.settings = settings
        self.config = config
        self.started_at = time.time()
        self.calls = CallModel()
        self.ami = AmiLink(
            settings.ami_host,
            settings.ami_port,
            settings.ami_user,
            settings.ami_secret,
            action_timeout=settings.ami_action_timeout,
            ping_interval=settings.ami_ping_interval,
            ping_timeout=settings.ami_ping_timeout,
        )
        self.ami.subscribe(self._on_ami_event)
        self.agi = AgiServer(settings.agi_host, settings.agi_port)
        self.engine = create_engine(settings.database_url)
        self.customers = StoreDirectories(self.engine, config)
        self.ivr_sessions: OrderedDict[str, IvrSession] = OrderedDict()
        self.agi.route(
            "inbound",
            inbound_handler(
                config,
                self.customers.for_tenant,
                prompts_dir=settings.prompts_dir,
                on_finish=self._on_ivr_finished,
            ),
        )
        self.survey_results: list[tuple[str, str, str | None, list[int]]] = []

        def on_survey(
            tenant_id: str, call_id: str, agent_id: str | None, scores: list[int]
        ) -> None:
            """A caller's survey answers: to the journal, and the last few kept here."""
            self.survey_results.append((tenant_id, call_id, agent_id, scores))
            del self.survey_results[:-1000]
            journal = getattr(self, "journal", None)
            if journal is not None:
                journal.event(
                    tenant_id,
                    "survey.answered",
                    call_id=call_id,
                    agent_id=agent_id,
                    data={"scores": scores},
                )

        self.agi.route(
            "survey",
            survey_handler(config, prompts_dir=settings.prompts_dir, on_result=on_survey),
        )
        self.bus = Bus(settings.mqtt_url, client_id=settings.mqtt_client_id)
        self.journal = Journal(self.engine)
        self.app = create_app(self.health, engine=self.engine, config=config, settings=settings)
        self.acd = {
            t.tenant.id: AcdRunner(t, self.ami, settings, record=self._record)
            for t in config.tenants
        }
        self._call_tenants: dict[str, str] = {}  # live call id -> tenant
        self.live = LivePublisher(
            self.bus, options=LiveOptions(minutes=settings.live_interval_minutes)
        )
        self.journal.subscribe(self.live.on_event)
        for tenant in config.tenants:  # each queue's figures count its agents by state
            stats = self.live.board.tenant(tenant.tenant.id)
            for queue in tenant.queues:
                stats.serve(queue.id, [a.id for a in tenant.agents if queue.id in a.queues])
        self.queue_log = QueueLogWriter(str(settings.queue_log_path))
        self.journal.subscribe(self.queue_log.on_event)
        self.hub: Hub = self.app.state.hub
        self.console = ConsoleBridge(
            config, self.acd, self.journal, self.hub, self.engine, live=self.live.snapshot
        )
        self.live.subscribe(self.console.on_live)
        self.app.state.center = self.console
        self.recorder = Recorder(config, self.ami, self.calls, self.engine, settings.recordings_dir)
        self.journal.subscribe(self.recorder.on_event)
        self.console.recorder = self.recorder
        self.recorder.on_change = self.console.recording_changed
        self.call_changes: list[CallChange] = []
        self._http: _QuietServer | None = None
        self._tasks: list[asyncio.Task[Any]] = []

    async def start(self) -> None:
        """Start every part; the AMI link keeps retrying in the background."""
        await upgrade(self.engine)
        await mirror_config(self.engine, self.config)
        await self.journal.recover()
        await self._seed_live()
        await self.journal.start()
        await self.live.start()
        await self.queue_log.start()
        await self.agi.start()
        await self.bus.start()
        for runner in self.acd.values():
            runner.start()
        await self.ami.start()
        self.recorder.start()
        config = uvicorn.Config(
            self.app,
            host=self.settings.http_host,
            port=self.settings.http_port,
            log_level="warning",
            lifespan="off",
        )
        self._http = _QuietServer(config)
        self._tasks.append(asyncio.create_task(self._http.serve(), name="http"))
        self._tasks.append(asyncio.create_task(self._heartbeat(), name="heartbeat"))
        self._tasks.append(asyncio.create_task(self._callbacks_due(), name="callbacks"))
        self._tasks.append(asyncio.create_task(self._campaigns_due(), name="campaigns"))
        while not self._http.started:
            if self._tasks[0].done():
                self._tasks[0].result()
                raise OSError(f"HTTP server on port {self.settings.http_port} did not start")
            await asyncio.sleep(0.02)
        # what start-up built (modules, configuration, the seeded figures) lives as long
        # as the process: out of the collector's sight, a full collection no longer walks
        # it (one cost 200-300 ms on the loop with 500 consoles, see bench/screenpop.py)
        gc.collect()
        gc.freeze()
        log.info(
            "cti serving: http://%s:%d/health, FastAGI %s:%d, AMI %s:%d",
            self.settings.http_host,
            self.settings.http_port,
            self.settings.agi_host,
            self.settings.agi_port,
            self.settings.ami_host,
            self.settings.ami_port,
        )

    async def _callbacks_due(self) -> None:
        """Stored callbacks whose time has come go to the ACD (`cti.callback_scheduler`)."""
        await self._every(
            self.settings.callback_poll_seconds,
            lambda: take_due_callbacks(self.engine, self.acd, self.config, time.time()),
            "due callbacks not taken",
        )

    async def _campaigns_due(self) -> None:
        """Running campaigns' calls for the ready agents (`cti.campaign_dialer`); attempts
        a stop of the service left dialing are pending again first."""
        for tenant in self.config.tenants:
            try:
                released = await campaign_store.release_dialing(self.engine, tenant.tenant.id)
            except Exception:
                log.exception("campaign attempts of %s not released", tenant.tenant.id)
                continue
            if released:
                log.info(
                    "%s: %d campaign attempts cut by a stop made pending again",
                    tenant.tenant.id,
                    released,
                )
        await self._every(
            self.settings.campaign_poll_seconds,
            lambda: dial_due(self.engine, self.acd, self.config, time.time()),
            "campaign calls not placed",
        )

    @staticmethod
    async def _every(seconds: float, turn: Callable[[], Awaitable[object]], failed: str) -> None:
        """Run `turn` every `seconds`; a turn that fails (the store away for a while) is
        logged and the next one tries again."""
        while True:
            try:
                await turn()
            except Exception:
                log.exception(failed)
            await asyncio.sleep(seconds)

    async def stop(self) -> None:
        if self._http is not None:
            self._http.should_exit = True
        for task in self._tasks:
            if task.get_name() == "http":  # it ends by itself (open connections: cut)
                await asyncio.wait({task}, timeout=5.0)
            await stop_task(task)
        self._tasks.clear()
        for runner in self.acd.values():
            await runner.close()
        await self.recorder.close()
        await self.ami.close()
        await self.agi.close()
        await self.journal.close()
        await self.live.close()
        await self.queue_log.close()
        await self.bus.close()
        await self.engine.dispose()

    async def _seed_live(self) -> None:
        """Today's figures, from the store, before the first new event arrives."""
        for tenant in self.config.tenants:
            tid = tenant.tenant.id
            day = self.live.board.tenant(tid).options.day_start(time.time())
            records, intervals = await records_since(self.engine, tid, day)
            folder = self.journal.folder(tid)
            agents = []
            for agent in tenant.agents:
                now = folder.agent_state(agent.id)
                if now is not None:
                    agents.append((agent.id, now[0], now[1], now[2]))
                    self.queue_log.seed_agent(tid, agent.id, now[0], now[2])
            self.live.seed(tid, records, intervals, agents=agents)

    async def health(self) -> dict[str, Any]:
        database = await database_status(self.engine)
        ami = "ok" if self.ami.connected else f"down: {self.ami.stats.last_error or 'connecting'}"
        mqtt = "ok" if self.bus.connected else f"down: {self.bus.last_error or 'connecting'}"
        parts = {"ami": ami, "database": database, "mqtt": mqtt}
        return {
            "status": "ok" if all(v == "ok" for v in parts.values()) else "degraded",
            **parts,
            "uptime_seconds": round(time.time() - self.started_at, 1),
            "live_calls": len(self.calls.calls),
            "ami_stats": {
                "connects": self.ami.stats.connects,
                "events": self.ami.stats.events,
                "malformed": self.ami.stats.malformed,
                "unmodelled_events": self.ami.stats.unmodelled_events,
                "ping_failures": self.ami.stats.ping_failures,
            },
            "agi": {"listening": self.agi.listening, "requests": self.agi.stats.requests},
            "mqtt_dropped": self.bus.dropped,
            "journal": {
                "recorded": self.journal.stats.recorded,
                "written": self.journal.stats.written,
                "backlog": self.journal.backlog,
                "write_errors": self.journal.stats.write_errors,
                "last_error": self.journal.stats.last_error,
            },
        }

    def _on_ivr_finished(self, uniqueid: str, tenant: TenantConfig, session: IvrSession) -> None:
        """Keep the IVR's timeline of recent calls (the screen-pop reads it)."""
        self.ivr_sessions[uniqueid] = session
        while len(self.ivr_sessions) > 10_000:
            self.ivr_sessions.popitem(last=False)
        context, finish = session.context, session.finish
        self._record(
            DomainEvent(
                tenant.tenant.id,
                time.time(),
                ev.IVR_FINISHED,
                call_id=uniqueid,
                data={
                    "path": list(context.path),
                    "customer_id": context.customer.customer_id if context.customer else None,
                    "tier": context.tier,
                    "language": context.language,
                    "variables": dict(context.variables),
                    "timeline": [dataclasses.asdict(step) for step in session.timeline],
                    "result": dataclasses.asdict(finish) if finish is not None else None,
                },
            )
        )

    def _on_ami_event(self, event: AmiEvent) -> None:
        if isinstance(event, LinkUp | LinkDown):
            log.info("ami %s", "up" if isinstance(event, LinkUp) else f"down: {event.reason}")
        for change in self.calls.apply(event):
            self.call_changes.append(change)
            log.info("%s", describe(change))
            self._journal_call(change)

    def _record(self, event: DomainEvent) -> None:
        """Journal an event under its call's id: the linkedid, whatever channel reported it."""
        if event.call_id is not None:
            call_id = self.calls.call_id_of(event.call_id)
            if call_id is not None and call_id != event.call_id:
                event = dataclasses.replace(event, call_id=call_id)
        self.journal.record(event)

    def _journal_call(self, change: CallChange) -> None:
        """A call's arrival and end, for the tenant that owns the number dialed."""
        if isinstance(change, CallArrived):
            tenant = self.config.tenant_for_number(change.dnis or "")
            if tenant is None:
                return
            self._call_tenants[change.call_id] = tenant.tenant.id
            self.journal.event(
                tenant.tenant.id,
                ev.CALL_ARRIVED,
                at=change.time,
                call_id=change.call_id,
                data={"ani": change.ani, "dnis": change.dnis, "direction": "inbound"},
            )
        elif isinstance(change, CallEnded):
            tenant_id = self._call_tenants.pop(change.call_id, None)
            if tenant_id is not None:
                self.journal.event(
                    tenant_id,
                    ev.CALL_HUNGUP,
                    at=change.time,
                    call_id=change.call_id,
                    data={"cause": change.cause},
                )

    async def _heartbeat(self) -> None:
        while True:
            if self.ami.connected:
                try:
                    await self.ami.action(
                        "Setvar", Variable="CTI_HEARTBEAT", Value=int(time.time())
                    )
                except AsteriskError as exc:
                    log.warning("heartbeat not delivered: %s", exc)
            await asyncio.sleep(HEARTBEAT_SECONDS)


def describe(change: CallChange) -> str:
    """One readable log line per call event."""
    if isinstance(change, CallArrived):
        return f"call {change.call_id} arrived ani={change.ani or 'anonymous'} dnis={change.dnis}"
    if isinstance(change, CallAnswered):
        return f"call {change.call_id} answered"
    if isinstance(change, CallEnded):
        return (
            f"call {change.call_id} ended after {change.duration_seconds:.1f}s"
            f" ({'answered' if change.answered else 'not answered'})"
            f" cause={change.cause} {change.cause_text}".rstrip()
        )
    return f"call {change.call_id} {type(change).__name__}"
