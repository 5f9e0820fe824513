"""Transfers on a tenant's ACD runner (`AcdRunner.transfers`): blind, and attended
after a consultation.

- `transfer` (blind): `call.transferred`, then the talk ends (wrap-up); to a queue the
  caller goes back to `cti-wait` under a new call id (`segments`: a new visit with its
  own row), to an agent through a queue they serve waiting for them first, to a number
  out through `cti-route-out,number`.
- `consult` / `complete_transfer` / `cancel_transfer` (attended): the caller on hold,
  the agent's leg dials the party consulted (`cti-consult`): a number, an agent, or the
  agent a queue would give its next call to. A consulted agent who was ready is
  reserved (not ready, `consultation`) so that no call is offered to them meanwhile,
  and cannot go ready, log out or dial out until it ends; their console shows the
  caller (`call.consulted`). Completing bridges the caller with the party consulted and
  hangs up the agent's leg; a consulted agent takes the call at once as a new segment
  (`CallConnected`), which the caller's channel names (`CTI_SEGMENT`) for the survey.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from acd.errors import RoutingError
from acd.events import AgentNotReady, AgentReady, CallConnected, CallEnded
from acd.specs import TargetKind
from acd.state import AgentState
from cti.asterisk_conf import agent_device, native_queue_name
from cti.config import Agent
from cti.errors import AsteriskError
from reports import events as ev
from reports.events import DomainEvent

if TYPE_CHECKING:
    from acd.runner import AcdRunner, Leg

CONSULT_REASON = "consultation"  # an agent consulted for an attended transfer
TALKING = "talking"  # as the runner's legs say it


@dataclass
class Consultation:
    """The party an agent consults before an attended transfer: a number, or an agent
    (asked for by name or found free in a queue), reserved meanwhile when they were ready."""

    kind: str  # number | agent | queue
    destination: str  # as asked for
    agent_id: str | None = None  # the agent consulted
    queue: str = ""  # the queue the transferred call is theirs through
    reserved: bool = False  # set not ready ("consultation") for it: ready again after
    channel: str = ""  # the consulted party's channel once dialed
    uniqueid: str = ""
    completing: bool = False  # being bridged with the caller: its dial's end is no end
    ended: bool = False  # over without a transfer (the consulted agent released)


class Transfers:
    def __init__(self, runner: AcdRunner) -> None:
        self.runner = runner

    async def transfer(
        self, agent_id: str, kind: str, destination: str, segment_id: str, *, mode: str = "blind"
    ) -> str:
        """Blind transfer: the agent's talk ends here (wrap-up follows); the caller goes to
        a queue (a new visit, `segment_id`, with the call's data) or out to a number."""
        leg = self.runner.talking_leg(agent_id, caller=True)
        data = {"kind": kind, "destination": destination, "mode": mode}
        if kind == "agent":  # through a queue the target serves, waiting for them first
            target = next((a for a in self.runner.tenant.agents if a.id == destination), None)
            if target is None or target.id == agent_id:
                raise RoutingError(f"cannot transfer to agent {destination!r}")
            destination = self._queue_for(target, prefer=leg.queue)
            self.runner.for_agent[segment_id] = target.id
            kind = "queue"
        elif kind == "queue" and destination not in self.runner.queue_ids.values():
            raise RoutingError(f"no queue {destination!r} in {self.runner.tenant_id!r}")
        elif kind not in ("queue", "number"):
            raise RoutingError(f"cannot transfer to a {kind!r}")
        del self.runner.legs[leg.call_id]
        if kind == "queue":
            self.runner.segments[leg.uniqueid or leg.call_id] = segment_id
            data["to_call"] = segment_id
        self._journal_transfer(leg.call_id, agent_id, data)
        self.runner.feed(CallEnded(leg.call_id))
        channel = leg.channel
        try:
            await self.runner.ami.action("Setvar", Channel=channel, Variable="CTI_HOLD", Value="")
            if kind == "queue":
                native = native_queue_name(self.runner.tenant, destination)
                await self.runner.ami.action(
                    "Setvar", Channel=channel, Variable="CTI_WAIT_START", Value=""
                )
                await self.runner.ami.action(
                    "Setvar", Channel=channel, Variable="CTI_SEGMENT", Value=segment_id
                )
                await self.runner.ami.action(
                    "Redirect", Channel=channel, Context="cti-wait", Exten=native, Priority=1
                )
            else:
                await self.runner._leave(channel, TargetKind.NUMBER, destination)
        except AsteriskError as exc:
            raise RoutingError(f"the caller could not be transferred: {exc}") from None
        finally:
            if leg.held and leg.agent_channel:
                self.runner.hang_up_later(leg.agent_channel)
        return leg.call_id

    def _queue_for(self, target: Agent, prefer: str) -> str:
        """A queue `target` serves and has the skills for (the call's own first)."""
        specs = {q.id: q for q in self.runner.tenant.queues}
        for queue in sorted(target.queues, key=lambda q: q != prefer):
            needs = specs[queue].skills
            if all(target.skills.get(skill, 0) >= level for skill, level in needs.items()):
                return queue
        raise RoutingError(f"agent {target.id!r} has the skills of none of their queues")

    def _journal_transfer(self, call_id: str, agent_id: str, data: dict[str, str]) -> None:
        if self.runner.record is not None:
            event = DomainEvent(
                self.runner.tenant_id,
                self.runner.clock(),
                ev.CALL_TRANSFERRED,
                call_id,
                agent_id,
                data=data,
            )
            self.runner.record(event)

    async def consult(self, agent_id: str, kind: str, destination: str) -> str:
        """Attended transfer, first step: the caller on hold, the agent's leg dials the
        party consulted (`cti-consult`): a number, an agent, or the agent a queue would
        offer its next call to now. A consulted agent who was ready is reserved (not
        ready, `consultation`) so that no call is offered to them meanwhile. The agent
        talks to them, then completes or cancels."""
        leg = self.runner.talking_leg(agent_id, caller=True)
        if leg.consult is not None:
            shown = leg.consult.destination
            raise RoutingError(f"call {leg.call_id!r}: already consulting {shown}")
        if not leg.agent_channel:
            raise RoutingError(f"call {leg.call_id!r}: the agent's leg is not known")
        consultation = Consultation(kind, destination)
        if kind in ("agent", "queue"):
            target, consultation.queue = self._consulted_agent(agent_id, kind, destination, leg)
            consultation.agent_id = target
            dial = agent_device(self.runner.settings, self.runner.extensions[target])
        elif kind == "number":
            dial = destination
        else:
            raise RoutingError(f"cannot consult a {kind!r}")
        if consultation.agent_id is not None:
            if self.runner.router.agent_state(consultation.agent_id) == AgentState.READY:
                self.runner.reasons[consultation.agent_id] = CONSULT_REASON
                self.runner.feed(AgentNotReady(consultation.agent_id, CONSULT_REASON), strict=True)
                consultation.reserved = True
            self._journal_consult(leg, agent_id, consultation, ev.CALL_CONSULTED)
        leg.consult = consultation
        exten = "number" if kind == "number" else "agent"
        try:
            await self.runner.ami.action(
                "Setvar", Channel=leg.agent_channel, Variable="CTI_DESTINATION", Value=dial
            )
            if leg.held:
                await self.runner.ami.action(
                    "Redirect",
                    Channel=leg.agent_channel,
                    Context="cti-consult",
                    Exten=exten,
                    Priority=1,
                )
            else:
                await self.runner.set_hold(agent_id, True, consult=exten)
        except (AsteriskError, RoutingError):
            leg.consult = None
            self.release(consultation, leg)
            raise
        return leg.call_id

    def _consulted_agent(
        self, agent_id: str, kind: str, destination: str, leg: Leg
    ) -> tuple[str, str]:
        """The agent to consult and the queue the call will be theirs through."""
        if kind == "queue":
            if destination not in self.runner.queue_ids.values():
                raise RoutingError(f"no queue {destination!r} in {self.runner.tenant_id!r}")
            target = self.runner.router.free_agent(destination)
            if target is None:
                raise RoutingError(
                    f"no agent of queue {destination!r} is free to consult:"
                    " a blind transfer puts the caller in line"
                )
            return target, destination
        spec = next((a for a in self.runner.tenant.agents if a.id == destination), None)
        if spec is None or spec.id == agent_id:
            raise RoutingError(f"cannot consult agent {destination!r}")
        state = self.runner.router.agent_state(spec.id)
        busy = (
            self.runner.outbound_call(spec.id) is not None
            or spec.id in self.runner.busy_elsewhere
            or self.consulted(spec.id)
        )
        if state not in (AgentState.READY, AgentState.NOT_READY) or busy:
            shown = "on the phone" if busy else str(state).replace("_", " ")
            raise RoutingError(f"agent {spec.id!r} cannot be consulted now ({shown})")
        return spec.id, self._queue_for(spec, prefer=leg.queue)

    def release(self, consultation: Consultation, leg: Leg | None = None) -> None:
        """The consultation is over without a transfer: an agent reserved for it is ready
        again (unless they changed their state meanwhile)."""
        target = consultation.agent_id
        if target is None or consultation.ended:
            return
        consultation.ended = True
        if leg is not None:
            self._journal_consult(leg, leg.agent_id or "", consultation, ev.CALL_CONSULT_ENDED)
        if (
            consultation.reserved
            and self.runner.router.agent_state(target) == AgentState.NOT_READY
            and self.runner.reasons.get(target) == CONSULT_REASON
        ):
            consultation.reserved = False
            self.runner.feed(AgentReady(target))

    def _journal_consult(
        self, leg: Leg, agent_id: str, consultation: Consultation, kind: str
    ) -> None:
        if self.runner.record is not None:
            data = {"to_agent": consultation.agent_id, "kind": consultation.kind}
            self.runner.record(
                DomainEvent(
                    self.runner.tenant_id,
                    self.runner.clock(),
                    kind,
                    leg.call_id,
                    agent_id,
                    data=data,
                )
            )

    async def complete_transfer(self, agent_id: str, segment_id: str) -> str | None:
        """Attended transfer, done: the caller joins the consulted party, the agent's talk
        ends (wrap-up follows). A consulted agent takes the call as a new segment
        (`segment_id`, returned; None for a number) talking at once, through their queue."""
        leg = self.runner.talking_leg(agent_id)
        consultation = leg.consult
        if consultation is None or not consultation.channel:
            raise RoutingError(f"call {leg.call_id!r}: no answered consultation to complete")
        target = consultation.agent_id
        if target is not None:
            state = self.runner.router.agent_state(target)
            if state not in (AgentState.READY, AgentState.NOT_READY):
                raise RoutingError(f"agent {target!r} can no longer take the call ({state})")
        consultation.completing = True
        try:
            await self.runner.ami.action(
                "Setvar", Channel=leg.channel, Variable="CTI_HOLD", Value=""
            )
            if target is not None:  # the survey after the new talk is about it
                await self._set_segment(leg.channel, segment_id, consultation.queue, target)
            await self.runner.ami.action(
                "Bridge", Channel1=leg.channel, Channel2=consultation.channel
            )
        except AsteriskError as exc:
            consultation.completing = False
            with contextlib.suppress(AsteriskError):  # the caller stays on hold
                await self.runner.ami.action(
                    "Setvar", Channel=leg.channel, Variable="CTI_HOLD", Value="1"
                )
            raise RoutingError(f"the caller could not be transferred: {exc}") from None
        self.runner.legs.pop(leg.call_id, None)
        data = {"kind": consultation.kind, "destination": consultation.destination}
        data["mode"] = "attended"
        if target is not None:
            data["to_agent"], data["to_call"] = target, segment_id
        self._journal_transfer(leg.call_id, agent_id, data)
        self.runner.feed(CallEnded(leg.call_id))  # ends the hold too
        self.runner.hang_up_later(leg.agent_channel)
        if target is not None:
            uniqueid = leg.uniqueid or leg.call_id
            self.runner.segments[uniqueid] = segment_id
            self.runner.legs[segment_id] = replace(  # the caller's leg, on its new segment
                leg,
                call_id=segment_id,
                queue=consultation.queue,
                state=TALKING,
                offer_id=None,
                agent_id=target,
                position=None,
                estimated_wait=None,
                uniqueid=uniqueid,
                agent_channel=consultation.channel,
                agent_uniqueid=consultation.uniqueid,
                held=False,
                consult=None,
            )
            connected = CallConnected(
                segment_id, consultation.queue, target, leg.customer_id, leg.tier
            )
            self.runner.feed(connected, strict=True)
            return segment_id
        # no survey about the first agent when the caller's new talk ends
        with contextlib.suppress(AsteriskError):
            await self.runner.ami.action(
                "Setvar", Channel=leg.channel, Variable="CTI_SURVEY", Value=""
            )
        return None

    async def _set_segment(self, channel: str, segment_id: str, queue: str, agent: str) -> None:
        """The caller's channel now carries `segment_id` (talking to `agent` through
        `queue`): the survey that may follow asks that queue's questions about them."""
        spec = next(q for q in self.runner.tenant.queues if q.id == queue)
        for variable, value in (
            ("CTI_SEGMENT", segment_id),
            ("CTI_QUEUE", native_queue_name(self.runner.tenant, queue)),
            ("CTI_AGENT", agent),
            ("CTI_SURVEY", "1" if spec.survey is not None else ""),
        ):
            await self.runner.ami.action("Setvar", Channel=channel, Variable=variable, Value=value)

    async def cancel_transfer(self, agent_id: str) -> str:
        """Attended transfer, abandoned: the consulted party is hung up, the agent is back
        with the caller."""
        leg = self.runner.talking_leg(agent_id)
        consultation = leg.consult
        if consultation is None:
            raise RoutingError(f"call {leg.call_id!r}: no consultation to cancel")
        if consultation.channel:
            await self.runner.ami.action("Hangup", Channel=consultation.channel)
        leg.consult = None
        self.release(consultation, leg)
        await self.runner.set_hold(agent_id, False)
        return leg.call_id

    def consulted(self, agent_id: str) -> bool:
        """Whether a colleague is consulting `agent_id` about a call right now."""
        return any(
            g.consult is not None and g.consult.agent_id == agent_id and not g.consult.ended
            for g in self.runner.legs.values()
        )

    def not_consulted(self, agent_id: str, what: str) -> None:
        if self.consulted(agent_id):
            raise RoutingError(
                f"agent {agent_id!r} is being consulted about a call: cannot {what} now"
            )
