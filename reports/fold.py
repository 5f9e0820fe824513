"""Folding domain events into call rows and agent-state intervals (pure, incremental).

One `Folder` per tenant. `apply(event)` updates the call's row and the agent's
timeline and returns what changed: `CallChanged(before, after)` with the call's
`CallRecord` before and after the event (None while the call has no queue outcome),
and every `AgentInterval` the event closed. The store upserts the rows; the live
aggregates retract `before` and add `after`; both therefore count the same calls
the same way. Folding the same events again (a restart) gives the same rows.

Queue outcomes (PRODUCT.md): the ACD's `answered` is answered; `abandoned` is
abandoned; `routed_out` (the queue's maximum wait expired) is a timeout; a caller
who took a callback left the queue otherwise ("exited", the ACD's `called_back`) at
the moment of asking (`callback.requested`). The callback itself is made by outbound
calls of their own (`direction` outbound, one per visit of the callback to its
queue), which the inbound figures never count. An outbound call's outcome (a
callback's, a campaign's) is its customer leg's (`acd_outcome` answered, no_answer,
busy, failed, or cancelled when never dialed; as a KPI outcome answered, else
exited), its agent the one who made it, its talk from the customer's answer.

Talk seconds exclude hold (AHT = talk + hold + ACW). After-call work runs from the
end of the talk to the agent leaving wrap-up (zero when the queue has none).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reports import events as ev
from reports.events import DomainEvent
from reports.kpis import AgentInterval, AgentState, CallRecord, Outcome, normalise_number

_OUTCOMES = {
    "answered": Outcome.ANSWERED,
    "abandoned": Outcome.ABANDONED,
    "routed_out": Outcome.TIMEOUT,
    "called_back": Outcome.EXITED,
    "callback_cancelled": Outcome.EXITED,
}
_AGENT_STATES = {
    "ready": AgentState.READY,
    "reserved": AgentState.RINGING,
    "on_call": AgentState.TALK,
    "wrap_up": AgentState.ACW,
    "not_ready": AgentState.NOT_READY,
    "hold": AgentState.HOLD,  # on a call with the caller on hold
}


@dataclass(slots=True)
class CallRow:
    """Everything known about one call; the `calls` table has one column per field."""

    tenant: str
    call_id: str
    direction: str = "inbound"
    campaign: str | None = None  # the campaign that placed it (outbound)
    segment_of: str | None = None  # the call it continues after a transfer (same contact)
    caller_number: str | None = None
    dnis: str | None = None
    customer_id: str | None = None
    tier: int | None = None
    language: str | None = None
    queue: str | None = None
    agent: str | None = None
    arrived_at: float | None = None
    ivr_left_at: float | None = None
    queued_at: float | None = None
    first_offered_at: float | None = None
    answered_at: float | None = None
    left_queue_at: float | None = None
    talk_ended_at: float | None = None
    ended_at: float | None = None
    wrapup_ended_at: float | None = None
    outcome: str | None = None  # the KPI outcome (reports.kpis.Outcome values)
    acd_outcome: str | None = None  # the router's own word (acd.commands.Outcome values)
    offers: int = 0
    hold_seconds: float = 0.0
    held_since: float | None = None
    transfers: int = 0
    disposition: str | None = None
    notes: str | None = None
    resolved: bool | None = None
    ivr_path: str | None = None
    survey_score: int | None = None
    hangup_cause: int | None = None
    callback_number: str | None = None

    @property
    def queue_seconds(self) -> float | None:
        if self.queued_at is None or self.left_queue_at is None:
            return None
        return max(0.0, self.left_queue_at - self.queued_at)

    @property
    def talk_seconds(self) -> float | None:
        if self.answered_at is None or self.talk_ended_at is None:
            return None
        return max(0.0, self.talk_ended_at - self.answered_at - self.hold_seconds)

    @property
    def acw_seconds(self) -> float | None:
        if self.talk_ended_at is None or self.wrapup_ended_at is None:
            return None
        return max(0.0, self.wrapup_ended_at - self.talk_ended_at)

    def record(self) -> CallRecord | None:
        """The call as the KPI functions see it; None until it has left the queue."""
        if self.outcome is None or self.queue is None or self.queued_at is None:
            return None
        queue_seconds = self.queue_seconds
        answered = self.outcome == Outcome.ANSWERED
        return CallRecord(
            call_id=self.call_id,
            queue=self.queue,
            arrived_at=self.queued_at,
            ended_at=self.talk_ended_at or self.left_queue_at or self.queued_at,
            outcome=Outcome(self.outcome),
            queue_seconds=queue_seconds if queue_seconds is not None else 0.0,
            agent=self.agent if answered else None,
            customer_id=self.customer_id,
            caller_number=self.caller_number,
            answered_at=self.answered_at if answered else None,
            talk_seconds=self.talk_seconds if answered else None,
            hold_seconds=self.hold_seconds if answered and self.talk_ended_at else None,
            acw_seconds=self.acw_seconds if answered else None,
            transferred=self.transfers > 0,
            resolved=self.resolved,
            direction=self.direction,
            segment_of=self.segment_of,
        )

    def columns(self) -> dict[str, Any]:
        """The row as the store writes it (derived durations included)."""
        row = {name: getattr(self, name) for name in CallRow.__dataclass_fields__}
        row.pop("held_since")
        row["queue_seconds"] = self.queue_seconds
        row["talk_seconds"] = self.talk_seconds
        row["acw_seconds"] = self.acw_seconds
        return row


@dataclass(frozen=True, slots=True)
class CallChanged:
    call_id: str
    before: CallRecord | None
    after: CallRecord | None
    row: CallRow


@dataclass(slots=True)
class _AgentNow:
    state: str
    since: float
    reason: str = ""
    holding: bool = False


@dataclass(frozen=True, slots=True)
class StateInterval:
    """An agent's state interval as stored (with the not-ready reason)."""

    agent: str
    state: str
    reason: str
    start: float
    end: float

    def interval(self) -> AgentInterval | None:
        kpi_state = _AGENT_STATES.get(self.state)
        if kpi_state is None:
            return None
        return AgentInterval(self.agent, kpi_state, self.start, self.end)


@dataclass
class Folded:
    calls: list[CallChanged] = field(default_factory=list)
    intervals: list[StateInterval] = field(default_factory=list)


class Folder:
    """The incremental fold of one tenant's events (feed them in time order)."""

    def __init__(self, tenant: str, *, memory: int = 100_000) -> None:
        self.tenant = tenant
        self.calls: dict[str, CallRow] = {}
        self.agents: dict[str, _AgentNow] = {}
        self._in_wrap_up: dict[str, str] = {}  # agent -> call whose ACW is running
        self._memory = memory

    def row(self, call_id: str) -> CallRow:
        row = self.calls.get(call_id)
        if row is None:
            row = self.calls[call_id] = CallRow(self.tenant, call_id)
            if len(self.calls) > self._memory:  # forget the oldest rows, they are stored
                del self.calls[next(iter(self.calls))]
        return row

    def adopt(self, row: CallRow) -> None:
        """Continue folding a call whose row was read back from the store."""
        self.calls[row.call_id] = row

    def in_wrap_up(self, agent: str, call_id: str) -> None:
        """After a restart: `agent`'s after-call work for `call_id` is still running."""
        self._in_wrap_up[agent] = call_id

    def restore_agent(self, agent: str, state: str, since: float, reason: str = "") -> None:
        """After a restart: the agent's last recorded state, open since `since`."""
        self.agents[agent] = _AgentNow(state, since, reason)

    def agent_state(self, agent: str) -> tuple[str, float, str] | None:
        now = self.agents.get(agent)
        return None if now is None else (now.state, now.since, now.reason)

    def apply(self, event: DomainEvent) -> Folded:
        if event.tenant != self.tenant:
            raise ValueError(f"event of tenant {event.tenant!r} fed to {self.tenant!r}")
        out = Folded()
        if event.kind == ev.AGENT_STATE:
            assert event.agent_id is not None
            self._agent_state(event, out)
            return out
        if event.call_id is None:
            return out
        row = self.row(event.call_id)
        before = row.record()
        self._call_event(row, event, out)
        out.calls.insert(0, CallChanged(row.call_id, before, row.record(), row))
        return out

    # -- calls ------------------------------------------------------------------------

    def _call_event(self, row: CallRow, event: DomainEvent, out: Folded) -> None:
        at, data, kind = event.at, event.data, event.kind
        if kind == ev.CALL_ARRIVED:
            row.arrived_at = at if row.arrived_at is None else min(row.arrived_at, at)
            row.caller_number = normalise_number(data.get("ani")) or row.caller_number
            row.dnis = data.get("dnis") or row.dnis
            row.direction = data.get("direction", row.direction)
            row.campaign = data.get("campaign") or row.campaign
            row.customer_id = data.get("customer_id") or row.customer_id  # click-to-call
        elif kind == ev.IVR_FINISHED:
            row.ivr_left_at = at
            path = data.get("path")
            row.ivr_path = "/".join(path) if isinstance(path, list) else path
            row.customer_id = data.get("customer_id") or row.customer_id
            row.tier = data.get("tier", row.tier)
            row.language = data.get("language") or row.language
        elif kind == ev.CALL_QUEUED:
            if row.queued_at is None:
                row.queued_at = at
            row.queue = row.queue or event.queue
            row.segment_of = data.get("segment_of") or row.segment_of
            row.customer_id = data.get("customer_id") or row.customer_id
            row.tier = data.get("tier", row.tier)
            number = normalise_number(data.get("caller_number"))
            row.caller_number = row.caller_number or number
        elif kind == ev.CALL_OFFERED:
            row.offers += 1
            if row.first_offered_at is None:
                row.first_offered_at = at
        elif kind == ev.CALL_ANSWERED:
            if row.answered_at is None:
                row.answered_at = at
                row.agent = event.agent_id
                if row.acd_outcome is None and row.callback_number is None:
                    row.left_queue_at = at
                if event.queue:
                    row.queue = row.queue or event.queue
        elif kind == ev.CALL_HELD:
            if row.held_since is None:
                row.held_since = at
                self._hold(event.agent_id or row.agent, at, True, out)
        elif kind == ev.CALL_UNHELD:
            self._unhold(row, at, out)
        elif kind == ev.CALL_TRANSFERRED:
            row.transfers += 1
        elif kind == ev.CALLBACK_REQUESTED:
            row.callback_number = data.get("number")
            if row.left_queue_at is None:
                row.left_queue_at = at
            if row.acd_outcome is None:  # the caller's call ends here for the queue
                row.acd_outcome = "called_back"
                row.outcome = Outcome.EXITED
                if row.queued_at is None:
                    row.queued_at = at
                    row.queue = row.queue or event.queue
        elif kind == ev.CALL_FINISHED:
            self._finished(row, event, out)
        elif kind == ev.CALL_HUNGUP:
            row.ended_at = at
            row.hangup_cause = data.get("cause")
            self._unhold(row, at, out)
        elif kind == ev.CALL_WRAPPED_UP:
            row.disposition = data.get("disposition", row.disposition)
            row.notes = data.get("notes", row.notes)
            resolved = data.get("resolved")
            row.resolved = bool(resolved) if resolved is not None else row.resolved
        elif kind == ev.SURVEY_ANSWERED:
            scores = data.get("scores") or []
            if scores:
                row.survey_score = int(scores[0])

    def _finished(self, row: CallRow, event: DomainEvent, out: Folded) -> None:
        if row.acd_outcome is not None:
            return  # each call has one outcome; a repeat is ignored
        acd_outcome = str(event.data.get("outcome"))
        row.acd_outcome = acd_outcome
        row.outcome = _OUTCOMES.get(acd_outcome, Outcome.EXITED)
        row.agent = row.agent or event.agent_id  # an outbound call's, answered or not
        row.direction = event.data.get("direction", row.direction)
        if row.left_queue_at is None:
            row.left_queue_at = event.at
        if row.answered_at is not None:
            self._unhold(row, event.at, out)
            row.talk_ended_at = event.at
            if row.agent is not None:
                self._in_wrap_up[row.agent] = row.call_id
        if row.queued_at is None:  # finished without a queue entry we saw: count from here
            row.queued_at = row.left_queue_at
            row.queue = row.queue or event.queue

    def _unhold(self, row: CallRow, at: float, out: Folded) -> None:
        if row.held_since is not None:
            row.hold_seconds += max(0.0, at - row.held_since)
            row.held_since = None
            self._hold(row.agent, at, False, out)

    # -- agents -----------------------------------------------------------------------

    def _hold(self, agent: str | None, at: float, holding: bool, out: Folded) -> None:
        now = self.agents.get(agent) if agent else None
        if now is None or now.state != "on_call" or now.holding == holding:
            return
        self._close(agent or "", now, at, out)
        now.holding, now.since = holding, at

    def _close(self, agent: str, now: _AgentNow, at: float, out: Folded) -> None:
        if now.state != "logged_out":
            state = "hold" if now.holding else now.state
            out.intervals.append(StateInterval(agent, state, now.reason, now.since, at))

    def _agent_state(self, event: DomainEvent, out: Folded) -> None:
        agent = event.agent_id or ""
        state = str(event.data.get("state"))
        reason = str(event.data.get("reason") or "")
        now = self.agents.get(agent)
        if now is not None:
            if now.state == state and now.reason == reason:
                return
            self._close(agent, now, event.at, out)
        self.agents[agent] = _AgentNow(state, event.at, reason)
        if state != "wrap_up" and agent in self._in_wrap_up:
            call_id = self._in_wrap_up.pop(agent)
            row = self.calls.get(call_id)
            if row is not None and row.wrapup_ended_at is None:
                before = row.record()
                row.wrapup_ended_at = event.at
                out.calls.append(CallChanged(call_id, before, row.record(), row))
