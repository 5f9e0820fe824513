"""Asterisk's queue_log: read it into call records and KPIs, and write its lines.

A line is `epoch|callid|queue|agent|EVENT|data1|data2|...`. Beware: the `holdtime` of
app_queue's CONNECT and COMPLETE* lines is the caller's wait in the queue, not hold on the
call, so a queue_log cannot give on-call hold, after-call work, handle time or occupancy
(those KPIs are None). One call record is built per passage of a call id through a queue
(a call that times out of one queue into another is offered to both), counted in the
report if it entered the queue inside the optional [from_epoch, to_epoch) range.
Unknown events and malformed lines are counted, never fatal. The KPI definitions
themselves live in reports.kpis.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from reports.grouping import summarise_by_queue
from reports.kpis import CallRecord, Outcome, normalise_number, summarise

# Events that carry no KPI fact we use (agent sessions, pauses, ring attempts, markers).
IGNORED_EVENTS = frozenset(
    {
        "RINGNOANSWER", "RINGCANCELED", "PAUSE", "UNPAUSE", "PAUSEALL", "UNPAUSEALL",
        "ADDMEMBER", "REMOVEMEMBER", "AGENTLOGIN", "AGENTLOGOFF", "AGENTCALLBACKLOGIN",
        "AGENTCALLBACKLOGOFF", "AGENTDUMP", "CONFIGRELOAD", "QUEUESTART", "SYSCOMPAT",
        "DID", "INFO", "PENALTY",
    }
)  # fmt: skip
_ENDS_WAITING = {"ABANDON": 2, "EXITWITHTIMEOUT": 2, "EXITEMPTY": 2, "EXITWITHKEY": 3}
_OUTCOMES = {
    "ABANDON": Outcome.ABANDONED,
    "EXITWITHTIMEOUT": Outcome.TIMEOUT,
    "EXITEMPTY": Outcome.EXITED,
    "EXITWITHKEY": Outcome.EXITED,
}
_TRANSFERS = {"TRANSFER", "BLINDTRANSFER", "ATTENDEDTRANSFER"}
_CALL_EVENTS = {"CONNECT", "COMPLETEAGENT", "COMPLETECALLER", *_ENDS_WAITING, *_TRANSFERS}


class _MalformedLine(ValueError):
    """A queue_log line that cannot be read; counted by read_queue_log, never raised out."""


@dataclass(slots=True)
class _Passage:
    """A call in one queue, filled in as its lines arrive."""

    call_id: str
    queue: str
    arrived_at: float
    caller_number: str | None
    agent: str | None = None
    answered_at: float | None = None
    queue_seconds: float | None = None
    talk_seconds: float | None = None
    ended_at: float | None = None
    outcome: Outcome | None = None
    transferred: bool = False

    def record(self) -> CallRecord | None:
        if self.outcome is None or self.queue_seconds is None:
            return None
        return CallRecord(
            call_id=self.call_id,
            queue=self.queue,
            arrived_at=self.arrived_at,
            ended_at=self.ended_at if self.ended_at is not None else self.arrived_at,
            outcome=self.outcome,
            queue_seconds=self.queue_seconds,
            agent=self.agent,
            caller_number=self.caller_number,
            answered_at=self.answered_at,
            talk_seconds=self.talk_seconds,
            transferred=self.transferred,
        )


@dataclass(frozen=True, slots=True)
class QueueLogReport:
    """KPIs per queue and in total, plus what could not be read."""

    queues: dict[str, dict[str, Any]]
    total: dict[str, Any]
    unknown_events: dict[str, int]
    malformed_lines: int
    incomplete_calls: int = 0  # still waiting when the log ends, so not counted
    calls: tuple[CallRecord, ...] = field(default=())

    def to_json(self) -> str:
        return json.dumps({"queues": self.queues, "total": self.total}, sort_keys=True)


def _optional(data: list[str], index: int) -> float | None:
    """The duration in a data field (index as in a list, -1 for the last), None if empty."""
    text = data[index].strip() if -len(data) <= index < len(data) else ""
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise _MalformedLine(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise _MalformedLine(f"not a duration: {text!r}")
    return value


def _required(data: list[str], index: int) -> float:
    value = _optional(data, index)
    if value is None:
        raise _MalformedLine(f"missing duration in data field {index}")
    return value


def _apply(passage: _Passage, epoch: float, agent: str, event: str, data: list[str]) -> bool:
    """Apply one call event; True once the call has left the queue and the agent."""
    if event == "CONNECT":
        passage.queue_seconds = _required(data, 0)
        passage.answered_at, passage.agent = epoch, agent
        passage.outcome = Outcome.ANSWERED
        return False
    if event in ("COMPLETEAGENT", "COMPLETECALLER") or event in _TRANSFERS:
        index = 1 if event.startswith("COMPLETE") else (-2 if event == "ATTENDEDTRANSFER" else 3)
        talk = _required(data, index)
        if passage.outcome is not Outcome.ANSWERED:
            passage.queue_seconds = _required(data, 0 if index == 1 else index - 1)
            passage.answered_at, passage.agent = epoch - talk, agent
            passage.outcome = Outcome.ANSWERED
        passage.talk_seconds, passage.ended_at = talk, epoch
        passage.transferred = event in _TRANSFERS
        return True
    wait = _optional(data, _ENDS_WAITING[event])
    passage.queue_seconds = wait if wait is not None else max(0.0, epoch - passage.arrived_at)
    passage.outcome, passage.ended_at = _OUTCOMES[event], epoch
    return True


def _split(line: str) -> tuple[float, str, str, str, str, list[str]]:
    fields = line.rstrip("\r\n").split("|")
    if len(fields) < 5 or not fields[4].strip():
        raise _MalformedLine("fewer than five fields")
    try:
        epoch = float(fields[0])
    except ValueError:
        raise _MalformedLine(f"bad timestamp {fields[0]!r}") from None
    if not math.isfinite(epoch):
        raise _MalformedLine(f"bad timestamp {fields[0]!r}")
    return epoch, fields[1], fields[2], fields[3], fields[4].strip().upper(), fields[5:]


def _in_range(epoch: float, from_epoch: float | None, to_epoch: float | None) -> bool:
    return (from_epoch is None or epoch >= from_epoch) and (to_epoch is None or epoch < to_epoch)


def read_queue_log(
    lines: Iterable[str],
    *,
    from_epoch: float | None = None,
    to_epoch: float | None = None,
    queue: str | None = None,
    sl_threshold: float = 20,
    short_abandon: float = 5,
    fcr_window_days: float = 7,
) -> QueueLogReport:
    """Read queue_log lines (in file order) into KPIs per queue and in total."""
    open_calls: dict[tuple[str, str], _Passage] = {}
    done: list[_Passage] = []
    unfinished: list[_Passage] = []
    unknown: Counter[str] = Counter()
    malformed = 0
    for line in lines:
        if not line.strip():
            continue
        try:
            epoch, call_id, queue_name, agent, event, data = _split(line)
            key = (call_id, queue_name)
            if event == "ENTERQUEUE":
                earlier = open_calls.pop(key, None)
                if earlier is not None:  # re-entered before its last passage was closed
                    (done if earlier.outcome is Outcome.ANSWERED else unfinished).append(earlier)
                if (queue is None or queue_name == queue) and _in_range(
                    epoch, from_epoch, to_epoch
                ):
                    caller = normalise_number(data[1] if len(data) > 1 else None)
                    open_calls[key] = _Passage(call_id, queue_name, epoch, caller)
            elif event in _CALL_EVENTS:
                passage = open_calls.get(key)  # None: entered before the log or the range
                if passage is not None and _apply(passage, epoch, agent, event, data):
                    done.append(open_calls.pop(key))
            elif event not in IGNORED_EVENTS:
                unknown[event] += 1
        except _MalformedLine:
            malformed += 1
    for passage in open_calls.values():  # an answered call still talking counts as answered
        (done if passage.outcome is Outcome.ANSWERED else unfinished).append(passage)
    records = [r for p in done if (r := p.record()) is not None]
    records.sort(key=lambda r: (r.arrived_at, r.call_id, r.queue))
    options = {
        "sl_threshold": sl_threshold,
        "short_abandon": short_abandon,
        "fcr_window_days": fcr_window_days,
    }
    return QueueLogReport(
        queues=summarise_by_queue(records, **options),
        total=summarise(records, (), **options),
        unknown_events=dict(sorted(unknown.items())),
        malformed_lines=malformed,
        incomplete_calls=len(unfinished),
        calls=tuple(records),
    )


def _field(value: object) -> str:
    text = "" if value is None else str(value)
    if "|" in text or "\n" in text or "\r" in text:
        raise ValueError(f"queue_log field {text!r} must not contain '|' or a line break")
    return text


def format_queue_log_line(
    epoch: float, callid: str, queue: str, agent: str, event: str, *data: object
) -> str:
    """One queue_log line as app_queue writes it, without the trailing newline.

    An empty call id, queue or agent is written "NONE", as app_queue does; None data is "".
    """
    if not _field(event).isupper():
        raise ValueError(f"queue_log event {event!r} must be an upper-case name like CONNECT")
    head = [str(int(epoch)), *(_field(v) or "NONE" for v in (callid, queue, agent)), event]
    return "|".join(head + [_field(v) for v in data])
