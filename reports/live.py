"""Live aggregates: today's and the current interval's KPIs, kept incrementally.

Fed by the journal's `(DomainEvent, Folded)` pairs (`reports.fold`): every call change
retracts the call's record as it was (`before`) and adds it as it is now (`after`), so
each scope's figures are at every moment exactly `reports.kpis.summarise` of the
finished call records of that scope, without ever scanning the calls. Scopes: the
tenant, each queue and each agent, for today and for every interval bucket of today
(15, 30 or 60 minutes; a call counts in the bucket and day it entered the queue, as in
`reports.grouping.summarise_by_interval`; agent time is split at bucket edges).

What is kept per scope: counts, and sums of durations in integer microseconds (so
that retracting a record removes exactly what adding it added: no drift, ever);
service-level counts for T and every band of `SL_BANDS`; a multiset of waits with a
lazily cleaned max-heap for the longest wait (O(log n)); and first-call resolution
*exactly and incrementally*: per caller key (customer id, else normalised number) a
sorted chain of answered calls' arrivals, where inserting or removing one call only
changes the cluster boundaries next to it (`summarise` clusters the scope's own
calls, so the per-queue FCR here is that of the queue's calls alone, not
`summarise_by_queue`'s clusters formed across queues).

Live-only figures: calls waiting now per queue and the longest current wait (from
call.queued / call.overflowed and the events that end a wait; callbacks waiting for an
agent have no caller on the line and are not among them), agents by state and
time in state (agent.state; hold from the intervals the fold closes on hold and
unhold), per agent calls handled and AHT, occupancy from the closed intervals plus
the open ones up to `now`.

Time only moves forward through the `now` passed in (default: the event's time):
a new interval or day starts with empty figures; buckets older than the day before
today are dropped. Pure, standard library only.
"""

from __future__ import annotations

import bisect
import heapq
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from reports import events as ev
from reports.events import DomainEvent
from reports.fold import Folded, StateInterval
from reports.grouping import BUCKET_MINUTES, bucket_start
from reports.kpis import (
    SL_BANDS,
    AgentInterval,
    AgentState,
    CallRecord,
    Outcome,
    fcr_caller,
)

DAY = 86_400.0
_US = 1_000_000
_IDLE = (AgentState.READY, AgentState.RINGING)
_BUSY = (AgentState.TALK, AgentState.HOLD)
# a wait ends when the call is answered or leaves the queue
_ENDS_WAIT = frozenset(
    {ev.CALL_ANSWERED, ev.CALL_FINISHED, ev.CALL_ROUTED_OUT, ev.CALLBACK_REQUESTED, ev.CALL_HUNGUP}
)


def _us(seconds: float) -> int:
    return round(seconds * _US)


def _mean_us(total_us: int, count: int) -> float | None:
    return total_us / count / _US if count else None


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True, slots=True)
class LiveOptions:
    """The KPI options of `reports.kpis.summarise`, and the interval length."""

    minutes: int = 15
    utc_offset_minutes: int = 0
    sl_threshold: float = 20.0
    short_abandon: float = 5.0
    fcr_window_days: float = 7.0

    def __post_init__(self) -> None:
        if self.minutes not in BUCKET_MINUTES:
            raise ValueError(f"interval of {self.minutes} minutes: use one of {BUCKET_MINUTES}")

    def day_start(self, moment: float) -> float:
        offset = self.utc_offset_minutes * 60
        return float((moment + offset) // DAY * DAY - offset)

    def interval_start(self, moment: float) -> float:
        return bucket_start(moment, self.minutes, self.utc_offset_minutes)


class _Chains:
    """FCR clusters of answered calls, kept exactly under insertion and removal.

    Per caller key a sorted chain of (arrived_at, call_id); a call starts a cluster when
    the gap to the previous call of the chain exceeds the window (as kpis.fcr_clusters),
    and is a cluster of one when the gap to the next one does too.
    """

    __slots__ = ("chains", "clusters", "singles", "window")

    def __init__(self, window_days: float) -> None:
        self.window = window_days * 86400
        self.chains: dict[str, list[tuple[float, str]]] = {}
        self.clusters = 0
        self.singles = 0

    def _flags(self, chain: list[tuple[float, str]], lo: int, hi: int) -> tuple[int, int]:
        starts = singles = 0
        last = len(chain) - 1
        for i in range(max(0, lo), min(last, hi) + 1):
            start = i == 0 or chain[i][0] - chain[i - 1][0] > self.window
            end = i == last or chain[i + 1][0] - chain[i][0] > self.window
            starts += start
            singles += start and end
        return starts, singles

    def add(self, key: str, item: tuple[float, str]) -> None:
        chain = self.chains.setdefault(key, [])
        p = bisect.bisect_left(chain, item)
        starts, singles = self._flags(chain, p - 1, p)
        chain.insert(p, item)
        new_starts, new_singles = self._flags(chain, p - 1, p + 1)
        self.clusters += new_starts - starts
        self.singles += new_singles - singles

    def remove(self, key: str, item: tuple[float, str]) -> None:
        chain = self.chains.get(key)
        if not chain:
            return
        p = bisect.bisect_left(chain, item)
        if p >= len(chain) or chain[p] != item:
            return
        starts, singles = self._flags(chain, p - 1, p + 1)
        del chain[p]
        new_starts, new_singles = self._flags(chain, p - 1, p)
        self.clusters += new_starts - starts
        self.singles += new_singles - singles
        if not chain:
            del self.chains[key]


class _Agg:
    """The sums and counts behind one scope's summary."""

    def __init__(self, options: LiveOptions) -> None:
        self.options = options
        self.offered = self.answered = self.abandoned = self.short_abandoned = 0
        self.transferred = 0
        self.answered_wait_us = 0
        self.ended_n = self.ended_wait_us = 0  # answered or abandoned
        self.hold_n = self.hold_us = self.talk_n = self.talk_us = 0
        self.acw_n = self.acw_us = self.handle_n = self.handle_us = 0
        self.within_sl = 0
        self.bands = [0] * len(SL_BANDS)
        self.marks = self.resolved = 0
        self.waits: Counter[float] = Counter()
        self._heap: list[float] = []  # negated waits; stale entries are dropped lazily
        self.fcr = _Chains(options.fcr_window_days)
        self.state_us: dict[AgentState, int] = dict.fromkeys(AgentState, 0)

    # -- calls --------------------------------------------------------------------------

    def call(self, r: CallRecord, sign: int) -> None:
        o = self.options
        wait = r.queue_seconds
        wait_us = _us(wait)
        self.offered += sign
        self._wait(wait, sign)
        if r.transferred:
            self.transferred += sign
        if r.outcome is Outcome.ABANDONED:
            self.abandoned += sign
            self.ended_n += sign
            self.ended_wait_us += sign * wait_us
            if wait < o.short_abandon:
                self.short_abandoned += sign
            return
        if r.outcome is not Outcome.ANSWERED:
            return
        self.answered += sign
        self.answered_wait_us += sign * wait_us
        self.ended_n += sign
        self.ended_wait_us += sign * wait_us
        if wait <= o.sl_threshold:
            self.within_sl += sign
        for i, band in enumerate(SL_BANDS):
            if wait <= band:
                self.bands[i] += sign
        if r.hold_seconds is not None:
            self.hold_n += sign
            self.hold_us += sign * _us(r.hold_seconds)
        if r.talk_seconds is not None:
            self.talk_n += sign
            self.talk_us += sign * _us(r.talk_seconds)
        if r.acw_seconds is not None:
            self.acw_n += sign
            self.acw_us += sign * _us(r.acw_seconds)
        if r.talk_seconds is not None and r.hold_seconds is not None and r.acw_seconds is not None:
            self.handle_n += sign
            self.handle_us += sign * _us(r.talk_seconds + r.hold_seconds + r.acw_seconds)
        if r.resolved is not None:
            self.marks += sign
            self.resolved += sign * r.resolved
        key = fcr_caller(r)
        if key is not None:
            item = (r.arrived_at, r.call_id)
            if sign > 0:
                self.fcr.add(key, item)
            else:
                self.fcr.remove(key, item)

    def _wait(self, wait: float, sign: int) -> None:
        if sign > 0:
            self.waits[wait] += 1
            if self.waits[wait] == 1:
                heapq.heappush(self._heap, -wait)
        elif self.waits[wait] > 1:
            self.waits[wait] -= 1
        else:
            self.waits.pop(wait, None)

    def longest_wait(self) -> float | None:
        heap = self._heap
        while heap and -heap[0] not in self.waits:
            heapq.heappop(heap)
        return -heap[0] if heap else None

    # -- summary ------------------------------------------------------------------------

    def summary(self, open_us: dict[AgentState, int] | None = None) -> dict[str, Any]:
        """The fields of `reports.kpis.summarise`, plus the SL bands and the wrap-up mark."""
        long_abandons = self.abandoned - self.short_abandoned
        state = dict(self.state_us)
        for s, us in (open_us or {}).items():
            state[s] += us
        busy = sum(state[s] for s in _BUSY)
        idle = sum(state[s] for s in _IDLE)
        return {
            "offered": self.offered,
            "answered": self.answered,
            "abandoned": self.abandoned,
            "short_abandoned": self.short_abandoned,
            "transferred": self.transferred,
            "asa_seconds": _mean_us(self.answered_wait_us, self.answered),
            "avg_queue_seconds": _mean_us(self.ended_wait_us, self.ended_n),
            "avg_hold_seconds": _mean_us(self.hold_us, self.hold_n),
            "avg_talk_seconds": _mean_us(self.talk_us, self.talk_n),
            "avg_acw_seconds": _mean_us(self.acw_us, self.acw_n),
            "aht_seconds": _mean_us(self.handle_us, self.handle_n),
            "fcr_rate": _ratio(self.fcr.singles, self.fcr.clusters),
            "abandon_rate": _ratio(self.abandoned, self.offered),
            "abandon_rate_excl_short": _ratio(long_abandons, self.offered - self.short_abandoned),
            "occupancy": _ratio(busy, busy + idle),
            "occupancy_with_acw": _ratio(
                busy + state[AgentState.ACW], busy + idle + state[AgentState.ACW]
            ),
            "service_level": _ratio(self.within_sl, self.answered),
            "service_level_with_abandons": _ratio(self.within_sl, self.answered + long_abandons),
            "longest_wait_seconds": self.longest_wait(),
            "service_level_bands": {
                band: _ratio(n, self.answered) for band, n in zip(SL_BANDS, self.bands, strict=True)
            },
            "resolved_mark_rate": _ratio(self.resolved, self.marks),
        }


@dataclass
class _Bucket:
    """One day or one interval: the tenant total, per queue and per agent."""

    start: float
    end: float
    options: LiveOptions
    total: _Agg = field(init=False)
    queues: dict[str, _Agg] = field(default_factory=dict)
    agents: dict[str, _Agg] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.total = _Agg(self.options)

    def queue(self, name: str) -> _Agg:
        agg = self.queues.get(name)
        if agg is None:
            agg = self.queues[name] = _Agg(self.options)
        return agg

    def agent(self, name: str) -> _Agg:
        agg = self.agents.get(name)
        if agg is None:
            agg = self.agents[name] = _Agg(self.options)
        return agg


@dataclass(slots=True)
class _AgentNow:
    state: str  # acd.state.AgentState value as in agent.state events
    since: float
    reason: str
    shown: str  # the state shown: "hold" while the caller is on hold during on_call
    shown_since: float


class LiveStats:
    """One tenant's live figures."""

    def __init__(self, tenant: str, options: LiveOptions | None = None) -> None:
        self.tenant = tenant
        self.options = options or LiveOptions()
        self.now: float | None = None
        self.days: dict[float, _Bucket] = {}
        self.intervals: dict[float, _Bucket] = {}
        self.waiting: dict[str, dict[str, float]] = {}  # queue -> call -> waiting since
        self._waiting_in: dict[str, str] = {}  # call -> queue
        self.agents: dict[str, _AgentNow] = {}
        self.members: dict[str, frozenset[str]] = {}  # queue -> the agents serving it
        self._queues_of: dict[str, tuple[str, ...]] = {}  # agent -> the queues they serve

    def serve(self, queue: str, agents: Iterable[str]) -> None:
        """`agents` serve `queue`: its figures count them by state."""
        self.members[queue] = frozenset(agents)
        by_agent: dict[str, list[str]] = {}
        for name, members in sorted(self.members.items()):
            for agent in members:
                by_agent.setdefault(agent, []).append(name)
        self._queues_of = {agent: tuple(queues) for agent, queues in by_agent.items()}

    def queues_of(self, agent: str) -> tuple[str, ...]:
        """The queues `agent` serves (see `serve`); looked up on every event."""
        return self._queues_of.get(agent, ())

    # -- feeding --------------------------------------------------------------------------

    def apply(self, event: DomainEvent, folded: Folded, now: float | None = None) -> None:
        """Fold one journal event in; `now` (default: the event's time) moves the clock."""
        self.advance(event.at if now is None else now)
        for change in folded.calls:
            if change.before == change.after:
                continue
            if change.before is not None:
                self._record(change.before, -1)
            if change.after is not None:
                self._record(change.after, +1)
        for interval in folded.intervals:
            self._interval(interval)
        if event.kind == ev.AGENT_STATE:
            self._agent_state(event)
        else:
            self._holds(folded.intervals)
            self._waits(event)

    def seed(
        self,
        records: Iterable[CallRecord],
        intervals: Iterable[StateInterval | AgentInterval],
        now: float | None = None,
    ) -> None:
        """Rebuild the figures from stored rows (at start): finished calls, closed intervals."""
        if now is not None:
            self.advance(now)
        for record in records:
            self._record(record, +1)
        for interval in intervals:
            self._interval(interval)

    def seed_agent(self, agent: str, state: str, since: float, reason: str = "") -> None:
        """After a restart: the agent's current state, open since `since`."""
        self.agents[agent] = _AgentNow(state, since, reason, state, since)

    def seed_waiting(self, call_id: str, queue: str, since: float) -> None:
        """After a restart: a call still waiting in `queue` since `since`."""
        self._unwait(call_id)
        self.waiting.setdefault(queue, {})[call_id] = since
        self._waiting_in[call_id] = queue

    def advance(self, now: float) -> None:
        """Move the clock on (never back); drop the buckets older than yesterday."""
        if self.now is not None and now <= self.now:
            return
        old_day = None if self.now is None else self.options.day_start(self.now)
        self.now = now
        if old_day != self.options.day_start(now):
            horizon = self._horizon()
            for buckets in (self.days, self.intervals):
                for start in [s for s in buckets if s < horizon]:
                    del buckets[start]

    def _horizon(self) -> float:
        if self.now is None:
            return float("-inf")
        return self.options.day_start(self.now) - DAY

    def _bucket(self, kind: str, moment: float, create: bool) -> _Bucket | None:
        o = self.options
        if kind == "day":
            buckets, start, size = self.days, o.day_start(moment), DAY
        else:
            buckets, start, size = self.intervals, o.interval_start(moment), o.minutes * 60.0
        bucket = buckets.get(start)
        if bucket is None and create and start >= self._horizon():
            bucket = buckets[start] = _Bucket(start, start + size, o)
        return bucket

    def _record(self, record: CallRecord, sign: int) -> None:
        if record.direction != "inbound":
            return  # the live queue figures are the callers'; outbound calls have their own
        for kind in ("day", "interval"):
            bucket = self._bucket(kind, record.arrived_at, create=sign > 0)
            if bucket is None:
                continue
            bucket.total.call(record, sign)
            bucket.queue(record.queue).call(record, sign)
            if record.agent is not None:
                bucket.agent(record.agent).call(record, sign)

    def _interval(self, interval: StateInterval | AgentInterval) -> None:
        if interval.end < interval.start:  # events fed out of order: nothing to count
            return
        piece = interval.interval() if isinstance(interval, StateInterval) else interval
        if piece is None:
            return
        start = max(piece.start, self._horizon())
        for kind in ("day", "interval"):
            moment = start
            while moment < piece.end:
                bucket = self._bucket(kind, moment, create=True)
                if bucket is None:
                    break
                end = min(piece.end, bucket.end)
                if end <= moment:  # float rounding at an edge
                    end = min(piece.end, bucket.end + (bucket.end - bucket.start))
                us = _us(end - moment)
                bucket.total.state_us[piece.state] += us
                bucket.agent(piece.agent).state_us[piece.state] += us
                moment = end

    # -- live-only ------------------------------------------------------------------------

    def _agent_state(self, event: DomainEvent) -> None:
        agent = event.agent_id or ""
        state = str(event.data.get("state"))
        reason = str(event.data.get("reason") or "")
        now = self.agents.get(agent)
        if now is not None and now.state == state and now.reason == reason:
            return  # the fold ignores a repeat too
        self.agents[agent] = _AgentNow(state, event.at, reason, state, event.at)

    def _holds(self, intervals: list[StateInterval]) -> None:
        """A call event closed an agent interval: the caller went on or off hold."""
        for interval in intervals:
            now = self.agents.get(interval.agent)
            if now is None or now.state != "on_call":
                continue
            now.shown = "on_call" if interval.state == "hold" else "hold"
            now.shown_since = interval.end

    def _waits(self, event: DomainEvent) -> None:
        call_id = event.call_id
        if call_id is None:
            return
        if event.kind == ev.CALL_QUEUED and event.queue:
            if event.data.get("callback"):
                return  # a callback waiting for an agent: no caller is on the line
            if call_id not in self._waiting_in:
                self.waiting.setdefault(event.queue, {})[call_id] = event.at
                self._waiting_in[call_id] = event.queue
        elif event.kind == ev.CALL_OVERFLOWED:
            target = event.data.get("to_queue")
            queue = self._waiting_in.get(call_id)
            if queue is not None and target:
                since = self.waiting[queue].get(call_id, event.at)
                self.seed_waiting(call_id, str(target), since)
        elif event.kind in _ENDS_WAIT:
            self._unwait(call_id)

    def _unwait(self, call_id: str) -> None:
        queue = self._waiting_in.pop(call_id, None)
        if queue is not None:
            calls = self.waiting.get(queue, {})
            calls.pop(call_id, None)
            if not calls:
                self.waiting.pop(queue, None)

    def _open_us(
        self, bucket: _Bucket, now: float, agent: str | None = None
    ) -> dict[str, dict[AgentState, int]]:
        """Per agent (or for `agent` only), the open intervals' time in the bucket up to `now`."""
        out: dict[str, dict[AgentState, int]] = {}
        if agent is None:
            agents = list(self.agents.items())
        else:
            agents = [(agent, self.agents[agent])] if agent in self.agents else []
        for name, a in agents:
            piece = StateInterval(name, a.shown, "", a.shown_since, max(now, a.shown_since))
            interval = piece.interval()
            if interval is None:
                continue
            seconds = min(now, bucket.end) - max(a.shown_since, bucket.start)
            if seconds > 0:
                out[name] = {interval.state: _us(seconds)}
        return out

    # -- snapshots ------------------------------------------------------------------------

    def _now(self, now: float | None) -> float:
        if now is not None:
            self.advance(now)
        if self.now is None:
            raise ValueError("no clock yet: pass `now`")
        return now if now is not None else self.now

    def _current(self, now: float) -> tuple[_Bucket, _Bucket]:
        day = self._bucket("day", now, create=False)
        interval = self._bucket("interval", now, create=False)
        o = self.options
        if day is None:
            start = o.day_start(now)
            day = _Bucket(start, start + DAY, o)
        if interval is None:
            start = o.interval_start(now)
            interval = _Bucket(start, start + o.minutes * 60.0, o)
        return day, interval

    def _waiting_figures(self, queues: Iterable[str], now: float) -> dict[str, Any]:
        since = [t for q in queues for t in self.waiting.get(q, {}).values()]
        return {
            "calls_waiting": len(since),
            "longest_current_wait_seconds": max(0.0, now - min(since)) if since else None,
        }

    @staticmethod
    def _with_interval(today: dict[str, Any], interval: dict[str, Any], b: _Bucket) -> None:
        interval["interval_start"] = b.start
        interval["interval_minutes"] = round((b.end - b.start) / 60)
        today["interval"] = interval

    def total_stats(self, now: float | None = None) -> dict[str, Any]:
        """The tenant's figures today (and `interval`: the current interval's)."""
        moment = self._now(now)
        day, interval = self._current(moment)
        out = day.total.summary(_sum_open(self._open_us(day, moment)))
        current = interval.total.summary(_sum_open(self._open_us(interval, moment)))
        self._with_interval(out, current, interval)
        out.update(self._waiting_figures(list(self.waiting), moment))
        out["agents_by_state"] = self.agents_by_state()
        out.update(tenant=self.tenant, at=moment, day_start=day.start)
        return out

    def queue_stats(self, queue: str, now: float | None = None) -> dict[str, Any]:
        """One queue's figures today and this interval; no occupancy (agent time has no queue)."""
        moment = self._now(now)
        day, interval = self._current(moment)
        empty = _Agg(self.options)
        out = day.queues.get(queue, empty).summary()
        self._with_interval(out, interval.queues.get(queue, empty).summary(), interval)
        out.update(self._waiting_figures([queue], moment))
        out["agents_by_state"] = self.agents_by_state(self.members.get(queue, frozenset()))
        out.update(tenant=self.tenant, queue=queue, at=moment, day_start=day.start)
        return out

    def agent_stats(self, agent: str, now: float | None = None) -> dict[str, Any]:
        """One agent's state now, time in it, and figures over the calls they answered."""
        moment = self._now(now)
        day, interval = self._current(moment)
        empty = _Agg(self.options)
        out = day.agents.get(agent, empty).summary(self._open_us(day, moment, agent).get(agent))
        current = interval.agents.get(agent, empty).summary(
            self._open_us(interval, moment, agent).get(agent)
        )
        self._with_interval(out, current, interval)
        a = self.agents.get(agent)
        out.update(
            tenant=self.tenant,
            agent=agent,
            at=moment,
            day_start=day.start,
            state=a.shown if a else "logged_out",
            reason=a.reason if a else "",
            state_since=a.shown_since if a else None,
            seconds_in_state=max(0.0, moment - a.shown_since) if a else None,
            calls_handled=out["answered"],
        )
        return out

    def agents_by_state(self, among: Iterable[str] | None = None) -> dict[str, int]:
        """How many agents (all, or those `among`) are in each state now (logged-out
        agents left out)."""
        agents = (
            self.agents.values()
            if among is None
            else [self.agents[a] for a in among if a in self.agents]
        )
        counts = Counter(a.shown for a in agents if a.state != "logged_out")
        return dict(sorted(counts.items()))

    def queue_names(self, now: float | None = None) -> list[str]:
        moment = self._now(now)
        day, interval = self._current(moment)
        return sorted(set(day.queues) | set(interval.queues) | set(self.waiting))

    def agent_names(self, now: float | None = None) -> list[str]:
        moment = self._now(now)
        day, _ = self._current(moment)
        return sorted(set(day.agents) | set(self.agents))

    def snapshot(self, now: float | None = None) -> dict[str, Any]:
        """Everything: the tenant total, and `queues` and `agents` by name."""
        moment = self._now(now)
        out = self.total_stats(moment)
        out["queues"] = {q: self.queue_stats(q, moment) for q in self.queue_names(moment)}
        out["agents"] = {a: self.agent_stats(a, moment) for a in self.agent_names(moment)}
        return out

    def interval_stats(self, now: float | None = None) -> dict[float, dict[str, Any]]:
        """Every interval of today up to now with calls or agent time: {start: figures}.

        Each holds `total`, `queues` and `agents`, as `summarise` of that interval's calls
        and agent time (the open agent states counted up to `now`).
        """
        moment = self._now(now)
        o = self.options
        size = o.minutes * 60.0
        start, last = o.day_start(moment), o.interval_start(moment)
        out: dict[float, dict[str, Any]] = {}
        while start <= last:
            b = self.intervals.get(start) or _Bucket(start, start + size, o)
            start = b.end
            opened = self._open_us(b, moment)
            if b.start not in self.intervals and not opened:
                continue
            agents = set(b.agents) | set(opened)
            empty = _Agg(o)
            out[b.start] = {
                "total": b.total.summary(_sum_open(opened)),
                "queues": {q: agg.summary() for q, agg in sorted(b.queues.items())},
                "agents": {
                    a: b.agents.get(a, empty).summary(opened.get(a)) for a in sorted(agents)
                },
            }
        return out


def _sum_open(per_agent: dict[str, dict[AgentState, int]]) -> dict[AgentState, int]:
    total: dict[AgentState, int] = dict.fromkeys(AgentState, 0)
    for states in per_agent.values():
        for state, us in states.items():
            total[state] += us
    return total


class LiveBoard:
    """The live figures of every tenant, created as their events arrive."""

    def __init__(self, options: LiveOptions | None = None) -> None:
        self.options = options or LiveOptions()
        self.tenants: dict[str, LiveStats] = {}

    def tenant(self, tenant: str) -> LiveStats:
        stats = self.tenants.get(tenant)
        if stats is None:
            stats = self.tenants[tenant] = LiveStats(tenant, self.options)
        return stats

    def apply(self, event: DomainEvent, folded: Folded, now: float | None = None) -> LiveStats:
        stats = self.tenant(event.tenant)
        stats.apply(event, folded, now)
        return stats

    def seed(
        self,
        tenant: str,
        records: Iterable[CallRecord],
        intervals: Iterable[StateInterval | AgentInterval],
        now: float | None = None,
    ) -> None:
        self.tenant(tenant).seed(records, intervals, now)
