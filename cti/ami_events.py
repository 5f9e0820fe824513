"""Typed AMI events: the only shape in which Asterisk's events leave `cti/ami.py`.

`normalise(headers, received_at)` turns one raw AMI event (a header mapping)
into a frozen dataclass, or `OtherEvent` for the ones we do not model. Pure:
no I/O, no panoramisk. Times are epoch seconds, from Asterisk's `Timestamp`
header (`timestampevents = yes`) when present, else from the receiving clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Headers = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class AmiEvent:
    """Base of every normalised event."""

    time: float


@dataclass(frozen=True, slots=True)
class ChannelEvent(AmiEvent):
    """An event about one channel; `linkedid` names the call it belongs to."""

    uniqueid: str
    linkedid: str
    channel: str
    state: int
    caller_num: str
    caller_name: str
    context: str
    exten: str


@dataclass(frozen=True, slots=True)
class ChannelCreated(ChannelEvent):
    pass


@dataclass(frozen=True, slots=True)
class ChannelStateChanged(ChannelEvent):
    pass


@dataclass(frozen=True, slots=True)
class ChannelCallerChanged(ChannelEvent):
    """The channel's caller ID was set or changed (e.g. on a Local channel's second half)."""


@dataclass(frozen=True, slots=True)
class ChannelHungUp(ChannelEvent):
    cause: int
    cause_text: str


@dataclass(frozen=True, slots=True)
class DialStarted(ChannelEvent):
    dest_uniqueid: str
    dest_channel: str


@dataclass(frozen=True, slots=True)
class DialEnded(ChannelEvent):
    dest_uniqueid: str
    dial_status: str


@dataclass(frozen=True, slots=True)
class BridgeEntered(ChannelEvent):
    bridge_id: str


@dataclass(frozen=True, slots=True)
class BridgeLeft(ChannelEvent):
    bridge_id: str


@dataclass(frozen=True, slots=True)
class ChannelHeld(ChannelEvent):
    pass


@dataclass(frozen=True, slots=True)
class ChannelUnheld(ChannelEvent):
    pass


@dataclass(frozen=True, slots=True)
class UserEvent(AmiEvent):
    """A `UserEvent()` from our dialplan; `fields` holds its own headers."""

    name: str
    uniqueid: str
    linkedid: str
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeviceStateChanged(AmiEvent):
    """A device (e.g. `PJSIP/1001`) changed state: NOT_INUSE, INUSE, RINGING, BUSY, ..."""

    device: str
    state: str


@dataclass(frozen=True, slots=True)
class FullyBooted(AmiEvent):
    pass


@dataclass(frozen=True, slots=True)
class OtherEvent(AmiEvent):
    """An event we read but do not model (kept for logging and counting)."""

    name: str
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LinkUp(AmiEvent):
    """Our link logged in (first time or after a reconnect)."""

    reconnect: bool


@dataclass(frozen=True, slots=True)
class LinkDown(AmiEvent):
    reason: str


@dataclass(frozen=True, slots=True)
class ChannelSnapshot:
    """One live channel as `CoreShowChannels` lists it."""

    uniqueid: str
    linkedid: str
    channel: str
    state: int
    caller_num: str
    caller_name: str
    context: str
    exten: str
    application: str
    duration_seconds: int


@dataclass(frozen=True, slots=True)
class Resynced(AmiEvent):
    """After a (re)connect: every channel Asterisk had live when the list was asked for.
    `fresh`: the channels whose Newchannel arrived while the list was being made; they
    are live whether listed or not (their creation raced the answer)."""

    channels: tuple[ChannelSnapshot, ...]
    fresh: frozenset[str] = frozenset()

    def live(self) -> set[str]:
        """The uniqueids of the channels live now: listed, or fresh."""
        return {snap.uniqueid for snap in self.channels} | self.fresh


_UNKNOWN = ("", "<unknown>")

# Events that are chatty and not worth an OtherEvent allocation on the hot path.
IGNORED = frozenset(
    {
        "VarSet",
        "TestEvent",
        "HangupRequest",
        "SoftHangupRequest",
        "CoreShowChannel",
        "CoreShowChannelsComplete",
        "Newexten",
        "NewConnectedLine",
        "NewAccountCode",
        "RTCPSent",
        "RTCPReceived",
        "DTMFBegin",
        "ExtensionStatus",
        "SuccessfulAuth",
        "ChallengeSent",
        "LocalBridge",
        "LocalOptimizationBegin",
        "LocalOptimizationEnd",
        "MusicOnHoldStart",
        "MusicOnHoldStop",
        "BridgeCreate",
        "BridgeDestroy",
        "Registry",
        "Cdr",
        "PeerStatus",
        "ContactStatus",
    }
)


def text(headers: Headers, name: str) -> str:
    """One header as text; the first value if Asterisk repeated it."""
    value = headers.get(name, "")
    if isinstance(value, list):
        value = value[0] if value else ""
    value = str(value)
    return "" if value in _UNKNOWN else value


def number(headers: Headers, name: str, default: int = 0) -> int:
    try:
        return int(text(headers, name) or default)
    except ValueError:
        return default


def event_time(headers: Headers, received_at: float) -> float:
    stamp = text(headers, "Timestamp")
    try:
        return float(stamp) if stamp else received_at
    except ValueError:
        return received_at


def _channel_fields(h: Headers) -> dict[str, Any]:
    uniqueid = text(h, "Uniqueid")
    return {
        "uniqueid": uniqueid,
        "linkedid": text(h, "Linkedid") or uniqueid,
        "channel": text(h, "Channel"),
        "state": number(h, "ChannelState"),
        "caller_num": text(h, "CallerIDNum"),
        "caller_name": text(h, "CallerIDName"),
        "context": text(h, "Context"),
        "exten": text(h, "Exten"),
    }


def _dest_fields(h: Headers) -> dict[str, Any]:
    return {"dest_uniqueid": text(h, "DestUniqueid"), "dest_channel": text(h, "DestChannel")}


def normalise(headers: Headers, received_at: float) -> AmiEvent | None:
    """The typed form of one raw AMI event; None for events we drop on purpose.

    Raises `ValueError` when an event we model lacks the headers it must have
    (the caller counts it as malformed).
    """
    name = text(headers, "Event")
    if not name:
        raise ValueError("message has no Event header")
    if name in IGNORED:
        return None
    time = event_time(headers, received_at)
    builder = _BUILDERS.get(name)
    if builder is None:
        return OtherEvent(time, name, {str(k): text(headers, k) for k in headers})
    event: AmiEvent = builder(headers, time)
    return event


def _channel(cls: type[ChannelEvent]) -> Any:
    def build(h: Headers, time: float) -> ChannelEvent:
        fields = _channel_fields(h)
        if not fields["uniqueid"]:
            raise ValueError(f"{text(h, 'Event')} without Uniqueid")
        return cls(time, **fields)

    return build


def _hangup(h: Headers, time: float) -> ChannelHungUp:
    fields = _channel_fields(h)
    if not fields["uniqueid"]:
        raise ValueError("Hangup without Uniqueid")
    return ChannelHungUp(time, **fields, cause=number(h, "Cause"), cause_text=text(h, "Cause-txt"))


def _dial_begin(h: Headers, time: float) -> DialStarted:
    return DialStarted(time, **_channel_fields(h), **_dest_fields(h))


def _dial_end(h: Headers, time: float) -> DialEnded:
    return DialEnded(
        time,
        **_channel_fields(h),
        dest_uniqueid=text(h, "DestUniqueid"),
        dial_status=text(h, "DialStatus"),
    )


def _bridge(cls: type[BridgeEntered] | type[BridgeLeft]) -> Any:
    def build(h: Headers, time: float) -> BridgeEntered | BridgeLeft:
        return cls(time, **_channel_fields(h), bridge_id=text(h, "BridgeUniqueid"))

    return build


_USER_EVENT_OWN = {"event", "privilege", "timestamp", "userevent", "uniqueid", "linkedid"}


def _user_event(h: Headers, time: float) -> UserEvent:
    name = text(h, "UserEvent")
    if not name:
        raise ValueError("UserEvent without a name")
    own = {str(k): text(h, k) for k in h if str(k).lower() not in _USER_EVENT_OWN}
    uniqueid = text(h, "Uniqueid")
    return UserEvent(time, name, uniqueid, text(h, "Linkedid") or uniqueid, own)


_BUILDERS: dict[str, Callable[[Headers, float], AmiEvent]] = {
    "Newchannel": _channel(ChannelCreated),
    "Newstate": _channel(ChannelStateChanged),
    "NewCallerid": _channel(ChannelCallerChanged),
    "Hangup": _hangup,
    "DialBegin": _dial_begin,
    "DialEnd": _dial_end,
    "BridgeEnter": _bridge(BridgeEntered),
    "BridgeLeave": _bridge(BridgeLeft),
    "Hold": _channel(ChannelHeld),
    "Unhold": _channel(ChannelUnheld),
    "UserEvent": _user_event,
    "FullyBooted": lambda h, time: FullyBooted(time),
    "DeviceStateChange": lambda h, time: DeviceStateChanged(
        time, text(h, "Device"), text(h, "State")
    ),
}


def snapshot(headers: Headers) -> ChannelSnapshot:
    """One `CoreShowChannel` list entry, typed."""
    uniqueid = text(headers, "Uniqueid")
    if not uniqueid:
        raise ValueError("CoreShowChannel without Uniqueid")
    duration = text(headers, "Duration")
    return ChannelSnapshot(
        uniqueid=uniqueid,
        linkedid=text(headers, "Linkedid") or uniqueid,
        channel=text(headers, "Channel"),
        state=number(headers, "ChannelState"),
        caller_num=text(headers, "CallerIDNum"),
        caller_name=text(headers, "CallerIDName"),
        context=text(headers, "Context"),
        exten=text(headers, "Exten"),
        application=text(headers, "Application"),
        duration_seconds=_hms(duration),
    )


def _hms(value: str) -> int:
    """Asterisk's `HH:MM:SS` duration in seconds (0 when unreadable)."""
    try:
        h, m, s = (int(p) for p in value.split(":"))
    except ValueError:
        return 0
    return h * 3600 + m * 60 + s
