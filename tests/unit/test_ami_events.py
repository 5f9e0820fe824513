"""Normalisation of raw AMI events into typed events, and the framing around it."""

from __future__ import annotations

from pathlib import Path

import pytest

from cti.ami import AmiLink
from cti.ami_events import (
    AmiEvent,
    ChannelCreated,
    ChannelHungUp,
    OtherEvent,
    UserEvent,
    normalise,
    snapshot,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_newchannel_is_typed_and_uses_asterisk_timestamp() -> None:
    event = normalise(
        {
            "Event": "Newchannel",
            "Timestamp": "1795455758.828169",
            "Uniqueid": "17.1",
            "Linkedid": "17.0",
            "Channel": "PJSIP/1001-0001",
            "ChannelState": "0",
            "CallerIDNum": "<unknown>",
            "Context": "cti-inbound",
            "Exten": "5000",
        },
        received_at=1.0,
    )
    assert event == ChannelCreated(
        1795455758.828169,
        uniqueid="17.1",
        linkedid="17.0",
        channel="PJSIP/1001-0001",
        state=0,
        caller_num="",
        caller_name="",
        context="cti-inbound",
        exten="5000",
    )


def test_missing_timestamp_falls_back_to_receiving_clock() -> None:
    event = normalise({"Event": "Hangup", "Uniqueid": "1.1", "Cause": "17"}, received_at=42.0)
    assert isinstance(event, ChannelHungUp)
    assert (event.time, event.linkedid, event.cause) == (42.0, "1.1", 17)


def test_repeated_headers_take_the_first_value() -> None:
    event = normalise({"Event": "Newstate", "Uniqueid": ["1.2", "1.3"], "ChannelState": "6"}, 0.0)
    assert isinstance(event, AmiEvent) and event.uniqueid == "1.2"  # type: ignore[attr-defined]


def test_user_event_keeps_its_own_headers() -> None:
    event = normalise(
        {
            "Event": "UserEvent",
            "UserEvent": "CtiWaiting",
            "Uniqueid": "5.1",
            "Linkedid": "5.0",
            "CtiQueue": "acme-sales",
            "Privilege": "user,all",
        },
        0.0,
    )
    assert isinstance(event, UserEvent)
    assert (event.name, event.uniqueid, event.linkedid) == ("CtiWaiting", "5.1", "5.0")
    assert event.fields["CtiQueue"] == "acme-sales" and "Privilege" not in event.fields


@pytest.mark.parametrize(
    "headers",
    [{"Response": "Success"}, {"Event": "Hangup"}, {"Event": "UserEvent", "Uniqueid": "1"}],
)
def test_events_missing_what_they_need_are_malformed(headers: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        normalise(headers, 0.0)


def test_unknown_events_are_kept_as_other_and_chatty_ones_dropped() -> None:
    other = normalise({"Event": "PeerFrobnicated", "Peer": "x"}, 0.0)
    assert isinstance(other, OtherEvent) and other.headers["Peer"] == "x"
    assert normalise({"Event": "VarSet", "Uniqueid": "1"}, 0.0) is None


def test_snapshot_reads_duration() -> None:
    snap = snapshot(
        {
            "Uniqueid": "9.1",
            "Linkedid": "9.0",
            "Duration": "01:02:03",
            "ChannelState": "6",
            "Application": "MusicOnHold",
        }
    )
    assert snap.duration_seconds == 3723 and snap.state == 6 and snap.linkedid == "9.0"


def replay(data: bytes, chunk_size: int = 4096) -> tuple[AmiLink, list[AmiEvent]]:
    link = AmiLink("127.0.0.1", 1, "u", "s", clock=lambda: 0.0)
    seen: list[AmiEvent] = []
    link.subscribe(seen.append)
    link.replay(data, chunk_size)
    return link, seen


@pytest.mark.parametrize("chunk_size", [1, 7, 4096])
def test_recorded_stream_parses_identically_whatever_the_chunking(chunk_size: int) -> None:
    data = (FIXTURES / "ami_three_calls.raw").read_bytes()
    link, seen = replay(data, chunk_size)
    reference = replay(data)[1]
    assert seen == reference
    assert link.stats.malformed == 0
    assert sum(isinstance(e, ChannelHungUp) for e in seen) == 6


def test_garbage_between_messages_is_counted_and_survived() -> None:
    data = (FIXTURES / "ami_three_calls.raw").read_bytes()
    garbage = b"\x00\xff\xfe garbage without colon\r\n\r\n: : :\r\n\r\nEvent: \r\n\r\n"
    middle = data.index(b"Event: Hangup")
    link, seen = replay(data[:middle] + garbage + data[middle:])
    assert link.stats.malformed == 3
    assert seen == replay(data)[1]


def test_an_endless_message_is_dropped_not_buffered_forever() -> None:
    link, _ = replay(b"Event: X\r\nA: " + b"x" * (2 << 20))
    assert link.stats.malformed == 1


def test_a_failing_subscriber_does_not_stop_the_others() -> None:
    link = AmiLink("127.0.0.1", 1, "u", "s")
    seen: list[AmiEvent] = []

    def broken(event: AmiEvent) -> None:
        raise RuntimeError("bug in a consumer")

    link.subscribe(broken)
    link.subscribe(seen.append)
    link.replay((FIXTURES / "ami_three_calls.raw").read_bytes())
    assert seen and link.stats.subscriber_errors == len(seen)


async def test_events_stream_yields_typed_events_in_order() -> None:
    import asyncio

    link = AmiLink("127.0.0.1", 1, "u", "s", clock=lambda: 0.0)
    stream = link.events()
    first = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)
    data = (FIXTURES / "ami_three_calls.raw").read_bytes()
    link.replay(data)
    received = [await first]
    expected = replay(data)[1]
    while len(received) < len(expected):
        received.append(await anext(stream))
    assert received == expected
    await stream.aclose()
    assert link._subscribers == []
