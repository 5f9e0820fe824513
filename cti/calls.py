"""The call model: one `Call` per Asterisk linkedid, folded from typed AMI events.

`CallModel.apply(event)` updates the model and returns what changed for the
call as `CallArrived` / `CallAnswered` / `CallEnded` facts, each emitted once
per call and in that order. `CallArrived` waits until the caller is known (the
entry channel has a caller number) or the call is answered or ends, so that it
carries ANI and DNIS; its time is still the first channel's creation.
It is pure (no I/O, time from the events) and tolerant of what a real
AMI stream does: duplicated events, events out of order (a `Newstate` or
`Hangup` before its `Newchannel`), and gaps while the link was down, repaired
from a `Resynced` snapshot.

Definitions:
- the *entry channel* is the first channel created in an inbound context
  (`cti-inbound` by default), else the channel that started the call;
- ANI is the entry channel's caller number, DNIS the extension it entered at;
- a call is *answered* when its entry channel first reaches state Up;
- a call *ends* when every channel it had is hung up, its origin channel
  (uniqueid == linkedid) included; its hangup cause is the entry channel's.
  A channel adopted from a resync that is not in an inbound context carries
  no DNIS (its extension is a queue or an agent, not the dialed number).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

from cti.ami_events import (
    AmiEvent,
    ChannelCreated,
    ChannelEvent,
    ChannelHungUp,
    ChannelSnapshot,
    Resynced,
)

STATE_UP = 6
CAUSE_LOST = 0
LOST_TEXT = "channel vanished while the AMI link was down"


@dataclass(slots=True)
class Channel:
    uniqueid: str
    name: str
    context: str
    exten: str
    caller_num: str
    created_at: float
    state: int = 0
    hungup_at: float | None = None
    cause: int = 0
    cause_text: str = ""

    @property
    def live(self) -> bool:
        return self.hungup_at is None


@dataclass(slots=True)
class Call:
    call_id: str
    arrived_at: float
    channels: dict[str, Channel] = field(default_factory=dict)
    entry_uniqueid: str = ""
    answered_at: float | None = None
    ended_at: float | None = None
    announced: bool = False

    @property
    def entry(self) -> Channel | None:
        found = self.channels.get(self.entry_uniqueid) or self.channels.get(self.call_id)
        return found or next(iter(self.channels.values()), None)

    @property
    def ani(self) -> str:
        entry = self.entry
        return entry.caller_num if entry else ""

    @property
    def dnis(self) -> str:
        entry = self.entry
        return entry.exten if entry else ""

    @property
    def hangup_cause(self) -> int:
        entry = self.entry
        return entry.cause if entry else 0

    @property
    def hangup_cause_text(self) -> str:
        entry = self.entry
        return entry.cause_text if entry else ""

    @property
    def live(self) -> bool:
        return self.ended_at is None


@dataclass(frozen=True, slots=True)
class CallChange:
    call_id: str
    time: float


@dataclass(frozen=True, slots=True)
class CallArrived(CallChange):
    ani: str
    dnis: str


@dataclass(frozen=True, slots=True)
class CallAnswered(CallChange):
    pass


@dataclass(frozen=True, slots=True)
class CallEnded(CallChange):
    ani: str
    dnis: str
    cause: int
    cause_text: str
    duration_seconds: float
    answered: bool


class CallModel:
    """Live calls by linkedid, plus a bounded memory of recently ended ones."""

    def __init__(
        self, inbound_contexts: Iterable[str] = ("cti-inbound",), *, remember_ended: int = 10_000
    ) -> None:
        self.inbound_contexts = frozenset(inbound_contexts)
        self.calls: dict[str, Call] = {}
        self.ended: OrderedDict[str, Call] = OrderedDict()
        self.remember_ended = remember_ended
        self.late_events = 0
        self._channel_calls: dict[str, str] = {}  # channel uniqueid -> call id (linkedid)

    def call_id_of(self, uniqueid: str) -> str | None:
        """The call (linkedid) a channel belongs to, while the call is live or remembered."""
        return self._channel_calls.get(uniqueid)

    def get(self, call_id: str) -> Call | None:
        return self.calls.get(call_id) or self.ended.get(call_id)

    def apply(self, event: AmiEvent) -> list[CallChange]:
        if isinstance(event, Resynced):
            return self._resync(event)
        if not isinstance(event, ChannelEvent) or not event.uniqueid:
            return []
        if event.linkedid in self.ended:
            self.late_events += 1
            return []
        changes: list[CallChange] = []
        call = self._call(event.linkedid, event.time, changes)
        channel = self._channel(call, event)
        if isinstance(event, ChannelHungUp):
            if channel.live:
                channel.hungup_at = event.time
                channel.cause, channel.cause_text = event.cause, event.cause_text
                channel.state = event.state
        elif channel.live:
            channel.state = event.state or channel.state
            if event.caller_num:
                channel.caller_num = event.caller_num
        self._after(call, event.time, changes)
        return changes

    def _call(self, call_id: str, time: float, changes: list[CallChange]) -> Call:
        call = self.calls.get(call_id)
        if call is None:
            call = self.calls[call_id] = Call(call_id=call_id, arrived_at=time)
        call.arrived_at = min(call.arrived_at, time)
        return call

    def _channel(self, call: Call, event: ChannelEvent) -> Channel:
        channel = call.channels.get(event.uniqueid)
        if channel is None:
            self._channel_calls[event.uniqueid] = call.call_id
            channel = call.channels[event.uniqueid] = Channel(
                uniqueid=event.uniqueid,
                name=event.channel,
                context=event.context,
                exten=event.exten,
                caller_num=event.caller_num,
                created_at=event.time,
            )
            self._maybe_entry(call, channel)
        elif isinstance(event, ChannelCreated):
            # duplicate, or the Newchannel arriving after a Newstate/Hangup
            channel.created_at = min(channel.created_at, event.time)
            channel.context = channel.context or event.context
            channel.exten = event.exten or channel.exten
            self._maybe_entry(call, channel)
        return channel

    def _maybe_entry(self, call: Call, channel: Channel) -> None:
        if not call.entry_uniqueid and channel.context in self.inbound_contexts:
            call.entry_uniqueid = channel.uniqueid

    def _after(
        self, call: Call, time: float, changes: list[CallChange], *, resync: bool = False
    ) -> None:
        entry = call.entry
        answered = call.answered_at is None and entry is not None and entry.state == STATE_UP
        # The origin channel (uniqueid == linkedid) is created first; until its
        # hangup is seen more channels may still come, unless a resync says so.
        origin_seen = call.call_id in call.channels or resync
        ended = (
            bool(call.channels) and origin_seen and not any(c.live for c in call.channels.values())
        )
        identified = call.entry_uniqueid != "" and call.ani != ""
        if not call.announced and (identified or answered or ended):
            call.announced = True
            changes.append(CallArrived(call.call_id, call.arrived_at, call.ani, call.dnis))
        if answered:
            call.answered_at = time
            changes.append(CallAnswered(call.call_id, time))
        if ended:
            changes.append(self._end(call))

    def _end(self, call: Call) -> CallEnded:
        call.ended_at = max(c.hungup_at or call.arrived_at for c in call.channels.values())
        del self.calls[call.call_id]
        self.ended[call.call_id] = call
        while len(self.ended) > self.remember_ended:
            _, forgotten = self.ended.popitem(last=False)
            for uniqueid in forgotten.channels:
                self._channel_calls.pop(uniqueid, None)
        return CallEnded(
            call.call_id,
            call.ended_at,
            call.ani,
            call.dnis,
            call.hangup_cause,
            call.hangup_cause_text,
            call.ended_at - call.arrived_at,
            call.answered_at is not None,
        )

    def _resync(self, event: Resynced) -> list[CallChange]:
        """Repair the model from the channels Asterisk says are live right now."""
        changes: list[CallChange] = []
        live = event.live()
        for snap in event.channels:
            if snap.linkedid in self.ended:
                continue
            call_changes: list[CallChange] = []
            call = self._call(snap.linkedid, event.time - snap.duration_seconds, call_changes)
            self._adopt(call, snap, event.time)
            self._after(call, event.time, call_changes)
            changes += call_changes
        for call in list(self.calls.values()):
            for channel in call.channels.values():
                if channel.live and channel.uniqueid not in live:
                    channel.hungup_at, channel.cause, channel.cause_text = (
                        event.time,
                        CAUSE_LOST,
                        LOST_TEXT,
                    )
            call_changes = []
            self._after(call, event.time, call_changes, resync=True)
            changes += call_changes
        return changes

    def _adopt(self, call: Call, snap: ChannelSnapshot, now: float) -> None:
        channel = call.channels.get(snap.uniqueid)
        if channel is None:
            self._channel_calls[snap.uniqueid] = call.call_id
            channel = call.channels[snap.uniqueid] = Channel(
                uniqueid=snap.uniqueid,
                name=snap.channel,
                context=snap.context,
                exten=snap.exten if snap.context in self.inbound_contexts else "",
                caller_num=snap.caller_num,
                created_at=now - snap.duration_seconds,
            )
            self._maybe_entry(call, channel)
        channel.state = snap.state
        channel.caller_num = channel.caller_num or snap.caller_num
