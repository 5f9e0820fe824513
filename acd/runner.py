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
- `PlaceCallback` originates the agent's device into `cti-callback,<number>`,
  then the customer's; callbacks (kept in line, placed, followed, retried, expired,
  journaled as `callback.changed`) live in `acd.callback_calls`
  (`AcdRunner.callback_calls`);
- `CancelOffer`/`ReturnToWaiting` redirect the caller back to `cti-wait`,
  `RouteOut` to `cti-route-out,<kind>`.

The router's timers are driven by one `call_later` re-armed at
`Router.next_deadline()`. AMI failures on a command are fed back as the event
they amount to (a redirect refused = the offer not answered). After a
reconnect, the channels waiting in `cti-wait` rebuild the queue.

Agents are driven through `login`, `ready`, `not_ready`, `logout`,
`wrapup_done`, `wrapup_more` (the console will call these).

Call controls (the console's, all through AMI, none needs the phone's help):
- `hangup`: the agent's leg is hung up; the caller's `CtiOfferResult` ends the talk.
- `set_hold`: AMI `Redirect` of the caller to `cti-hold,caller` (music) with the
  agent's leg as `ExtraChannel` to `cti-hold,agent` (silence), `CTI_HOLD=1` on
  both; unhold clears it and joins them with AMI `Bridge`. When that bridge ends
  the caller goes on below its loop and reports the end of the talk as
  `cti-connect` does, so the router never sees the hold as the end of the talk.
  Journaled as `call.held` / `call.unheld` (`hold`).
- transfers, blind and attended: `acd.transfers` (`AcdRunner.transfers`).
- `dial` (click-to-call): the agent's device is originated into
  `cti-callback,<number>`; the agent is not ready (`outbound call`) until the number
  answers, then on a call and in wrap-up as after any call (their occupancy counts it),
  then ready again if they were, else not ready as before; journaled as an outbound
  call (a preview campaign's in the campaign's queue, recorded if the campaign is).
- `spy`: the supervisor's device is originated into `cti-spy` (ChanSpy on the
  agent's leg).

Campaign calls (progressive and preview) ride the same mechanics; their part lives in
`acd.campaign_calls` (`AcdRunner.campaigns`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from acd.callback_calls import CallbackCalls, CallbackLeg
from acd.callback_life import DIAL_STATUS, CallbackResult
from acd.campaign_calls import PREVIEW_REASON, CampaignCalls, Campaigned
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
    CallConnected,
    CallEnded,
    CallerHungUp,
    CallQueued,
    ClockTick,
    Event,
    OfferAnswered,
    OfferNotAnswered,
    OutboundAnswered,
    OutboundEnded,
    WrapUpDone,
    WrapUpExtended,
)
from acd.router import Router
from acd.specs import SkillNeed, TargetKind
from acd.state import AgentState
from acd.transfers import Consultation, Transfers
from cti.ami import AmiLink
from cti.ami_events import (
    AmiEvent,
    ChannelCreated,
    ChannelHeld,
    ChannelHungUp,
    ChannelUnheld,
    DeviceStateChanged,
    DialEnded,
    DialStarted,
    Resynced,
    UserEvent,
)
from cti.asterisk_conf import agent_device, native_queue_name
from cti.config import TenantConfig
from cti.errors import AsteriskError
from cti.routing import router_specs
from cti.settings import Settings
from cti.tasks import stop_task
from reports import events as ev
from reports.events import DomainEvent

log = logging.getLogger("acd.runner")

WAITING, RINGING, TALKING, CALLBACK = "waiting", "ringing", "talking", "callback"
BUSY_STATES = frozenset({"INUSE", "BUSY", "RINGING", "RINGINUSE", "ONHOLD"})
BUSY_REASON = "busy on phone"
OUTBOUND_REASON = "outbound call"


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
    uniqueid: str = ""  # the caller's channel (differs from call_id after a transfer)
    agent_channel: str = ""  # the agent's leg (name, uniqueid) once dialed
    agent_uniqueid: str = ""
    held: bool = False
    consult: Consultation | None = None  # attended transfer: who the agent consults
    customer_id: str | None = None
    tier: int = 0


@dataclass(frozen=True, slots=True)
class _Leave:
    """Send a caller's channel out of the queue (our own command, not the router's)."""

    channel: str
    kind: TargetKind
    destination: str


@dataclass(frozen=True, slots=True)
class _EndHold:
    """The agent's leg of a held call is gone: let the caller's hold end the talk."""

    call_id: str


@dataclass(frozen=True, slots=True)
class _HangupChannel:
    channel: str


SPY_OPTIONS = {"listen": "qE", "whisper": "qEw", "barge": "qEB"}


@dataclass
class Outbound:
    """A click-to-call: the agent's device first, then the number."""

    call_id: str  # also the originated channel's id
    agent_id: str
    number: str
    restore_ready: bool  # the agent was ready before: ready again after the call
    answered: bool = False
    campaign: Campaigned | None = None  # a preview campaign's attempt
    result: str | None = None  # the customer leg's result, once known (campaign calls)


@dataclass(frozen=True, slots=True)
class _Persist:
    agent_id: str
    value: str


@dataclass(frozen=True, slots=True)
class _Restore:
    """Bring agents back as they were before our restart (from AstDB)."""

    busy_devices: frozenset[str]


_Own = _Leave | _Persist | _Restore | _EndHold | _HangupChannel


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
        self.callback_calls = CallbackCalls(self)  # callbacks: kept in line, placed, retried
        self.campaigns = CampaignCalls(self)  # campaign calls and previews
        self.transfers = Transfers(self)  # blind and attended transfers
        self.channel_names: dict[str, str] = {}  # callback channel id -> channel name
        self.segments: dict[str, str] = {}  # caller channel -> its call id after a transfer
        self.for_agent: dict[str, str] = {}  # transferred call id -> the agent it is for
        self.outbound: dict[str, Outbound] = {}  # click-to-call channel id -> the call
        self.reasons: dict[str, str] = {}  # not-ready reason per agent
        self._agent_seen: dict[str, tuple[str, str]] = {}  # last (state, reason) reported
        self.wrapup_ends: dict[str, float | None] = {}
        self._to_astdb: dict[str, str] = {}  # agent -> state not yet written to AstDB
        self._astdb_writer: asyncio.Task[None] | None = None  # agent -> end of wrap-up (None: open)
        self._restored = False
        self.home_extensions = dict(self.extensions)  # each agent's own phone (tenant file)
        self.devices = self._devices()
        self.busy_elsewhere: set[str] = set()
        self.db_family = (
            f"cti-{self.tenant_id}-agents"  # agents we set not ready for a personal call
        )
        self.history: list[Command] = []
        self.stats = RunnerStats()
        self._commands: asyncio.Queue[Command | _Own] = asyncio.Queue()
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
            with contextlib.suppress(Exception):  # its error is not the closing's business
                await stop_task(task)

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

    def sit_at(self, agent_id: str, extension: str | None) -> None:
        """Hot-desking: from now on the agent's calls ring `extension` (one of the tenant's
        phones, the extensions of its agents; None: their own). Only while logged out,
        and not at a phone where another agent is logged in."""
        if agent_id not in self.extensions:
            raise RoutingError(f"no agent {agent_id!r} in {self.tenant_id!r}")
        extension = extension or self.home_extensions[agent_id]
        if extension == self.extensions[agent_id]:
            return
        if extension not in self.home_extensions.values():
            phones = ", ".join(sorted(self.home_extensions.values()))
            raise RoutingError(f"extension {extension!r} is not a phone of this center ({phones})")
        if self.router.agent_state(agent_id) != AgentState.LOGGED_OUT:
            raise RoutingError(f"agent {agent_id!r} changes phones only while logged out")
        for other, at in self.extensions.items():
            logged_in = self.router.agent_state(other) != AgentState.LOGGED_OUT
            if other != agent_id and at == extension and logged_in:
                raise RoutingError(f"extension {extension!r} is in use by agent {other!r}")
        self.extensions[agent_id] = extension
        self.devices = self._devices(first=agent_id)
        log.info("%s: agent %s sits at extension %s", self.tenant_id, agent_id, extension)

    def _devices(self, first: str | None = None) -> dict[str, str]:
        """Each phone's device -> the agent sitting at it, as `extensions` says; two at
        one phone (one logged out): `first` wins, else the later in the tenant file."""
        seats = sorted(self.extensions.items(), key=lambda seat: seat[0] == first)
        return {device_name(agent_device(self.settings, at)): agent for agent, at in seats}

    def ready(self, agent_id: str) -> None:
        self.transfers.not_consulted(agent_id, "go ready")
        self.feed(AgentReady(agent_id), strict=True)

    def not_ready(self, agent_id: str, reason: str) -> None:
        self.busy_elsewhere.discard(agent_id)
        self.reasons[agent_id] = reason
        self.feed(AgentNotReady(agent_id, reason), strict=True)

    def logout(self, agent_id: str) -> None:
        self.transfers.not_consulted(agent_id, "log out")
        self.feed(AgentLoggedOut(agent_id), strict=True)

    def hang_up_later(self, channel: str) -> None:
        """Hang `channel` up after the commands already queued (in event order)."""
        self._commands.put_nowait(_HangupChannel(channel))

    def wrapup_done(self, agent_id: str) -> None:
        self.feed(WrapUpDone(agent_id), strict=True)

    def wrapup_more(self, agent_id: str, seconds: float | None = None) -> None:
        self.feed(WrapUpExtended(agent_id, seconds), strict=True)

    def request_callback(self, call_id: str, number: str) -> None:
        """The caller asked to be called back: they hang up, their place is kept."""
        self.callback_calls.request_callback(call_id, number)

    def leave_later(self, channel: str, kind: TargetKind, destination: str) -> None:
        """Send a caller's channel out of the queue after the commands already queued."""
        self._commands.put_nowait(_Leave(channel, kind, destination))

    @property
    def callbacks(self) -> dict[str, CallbackLeg]:
        """Router call id -> its callback (`CallbackCalls.callbacks`)."""
        return self.callback_calls.callbacks

    @property
    def callback_legs(self) -> dict[str, str]:
        """Our originated channel id -> the callback's call id."""
        return self.callback_calls.callback_legs

    @property
    def settled_callbacks(self) -> dict[str, None]:
        """Callbacks settled here lately (the store may not say so yet)."""
        return self.callback_calls.settled_callbacks

    # ---- call controls (the console's) ------------------------------------
    def talking_leg(self, agent_id: str, *, caller: bool = False) -> Leg:
        """The call `agent_id` is talking on (held or not), else RoutingError; `caller`:
        one whose caller's channel we hold (not a callback we placed)."""
        for leg in self.legs.values():
            if leg.agent_id == agent_id and leg.state == TALKING:
                if caller and not leg.channel:
                    raise RoutingError(f"call {leg.call_id!r}: not possible on a callback")
                return leg
        raise RoutingError(f"agent {agent_id!r} has no call in progress")

    def outbound_call(self, agent_id: str) -> Outbound | None:
        return next((o for o in self.outbound.values() if o.agent_id == agent_id), None)

    async def hangup(self, agent_id: str) -> str:
        """End the agent's call: their leg goes (the caller's side ends the talk as usual)."""
        out = self.outbound_call(agent_id)
        if out is not None:
            name = self.channel_names.get(out.call_id)
            if name is None:
                raise RoutingError(f"call {out.call_id!r} has no channel yet")
            await self.ami.action("Hangup", Channel=name)
            return out.call_id
        leg = self.talking_leg(agent_id)
        if leg.agent_channel and not leg.held:
            await self.ami.action("Hangup", Channel=leg.agent_channel)
        else:  # a held caller (or an agent leg we never saw): the caller's channel ends it
            await self.ami.action("Hangup", Channel=leg.channel)
        return leg.call_id

    async def set_hold(self, agent_id: str, held: bool, *, consult: str | None = None) -> str:
        """Hold: the caller to music (`cti-hold,caller`), the agent's leg parked in silence
        (`cti-hold,agent`), or dialing the party it consults (`cti-consult,<consult>`);
        unhold: AMI `Bridge` puts them back together."""
        leg = self.talking_leg(agent_id, caller=True)
        if leg.held == held:
            raise RoutingError(f"call {leg.call_id!r} is {'already' if held else 'not'} on hold")
        if not leg.agent_channel:
            raise RoutingError(f"call {leg.call_id!r}: the agent's leg is not known")
        value = "1" if held else ""
        await asyncio.gather(
            self.ami.action("Setvar", Channel=leg.channel, Variable="CTI_HOLD", Value=value),
            self.ami.action("Setvar", Channel=leg.agent_channel, Variable="CTI_HOLD", Value=value),
        )
        if held:
            await self.ami.action(
                "Redirect",
                Channel=leg.channel,
                Context="cti-hold",
                Exten="caller",
                Priority=1,
                ExtraChannel=leg.agent_channel,
                ExtraContext="cti-consult" if consult else "cti-hold",
                ExtraExten=consult or "agent",
                ExtraPriority=1,
            )
        else:
            await self.ami.action("Bridge", Channel1=leg.channel, Channel2=leg.agent_channel)
        leg.held = held
        self.hold(leg.call_id, held)
        return leg.call_id

    async def dial(
        self,
        agent_id: str,
        number: str,
        call_id: str,
        campaign: Campaigned | None = None,
        *,
        customer_id: str | None = None,
    ) -> None:
        """Click-to-call: ring the agent's device; once answered it dials `number`.
        The agent is kept from ACD offers meanwhile: not ready (`outbound call`) until
        the number answers, then on a call, then in wrap-up like after any call (see
        `Router`), and ready again after it if they were before (else not ready as
        they were). A preview campaign's attempt (`campaign`) shows the campaign's
        caller ID and reports its result; it is journaled in the campaign's queue (queued
        as it is placed, its agent known) and recorded from the answer if the campaign
        says so; the agent is ready again after it. `customer_id`, the customer called
        (checked by the caller of this method), goes on the call."""
        queue = None if campaign is None else campaign.queue
        if queue is not None and queue not in self.queue_ids.values():
            raise RoutingError(f"campaign call {call_id!r}: no queue {queue!r}")
        state = self.router.agent_state(agent_id)
        if state not in (AgentState.READY, AgentState.NOT_READY):
            raise RoutingError(f"agent {agent_id!r} cannot dial out while {state}")
        self.transfers.not_consulted(agent_id, "dial out")
        if self.outbound_call(agent_id) is not None:
            raise RoutingError(f"agent {agent_id!r} is already on an outbound call")
        restore = state == AgentState.READY or (
            campaign is not None and self.reasons.get(agent_id) == PREVIEW_REASON
        )
        if restore:
            self.reasons[agent_id] = OUTBOUND_REASON
            self.feed(AgentNotReady(agent_id, OUTBOUND_REASON), strict=True)
        out = Outbound(call_id, agent_id, number, restore, campaign=campaign)
        self.outbound[call_id] = out
        extension = self.extensions[agent_id]
        variables = {"CTI_CALL_ID": call_id, "CTI_OFFER_ID": "0", "CTI_TENANT": self.tenant_id}
        data: dict[str, Any] = {"ani": extension, "dnis": number, "direction": "outbound"}
        if customer_id is not None:
            data["customer_id"] = customer_id
        if campaign is not None:
            self.campaigns.codes[campaign.campaign] = campaign.dispositions
            variables["CTI_CALLER_ID"] = campaign.caller_id
            variables["CTI_DIAL_SECONDS"] = str(campaign.ring_seconds)
            data = {**data, "ani": campaign.caller_id, "campaign": campaign.campaign}
        if self.record is not None:
            now = self.clock()
            self.record(
                DomainEvent(self.tenant_id, now, ev.CALL_ARRIVED, call_id, agent_id, data=data)
            )
            if queue is not None:  # a campaign's call: in its queue (its agent is known)
                queued = {"tier": 0, "customer_id": customer_id, "caller_number": None}
                self.record(
                    DomainEvent(self.tenant_id, now, ev.CALL_QUEUED, call_id, None, queue, queued)
                )
        try:
            await self.ami.originate(
                agent_device(self.settings, extension),
                context="cti-callback",
                exten=number,
                timeout_ms=30000,
                channel_id=call_id,
                caller_id=f'"{number}" <{number}>',
                variables=variables,
            )
        except AsteriskError as exc:
            self.outbound.pop(call_id, None)
            self._outbound_ended(out)
            raise RoutingError(f"the call could not be placed: {exc}") from None

    async def spy(self, agent_id: str, extension: str, mode: str) -> str:
        """Ring the supervisor's phone (`extension`) into ChanSpy on the agent's leg."""
        leg = self.talking_leg(agent_id)
        if not leg.agent_channel:
            raise RoutingError(f"call {leg.call_id!r}: the agent's leg is not known")
        await self.ami.originate(
            agent_device(self.settings, extension),
            context="cti-spy",
            exten=self.extensions[agent_id],
            timeout_ms=30000,
            caller_id=f'"{mode}" <{self.extensions[agent_id]}>',
            variables={"CTI_SPY_TARGET": leg.agent_channel, "CTI_SPY_OPTIONS": SPY_OPTIONS[mode]},
        )
        return leg.call_id

    def _outbound_answered(self, out: Outbound, status: str) -> None:
        if out.campaign is not None and out.result is None:
            out.result = str(DIAL_STATUS.get(status, CallbackResult.FAILED))
            self.campaigns.journal_result(out.campaign, out.call_id, out.agent_id, out.result)
        if status == "ANSWER" and not out.answered:
            out.answered = True
            if self.record is not None:
                answered: dict[str, Any] = {}
                queue = None
                if out.campaign is not None:  # recorded or not by the campaign, on our leg
                    queue = out.campaign.queue
                    channel = self.channel_names.get(out.call_id)
                    answered = {"record": out.campaign.record, "channel": channel}
                self.record(
                    DomainEvent(
                        self.tenant_id,
                        self.clock(),
                        ev.CALL_ANSWERED,
                        out.call_id,
                        out.agent_id,
                        queue,
                        answered,
                    )
                )
            self.feed(OutboundAnswered(out.agent_id))  # on a call, as with any call

    def _outbound_ended(self, out: Outbound) -> None:
        self.channel_names.pop(out.call_id, None)
        if out.campaign is not None and out.result is None:  # the customer was never dialed
            out.result = "cancelled"
            self.campaigns.journal_result(out.campaign, out.call_id, out.agent_id, out.result)
        if self.record is not None:
            now = self.clock()
            # the end of the talk; a campaign's attempt that did not connect ends too
            if out.answered or out.campaign is not None:
                outcome = "answered" if out.answered else (out.result or "cancelled")
                self.record(
                    DomainEvent(
                        self.tenant_id,
                        now,
                        ev.CALL_FINISHED,
                        out.call_id,
                        out.agent_id,
                        data={"outcome": outcome, "direction": "outbound"},
                    )
                )
            self.record(
                DomainEvent(self.tenant_id, now, ev.CALL_HUNGUP, out.call_id, data={"cause": None})
            )
        agent = out.agent_id
        if out.answered:  # wrap-up, then ready or not ready as before the call
            then = None if out.restore_ready else self.reasons.get(agent, "")
            queue = None if out.campaign is None else out.campaign.queue
            self.feed(OutboundEnded(agent, queue, then_not_ready=then))
        if (  # not answered: ready again if they were
            out.restore_ready
            and self.router.agent_state(agent) == AgentState.NOT_READY
            and self.reasons.get(agent) == OUTBOUND_REASON
        ):
            self.feed(AgentReady(agent))

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
        changed = self._agents_changed(sorted(a for a in touched if a in self.extensions))
        if self.record is not None:
            self._journal(event, commands, changed)
        for agent_id, state, reason in changed:  # kept in AstDB for a restart
            self._commands.put_nowait(_Persist(agent_id, f"{state}:{reason}"))
        return commands

    def _agents_changed(self, agent_ids: Iterable[str]) -> list[tuple[str, str, str]]:
        """(agent, state, reason) of the named agents whose state moved since last reported."""
        changed = []
        for agent_id in agent_ids:
            state = str(self.router.agent_state(agent_id))
            reason = self.reasons.get(agent_id, "") if state == AgentState.NOT_READY else ""
            if self._agent_seen.get(agent_id) != (state, reason):
                self._agent_seen[agent_id] = (state, reason)
                changed.append((agent_id, state, reason))
        return changed

    def _journal(
        self, event: Event, commands: list[Command], changed: list[tuple[str, str, str]]
    ) -> None:
        """Tell the journal what happened, as domain events (`reports.events`)."""
        record = self.record
        assert record is not None

        def say(
            kind: str,
            call_id: str | None,
            agent_id: str | None = None,
            queue: str | None = None,
            **data: Any,
        ) -> None:
            call = None if call_id is None else self.callback_calls.journal_id(call_id)
            record(DomainEvent(self.tenant_id, self._now, kind, call, agent_id, queue, data))

        if isinstance(event, CallQueued | CallConnected):
            leg = self.legs.get(event.call_id)
            number = leg.caller_number if leg else None
            extra = {}
            if isinstance(event, CallQueued) and event.callback_number:  # a callback's visit
                number, extra = event.callback_number, {"callback": True}
            say(
                ev.CALL_QUEUED,
                event.call_id,
                queue=event.queue,
                tier=event.tier,
                customer_id=event.customer_id,
                caller_number=number,
                segment_of=ev.segment_of(event.call_id),
                **extra,
            )
        if isinstance(event, CallConnected):  # queued, offered and answered at once
            say(ev.CALL_OFFERED, event.call_id, event.agent_id, event.queue)
            say(ev.CALL_ANSWERED, event.call_id, event.agent_id, event.queue)
        elif isinstance(event, OfferAnswered):
            if event.call_id not in self.callbacks:  # a callback's: when the customer answers
                say(ev.CALL_ANSWERED, event.call_id, event.agent_id)
        elif isinstance(event, OfferNotAnswered):
            say(ev.CALL_OFFER_MISSED, event.call_id, event.agent_id, offer_id=event.offer_id)
        elif isinstance(event, CallbackRequested):
            say(ev.CALLBACK_REQUESTED, event.call_id, number=event.number)
        for c in commands:
            if isinstance(c, OfferCall | PlaceCallback):
                say(ev.CALL_OFFERED, c.call_id, c.agent_id, c.queue, offer_id=c.offer_id)
            elif isinstance(c, CancelOffer):
                say(ev.CALL_OFFER_MISSED, c.call_id, c.agent_id, offer_id=c.offer_id)
            elif isinstance(c, OverflowCall):
                say(ev.CALL_OVERFLOWED, c.call_id, to_queue=c.to_queue)
            elif isinstance(c, RouteOut):
                say(ev.CALL_ROUTED_OUT, c.call_id, kind=str(c.kind), destination=c.destination)
            elif isinstance(c, CallFinished):
                result = self.campaigns.results.pop(c.call_id, None)
                visit = self.callback_calls.visits.get(c.call_id)
                if visit is not None:  # a callback's outbound call: how its customer leg went
                    outcome = visit.result or "cancelled"  # cancelled: never dialed
                    say(
                        ev.CALL_FINISHED,
                        c.call_id,
                        visit.agent_id,
                        outcome=outcome,
                        direction="outbound",
                    )
                    del self.callback_calls.visits[c.call_id]
                elif result is None:
                    say(ev.CALL_FINISHED, c.call_id, outcome=str(c.outcome))
                else:  # a campaign's call: how its customer leg went
                    say(ev.CALL_FINISHED, c.call_id, outcome=result, direction="outbound")
        for agent_id, state, reason in changed:
            say(ev.AGENT_STATE, None, agent_id, state=state, reason=reason)

    def hold(self, call_id: str, held: bool) -> None:
        """The caller of `call_id` was put on hold (or taken off it) by the agent."""
        leg = self.legs.get(call_id)
        if self.record is not None and leg is not None and leg.state == TALKING:
            kind = ev.CALL_HELD if held else ev.CALL_UNHELD
            call = self.callback_calls.journal_id(call_id)
            self.record(DomainEvent(self.tenant_id, self.clock(), kind, call, leg.agent_id))

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
        elif isinstance(event, DialStarted):
            leg = self.legs.get(self._call_of(event.uniqueid))
            if leg is not None and leg.state == RINGING:
                leg.agent_channel, leg.agent_uniqueid = event.dest_channel, event.dest_uniqueid
            for leg in self.legs.values():  # the agent's leg dials the party they consult
                if leg.consult is not None and leg.agent_uniqueid == event.uniqueid:
                    leg.consult.channel = event.dest_channel
                    leg.consult.uniqueid = event.dest_uniqueid
        elif isinstance(event, DialEnded):
            if event.uniqueid in self.outbound:
                self._outbound_answered(self.outbound[event.uniqueid], event.dial_status)
                return
            if event.uniqueid in self.callback_legs:  # the customer leg of a callback
                call_id = self.callback_legs[event.uniqueid]
                self.callback_calls.callback_result(call_id, event.dial_status)
                return
            leg = self.legs.get(self._call_of(event.uniqueid))
            if leg is not None and leg.state == RINGING and event.dial_status == "ANSWER":
                leg.state = TALKING
                assert leg.agent_id is not None
                self.feed(OfferAnswered(leg.call_id, leg.agent_id, leg.offer_id))
        elif isinstance(event, ChannelHeld | ChannelUnheld):
            self._on_hold(event)
        elif isinstance(event, ChannelCreated) and (
            event.uniqueid in self.callback_legs or event.uniqueid in self.outbound
        ):
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
        if self._call_of(event.uniqueid) in self.legs:
            self.hold(self._call_of(event.uniqueid), held)
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
        elif event.name == "CtiConsultEnded":
            for leg in self.legs.values():  # the consulted party is gone (or never answered)
                consultation = leg.consult
                if consultation is not None and leg.agent_uniqueid == event.uniqueid:
                    if not consultation.completing:
                        consultation.channel = consultation.uniqueid = ""
                        self.transfers.release(consultation, leg)
        elif event.name == "CtiOfferResult" and self._call_of(event.uniqueid) in self.legs:
            self._on_offer_result(self.legs[self._call_of(event.uniqueid)], fields)
        elif event.name == "CtiCallbackAnswered" and event.uniqueid in self.callback_legs:
            self.callback_calls.answered(event.uniqueid)
        elif event.name == "CtiCallbackRequest" and self._call_of(event.uniqueid) in self.legs:
            # pressed 1 in the holding loop: keep the place, release the caller
            leg = self.legs[self._call_of(event.uniqueid)]
            number = fields.get("CtiNumber") or leg.caller_number or ""
            try:
                self.request_callback(leg.call_id, number)
            except RoutingError as exc:  # e.g. already ringing an agent: the call goes on
                log.info("%s: callback request of %s ignored: %s", self.tenant_id, leg.call_id, exc)

    def _on_waiting(self, event: UserEvent) -> None:
        queue = self.queue_ids.get(event.fields.get("CtiQueue", ""))
        if queue is None:
            return
        call_id = self._call_of(event.uniqueid)
        leg = self.legs.get(call_id)
        if leg is not None:
            leg.state = WAITING
            return
        channel = event.fields.get("Channel", "")
        self.legs[call_id] = Leg(
            call_id,
            channel,
            queue,
            caller_number=event.fields.get("CallerIDNum"),
            uniqueid=event.uniqueid,
        )
        tier = int(event.fields.get("CtiTier") or 0)
        customer = event.fields.get("CtiCustomer") or None
        self.legs[call_id].customer_id = customer
        self.legs[call_id].tier = tier
        needs = parse_skills(event.fields.get("CtiSkills") or "")
        target = self.for_agent.pop(call_id, None)
        queued = CallQueued(
            call_id, queue, needs, tier=tier, customer_id=customer, for_agent_id=target
        )
        self.feed(queued)
        callback = event.fields.get("CtiCallback")
        if callback:  # asked for in the IVR: keep a place, let the caller go
            self.request_callback(call_id, callback)

    def _on_offer_result(self, leg: Leg, fields: Mapping[str, str]) -> None:
        status = fields.get("CtiDialStatus", "")
        if status == "ANSWER":  # the agent hung up (a survey may follow): the ACD is done
            self.legs.pop(leg.call_id, None)
            if leg.consult is not None:
                self.transfers.release(leg.consult, leg)
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

    def _call_of(self, uniqueid: str) -> str:
        """The call a caller's channel carries now (a transfer gives it a new one)."""
        return self.segments.get(uniqueid, uniqueid)

    def _on_hangup(self, uniqueid: str) -> None:
        if uniqueid in self.outbound:
            self._outbound_ended(self.outbound.pop(uniqueid))
            return
        held = next(
            (g for g in self.legs.values() if g.held and g.agent_uniqueid == uniqueid), None
        )
        if held is not None:  # the agent hung up while the caller was on hold
            self._commands.put_nowait(_EndHold(held.call_id))
            return
        if uniqueid in self.callback_legs:  # the agent's leg of a callback
            self.callback_calls.hung_up(uniqueid)
            return
        leg = self.legs.pop(self._call_of(uniqueid), None)
        self.segments.pop(uniqueid, None)
        if leg is None:
            return
        if leg.held and leg.agent_channel:
            self._commands.put_nowait(_HangupChannel(leg.agent_channel))
        if leg.consult is not None:
            self.transfers.release(leg.consult, leg)
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
        live = event.live()  # listed, or created while the list was made
        gone = [g.uniqueid or c for c, g in self.legs.items() if (g.uniqueid or c) not in live]
        for uniqueid in gone + [u for u in self.outbound if u not in live]:
            self._on_hangup(uniqueid)
        for uniqueid in [u for u in self.callback_legs if u not in live]:
            self._on_hangup(uniqueid)
        for snap in event.channels:
            queue = self.queue_ids.get(snap.exten)
            call_id = self._call_of(snap.uniqueid)
            if snap.context == "cti-wait" and queue is not None and call_id not in self.legs:
                self.legs[call_id] = Leg(call_id, snap.channel, queue, uniqueid=snap.uniqueid)
                log.info(
                    "%s: call %s adopted from Asterisk, waiting in %s",
                    self.tenant_id,
                    call_id,
                    queue,
                )
                self.feed(CallQueued(call_id, queue))

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

    async def _carry_out(self, command: Command | _Own) -> None:
        if isinstance(command, _EndHold):
            leg = self.legs.get(command.call_id)
            if leg is not None and leg.held:
                leg.held = False
                self.hold(leg.call_id, False)
                await self.ami.action("Setvar", Channel=leg.channel, Variable="CTI_HOLD", Value="")
        elif isinstance(command, _HangupChannel):
            await self.ami.action("Hangup", Channel=command.channel)
        elif isinstance(command, _Persist):
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
            leg = Leg(
                command.call_id, "", command.queue, CALLBACK, command.offer_id, command.agent_id
            )
            await self.callback_calls.place_callback(command, leg)
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

    async def _back_to_waiting(self, call_id: str) -> None:
        leg = self.legs.get(call_id)
        if leg is None:
            return
        if leg.state == CALLBACK:
            await self.callback_calls.hang_up(call_id)
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

    def _failed(self, command: Command | _Own) -> None:
        """An action Asterisk refused: tell the router what it amounts to."""
        if isinstance(command, OfferCall):
            leg = self.legs.get(command.call_id)
            if leg is not None and leg.offer_id == command.offer_id:
                leg.state, leg.agent_id, leg.offer_id = WAITING, None, None
                self.feed(OfferNotAnswered(command.call_id, command.agent_id, command.offer_id))
        elif isinstance(command, PlaceCallback):
            self.callback_calls.place_failed(command)
