"""The domain events: one vocabulary for everything that happens to a call or an agent.

The service appends every one of them to the store's `events` table (write-ahead) and
folds them into one `calls` row per call and an agent-state history
(`reports.fold`); the live aggregates are fed by the same fold, so live and
historical figures cannot disagree. Pure data, standard library only.

Kinds and their fields (besides `call_id`, `agent_id`, `queue` on the event itself):

- `call.arrived`      data: ani, dnis, direction ("inbound" | "outbound"), customer_id
                      (a click-to-call to a customer's record), campaign
- `ivr.finished`      data: path (list of node ids), customer_id, tier, language,
                      variables (what was keyed in), timeline (list of steps), result
- `call.queued`       queue; data: tier, customer_id, caller_number (a callback's: the
                      number it calls), callback (bool: a callback's visit, no caller
                      on the line), segment_of (the call it continues after a transfer)
- `call.overflowed`   data: to_queue
- `call.offered`      agent_id, queue (the queue the agent takes it through); data: offer_id
- `call.offer_missed` agent_id; data: offer_id (ring no answer, busy, withdrawn)
- `call.answered`     agent_id
- `call.held`         agent_id
- `call.unheld`       agent_id
- `call.transferred`  agent_id (who transferred); data: kind, destination, mode (blind |
                      attended), to_call (the caller's new segment, if any), to_agent
- `call.consulted`    agent_id (who consults, caller on hold); data: kind (agent | queue),
                      to_agent (the agent consulted: their console pops the caller)
- `call.consult_ended` agent_id; data: to_agent (the consultation ended without transfer)
- `call.finished`     agent_id (outbound calls); data: outcome (acd.commands.Outcome
                      values: answered, abandoned, routed_out, called_back,
                      callback_cancelled; for an outbound call, a callback's or a
                      campaign's, its customer leg's: answered, no_answer, busy,
                      failed, or cancelled when never dialed), direction (outbound
                      calls); the end of the call's time in
                      the ACD: for answered calls the end of the talk
- `call.routed_out`   data: kind, destination
- `call.hungup`       data: cause (the last channel of the call is gone)
- `call.wrapped_up`   agent_id; data: disposition, notes, resolved (bool or None)
- `survey.answered`   agent_id; data: scores (list of ints 1..5)
- `callback.requested` data: number (the caller took a callback: their call has left
                      the queue, exited; the callback is made by outbound calls of its
                      own, `<call>-cb` then one per retry)
- `callback.changed`  (no call_id) data: the callback's life now (`acd.callback_life`):
                      ref (its key), call_id (the call that asked, if any), number,
                      queue, customer_id, source,
                      requested_at, window_start, window_end (its window), status,
                      attempts, due_at, last_result, agent_id
- `campaign.result`   (no call_id) data: campaign, contact_id, call_id (the attempt's),
                      result (answered | busy | no_answer | failed | cancelled: the
                      attempt never reached the customer), agent_id
- `campaign.preview`  agent_id (who previews); data: campaign, contact_id, number,
                      customer_id, name (a preview campaign's contact shown to the agent)
- `campaign.preview_ended` agent_id; data: as `campaign.preview` (dialed, skipped, released)
- `agent.state`       agent_id; data: state (acd.state.AgentState values), reason
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

CALL_ARRIVED = "call.arrived"
IVR_FINISHED = "ivr.finished"
CALL_QUEUED = "call.queued"
CALL_OVERFLOWED = "call.overflowed"
CALL_OFFERED = "call.offered"
CALL_OFFER_MISSED = "call.offer_missed"
CALL_ANSWERED = "call.answered"
CALL_HELD = "call.held"
CALL_UNHELD = "call.unheld"
CALL_TRANSFERRED = "call.transferred"
CALL_CONSULTED = "call.consulted"
CALL_CONSULT_ENDED = "call.consult_ended"
CALL_FINISHED = "call.finished"
CALL_ROUTED_OUT = "call.routed_out"
CALL_HUNGUP = "call.hungup"
CALL_WRAPPED_UP = "call.wrapped_up"
SURVEY_ANSWERED = "survey.answered"
CALLBACK_REQUESTED = "callback.requested"
CALLBACK_CHANGED = "callback.changed"
CAMPAIGN_RESULT = "campaign.result"
CAMPAIGN_PREVIEW = "campaign.preview"
CAMPAIGN_PREVIEW_ENDED = "campaign.preview_ended"
AGENT_STATE = "agent.state"

KINDS = frozenset(
    {
        CALL_ARRIVED,
        IVR_FINISHED,
        CALL_QUEUED,
        CALL_OVERFLOWED,
        CALL_OFFERED,
        CALL_OFFER_MISSED,
        CALL_ANSWERED,
        CALL_HELD,
        CALL_UNHELD,
        CALL_TRANSFERRED,
        CALL_CONSULTED,
        CALL_CONSULT_ENDED,
        CALL_FINISHED,
        CALL_ROUTED_OUT,
        CALL_HUNGUP,
        CALL_WRAPPED_UP,
        SURVEY_ANSWERED,
        CALLBACK_REQUESTED,
        CALLBACK_CHANGED,
        CAMPAIGN_RESULT,
        CAMPAIGN_PREVIEW,
        CAMPAIGN_PREVIEW_ENDED,
        AGENT_STATE,
    }
)


def new_event_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """One thing that happened at `at` (epoch seconds) in `tenant`.

    `event_id` is unique: writing the same event twice stores it once.
    """

    tenant: str
    at: float
    kind: str
    call_id: str | None = None
    agent_id: str | None = None
    queue: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    event_id: str = field(default_factory=new_event_id)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown domain event kind {self.kind!r}")
        if not self.tenant:
            raise ValueError("a domain event needs its tenant")
        if self.kind.startswith("call.") and not self.call_id:
            raise ValueError(f"{self.kind} needs a call_id")
        if self.kind == AGENT_STATE and not self.agent_id:
            raise ValueError("agent.state needs an agent_id")


def next_segment(call_id: str) -> str:
    """The id of the caller's next segment after a transfer: `<call>-t<n+1>`."""
    base = segment_of(call_id)
    if base is None:
        return f"{call_id}-t1"
    return f"{base}-t{int(call_id.rpartition('-t')[2]) + 1}"


def segment_of(call_id: str) -> str | None:
    """The call a transfer segment (`<call>-t<n>`) continues; None for a call of its own.
    A segment is the same contact as that call: FCR does not count it as a repeat."""
    base, sep, n = call_id.rpartition("-t")
    return base if sep and base and n.isdigit() else None
