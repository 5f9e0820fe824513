"""The call model: right from a real transcript, and under duplicates, disorder and gaps."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from cti.ami import AmiLink
from cti.ami_events import (
    AmiEvent,
    ChannelCallerChanged,
    ChannelCreated,
    ChannelHungUp,
    ChannelSnapshot,
    ChannelStateChanged,
    Resynced,
)
from cti.calls import CAUSE_LOST, CallAnswered, CallArrived, CallChange, CallEnded, CallModel

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def recorded_events() -> list[AmiEvent]:
    link = AmiLink("127.0.0.1", 1, "u", "s", clock=lambda: 0.0)
    events: list[AmiEvent] = []
    link.subscribe(events.append)
    link.replay((FIXTURES / "ami_three_calls.raw").read_bytes())
    return events


def fold(model: CallModel, events: list[AmiEvent]) -> list[CallChange]:
    return [change for event in events for change in model.apply(event)]


def test_real_transcript_gives_three_complete_calls() -> None:
    changes = fold(CallModel(), recorded_events())
    ended = [c for c in changes if isinstance(c, CallEnded)]
    assert len(ended) == 3
    for call in ended:
        assert call.ani == "+33612345678" and call.dnis == "5000"
        assert call.cause == 16 and call.answered
        assert 2.9 < call.duration_seconds < 3.2
    kinds = [type(c).__name__ for c in changes]
    assert kinds == ["CallArrived", "CallAnswered", "CallEnded"] * 3


def ch(cls: type, t: float, uid: str, **kw: object) -> AmiEvent:
    fields: dict[str, object] = {
        "uniqueid": uid,
        "linkedid": "100.0",
        "channel": f"Local/5000@cti-inbound;{uid}",
        "state": 0,
        "caller_num": "",
        "caller_name": "",
        "context": "",
        "exten": "",
    }
    fields.update(kw)
    return cls(t, **fields)  # type: ignore[no-any-return]


# A Local-channel inbound call as Asterisk reports it: ;1 (caller side) then ;2
# (entering cti-inbound), caller ID set afterwards, answered, both hang up.
CALL = [
    ch(ChannelCreated, 1.0, "100.0", context="cti-sim-caller", exten="s"),
    ch(ChannelCreated, 1.0, "100.1", context="cti-inbound", exten="5000"),
    ch(ChannelCallerChanged, 1.1, "100.1", caller_num="+33612345678"),
    ch(ChannelStateChanged, 1.2, "100.1", state=6, caller_num="+33612345678"),
    ch(ChannelStateChanged, 1.2, "100.0", state=6),
    ch(ChannelHungUp, 9.0, "100.1", state=6, cause=16, cause_text="Normal Clearing"),
    ch(ChannelHungUp, 9.1, "100.0", state=6, cause=16, cause_text="Normal Clearing"),
]


def test_story_of_one_call() -> None:
    changes = fold(CallModel(), CALL)
    assert changes == [
        CallArrived("100.0", 1.0, "+33612345678", "5000"),
        CallAnswered("100.0", 1.2),
        CallEnded("100.0", 9.1, "+33612345678", "5000", 16, "Normal Clearing", 8.1, True),
    ]


def test_duplicates_change_nothing() -> None:
    assert fold(CallModel(), [e for e in CALL for _ in range(2)]) == fold(CallModel(), CALL)


def test_hangups_before_newchannels_end_the_call_once() -> None:
    model = CallModel()
    events = [CALL[5], CALL[6], *CALL[:5]]
    changes = fold(model, events)
    assert [type(c) for c in changes] == [CallArrived, CallAnswered, CallEnded]
    assert model.late_events == 5 and not model.calls


def test_resync_ends_calls_that_vanished_and_adopts_unknown_ones() -> None:
    model = CallModel()
    fold(model, CALL[:4])
    live = ChannelSnapshot(
        "200.1",
        "200.0",
        "Local/5001@cti-inbound;2",
        6,
        "+4930123",
        "",
        "cti-wait",
        "acme-sales",
        "MusicOnHold",
        12,
    )
    changes = model.apply(Resynced(50.0, (live,)))
    lost = [c for c in changes if isinstance(c, CallEnded)]
    assert [(c.call_id, c.cause, c.time) for c in lost] == [("100.0", CAUSE_LOST, 50.0)]
    adopted = [c for c in changes if isinstance(c, CallArrived)]
    assert adopted == [CallArrived("200.0", 38.0, "+4930123", "")]
    assert set(model.calls) == {"200.0"} and model.calls["200.0"].answered_at == 50.0


def test_resync_keeps_a_call_created_while_the_list_was_being_made() -> None:
    """Its Newchannel arrived after CoreShowChannels was asked for: the list cannot
    have it, and it is not gone (the link names it fresh)."""
    model = CallModel()
    fold(model, CALL[:4])
    channels = {c.uniqueid for call in model.calls.values() for c in call.channels.values()}
    assert model.apply(Resynced(50.0, (), fresh=frozenset(channels))) == []
    assert set(model.calls) == {"100.0"}
    lost = model.apply(Resynced(60.0, ()))  # the next list without it: gone
    assert [(c.call_id, c.cause) for c in lost if isinstance(c, CallEnded)] == [
        ("100.0", CAUSE_LOST)
    ]


def test_resync_keeps_calls_that_are_still_there() -> None:
    model = CallModel()
    fold(model, CALL[:5])
    snaps = tuple(
        ChannelSnapshot(uid, "100.0", "x", 6, "", "", "cti-wait", "", "MusicOnHold", 3)
        for uid in ("100.0", "100.1")
    )
    assert model.apply(Resynced(5.0, snaps)) == []
    assert fold(model, CALL[5:])[-1] == CallEnded(
        "100.0", 9.1, "+33612345678", "5000", 16, "Normal Clearing", 8.1, True
    )


@settings(max_examples=300, deadline=None)
@given(st.permutations(CALL), st.lists(st.sampled_from(CALL), max_size=6))
def test_any_order_with_duplicates_gives_one_arrival_and_one_end(
    order: list[AmiEvent], extra: list[AmiEvent]
) -> None:
    changes = fold(CallModel(), [*order, *extra])
    kinds = [type(c) for c in changes]
    assert kinds[0] is CallArrived and kinds.count(CallArrived) == 1
    assert kinds.count(CallAnswered) <= 1
    assert kinds.count(CallEnded) == 1 and kinds[-1] is CallEnded
