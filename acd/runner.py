"""The asyncio driver of the routing core on a real Asterisk (one per tenant).

It turns typed AMI events into router events, and the router's commands into
AMI actions, in order:

- a `CtiWaiting` UserEvent from the holding context queues a new call
  (a known call coming back to wait after a no-answer is just waiting again);
- `OfferCall` sets `CTI_RING_TIMEOUT` / `CTI_OFFER_ID` on the caller's channel
  and redirects it to `cti-connect,<agent extension>`; the dial's `DialEnd`
  with `ANSWER` is the answer, the `CtiOfferResult` UserEvent after it is the
  end of the talk (or, for any other status, the no-answer);
- a caller's hangup is `CallerHungUp` while waiting or ringing, `CallEnded`
  while talking;
- `PlaceCallback` originates the agent's device into `cti-callback,<number>`
  with a channel id of our own, so its answer (`CtiCallbackAnswered`) and its
  hangup are recognised;
- `CancelOffer`/`ReturnToWaiting` redirect the caller back to `cti-wait`,
  `RouteOut` to `cti-route-out,<kind>`.

The router's timers are driven by one `call_later` re-armed at
`Router.next_deadline()`. AMI failures on a command are fed back as the event
they amount to (a redirect refused = the offer not answered). After a
reconnect, the channels waiting in `cti-wait` rebuild the queue.

Agents are driven through `login`, `ready`, `not_ready`, `logout`,
`wrapup_done`, `wrapup_more` (the console will call these).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from acd.commands import (
    Announce,
    CallFinished,
    CancelOffer,
    Command,
    OfferCall,
    OverflowCall,
    PlaceCallback,
    ReturnToWaiting,
    RouteOut,
    SetAgentNotReady,
    SetAgentWrapUp,
)
from acd.errors import RoutingError
from acd.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentNotReady,
    AgentReady,
    CallbackRequested,
    CallEnded,
    CallerHungUp,
    CallQueued,
    ClockTick,
    Event,
    OfferAnswered,
    OfferNotAnswered,
    WrapUpDone,
    WrapUpExtended,
)
from acd.router import Router
from acd.specs import SkillNeed, TargetKind
from acd.state import AgentState
from cti.ami import AmiLink
from cti.ami_events import (
    AmiEvent,
    ChannelCreated,
    ChannelHeld,
    ChannelHungUp,
    ChannelUnheld,
    DeviceStateChanged,
    DialEnded,
    Resynced,
    UserEvent,
)
from cti.asterisk_conf import agent_device, native_queue_name
from cti.config import TenantConfig
from cti.errors import AsteriskError
from cti.routing import router_specs
from cti.settings import Settings
from reports import events as ev
from reports.events import DomainEvent

log = logging.getLogger("acd.runner")

WAITING, RINGING, TALKING, CALLBACK = "waiting", "ringing", "talking", "callback"
BUSY_STATES = frozenset({"INUSE", "BUSY", "RINGING", "RINGINUSE", "ONHOLD"})
BUSY_REASON = "busy on phone"


def parse_skills(text: str) -> tuple[SkillNeed, ...]:
    """`billing:3,fr:1` (what the IVR asked for) as skill needs; malformed parts dropped."""
    needs = []
    for part in text.split(","):
        skill, _, level = part.strip().partition(":")
        if skill and level.isdigit() and 1 <= int(level) <= 5:
            needs.append(SkillNeed(skill, int(level)))
    return tuple(needs)


def device_name(dial_string: str) -> str:
    """The device a dial string rings, as device-state events name it."""
    return dial_string.removesuffix("/n")


@dataclass
class Leg:
    """What the runner knows of one routed call on Asterisk."""

    call_id: str
    channel: str
    queue: str
    state: str = WAITING
    offer_id: int | None = None
    agent_id: str | None = None
    position: int | None = None
    estimated_wait: float | None = None
    caller_number: str | None = None


@dataclass(frozen=True, slots=True)
class _Leave:
    """Send a caller's channel out of the queue (our own command, not the router's)."""

    channel: str
    kind: TargetKind
    destination: str


@dataclass(frozen=True, slots=True)
class _Persist:
    agent_id: str
    value: str


@dataclass(frozen=True, slots=True)
class _Restore:
    """Bring agents back as they were before our restart (from AstDB)."""

    busy_devices: frozenset[str]


@dataclass
class RunnerStats:
    commands: int = 0
    ami_failures: int = 0
    rejected_events: int = 0
    outcomes: dict[str, str] = field(default_factory=dict)


class AcdRunner:
    def __init__(
        self,
        tenant: TenantConfig,
        ami: AmiLink,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
        record: Callable[[DomainEvent], object] | None = None,
    ) -> None:
        self.tenant = tenant
        self.record = record  # the journal: every domain event this runner sees
        self.tenant_id = tenant.tenant.id
        self.ami = ami
        self.settings = settings
        self.clock = clock
        queues, agents = router_specs(tenant)
        self.router = Router(queues, agents)
        self.extensions = {a.id: a.extension for a in tenant.agents}
        self.queue_ids = {native_queue_name(tenant, q.id): q.id for q in tenant.queues}
        self.legs: dict[str, Leg] = {}
        self.callback_legs: dict[str, str] = {}  # our originated channel id -> call id
        self.channel_names: dict[str, str] = {}  # callback channel id -> channel name
        self.reasons: dict[str, str] = {}  # not-ready reason per agent
        self._persisted: dict[str, str] = {}
        self._recorded_states: dict[str, tuple[str, str]] = {}
        self.wrapup_ends: dict[str, float | None] = {}
        self._to_astdb: dict[str, str] = {}  # agent -> state not yet written to AstDB
        self._astdb_writer: asyncio.Task[None] | None = None  # agent -> end of wrap-up (None: open)
        self._restored = False
        self.devices = {
            device_name(agent_device(settings, a.extension)): a.id for a in tenant.agents
        }
        self.busy_elsewhere: set[str] = set()
        self.db_family = (
            f"cti-{self.tenant_id}-agents"  # agents we set not ready for a personal call
        )
        self.history: list[Command] = []
        self.stats = RunnerStats()
        self._commands: asyncio.Queue[Command | _Leave | _Persist | _Restore] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._now = 0.0

    # ---- lifecycle -------------------------------------------------------
    def start(self) -> None:
        self.ami.subscribe(self.on_ami_event)
        self._worker = asyncio.create_task(self._execute(), name=f"acd-{self.tenant_id}")

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for task in (self._worker, self._astdb_writer):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    # ---- the agents' API -------------------------------------------------
    @property
    def agent_states(self) -> dict[str, str]:
        """Every configured agent's state, as the router holds it."""
        return {a: str(self.router.agent_state(a)) for a in self.extensions}

    def wrapup_until(self, agent_id: str) -> float | None:
        """When the agent's wrap-up ends (None: not in wrap-up, or no limit)."""
        if self.router.agent_state(agent_id) != AgentState.WRAP_UP:
            return None
        return self.wrapup_ends.get(agent_id)

    def login(self, agent_id: str) -> None:
        self.feed(AgentLoggedIn(agent_id), strict=True)

    def ready(self, agent_id: str) -> None:
        self.feed(AgentReady(agent_id), strict=True)

    def not_ready(self, agent_id: str, reason: str) -> None:
        self.busy_elsewhere.discard(agent_id)
        self.reasons[agent_id] = reason
        self.feed(AgentNotReady(agent_id, reason), strict=True)

    def logout(self, agent_id: str) -> None:
        self.feed(AgentLoggedOut(agent_id), strict=True)

    def wrapup_done(self, agent_id: str) -> None:
        self.feed(WrapUpDone(agent_id), strict=True)

    def wrapup_more(self, agent_id: str, seconds: float | None = None) -> None:
        self.feed(WrapUpExtended(agent_id, seconds), strict=True)

    def request_callback(self, call_id: str, number: str) -> None:
        """The caller asked to be called back: they hang up, their place is kept."""
        leg = self.legs.get(call_id)
        if leg is None or leg.state != WAITING:
            raise RoutingError(f"call {call_id!r} is not waiting in {self.tenant_id!r}")
        self.feed(CallbackRequested(call_id, number), strict=True)
        del self.legs[call_id]
        self._commands.put_nowait(_Leave(leg.channel, TargetKind.CALLBACK, number))

    # ---- router plumbing -------------------------------------------------
    def feed(self, event: Event, *, strict: bool = False) -> list[Command]:
        """Hand one event to the router and queue what it commands."""
        self._now = max(self._now, self.clock())
        try:
            commands = self.router.handle(event, self._now)
        except RoutingError as exc:
            if strict:
                raise
            self.stats.rejected_events += 1
            log.warning("%s: router refused %r: %s", self.tenant_id, event, exc)
            return []
        for command in commands:
            self.history.append(command)
            self._note(command)
            self._commands.put_nowait(command)
        self._arm_timer()
        # the router names every agent whose state it changed in the event or a command
        touched = {getattr(c, "agent_id", None) for c in commands}
        touched.add(getattr(event, "agent_id", None))
        agents = sorted(a for a in touched if a in self.extensions)
        if self.record is not None:
            self._journal(event, commands, agents)
        self._persist(agents)
        return commands

    def _journal(self, event: Event, commands: list[Command], agents: list[str]) -> None:
        """Tell the journal what happened, as domain events (`reports.events`)."""
        assert self.record is not None
        at, tenant = self._now, self.tenant_id
        out: list[DomainEvent] = []
        if isinstance(event, CallQueued):
            leg = self.legs.get(event.call_id)
            out.append(
                DomainEvent(
                    tenant,
                    at,
                    ev.CALL_QUEUED,
                    event.call_id,
                    queue=event.queue,
                    data={
                        "tier": event.tier,
                        "customer_id": event.customer_id,
                        "caller_number": leg.caller_number if leg else None,
                    },
                )
            )
        elif isinstance(event, OfferAnswered):
            out.append(DomainEvent(tenant, at, ev.CALL_ANSWERED, event.call_id, event.agent_id))
        elif isinstance(event, OfferNotAnswered):
            out.append(
                DomainEvent(
                    tenant,
                    at,
                    ev.CALL_OFFER_MISSED,
                    event.call_id,
                    event.agent_id,
                    data={"offer_id": event.offer_id},
                )
            )
        elif isinstance(event, CallbackRequested):
            out.append(
                DomainEvent(
                    tenant, at, ev.CALLBACK_REQUESTED, event.call_id, data={"number": event.number}
                )
            )
        for command in commands:
            if isinstance(command, OfferCall | PlaceCallback):
                out.append(
                    DomainEvent(
                        tenant,
                        at,
                        ev.CALL_OFFERED,
                        command.call_id,
                        command.agent_id,
                        command.queue,
                        data={"offer_id": command.offer_id},
                    )
                )
            elif isinstance(command, CancelOffer):
                out.append(
                    DomainEvent(
                        tenant,
                        at,
                        ev.CALL_OFFER_MISSED,
                        command.call_id,
                        command.agent_id,
                        data={"offer_id": command.offer_id},
                    )
                )
            elif isinstance(command, OverflowCall):
                out.append(
                    DomainEvent(
                        tenant,
                        at,
                        ev.CALL_OVERFLOWED,
                        command.call_id,
                        data={"to_queue": command.to_queue},
                    )
                )
            elif isinstance(command, RouteOut):
                out.append(
                    DomainEvent(
                        tenant,
                        at,
                        ev.CALL_ROUTED_OUT,
                        command.call_id,
                        data={"kind": str(command.kind), "destination": command.destination},
                    )
                )
            elif isinstance(command, CallFinished):
                out.append(
                    DomainEvent(
                        tenant,
                        at,
                        ev.CALL_FINISHED,
                        command.call_id,
                        data={"outcome": str(command.outcome)},
                    )
                )
        for agent_id in agents:
            state = str(self.router.agent_state(agent_id))
            reason = self.reasons.get(agent_id, "") if state == AgentState.NOT_READY else ""
            if self._recorded_states.get(agent_id) != (state, reason):
                self._recorded_states[agent_id] = (state, reason)
                out.append(
                    DomainEvent(
                        tenant,
                        at,
                        ev.AGENT_STATE,
                        agent_id=agent_id,
                        data={"state": state, "reason": reason},
                    )
                )
        for domain_event in out:
            self.record(domain_event)

    def hold(self, call_id: str, held: bool) -> None:
        """The caller of `call_id` was put on hold (or taken off it) by the agent."""
        leg = self.legs.get(call_id)
        if self.record is not None and leg is not None and leg.state == TALKING:
            kind = ev.CALL_HELD if held else ev.CALL_UNHELD
            self.record(DomainEvent(self.tenant_id, self.clock(), kind, call_id, leg.agent_id))

    def _persist(self, agent_ids: Iterable[str]) -> None:
        """Keep these agents' states in Asterisk's AstDB, to restore them after a restart."""
        for agent_id in agent_ids:
            state = self.router.agent_state(agent_id)
            reason = self.reasons.get(agent_id, "") if state == AgentState.NOT_READY else ""
            value = f"{state}:{reason}"
            if self._persisted.get(agent_id) != value:
                self._persisted[agent_id] = value
                self._commands.put_nowait(_Persist(agent_id, value))

    def _arm_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self.router.next_deadline()
        if deadline is not None:
            delay = max(0.0, deadline - self.clock())
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(delay, self.feed, ClockTick())

    def _note(self, command: Command) -> None:
        """Bookkeeping that must happen in event order, before any I/O."""
        if isinstance(command, SetAgentNotReady):
            self.reasons[command.agent_id] = command.reason
        elif isinstance(command, SetAgentWrapUp):
            self.wrapup_ends[command.agent_id] = command.until
        elif isinstance(command, CallFinished):
            self.stats.outcomes[command.call_id] = str(command.outcome)
            log.info("%s: call %s finished: %s", self.tenant_id, command.call_id, command.outcome)
        elif isinstance(command, Announce):
            leg = self.legs.get(command.call_id)
            if leg is not None:
                leg.position, leg.estimated_wait = command.position, command.estimated_wait_seconds

    # ---- AMI events in ---------------------------------------------------
    def on_ami_event(self, event: AmiEvent) -> None:
        if isinstance(event, UserEvent):
            self._on_user_event(event)
        elif isinstance(event, DialEnded):
            leg = self.legs.get(event.uniqueid)
            if leg is not None and leg.state == RINGING and event.dial_status == "ANSWER":
                leg.state = TALKING
                assert leg.agent_id is not None
                self.feed(OfferAnswered(leg.call_id, leg.agent_id, leg.offer_id))
        elif isinstance(event, ChannelHeld | ChannelUnheld):
            self._on_hold(event)
        elif isinstance(event, ChannelCreated) and event.uniqueid in self.callback_legs:
            self.channel_names[event.uniqueid] = event.channel
        elif isinstance(event, ChannelHungUp):
            self._on_hangup(event.uniqueid)
        elif isinstance(event, Resynced):
            self._on_resync(event)
        elif isinstance(event, DeviceStateChanged) and event.device in self.devices:
            self._on_device_state(self.devices[event.device], event.state)

    def _on_hold(self, event: ChannelHeld | ChannelUnheld) -> None:
        """Hold reported on the caller's channel or on the agent's phone of a call in talk."""
        held = isinstance(event, ChannelHeld)
        if event.uniqueid in self.legs:
            self.hold(event.uniqueid, held)
            return
        for device, agent_id in self.devices.items():
            if event.channel.startswith(device + "-"):
                for leg in self.legs.values():
                    if leg.agent_id == agent_id and leg.state == TALKING:
                        self.hold(leg.call_id, held)
                return

    def _on_device_state(self, agent_id: str, state: str) -> None:
        """A ready agent whose phone gets busy outside the ACD is not offered calls."""
        current = self.router.agent_state(agent_id)
        if state in BUSY_STATES and current == AgentState.READY:
            log.info("%s: agent %s busy on a call of their own", self.tenant_id, agent_id)
            self.busy_elsewhere.add(agent_id)
            self.reasons[agent_id] = BUSY_REASON
            self.feed(AgentNotReady(agent_id, BUSY_REASON))
        elif state == "NOT_INUSE" and agent_id in self.busy_elsewhere:
            self.busy_elsewhere.discard(agent_id)
            if current == AgentState.NOT_READY:
                self.feed(AgentReady(agent_id))

    def _on_user_event(self, event: UserEvent) -> None:
        fields = event.fields
        if event.name == "CtiWaiting" and fields.get("CtiTenant") == self.tenant_id:
            self._on_waiting(event)
        elif event.name == "CtiOfferResult" and event.uniqueid in self.legs:
            self._on_offer_result(self.legs[event.uniqueid], fields)
        elif event.name == "CtiCallbackAnswered" and event.uniqueid in self.callback_legs:
            call_id = self.callback_legs[event.uniqueid]
            leg = self.legs.get(call_id)
            if leg is not None and leg.agent_id is not None:
                leg.state = TALKING
                self.feed(OfferAnswered(call_id, leg.agent_id, leg.offer_id))
        elif event.name == "CtiCallbackRequest" and event.uniqueid in self.legs:
            # pressed 1 in the holding loop: keep the place, release the caller
            leg = self.legs[event.uniqueid]
            number = fields.get("CtiNumber") or leg.caller_number or ""
            try:
                self.request_callback(event.uniqueid, number)
            except RoutingError as exc:  # e.g. already ringing an agent: the call goes on
                log.info("%s: callback request of %s ignored: %s", self.tenant_id, leg.call_id, exc)

    def _on_waiting(self, event: UserEvent) -> None:
        queue = self.queue_ids.get(event.fields.get("CtiQueue", ""))
        if queue is None:
            return
        leg = self.legs.get(event.uniqueid)
        if leg is not None:
            leg.state = WAITING
            return
        channel = event.fields.get("Channel", "")
        self.legs[event.uniqueid] = Leg(
            event.uniqueid, channel, queue, caller_number=event.fields.get("CallerIDNum")
        )
        tier = int(event.fields.get("CtiTier") or 0)
        customer = event.fields.get("CtiCustomer") or None
        needs = parse_skills(event.fields.get("CtiSkills") or "")
        self.feed(CallQueued(event.uniqueid, queue, needs, tier=tier, customer_id=customer))
        callback = event.fields.get("CtiCallback")
        if callback:  # asked for in the IVR: keep a place, let the caller go
            self.request_callback(event.uniqueid, callback)

    def _on_offer_result(self, leg: Leg, fields: Mapping[str, str]) -> None:
        status = fields.get("CtiDialStatus", "")
        if status == "ANSWER":  # the agent hung up (a survey may follow): the ACD is done
            self.legs.pop(leg.call_id, None)
            self.feed(CallEnded(leg.call_id))
            return
        if leg.state == RINGING and leg.agent_id is not None:
            agent, offer = leg.agent_id, leg.offer_id
            leg.state, leg.agent_id, leg.offer_id = WAITING, None, None
            log.info(
                "%s: call %s: agent %s did not answer (%s)",
                self.tenant_id,
                leg.call_id,
                agent,
                status,
            )
            self.feed(OfferNotAnswered(leg.call_id, agent, offer))

    def _on_hangup(self, uniqueid: str) -> None:
        call_id = self.callback_legs.pop(uniqueid, None)
        if call_id is not None:
            self.channel_names.pop(uniqueid, None)
            leg = self.legs.pop(call_id, None)
            if leg is None:
                return
            if leg.state == TALKING:
                self.feed(CallEnded(call_id))
            elif leg.agent_id is not None:
                self.feed(OfferNotAnswered(call_id, leg.agent_id, leg.offer_id))
            return
        leg = self.legs.pop(uniqueid, None)
        if leg is None:
            return
        if leg.state == TALKING:
            self.feed(CallEnded(leg.call_id))
        else:
            self.feed(CallerHungUp(leg.call_id))

    def _on_resync(self, event: Resynced) -> None:
        if not self._restored:
            self._restored = True
            busy = frozenset(
                device
                for snap in event.channels
                for device in self.devices
                if snap.channel.startswith(device + "-")
            )
            self._commands.put_nowait(_Restore(busy))
        live = {snap.uniqueid for snap in event.channels}
        for uniqueid in [u for u in self.legs if u not in live]:
            self._on_hangup(uniqueid)
        for uniqueid in [u for u in self.callback_legs if u not in live]:
            self._on_hangup(uniqueid)
        for snap in event.channels:
            queue = self.queue_ids.get(snap.exten)
            if snap.context == "cti-wait" and queue is not None and snap.uniqueid not in self.legs:
                self.legs[snap.uniqueid] = Leg(snap.uniqueid, snap.channel, queue)
                log.info(
                    "%s: call %s adopted from Asterisk, waiting in %s",
                    self.tenant_id,
                    snap.uniqueid,
                    queue,
                )
                self.feed(CallQueued(snap.uniqueid, queue))

    # ---- commands out ----------------------------------------------------
    async def _execute(self) -> None:
        while True:
            command = await self._commands.get()
            self.stats.commands += 1
            try:
                await self._carry_out(command)
            except (AsteriskError, KeyError) as exc:
                self.stats.ami_failures += 1
                log.warning("%s: %r not carried out: %s", self.tenant_id, command, exc)
                self._failed(command)
            except Exception:
                log.exception("%s: %r failed", self.tenant_id, command)

    async def _carry_out(self, command: Command | _Leave | _Persist | _Restore) -> None:
        if isinstance(command, _Persist):
            self._to_astdb[command.agent_id] = command.value
            if self._astdb_writer is None or self._astdb_writer.done():
                self._astdb_writer = asyncio.create_task(self._write_astdb())
        elif isinstance(command, _Restore):
            await self._restore(command.busy_devices)
        elif isinstance(command, _Leave):
            await self._leave(command.channel, command.kind, command.destination)
        elif isinstance(command, OfferCall):
            await self._offer(command)
        elif isinstance(command, PlaceCallback):
            await self._place_callback(command)
        elif isinstance(command, CancelOffer | ReturnToWaiting):
            await self._back_to_waiting(command.call_id)
        elif isinstance(command, RouteOut):
            await self._route_out(command)
        elif isinstance(command, Announce):
            await self._announce(command)
        elif isinstance(command, OverflowCall):
            log.info(
                "%s: call %s overflows to %s", self.tenant_id, command.call_id, command.to_queue
            )

    async def _write_astdb(self) -> None:
        """Agents' states to AstDB off the command path; only the latest value per agent."""
        while self._to_astdb:
            agent_id = next(iter(self._to_astdb))
            value = self._to_astdb.pop(agent_id)
            try:
                await self.ami.action("DBPut", Family=self.db_family, Key=agent_id, Val=value)
            except AsteriskError as exc:
                self.stats.ami_failures += 1
                log.warning("%s: state of %s not kept in AstDB: %s", self.tenant_id, agent_id, exc)

    async def _offer(self, command: OfferCall) -> None:
        leg = self.legs.get(command.call_id)
        if leg is None:  # the caller hung up before we got here; the router knows
            return
        leg.state, leg.agent_id, leg.offer_id = RINGING, command.agent_id, command.offer_id
        ring = str(round(command.ring_timeout))
        # one connection keeps Asterisk's order: send all three, then wait for the replies
        await asyncio.gather(
            self.ami.action("Setvar", Channel=leg.channel, Variable="CTI_RING_TIMEOUT", Value=ring),
            self.ami.action(
                "Setvar", Channel=leg.channel, Variable="CTI_OFFER_ID", Value=str(command.offer_id)
            ),
            self.ami.action(
                "Redirect",
                Channel=leg.channel,
                Context="cti-connect",
                Exten=self.extensions[command.agent_id],
                Priority=1,
            ),
        )
        log.info(
            "%s: call %s offered to %s (offer %d)",
            self.tenant_id,
            command.call_id,
            command.agent_id,
            command.offer_id,
        )

    async def _restore(self, busy_devices: frozenset[str]) -> None:
        """Agents as AstDB remembers them; one still on a call waits for their phone."""
        busy = {self.devices[d] for d in busy_devices}
        for agent_id in self.extensions:
            try:
                entries = await self.ami.action_list("DBGet", Family=self.db_family, Key=agent_id)
            except AsteriskError:
                continue  # never stored: stays logged out
            state, _, reason = (entries[0].get("Val", "") if entries else "").partition(":")
            if self.router.agent_state(agent_id) != AgentState.LOGGED_OUT or state in (
                "",
                AgentState.LOGGED_OUT,
            ):
                continue
            self.feed(AgentLoggedIn(agent_id))
            if state == AgentState.NOT_READY:
                self.reasons[agent_id] = reason
                self.feed(AgentNotReady(agent_id, reason))
            elif agent_id in busy:
                self.busy_elsewhere.add(agent_id)
                self.reasons[agent_id] = BUSY_REASON
                self.feed(AgentNotReady(agent_id, BUSY_REASON))
            else:
                self.feed(AgentReady(agent_id))
            log.info(
                "%s: agent %s restored (%s before the restart)", self.tenant_id, agent_id, state
            )

    async def _announce(self, command: Announce) -> None:
        leg = self.legs.get(command.call_id)
        if leg is None or leg.state != WAITING:
            return
        minutes = math.ceil((command.estimated_wait_seconds or 0) / 60)
        await self.ami.action(
            "Setvar", Channel=leg.channel, Variable="CTI_EWT_MINUTES", Value=str(minutes)
        )
        await self.ami.action(
            "Setvar", Channel=leg.channel, Variable="CTI_POSITION", Value=str(command.position)
        )

    async def _place_callback(self, command: PlaceCallback) -> None:
        channel_id = f"cb-{command.call_id}-{command.offer_id}"
        self.legs[command.call_id] = Leg(
            command.call_id, "", command.queue, CALLBACK, command.offer_id, command.agent_id
        )
        self.callback_legs[channel_id] = command.call_id
        device = agent_device(self.settings, self.extensions[command.agent_id])
        await self.ami.originate(
            device,
            context="cti-callback",
            exten=command.number,
            timeout_ms=int(command.ring_timeout * 1000),
            channel_id=channel_id,
            caller_id=f'"Callback" <{command.number}>',
            variables={
                "CTI_CALL_ID": channel_id,
                "CTI_OFFER_ID": str(command.offer_id),
                "CTI_TENANT": self.tenant_id,
            },
        )

    async def _back_to_waiting(self, call_id: str) -> None:
        leg = self.legs.get(call_id)
        if leg is None:
            return
        if leg.state == CALLBACK:
            for channel_id, owner in list(self.callback_legs.items()):
                name = self.channel_names.get(channel_id)
                if owner == call_id and name:
                    await self.ami.action("Hangup", Channel=name)
            return
        if leg.state != RINGING:
            return
        leg.state, leg.agent_id, leg.offer_id = WAITING, None, None
        native = native_queue_name(self.tenant, leg.queue)
        await self.ami.action(
            "Redirect", Channel=leg.channel, Context="cti-wait", Exten=native, Priority=1
        )

    async def _route_out(self, command: RouteOut) -> None:
        leg = self.legs.pop(command.call_id, None)
        if leg is not None:
            await self._leave(leg.channel, command.kind, command.destination)

    async def _leave(self, channel: str, kind: TargetKind, destination: str) -> None:
        await self.ami.action(
            "Setvar", Channel=channel, Variable="CTI_DESTINATION", Value=destination
        )
        await self.ami.action(
            "Redirect", Channel=channel, Context="cti-route-out", Exten=str(kind), Priority=1
        )

    def _failed(self, command: Command | _Leave | _Persist | _Restore) -> None:
        """An action Asterisk refused: tell the router what it amounts to."""
        if isinstance(command, OfferCall):
            leg = self.legs.get(command.call_id)
            if leg is not None and leg.offer_id == command.offer_id:
                leg.state, leg.agent_id, leg.offer_id = WAITING, None, None
                self.feed(OfferNotAnswered(command.call_id, command.agent_id, command.offer_id))
        elif isinstance(command, PlaceCallback):
            self.callback_legs.pop(f"cb-{command.call_id}-{command.offer_id}", None)
            self.legs.pop(command.call_id, None)
            self.feed(OfferNotAnswered(command.call_id, command.agent_id, command.offer_id))
