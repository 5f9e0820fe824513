"""Asterisk's queue_log, written for our ACD's calls (so tools that read it work with us).

A journal subscriber (`Journal.subscribe(writer.on_event)`) that turns domain events
into app_queue's lines (`reports.queue_log.format_queue_log_line`):

- call.queued          ENTERQUEUE|url|callerid|position
- call.answered        CONNECT|holdtime|bridged call id|ringtime   (holdtime = the wait)
- call.offer_missed    RINGNOANSWER|ms
- call.finished        answered: COMPLETEAGENT or COMPLETECALLER|holdtime|talktime|origposition
                       (`data["hungup_by"]` = "agent" or "caller"; COMPLETECALLER when
                       not known); a call with a transfer ends with
                       TRANSFER|destination|context|holdtime|talktime|origposition instead;
                       abandoned: ABANDON|position|origposition|waittime;
                       routed_out: EXITWITHTIMEOUT|position|origposition|waittime (or at
                       call.routed_out, whichever comes first); other: EXITEMPTY
- callback.requested   EXITWITHKEY|key|position|origposition|waittime (the caller took a
                       callback; it is made by outbound calls, which app_queue's log of
                       the callers does not hold: no line for a call placed by us)
- agent.state          ADDMEMBER from logged_out (or first seen), REMOVEMEMBER to
                       logged_out, PAUSE|reason into not_ready, UNPAUSE out of it

Durations are whole seconds as app_queue counts them (the difference of the whole
seconds of the two moments), so the lines' own epochs agree with them; with our
records' whole-second times the KPIs read back with `reports.queue_log` are exactly
those of `reports.kpis.summarise` over the fold's records. The talk time is the
call record's (hold excluded, up to the end of the talk); a transferred call's
TRANSFER line is therefore written when its talk ends, with the whole talk. An
overflowed call stays in the queue it entered first, as in the call record.

Lines are buffered and appended at least every `flush_seconds` (default 1 s) and on
close. `path` may contain `{tenant}` for one file per tenant; without it every
tenant's calls go to one file. Write errors are logged and counted and the lines are
kept (bounded) for the next try; nothing raises into the journal.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cti.tasks import stop_task
from reports import events as ev
from reports.events import DomainEvent
from reports.fold import CallRow, Folded
from reports.queue_log import format_queue_log_line

log = logging.getLogger("cti.queue_log_writer")

_EXITS = {
    "abandoned": "ABANDON",
    "routed_out": "EXITWITHTIMEOUT",
    "called_back": "EXITWITHKEY",
    "callback_cancelled": "EXITWITHKEY",
}


def _whole(later: float | None, earlier: float | None) -> int:
    """Seconds between two moments as app_queue counts them (whole-second clocks)."""
    if later is None or earlier is None:
        return 0
    return max(0, math.floor(later) - math.floor(earlier))


@dataclass(slots=True)
class _Call:
    queue: str
    queued_at: float
    position: int
    offers: dict[str, float] = field(default_factory=dict)
    connected: bool = False
    left: bool = False  # the call has left the queue (answered or exited)
    transfer: tuple[str, str] | None = None  # (destination, context)


@dataclass
class WriterStats:
    lines: int = 0
    written: int = 0
    flushes: int = 0
    write_errors: int = 0
    dropped: int = 0
    errors: int = 0


class QueueLogWriter:
    def __init__(
        self,
        path: str | Path = "var/queue_log",
        *,
        flush_seconds: float = 1.0,
        max_buffered: int = 1_000_000,
        memory: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = str(path)
        self.flush_seconds = flush_seconds
        self.max_buffered = max_buffered
        self.memory = memory
        self.clock = clock
        self.stats = WriterStats()
        self._buffer: dict[str, list[str]] = {}
        self._calls: OrderedDict[tuple[str, str], _Call] = OrderedDict()
        self._waiting: dict[tuple[str, str], dict[str, None]] = {}  # (tenant, queue) -> calls
        self._agents: dict[tuple[str, str], tuple[str, str]] = {}  # -> (state, reason)
        self._last_flush = clock()
        self._task: asyncio.Task[None] | None = None

    # -- wiring ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="queue-log-writer")

    async def close(self) -> None:
        if self._task is not None:
            await stop_task(self._task)
            self._task = None
        self.flush()

    def seed_agent(self, tenant: str, agent: str, state: str, reason: str = "") -> None:
        """After a restart: the agent's last state, so that no ADDMEMBER is written again."""
        self._agents[(tenant, agent)] = (state, reason)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.flush_seconds)
            self.flush()

    # -- the journal subscriber -----------------------------------------------------------

    def on_event(self, event: DomainEvent, folded: Folded) -> None:
        try:
            for line in self.lines(event, folded):
                self._append(event.tenant, line)
        except Exception:
            self.stats.errors += 1
            log.exception("queue_log writer failed on %s", event.kind)
        if self.clock() - self._last_flush >= self.flush_seconds:
            self.flush()

    def lines(self, event: DomainEvent, folded: Folded) -> list[str]:
        """The queue_log lines for one event (and the writer's bookkeeping)."""
        if event.kind == ev.AGENT_STATE:
            return self._agent(event)
        if event.call_id is None:
            return []
        row = next((c.row for c in folded.calls if c.call_id == event.call_id), None)
        if row is not None and row.direction != "inbound":
            return []  # app_queue's log is the callers' (a callback is made by outbound calls)
        key = (event.tenant, event.call_id)
        call = self._calls.get(key)
        kind, at = event.kind, event.at
        out: list[str] = []
        if kind == ev.CALL_QUEUED:
            if call is None:
                queue = (row.queue if row else None) or event.queue
                if queue:
                    call = self._enter(event.tenant, event.call_id, queue, at, row, out)
            return out
        if call is None:
            if kind == ev.CALL_FINISHED and row is not None and row.queue and row.queued_at:
                call = self._enter(event.tenant, event.call_id, row.queue, row.queued_at, row, out)
            else:
                return out
        if kind == ev.CALL_OFFERED and event.agent_id:
            call.offers[event.agent_id] = at
        elif kind == ev.CALL_OFFER_MISSED and event.agent_id:
            offered = call.offers.pop(event.agent_id, None)
            ms = round((at - offered) * 1000) if offered is not None else 0
            out.append(self._line(at, event.call_id, call, event.agent_id, "RINGNOANSWER", ms))
        elif kind == ev.CALL_ANSWERED:
            self._connect(event.tenant, event.call_id, call, at, event.agent_id, out)
        elif kind == ev.CALL_TRANSFERRED:
            data = event.data
            call.transfer = (str(data.get("destination") or ""), str(data.get("kind") or ""))
        elif kind == ev.CALL_ROUTED_OUT:
            self._exit(event.tenant, event.call_id, call, at, "EXITWITHTIMEOUT", None, out)
        elif kind == ev.CALLBACK_REQUESTED:  # the caller pressed a key to be called back
            self._exit(event.tenant, event.call_id, call, at, "EXITWITHKEY", None, out)
        elif kind == ev.CALL_FINISHED and row is not None:
            self._finished(event, call, row, out)
        return out

    # -- calls ----------------------------------------------------------------------------

    def _enter(
        self,
        tenant: str,
        call_id: str,
        queue: str,
        at: float,
        row: CallRow | None,
        out: list[str],
    ) -> _Call:
        waiting = self._waiting.setdefault((tenant, queue), {})
        call = _Call(queue, at, len(waiting) + 1)
        waiting[call_id] = None
        self._calls[(tenant, call_id)] = call
        while len(self._calls) > self.memory:  # calls that never ended: forget the oldest
            (old_tenant, old_id), old = self._calls.popitem(last=False)
            self._waiting.get((old_tenant, old.queue), {}).pop(old_id, None)
        caller = (row.caller_number if row else None) or ""
        out.append(self._line(at, call_id, call, "", "ENTERQUEUE", "", caller, call.position))
        return call

    def _leave(self, tenant: str, call_id: str, call: _Call) -> int:
        """The call leaves the waiting line; returns the position it had in it."""
        call.left = True
        waiting = self._waiting.get((tenant, call.queue), {})
        position = next((i for i, c in enumerate(waiting, 1) if c == call_id), call.position)
        waiting.pop(call_id, None)
        if not waiting:
            self._waiting.pop((tenant, call.queue), None)
        return position

    def _connect(
        self,
        tenant: str,
        call_id: str,
        call: _Call,
        at: float,
        agent: str | None,
        out: list[str],
    ) -> None:
        if call.connected or call.left:
            return
        self._leave(tenant, call_id, call)
        call.connected = True
        wait = _whole(at, call.queued_at)
        ring = _whole(at, call.offers.get(agent or "", at))
        out.append(self._line(at, call_id, call, agent or "", "CONNECT", wait, call_id, ring))

    def _exit(
        self,
        tenant: str,
        call_id: str,
        call: _Call,
        at: float,
        name: str,
        left_at: float | None,
        out: list[str],
    ) -> None:
        if call.left:
            return
        position = self._leave(tenant, call_id, call)
        wait = _whole(left_at if left_at is not None else at, call.queued_at)
        data: tuple[object, ...] = (position, call.position, wait)
        if name == "EXITWITHKEY":
            data = ("", *data)
        out.append(self._line(at, call_id, call, "", name, *data))

    def _finished(self, event: DomainEvent, call: _Call, row: CallRow, out: list[str]) -> None:
        tenant, call_id, at = event.tenant, event.call_id or "", event.at
        outcome = str(event.data.get("outcome"))
        if outcome == "answered" and row.answered_at is not None:
            self._connect(tenant, call_id, call, row.answered_at, row.agent, out)
            wait = _whole(row.answered_at, call.queued_at)
            talk = round(row.talk_seconds or 0.0)
            agent = row.agent or ""
            if call.transfer is not None:
                destination, context = call.transfer
                data: tuple[object, ...] = (destination, context, wait, talk, call.position)
                out.append(self._line(at, call_id, call, agent, "TRANSFER", *data))
            else:
                by = event.data.get("hungup_by")
                name = "COMPLETEAGENT" if by == "agent" else "COMPLETECALLER"
                out.append(self._line(at, call_id, call, agent, name, wait, talk, call.position))
        else:
            name = _EXITS.get(outcome, "EXITEMPTY")
            self._exit(tenant, call_id, call, at, name, row.left_queue_at, out)
        self._calls.pop((tenant, call_id), None)

    # -- agents ---------------------------------------------------------------------------

    def _agent(self, event: DomainEvent) -> list[str]:
        agent = event.agent_id or ""
        state = str(event.data.get("state"))
        reason = str(event.data.get("reason") or "")
        key = (event.tenant, agent)
        previous = self._agents.get(key)
        if previous == (state, reason):
            return []
        self._agents[key] = (state, reason)
        before = previous[0] if previous is not None else "logged_out"
        at, out = event.at, list[str]()

        def line(name: str, *data: object) -> None:
            out.append(format_queue_log_line(at, "NONE", "NONE", agent, name, *data))

        if before == "not_ready" and state != "not_ready" and state != "logged_out":
            line("UNPAUSE", "")
        if state == "logged_out":
            if previous is not None and before != "logged_out":
                line("REMOVEMEMBER", "")
            return out
        if before == "logged_out":
            line("ADDMEMBER", "")
        if state == "not_ready":
            line("PAUSE", reason)
        return out

    # -- writing --------------------------------------------------------------------------

    def _line(
        self, at: float, call_id: str, call: _Call, agent: str, name: str, *data: object
    ) -> str:
        return format_queue_log_line(at, call_id, call.queue, agent, name, *data)

    def _append(self, tenant: str, line: str) -> None:
        path = self.path.replace("{tenant}", tenant)
        buffer = self._buffer.setdefault(path, [])
        if len(buffer) >= self.max_buffered:
            self.stats.dropped += 1
            return
        buffer.append(line)
        self.stats.lines += 1

    def flush(self) -> None:
        """Append every buffered line to its file now."""
        self._last_flush = self.clock()
        for path, lines in list(self._buffer.items()):
            if not lines:
                continue
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                with open(path, "a", encoding="utf-8") as handle:  # reopened: rotation-safe
                    handle.write("".join(line + "\n" for line in lines))
            except OSError as exc:
                self.stats.write_errors += 1
                log.warning("queue_log %s not written (%s); will retry", path, exc)
                continue
            self.stats.written += len(lines)
            self.stats.flushes += 1
            self._buffer[path] = []
