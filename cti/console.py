"""The bridge between the web pages and the running center (`agent_console.ws.ContactCenter`).

It listens to the journal and pushes to the consoles through the hub:

- `screen_pop` to the agent the moment a call is offered to them: caller number,
  customer, tier, language, the IVR path and what was keyed in, time waited, and the
  customer's contact history. The customer and history are fetched when the call is
  queued (while it waits), so the pop itself costs no database round-trip;
- `agent.state` to the agent and to the tenant's supervisors at every change;
- `call.update` to the agent as their call is answered (`answered_at`), put on hold,
  ended, and as its recording starts, pauses and resumes (`recording`, told by
  `cti.recording.Recorder.on_change`).

Actions from the pages go to the tenant's ACD runner; every one is checked against
the user's tenant and role, and refusals come back as `CenterError`. Call controls
(`call.*`) act only on the agent's own current call (`calls`), named or not;
`callback.schedule` writes a pending row of the `callbacks` table; `supervisor.spy`
rings the supervisor's own extension into ChanSpy on one of their tenant's agents.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, replace
from typing import Any

from pydantic import BaseModel
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.callback_life import DEFAULT_WINDOW_HOURS, BadWindow, callback_window, check_window
from acd.errors import RoutingError
from acd.runner import AcdRunner
from agent_console.auth import Principal
from agent_console.hub import SUPERVISORS, Hub, message
from agent_console.ws import (
    CallRef,
    CenterError,
    Dial,
    NotReady,
    ScheduleCallback,
    SetAgentState,
    Spy,
    Transfer,
    WrapUpDone,
    WrapUpMore,
)
from cti.config import PlatformConfig, TenantConfig
from cti.console_campaigns import CampaignDesk
from cti.errors import AsteriskError
from cti.recording import ActiveRecording
from cti.store import customers as customer_store
from cti.store.journal import Journal
from cti.store.models import Callback
from cti.store.users import get_user
from reports import events as ev
from reports.events import DomainEvent
from reports.fold import Folded

log = logging.getLogger("cti.console")

HISTORY_LIMIT = 20
DIALABLE = re.compile(r"^\+?[0-9*#]{2,32}$")


class ConsoleBridge:
    def __init__(
        self,
        config: PlatformConfig,
        runners: dict[str, AcdRunner],
        journal: Journal,
        hub: Hub,
        engine: AsyncEngine,
        *,
        live: Callable[[str], dict[str, Any]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.tenants = {t.tenant.id: t for t in config.tenants}
        self.runners = runners
        self.journal = journal
        self.hub = hub
        self.engine = engine
        self.live = live
        self.clock = clock
        self.ivr: OrderedDict[str, dict[str, Any]] = OrderedDict()  # call id -> IVR result
        self.prefetch: dict[str, asyncio.Task[dict[str, Any]]] = {}
        self.pops: dict[tuple[str, str], dict[str, Any]] = {}  # (tenant, agent) -> last pop
        self.calls: dict[tuple[str, str], dict[str, Any]] = {}  # (tenant, agent) -> call
        self.last_call: dict[tuple[str, str], str] = {}  # the call an agent wraps up
        self.by_call: dict[tuple[str, str], tuple[str, str]] = {}  # (tenant, call) -> agent
        self.pop_latency: list[float] = []
        self.recorder: Any = None  # cti.recording.Recorder: recording.* actions
        self.campaigns = CampaignDesk(self)
        journal.subscribe(self.on_event)

    # -- journal in ----------------------------------------------------------------------

    def on_event(self, event: DomainEvent, folded: Folded) -> None:
        kind, tenant = event.kind, event.tenant
        if kind == ev.IVR_FINISHED and event.call_id:
            self.ivr[event.call_id] = event.data
            while len(self.ivr) > 10_000:
                self.ivr.popitem(last=False)
            self._start_prefetch(tenant, event.call_id)  # the customer is known from here
        elif kind == ev.CALL_QUEUED and event.call_id:
            self._start_prefetch(tenant, event.call_id)
        elif kind == ev.CALL_OFFERED and event.call_id and event.agent_id:
            self._offered(event)
        elif kind in (ev.CALL_ANSWERED, ev.CALL_HELD, ev.CALL_UNHELD) and event.call_id:
            self._call_update(
                event,
                {ev.CALL_ANSWERED: "talking", ev.CALL_HELD: "on_hold", ev.CALL_UNHELD: "talking"}[
                    kind
                ],
            )
        elif kind == ev.CALL_CONSULTED and event.call_id and event.data.get("to_agent"):
            self._consulted(event)
        elif kind == ev.CALL_CONSULT_ENDED and event.call_id and event.data.get("to_agent"):
            self._drop_call(tenant, str(event.data["to_agent"]), event.call_id, "gone")
        elif kind == ev.CALL_OFFER_MISSED and event.agent_id:
            self._drop_call(tenant, event.agent_id, event.call_id, "missed")
        elif kind == ev.CALL_FINISHED and event.call_id:
            self._finished(event)
        elif kind == ev.AGENT_STATE and event.agent_id:
            self._agent_state(event)
        elif kind == ev.CALLBACK_CHANGED and event.data.get("status") == "dialing":
            self._callback_dialing(event)
        elif kind in (ev.CAMPAIGN_PREVIEW, ev.CAMPAIGN_PREVIEW_ENDED) and event.agent_id:
            self.campaigns.on_preview(event)

    def _start_prefetch(self, tenant: str, call_id: str) -> None:
        if call_id in self.prefetch:
            return
        task = asyncio.get_running_loop().create_task(self._lookup(tenant, call_id))
        self.prefetch[call_id] = task
        task.add_done_callback(lambda _t: None)

    async def _lookup(self, tenant: str, call_id: str) -> dict[str, Any]:
        """The customer and their history, found by the IVR's identification or the number."""
        row = self.journal.folder(tenant).calls.get(call_id)
        scope = customer_store.TenantScope.from_config(self.tenants[tenant])
        try:
            customer = None
            if row is not None and row.customer_id:
                customer = await customer_store.get(self.engine, scope, row.customer_id)
            if customer is None and row is not None and row.caller_number:
                customer = await customer_store.find_by_phone(self.engine, scope, row.caller_number)
            if customer is None:
                return {"customer": None, "history": None}
            history = await customer_store.contact_history(
                self.engine, scope, customer.id, HISTORY_LIMIT
            )
        except Exception as exc:  # the pop goes out without the record rather than not at all
            log.warning("screen-pop lookup for %s failed: %s", call_id, exc)
            return {"customer": None, "history": None, "lookup_error": str(exc)}
        return {
            "customer": customer.as_dict(),
            "history": {
                "calls": [asdict(c) for c in history.calls if c.call_id != call_id],
                "callbacks": [asdict(c) for c in history.callbacks],
            },
        }

    def _offered(self, event: DomainEvent) -> None:
        assert event.call_id is not None and event.agent_id is not None
        key = (event.tenant, event.agent_id)
        self.calls[key] = {
            "call_id": event.call_id,
            "state": "ringing",
            "since": event.at,
            "queue": event.queue,
        }
        self.by_call[(event.tenant, event.call_id)] = key
        self.last_call[key] = event.call_id
        self._pop(event, key)

    def _pop(self, event: DomainEvent, key: tuple[str, str], **extra: Any) -> None:
        """The screen pop of `event.call_id` to `event.agent_id`: at once with what the call
        itself says, the customer's record following when its lookup is not done yet."""
        assert event.call_id is not None
        task = self.prefetch.get(event.call_id)
        if task is None:
            self._start_prefetch(event.tenant, event.call_id)
            task = self.prefetch[event.call_id]
        if task.done():
            self._send_pop(event, task.result(), extra=extra)
            return
        self._send_pop(event, {"customer": None, "history": None}, complete=False, extra=extra)

        def follow_up(done: asyncio.Task[dict[str, Any]]) -> None:
            call = self.calls.get(key)
            if call is not None and call["call_id"] == event.call_id and not done.cancelled():
                self._send_pop(event, done.result(), extra=extra)

        task.add_done_callback(follow_up)

    def _consulted(self, event: DomainEvent) -> None:
        """An agent consults another before an attended transfer: the consulted agent's
        console shows the caller (the call stays the consulting agent's until then)."""
        assert event.call_id is not None
        target = str(event.data["to_agent"])
        pop_event = replace(event, agent_id=target)
        row = self.journal.folder(event.tenant).calls.get(event.call_id)
        key = (event.tenant, target)
        self.calls[key] = {
            "call_id": event.call_id,
            "state": "consulting",
            "since": event.at,
            "queue": row.queue if row else None,
            "from_agent": event.agent_id,
        }
        self._pop(pop_event, key, consultation={"from_agent": event.agent_id})

    def _send_pop(
        self,
        event: DomainEvent,
        found: dict[str, Any],
        *,
        complete: bool = True,
        extra: dict[str, Any] | None = None,
    ) -> None:
        assert event.call_id is not None and event.agent_id is not None
        row = self.journal.folder(event.tenant).calls.get(event.call_id)
        ivr = self.ivr.get(event.call_id, {})
        customer = found.get("customer")
        pop = message(
            "screen_pop",
            call_id=event.call_id,
            queue=event.queue or (row.queue if row else None),
            offered_at=event.at,
            caller_number=row.caller_number if row else None,
            customer=customer,
            tier=(row.tier if row and row.tier is not None else (customer or {}).get("tier", 0)),
            language=(row.language if row and row.language else (customer or {}).get("language")),
            ivr={"path": ivr.get("path") or [], "keyed": ivr.get("variables") or {}},
            waited_seconds=round(event.at - row.queued_at, 1) if row and row.queued_at else None,
            history=found.get("history"),
            known=customer is not None,
            complete=complete,  # False: customer and history follow in a second screen_pop
            **self._campaign_fields(event.tenant, event.call_id),
            **(extra or {}),
        )
        self.pops[(event.tenant, event.agent_id)] = pop
        self.hub.to_agent(event.tenant, event.agent_id, pop)
        if complete:
            self.pop_latency.append(self.clock() - event.at)
            del self.pop_latency[:-1000]

    def _call_update(self, event: DomainEvent, state: str) -> None:
        key = self.by_call.get((event.tenant, event.call_id or ""))
        call = self.calls.get(key) if key is not None else None
        if key is None or call is None or call["call_id"] != event.call_id:
            return
        if event.kind == ev.CALL_ANSWERED and event.agent_id not in (None, key[1]):
            return
        call.update(state=state, since=event.at)
        if event.kind == ev.CALL_ANSWERED:
            call.setdefault("answered_at", event.at)  # the call's duration runs from here
        self.hub.to_agent(key[0], key[1], message("call.update", **call))

    def recording_changed(self, recording: ActiveRecording) -> None:
        """The recorder started, paused, resumed or ended the recording of a call: the
        agent's console shows it (`recording`: `recording`, `paused`, or absent)."""
        key = self.by_call.get((recording.tenant, recording.call_id))
        if key is None and recording.agent_id is not None:
            key = (recording.tenant, recording.agent_id)
        call = self.calls.get(key) if key is not None else None
        if key is None or call is None or call["call_id"] != recording.call_id:
            return
        state = None if recording.state == "ended" else recording.state
        if call.get("recording") == state:
            return
        call["recording"] = state
        self.hub.to_agent(key[0], key[1], message("call.update", **call))

    def _callback_dialing(self, event: DomainEvent) -> None:
        """The agent took the callback they were offered: the customer is being dialed."""
        key = (event.tenant, str(event.data.get("agent_id") or ""))
        call = self.calls.get(key)
        if call is not None and call["state"] == "ringing":
            call.update(state="dialing", since=event.at)
            self.hub.to_agent(key[0], key[1], message("call.update", **call))

    def _drop_call(self, tenant: str, agent: str, call_id: str | None, why: str) -> None:
        call = self.calls.get((tenant, agent))
        if call is not None and call["call_id"] == call_id:
            del self.calls[(tenant, agent)]
            self.by_call.pop((tenant, call_id or ""), None)
            self.pops.pop((tenant, agent), None)
            self.hub.to_agent(tenant, agent, message("call.update", **{**call, "state": why}))

    def _finished(self, event: DomainEvent) -> None:
        task = self.prefetch.pop(event.call_id or "", None)
        if task is not None and not task.done():
            task.cancel()
        key = self.by_call.get((event.tenant, event.call_id or ""))
        call = self.calls.get(key) if key is not None else None
        if key is None or call is None or call["call_id"] != event.call_id:
            return
        if call["state"] == "ringing":
            self._drop_call(key[0], key[1], event.call_id, "gone")
        else:
            call.update(state="ended", since=event.at)
            self.hub.to_agent(key[0], key[1], message("call.update", **call))

    def _agent_state(self, event: DomainEvent) -> None:
        assert event.agent_id is not None
        key = (event.tenant, event.agent_id)
        state = str(event.data.get("state"))
        if state in ("ready", "not_ready", "logged_out"):
            call = self.calls.pop(key, None)
            if call is not None:
                self.by_call.pop((event.tenant, call["call_id"]), None)
                if call["state"] == "ended":
                    self.pops.pop(key, None)
        payload = message(
            "agent.state",
            agent_id=event.agent_id,
            state=state,
            reason=event.data.get("reason") or "",
            since=event.at,
        )
        self.hub.to_agent(event.tenant, event.agent_id, payload)
        if self.hub.has_supervisors(event.tenant):
            self.hub.to_tenant(event.tenant, payload, roles=SUPERVISORS)

    def on_live(self, topic: str, payload: dict[str, Any]) -> None:
        """Live figures (`cti/<tenant>/...` topics) to the tenant's supervisors' wallboards."""
        parts = topic.split("/")
        if len(parts) < 3 or parts[1] not in self.tenants or not self.hub.has_supervisors(parts[1]):
            return
        tenant = parts[1]
        if parts[2] == "stats":
            pushed = message("tenant.stats", stats=payload)
        elif parts[2] == "queues" and len(parts) == 5:
            pushed = message("queue.stats", queue=parts[3], stats=payload)
        elif parts[2] == "agents" and len(parts) == 5:
            pushed = message("agent.stats", agent_id=parts[3], stats=payload)
        else:
            return
        self.hub.to_tenant(tenant, pushed, roles=SUPERVISORS)

    # -- what the pages see ----------------------------------------------------------------

    def _agent_view(self, tenant: str, agent_id: str) -> dict[str, Any]:
        runner = self.runners[tenant]
        now = self.journal.folder(tenant).agent_state(agent_id)
        state = runner.agent_states.get(agent_id, "logged_out")
        return {
            "agent_id": agent_id,
            "name": next((a.name for a in self.tenants[tenant].agents if a.id == agent_id), ""),
            "state": state,
            "reason": runner.reasons.get(agent_id, "") if state == "not_ready" else "",
            "since": now[1] if now is not None and now[0] == state else None,
        }

    def snapshot(self, principal: Principal) -> dict[str, Any]:
        tenant = self._tenant(principal)
        view: dict[str, Any] = {
            "now": self.clock(),
            "reasons": list(tenant.not_ready_reasons),
            "dispositions": [d.model_dump() for d in tenant.dispositions],
            "queues": [{"id": q.id, "name": q.name} for q in tenant.queues],
            "colleagues": [{"id": a.id, "name": a.name} for a in tenant.agents],
        }
        tid = tenant.tenant.id
        if principal.agent_id:
            key = (tid, principal.agent_id)
            view["agent"] = self._agent_view(tid, principal.agent_id)
            view["call"] = self.calls.get(key)
            view["pop"] = self.pops.get(key)
            view["preview"] = self.campaigns.previews.get(key)
            wrap = self.runners[tid].wrapup_until(principal.agent_id)
            view["agent"]["wrapup_until"] = wrap
        if principal.role in SUPERVISORS:
            view["agents"] = [self._agent_view(tid, a.id) for a in tenant.agents]
            for queue, config in zip(view["queues"], tenant.queues, strict=True):
                queue["thresholds"] = config.thresholds.model_dump(exclude_none=True)
                # who serves the queue: the wallboard counts its agents by state
                queue["agents"] = [a.id for a in tenant.agents if config.id in a.queues]
            if self.live is not None:
                view["stats"] = self.live(tid)
        return view

    def _tenant(self, principal: Principal) -> TenantConfig:
        tenant = self.tenants.get(principal.tenant_id)
        if tenant is None:
            raise CenterError(f"tenant {principal.tenant_id!r} is not served here")
        return tenant

    # -- what the pages do -----------------------------------------------------------------

    async def act(self, principal: Principal, action: str, body: BaseModel) -> dict[str, Any]:
        tenant = self._tenant(principal)
        if action.startswith("recording.") and self.recorder is not None:
            return await self.recorder.act(principal, action)  # type: ignore[no-any-return]
        runner = self.runners[tenant.tenant.id]
        try:
            if action == "supervisor.spy":
                assert isinstance(body, Spy)
                return await self._spy(principal, runner, body)
            if action.startswith("supervisor."):
                return self._supervise(tenant, runner, action, body)
            agent = principal.agent_id
            if agent is None or agent not in runner.extensions:
                raise CenterError(f"user {principal.username!r} is not an agent of this tenant")
            if action.startswith("call.") or action == "callback.schedule":
                return await self._call_action(tenant, runner, agent, action, body)
            if action.startswith("campaign."):
                return await self.campaigns.act(tenant, runner, agent, action)
            if action == "agent.login":  # at the phone they logged in at (hot-desking)
                user = await get_user(self.engine, principal.tenant_id, principal.username)
                runner.sit_at(agent, user.extension if user is not None else None)
            done = self._agent_action(tenant, runner, agent, action, body)
            if action == "wrapup.done":  # the agent is told "saved": in the store first
                with contextlib.suppress(Exception):  # the database away: kept, retried
                    await self.journal.flush()
            return done
        except RoutingError as exc:
            raise CenterError(str(exc)) from None
        except AsteriskError as exc:
            raise CenterError(f"{action} failed on Asterisk: {exc}") from None

    # -- call controls -------------------------------------------------------------------

    def _current_call(self, tenant: str, agent: str, body: CallRef) -> dict[str, Any]:
        """The agent's own call in progress; `body.call_id`, when given, must be it."""
        call = self.calls.get((tenant, agent))
        if call is None or call["state"] not in ("talking", "on_hold", "dialing"):
            raise CenterError("you have no call in progress")
        if body.call_id is not None and body.call_id != call["call_id"]:
            raise CenterError(f"call {body.call_id!r} is not your current call")
        return call

    async def _call_action(
        self, tenant: TenantConfig, runner: AcdRunner, agent: str, action: str, body: BaseModel
    ) -> dict[str, Any]:
        tid = tenant.tenant.id
        if action == "call.dial":
            assert isinstance(body, Dial)
            return await self._dial(tid, runner, agent, body)
        if action == "callback.schedule":
            assert isinstance(body, ScheduleCallback)
            return await self._schedule_callback(tenant, agent, body)
        assert isinstance(body, CallRef)
        call = self._current_call(tid, agent, body)
        if action == "call.hangup":
            await runner.hangup(agent)
        elif action in ("call.hold", "call.unhold"):
            await runner.set_hold(agent, action == "call.hold")
        elif action == "call.transfer_complete":
            to_call = await runner.transfers.complete_transfer(
                agent, ev.next_segment(call["call_id"])
            )
            call.pop("consulting", None)
            return {"call_id": call["call_id"], "to_call": to_call}
        elif action == "call.transfer_cancel":
            await runner.transfers.cancel_transfer(agent)
            call.pop("consulting", None)
            self.hub.to_agent(tid, agent, message("call.update", **call))
        elif action == "call.transfer":
            assert isinstance(body, Transfer)
            destination = body.to
            if body.to_kind == "queue" and destination not in {q.id for q in tenant.queues}:
                raise CenterError(f"no queue {destination!r} in this tenant")
            if body.to_kind == "agent" and destination not in {a.id for a in tenant.agents}:
                raise CenterError(f"no agent {destination!r} in this tenant")
            if body.to_kind == "agent" and destination == agent:
                raise CenterError("a call cannot be transferred to the agent who has it")
            if body.to_kind == "number":
                self._check_number(destination)
            if body.mode == "attended":
                await runner.transfers.consult(agent, body.to_kind, destination)
                consultation = runner.talking_leg(agent).consult
                found = consultation.agent_id if consultation is not None else None
                call["consulting"] = found or destination  # until completed or cancelled
                self.hub.to_agent(tid, agent, message("call.update", **call))
                return {"call_id": call["call_id"], "consulting": call["consulting"]}
            segment = ev.next_segment(call["call_id"])
            await runner.transfers.transfer(
                agent, body.to_kind, destination, segment, mode=body.mode
            )
            return {
                "call_id": call["call_id"],
                "to_call": segment if body.to_kind in ("queue", "agent") else None,
            }
        else:
            raise CenterError(f"{action} is not available in this version")
        return {"call_id": call["call_id"]}

    def _check_number(self, number: str) -> None:
        """A number to dial out: digits only (it goes into a dial string), not one of ours
        (a call re-entering through our IVR would mix with the one it came from)."""
        if not DIALABLE.match(number):
            raise CenterError(f"cannot dial {number!r}: digits, '*', '#', a leading '+'")
        if self.config.tenant_for_number(number) is not None:
            raise CenterError(f"{number} is one of our numbers: transfer to a queue instead")

    async def _dial(self, tenant: str, runner: AcdRunner, agent: str, body: Dial) -> dict[str, Any]:
        """Click-to-call; the customer named, if any, must be one of the tenant's (the
        outbound call is then theirs: its row carries their id)."""
        self.check_free(tenant, agent)
        if body.customer_id is not None:
            scope = customer_store.TenantScope.from_config(self.tenants[tenant])
            if await customer_store.get(self.engine, scope, body.customer_id) is None:
                raise CenterError(f"no customer {body.customer_id!r} in this tenant")
        call_id = f"out-{uuid.uuid4().hex[:20]}"
        await runner.dial(agent, body.number, call_id, customer_id=body.customer_id)
        return self.dialing(tenant, agent, call_id, body.number, body.customer_id)

    def check_free(self, tenant: str, agent: str) -> None:
        """An agent about to dial out has no call in progress."""
        current = self.calls.get((tenant, agent))
        if current is not None and current["state"] not in ("ended", "missed", "gone"):
            raise CenterError("finish your current call first")

    def dialing(
        self, tenant: str, agent: str, call_id: str, number: str, customer_id: str | None
    ) -> dict[str, Any]:
        """The agent's outbound call is placed: their console follows it."""
        key = (tenant, agent)
        self.calls[key] = {
            "call_id": call_id,
            "state": "dialing",
            "since": self.clock(),
            "queue": None,
            "direction": "outbound",
            "number": number,
            "customer_id": customer_id,
            **self._campaign_fields(tenant, call_id),
        }
        self.by_call[(tenant, call_id)] = key
        self.last_call[key] = call_id
        self.hub.to_agent(tenant, agent, message("call.update", **self.calls[key]))
        return {"call_id": call_id, "number": number}

    async def _schedule_callback(
        self, tenant: TenantConfig, agent: str, body: ScheduleCallback
    ) -> dict[str, Any]:
        """A callback the agent promised: a pending row (the dialer takes it from there)."""
        tid = tenant.tenant.id
        try:
            number = customer_store.normalise_phone(body.number, tenant.tenant.region)
        except customer_store.InvalidPhone as exc:
            raise CenterError(str(exc)) from None
        if body.queue is not None and body.queue not in {q.id for q in tenant.queues}:
            raise CenterError(f"no queue {body.queue!r} in this tenant")
        now = self.clock()
        if body.at is not None and body.at < now - 60:
            raise CenterError("a callback cannot be scheduled in the past")
        start = now if body.at is None else max(now, body.at)
        try:
            check_window(now, start, body.until)
            window_start, window_end = callback_window(
                start, body.until, _window_hours(tenant, body.queue, agent)
            )
        except BadWindow as exc:
            raise CenterError(str(exc)) from None
        if body.customer_id is not None:
            scope = customer_store.TenantScope.from_config(tenant)
            if await customer_store.get(self.engine, scope, body.customer_id) is None:
                raise CenterError(f"no customer {body.customer_id!r} in this tenant")
        row = {
            "tenant_id": tid,
            "number": number,
            "customer_id": body.customer_id,
            "queue": body.queue,
            "source": "agent",
            "ref": f"agent-{uuid.uuid4().hex[:16]}",
            "call_id": self.last_call.get((tid, agent)),
            "requested_at": now,
            "window_start": window_start,
            "window_end": window_end,
            "status": "pending",
            "attempts": 0,
            "agent_id": agent,
            "updated_at": now,
        }
        async with self.engine.begin() as conn:
            result = await conn.execute(insert(Callback).values(**row))
        key = result.inserted_primary_key
        return {
            "callback_id": key[0] if key else None,
            "number": number,
            "at": body.at,
            "until": window_end,
        }

    async def _spy(self, principal: Principal, runner: AcdRunner, body: Spy) -> dict[str, Any]:
        if principal.role not in SUPERVISORS:
            raise CenterError("listening to calls needs the supervisor role")
        if body.agent_id not in runner.extensions:
            raise CenterError(f"no agent {body.agent_id!r} in this tenant")
        user = await get_user(self.engine, principal.tenant_id, principal.username)
        if user is None or not user.extension:
            raise CenterError("you have no phone extension to listen on")
        await runner.spy(body.agent_id, user.extension, body.mode)
        call = self.calls.get((principal.tenant_id, body.agent_id)) or {}
        return {"agent_id": body.agent_id, "mode": body.mode, "call_id": call.get("call_id")}

    def _agent_action(
        self, tenant: TenantConfig, runner: AcdRunner, agent: str, action: str, body: BaseModel
    ) -> dict[str, Any]:
        if action == "agent.login":
            runner.login(agent)
        elif action == "agent.ready":
            runner.ready(agent)
        elif action == "agent.not_ready":
            assert isinstance(body, NotReady)
            self._check_reason(tenant, body.reason)
            runner.not_ready(agent, body.reason)
        elif action == "agent.logout":
            runner.logout(agent)
        elif action == "wrapup.done":
            assert isinstance(body, WrapUpDone)
            return self._wrap_up(tenant, runner, agent, body)
        elif action == "wrapup.more":
            assert isinstance(body, WrapUpMore)
            runner.wrapup_more(agent, body.seconds)
        else:
            raise CenterError(f"{action} is not available in this version")
        return self._agent_view(tenant.tenant.id, agent)

    def _wrap_up(
        self, tenant: TenantConfig, runner: AcdRunner, agent: str, body: WrapUpDone
    ) -> dict[str, Any]:
        tid = tenant.tenant.id
        call_id = self.last_call.get((tid, agent))
        if call_id is None:
            raise CenterError("there is no call to wrap up")
        codes = {d.code: d for d in tenant.dispositions}
        if body.disposition is not None and codes and body.disposition not in codes:
            raise CenterError(f"unknown disposition {body.disposition!r}")
        campaign = self._campaign_of(tid, call_id)
        allowed = runner.campaigns.codes.get(campaign or "")
        if body.disposition is not None and allowed and body.disposition not in allowed:
            raise CenterError(f"{body.disposition!r} is not a disposition of campaign {campaign!r}")
        resolved = body.resolved
        if resolved is None and body.disposition in codes:
            resolved = codes[body.disposition].resolved
        self.journal.event(
            tid,
            ev.CALL_WRAPPED_UP,
            call_id=call_id,
            agent_id=agent,
            data={"disposition": body.disposition, "notes": body.notes, "resolved": resolved},
        )
        if runner.agent_states.get(agent) == "wrap_up":
            runner.wrapup_done(agent)
        return {**self._agent_view(tid, agent), "call_id": call_id}

    def _campaign_of(self, tenant: str, call_id: str) -> str | None:
        row = self.journal.folder(tenant).calls.get(call_id)
        return row.campaign if row is not None else None

    def _campaign_fields(self, tenant: str, call_id: str) -> dict[str, Any]:
        """What a campaign's call adds to its pop: the campaign and its wrap-up codes."""
        campaign = self._campaign_of(tenant, call_id)
        if campaign is None:
            return {}
        codes = self.runners[tenant].campaigns.codes.get(campaign, ())
        return {"campaign": campaign, "dispositions": list(codes)}

    def _supervise(
        self, tenant: TenantConfig, runner: AcdRunner, action: str, body: BaseModel
    ) -> dict[str, Any]:
        if not isinstance(body, SetAgentState):
            raise CenterError(f"{action} is not available in this version")
        if body.agent_id not in runner.extensions:
            raise CenterError(f"no agent {body.agent_id!r} in this tenant")
        state = runner.agent_states.get(body.agent_id)
        if body.state == "ready":
            if state == "logged_out":
                runner.login(body.agent_id)
            runner.ready(body.agent_id)
        elif body.state == "not_ready":
            reason = body.reason or "supervisor"
            if body.reason is not None:
                self._check_reason(tenant, reason)
            if state == "logged_out":
                runner.login(body.agent_id)
            runner.not_ready(body.agent_id, reason)
        else:
            runner.logout(body.agent_id)
        return self._agent_view(tenant.tenant.id, body.agent_id)

    @staticmethod
    def _check_reason(tenant: TenantConfig, reason: str) -> None:
        if reason not in tenant.not_ready_reasons:
            known = ", ".join(tenant.not_ready_reasons)
            raise CenterError(f"unknown reason {reason!r} (one of: {known})")


def _window_hours(tenant: TenantConfig, queue: str | None, agent: str) -> float:
    """How long a callback lasts without an end asked for: its queue's window (the
    promising agent's first queue when it names none)."""
    if queue is None:
        promising = next((a for a in tenant.agents if a.id == agent), None)
        queue = promising.queues[0] if promising is not None and promising.queues else None
    if queue is None:
        return DEFAULT_WINDOW_HOURS
    return tenant.queue(queue).callback_window_hours

