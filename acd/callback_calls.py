"""A tenant's callbacks on its ACD runner (`AcdRunner.callback_calls`).

- A callback keeps the caller's place in line: asked for in the queue
  (`request_callback`: pressed 1, or in the IVR) or taken from the store when due
  (`take_callback`: scheduled by an agent, asked for on the web, left open by a restart).
- `PlaceCallback` (`place_callback`) originates the agent's device into
  `cti-callback,<number>` with a channel id of our own (`callback_legs`), so its answer
  (`CtiCallbackAnswered`, `answered`) and its hangup (`hung_up`) are recognised; the
  customer leg's `DialEnd` settles the attempt (`callback_result`).
- Each callback follows `acd.callback_life` (journaled as `callback.changed`, one row per
  asking call in the store): reserved with the agent, dialing once they take it,
  connected when the customer answers; busy, no answer or a failed leg is retried by the
  queue's `callback_retry` rule (a new visit to the queue, `<call>-r<attempt>`, queued as
  a callback at the due time) until it fails, or expires when its window closes first
  (`expire_callbacks`); a supervisor may take it back (`withdraw_callback`). Each visit
  is journaled as an outbound call of its own (a press-1 callback's first one as
  `<call>-cb`: the caller's call stays inbound), answered when the customer answers.

Campaign calls ride the same mechanics (`acd.campaign_calls`): not journaled here.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from acd.callback_life import (
    DEFAULT_WINDOW_HOURS,
    DIAL_STATUS,
    FINAL,
    Callback,
    CallbackResult,
    CallbackStatus,
    IllegalCallbackStep,
    RetryRule,
    callback_window,
)
from acd.campaign_calls import Campaigned
from acd.commands import PlaceCallback
from acd.errors import RoutingError
from acd.events import (
    CallbackCancelled,
    CallbackRequested,
    CallEnded,
    CallQueued,
    OfferAnswered,
    OfferNotAnswered,
)
from acd.specs import TargetKind
from acd.state import CallState
from cti.asterisk_conf import agent_device
from reports import events as ev
from reports.events import DomainEvent

if TYPE_CHECKING:
    from acd.runner import AcdRunner, Leg

log = logging.getLogger("acd.runner")

WAITING, TALKING = "waiting", "talking"  # as the runner's legs say it
SETTLED_MEMORY = 10_000  # settled callbacks remembered until the store has caught up


@dataclass
class CallbackLeg:
    """One callback's life as the runner follows it (`acd.callback_life`); `ref` is the
    call that asked for it (the key of its record), `call_id` the router's call now."""

    ref: str
    call_id: str
    number: str
    queue: str
    customer_id: str | None
    requested_at: float
    source: str = "queue"
    life: Callback = field(default_factory=Callback)
    agent_id: str | None = None
    asking_call: str | None = None  # the call it was promised in, if any
    campaign: Campaigned | None = None  # a campaign's attempt, not a callback record
    window_start: float | None = None  # it may be made from (None: when asked for)
    window_end: float | None = None  # and until: then it expires


@dataclass(slots=True)
class _Visit:
    """A callback's visit to its queue as the journal sees it: an outbound call of its
    own (`call_id`; for a callback asked for in the queue, the asking call's id and
    `-cb`, since that call stays an inbound call), made by `agent_id`, its customer leg
    ending with `result` (`acd.callback_life.CallbackResult`; None: never dialed)."""

    call_id: str
    agent_id: str | None = None
    result: str | None = None


class CallbackCalls:
    def __init__(self, runner: AcdRunner) -> None:
        self.runner = runner
        self.callback_legs: dict[str, str] = {}  # our originated channel id -> call id
        self.callbacks: dict[str, CallbackLeg] = {}  # router call id -> its callback
        # callbacks settled here lately (insertion-ordered, the oldest dropped first): the
        # store may not say so yet, it is written behind
        self.settled_callbacks: dict[str, None] = {}
        self.visits: dict[str, _Visit] = {}  # router call id -> a callback's outbound call

    def request_callback(self, call_id: str, number: str) -> None:
        """The caller asked to be called back: they hang up, their place is kept."""
        runner = self.runner
        leg = runner.legs.get(call_id)
        if leg is None or leg.state != WAITING:
            raise RoutingError(f"call {call_id!r} is not waiting in {runner.tenant_id!r}")
        runner.feed(CallbackRequested(call_id, number), strict=True)
        del runner.legs[call_id]
        runner.leave_later(leg.channel, TargetKind.CALLBACK, number)
        now = runner.clock()
        start, end = callback_window(now, None, self._window_hours(leg.queue))
        callback = CallbackLeg(
            call_id,
            call_id,
            number,
            leg.queue,
            leg.customer_id,
            now,
            asking_call=call_id,
            window_start=start,
            window_end=end,
        )
        self.callbacks[call_id] = callback
        self._callback_changed(callback)
        self._visit(callback, call_id, f"{call_id}-cb", queued=True)

    def _visit(self, callback: CallbackLeg, call_id: str, journal_id: str, queued: bool) -> None:
        """The callback's visit `call_id` to its queue is an outbound call, `journal_id`
        in the journal (`queued`: say it entered the queue, the router will not)."""
        if callback.campaign is not None:
            return
        self.visits[call_id] = _Visit(journal_id)
        record = self.runner.record
        if record is None:
            return
        tenant_id, now = self.runner.tenant_id, self.runner.clock()
        data = {"dnis": callback.number, "direction": "outbound"}
        record(DomainEvent(tenant_id, now, ev.CALL_ARRIVED, journal_id, data=data))
        if queued:
            queued_data = {
                "customer_id": callback.customer_id,
                "caller_number": callback.number,
                "callback": True,
            }
            record(
                DomainEvent(
                    tenant_id,
                    now,
                    ev.CALL_QUEUED,
                    journal_id,
                    queue=callback.queue,
                    data=queued_data,
                )
            )

    def journal_id(self, call_id: str) -> str:
        """The call the journal knows the router's call `call_id` as (a callback's visit
        has its own outbound call)."""
        visit = self.visits.get(call_id)
        return call_id if visit is None else visit.call_id

    def _callback_changed(self, callback: CallbackLeg) -> None:
        """Journal where the callback's life stands (the store keeps one row per `ref`)."""
        record = self.runner.record
        if record is None or callback.campaign is not None:
            return
        life = callback.life
        data = {
            "ref": callback.ref,
            "call_id": callback.asking_call,
            "number": callback.number,
            "queue": callback.queue,
            "customer_id": callback.customer_id,
            "source": callback.source,
            "requested_at": callback.requested_at,
            "window_start": callback.window_start,
            "window_end": callback.window_end,
            "status": str(life.status),
            "attempts": life.attempts,
            "due_at": life.due_at,
            "last_result": None if life.last_result is None else str(life.last_result),
            "agent_id": callback.agent_id,
        }
        now = self.runner.clock()
        record(DomainEvent(self.runner.tenant_id, now, ev.CALLBACK_CHANGED, None, data=data))

    def _callback_step(self, call_id: str, trigger: str, agent_id: str | None = None) -> None:
        callback = self.callbacks.get(call_id)
        if callback is None:
            return
        try:
            callback.life = callback.life.step(trigger)
        except IllegalCallbackStep as exc:
            log.warning("%s: callback %s: %s", self.runner.tenant_id, callback.ref, exc)
            return
        if agent_id is not None:
            callback.agent_id = agent_id
            visit = self.visits.get(call_id)
            if visit is not None:
                visit.agent_id = agent_id
        self._callback_changed(callback)

    def callback_result(self, call_id: str, dial_status: str) -> None:
        """The customer leg of a callback ended: connected, or retried by the queue's rule
        (a new visit to the queue at `due_at`, keeping the record), or failed."""
        runner = self.runner
        callback = self.callbacks.get(call_id)
        if callback is None or callback.life.status is not CallbackStatus.DIALING:
            return
        result = DIAL_STATUS.get(dial_status, CallbackResult.FAILED)
        if callback.campaign is not None:
            runner.campaigns.result(callback, str(result))
            return
        visit = self.visits.get(call_id)
        if visit is not None:
            visit.result = str(result)
            if result is CallbackResult.ANSWERED and runner.record is not None:
                leg = runner.legs.get(call_id)  # the customer answered: the talk begins
                answered = {"channel": leg.agent_channel if leg else None}
                runner.record(
                    DomainEvent(
                        runner.tenant_id,
                        runner.clock(),
                        ev.CALL_ANSWERED,
                        visit.call_id,
                        visit.agent_id,
                        callback.queue,
                        answered,
                    )
                )
        spec = next((q for q in runner.tenant.queues if q.id == callback.queue), None)
        retry = spec.callback_retry if spec is not None else None
        rule = RetryRule(retry.retry_minutes, retry.max_attempts) if retry else RetryRule()
        callback.life = callback.life.result(result, rule, runner.clock(), callback.window_end)
        self._callback_changed(callback)
        if callback.life.status is CallbackStatus.RETRY and callback.life.due_at is not None:
            delay = max(0.0, callback.life.due_at - runner.clock())
            asyncio.get_running_loop().call_later(delay, self._retry_callback, callback)
        if callback.life.status in FINAL:
            self.callbacks.pop(call_id, None)
            self._settled(callback)

    def withdraw_callback(self, ref: str, *, cancel: bool) -> bool:
        """A supervisor takes a callback back from the router: cancelled for good, or
        (`cancel` False) to wait in the store for a new time. Refused while it is being
        made (an agent reserved for it, or its customer dialed); False if not held here."""
        callback = next((c for c in self.callbacks.values() if c.ref == ref), None)
        if callback is None:
            return False
        if self.runner.router.call_state(callback.call_id) is not CallState.CALLBACK_WAITING:
            raise RoutingError(f"callback {ref!r} is being made now: it cannot be changed")
        self.runner.feed(CallbackCancelled(callback.call_id), strict=True)
        self.callbacks.pop(callback.call_id, None)
        if cancel:
            callback.life = callback.life.step("cancel")
            self._callback_changed(callback)
            self._settled(callback)
        return True

    def expire_callbacks(self, now: float) -> list[str]:
        """The callbacks waiting in line here whose window closed before an agent could
        make them leave the line, expired; their refs."""
        expired = []
        for callback in list(self.callbacks.values()):
            end = callback.window_end
            if callback.campaign is not None or end is None or end >= now:
                continue
            if callback.life.status is not CallbackStatus.PENDING:
                continue
            if self.runner.router.call_state(callback.call_id) is not CallState.CALLBACK_WAITING:
                continue
            self.runner.feed(CallbackCancelled(callback.call_id), strict=True)
            self.callbacks.pop(callback.call_id, None)
            callback.life = callback.life.step("expire")
            self._callback_changed(callback)
            self._settled(callback)
            expired.append(callback.ref)
        return expired

    def _settled(self, callback: CallbackLeg) -> None:
        self.settled_callbacks[callback.ref] = None
        if len(self.settled_callbacks) > SETTLED_MEMORY:
            del self.settled_callbacks[next(iter(self.settled_callbacks))]

    def _window_hours(self, queue: str) -> float:
        spec = next((q for q in self.runner.tenant.queues if q.id == queue), None)
        return spec.callback_window_hours if spec is not None else DEFAULT_WINDOW_HOURS

    def held_callbacks(self) -> set[str]:
        """The refs of the callbacks in the router's hands now or settled here (the store
        may not show their settling yet)."""
        return {c.ref for c in self.callbacks.values()} | self.settled_callbacks.keys()

    def has_callback(self, ref: str) -> bool:
        """Whether the callback `ref` is in the router's hands now, or was settled here."""
        return ref in self.settled_callbacks or any(c.ref == ref for c in self.callbacks.values())

    def take_callback(self, callback: CallbackLeg, for_agent_id: str | None = None) -> None:
        """A stored callback that is due (scheduled by an agent, asked for on the web, or
        left open by a restart) queues as a callback in its queue."""
        if self.has_callback(callback.ref):
            return
        if callback.queue not in self.runner.queue_ids.values():
            raise RoutingError(f"callback {callback.ref!r}: no queue {callback.queue!r}")
        if callback.life.status is CallbackStatus.RETRY:
            callback.life = callback.life.step("due")
        elif callback.life.status is not CallbackStatus.PENDING:
            # reserved or dialing when the service stopped: that attempt is lost, not spent
            callback.life = Callback(
                CallbackStatus.PENDING, callback.life.attempts, None, callback.life.last_result
            )
        visit = self._unused(f"{callback.ref}-q{callback.life.attempts}")
        self._queue_callback(callback, visit, for_agent_id)

    def _unused(self, call_id: str) -> str:
        """`call_id`, or a variant of it the router has not seen (a callback taken again
        after a supervisor moved it)."""
        candidate, n = call_id, 1
        while True:
            try:
                self.runner.router.call_state(candidate)
            except RoutingError:
                return candidate
            n += 1
            candidate = f"{call_id}.{n}"

    def _retry_callback(self, callback: CallbackLeg) -> None:
        """A retry is due: the callback queues again (a new visit) in its queue."""
        if self.callbacks.get(callback.call_id) is not callback:
            return  # cancelled or otherwise settled meanwhile
        callback.life = callback.life.step("due")
        try:
            self._queue_callback(callback, f"{callback.ref}-r{callback.life.attempts}")
        except RoutingError as exc:
            tenant_id = self.runner.tenant_id
            log.warning("%s: callback %s not queued again: %s", tenant_id, callback.ref, exc)

    def _queue_callback(
        self, callback: CallbackLeg, call_id: str, for_agent_id: str | None = None
    ) -> None:
        """The callback, pending again, queues as a callback (a new visit `call_id`)."""
        self.callbacks.pop(callback.call_id, None)
        callback.call_id = call_id
        self.callbacks[call_id] = callback
        self._callback_changed(callback)
        self._visit(callback, call_id, call_id, queued=False)
        queued = CallQueued(
            call_id,
            callback.queue,
            customer_id=callback.customer_id,
            for_agent_id=for_agent_id if for_agent_id in self.runner.extensions else None,
            callback_number=callback.number,
        )
        self.runner.feed(queued, strict=True)

    # ---- the callback's legs on Asterisk -----------------------------------
    async def place_callback(self, command: PlaceCallback, leg: Leg) -> None:
        """The agent's device first (`leg`, the runner's for the call), then the customer's
        number through `cti-callback`."""
        runner = self.runner
        self._callback_step(command.call_id, "reserve", command.agent_id)
        channel_id = f"cb-{command.call_id}-{command.offer_id}"
        runner.legs[command.call_id] = leg
        self.callback_legs[channel_id] = command.call_id
        device = agent_device(runner.settings, runner.extensions[command.agent_id])
        variables = {
            "CTI_CALL_ID": channel_id,
            "CTI_OFFER_ID": str(command.offer_id),
            "CTI_TENANT": runner.tenant_id,
        }
        label = "Callback"
        callback = self.callbacks.get(command.call_id)
        spec = next((q for q in runner.tenant.queues if q.id == command.queue), None)
        if spec is not None and spec.callback_retry is not None:
            variables["CTI_DIAL_SECONDS"] = str(spec.callback_retry.ring_seconds)
        if callback is not None and callback.campaign is not None:
            meta = callback.campaign
            label = meta.campaign  # the agent's phone shows the campaign and the number
            variables["CTI_CALLER_ID"] = meta.caller_id  # what the customer sees
            variables["CTI_DIAL_SECONDS"] = str(meta.ring_seconds)
        await runner.ami.originate(
            device,
            context="cti-callback",
            exten=command.number,
            timeout_ms=int(command.ring_timeout * 1000),
            channel_id=channel_id,
            caller_id=f'"{label}" <{command.number}>',
            variables=variables,
        )

    def place_failed(self, command: PlaceCallback) -> None:
        """Asterisk refused to originate the agent's leg: the offer was not answered."""
        self.callback_legs.pop(f"cb-{command.call_id}-{command.offer_id}", None)
        self.runner.legs.pop(command.call_id, None)
        self.runner.feed(OfferNotAnswered(command.call_id, command.agent_id, command.offer_id))
        self._callback_step(command.call_id, "agent_missed")

    def answered(self, channel_id: str) -> None:
        """The agent took the callback (`CtiCallbackAnswered`): their phone dials it."""
        call_id = self.callback_legs[channel_id]
        leg = self.runner.legs.get(call_id)
        if leg is not None and leg.agent_id is not None:
            leg.state = TALKING
            leg.agent_channel = self.runner.channel_names.get(channel_id, "")
            leg.agent_uniqueid = channel_id
            self.runner.feed(OfferAnswered(call_id, leg.agent_id, leg.offer_id))
            self._callback_step(call_id, "dial")

    def hung_up(self, channel_id: str) -> None:
        """The agent's leg of a callback is gone: the end of the talk, or of the offer."""
        call_id = self.callback_legs.pop(channel_id)
        self.runner.channel_names.pop(channel_id, None)
        leg = self.runner.legs.pop(call_id, None)
        if leg is None:
            return
        if leg.state == TALKING:
            self.runner.feed(CallEnded(call_id))
        elif leg.agent_id is not None:
            self.runner.feed(OfferNotAnswered(call_id, leg.agent_id, leg.offer_id))
            self._callback_step(call_id, "agent_missed")

    async def hang_up(self, call_id: str) -> None:
        """Withdraw the callback's offer: the agent's leg placed for it is hung up."""
        for channel_id, owner in list(self.callback_legs.items()):
            name = self.runner.channel_names.get(channel_id)
            if owner == call_id and name:
                await self.runner.ami.action("Hangup", Channel=name)
