"""The console's call controls refuse what is not the user's to do, before any AMI action.

Two tenants on one installation: an agent of one tenant, or of the same tenant but
not on the call, can never act on another agent's call; a supervisor can only
listen to the agents of their own tenant. Every refusal is a `CenterError`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from acd.commands import OfferCall
from acd.events import CallQueued, OfferAnswered
from acd.runner import SPY_OPTIONS, TALKING, AcdRunner, Leg
from agent_console.auth import Principal
from agent_console.hub import Hub
from agent_console.ws import (
    CallRef,
    CenterError,
    Dial,
    Empty,
    ScheduleCallback,
    Spy,
    Transfer,
    WrapUpDone,
)
from cti.ami_events import UserEvent
from cti.asterisk_conf import render_asterisk_config
from cti.config import PlatformConfig, TenantConfig
from cti.console import ConsoleBridge
from cti.recording import ActiveRecording
from cti.settings import Settings
from cti.store.journal import Journal
from cti.store.models import Callback, Event
from reports import events as ev
from reports.events import DomainEvent
from reports.fold import Folded
from tests.unit.fake_ami import RecordingAmi as NoAmi  # every refusal happens before Asterisk


def _two_tenants(example: PlatformConfig) -> PlatformConfig:
    acme = example.tenants[0]
    data = acme.model_dump()
    data["tenant"] = {**data["tenant"], "id": "beta", "name": "Beta", "numbers": ["6000"]}
    data["agents"] = [
        {**a, "id": f"b-{a['id']}", "extension": "2" + a["extension"][1:]} for a in data["agents"]
    ]
    return PlatformConfig(tenants=(acme, TenantConfig.model_validate(data)))


@pytest.fixture
async def bridge(example_config: PlatformConfig) -> AsyncIterator[tuple[ConsoleBridge, NoAmi]]:
    config = _two_tenants(example_config)
    ami = NoAmi()
    runners = {
        t.tenant.id: AcdRunner(t, ami, Settings())  # type: ignore[arg-type]
        for t in config.tenants
    }
    engine = create_async_engine("sqlite+aiosqlite:///:memory:")
    console = ConsoleBridge(config, runners, Journal(engine), Hub(), engine)
    acme = runners["acme"]
    acme.login("alice")
    acme.ready("alice")
    # a caller queued in sales is offered to alice, who answers: call L1 (runner id c1)
    leg = acme.legs["c1"] = Leg("c1", "Local/5000@cti-inbound-1;2", "sales", uniqueid="c1")
    [offer] = [c for c in acme.feed(CallQueued("c1", "sales")) if isinstance(c, OfferCall)]
    acme.feed(OfferAnswered("c1", "alice", offer.offer_id))
    leg.state, leg.agent_id, leg.offer_id = TALKING, "alice", offer.offer_id
    leg.agent_channel = "Local/1001@cti-sim-agent-2;1"
    acme.login("bob")
    acme.ready("bob")
    console.calls[("acme", "alice")] = {"call_id": "L1", "state": "talking"}
    yield console, ami
    await engine.dispose()


def _who(tenant: str, name: str, role: str = "agent", agent: str | None = None) -> Principal:
    return Principal(tenant, name, role, agent)


@pytest.mark.parametrize(
    ("principal", "action", "body"),
    [
        # bob (same tenant, no call) names alice's call, or none
        (_who("acme", "bob", agent="bob"), "call.hangup", CallRef(call_id="L1")),
        (_who("acme", "bob", agent="bob"), "call.hold", CallRef()),
        (_who("acme", "bob", agent="bob"), "call.unhold", CallRef(call_id="L1")),
        (
            _who("acme", "bob", agent="bob"),
            "call.transfer",
            Transfer(call_id="L1", to_kind="number", to="7001"),
        ),
        # a user of another tenant bound to an agent id of acme's
        (_who("beta", "eve", agent="alice"), "call.hangup", CallRef(call_id="L1")),
        (_who("beta", "eve", agent="b-alice"), "call.hangup", CallRef(call_id="L1")),
        # alice herself: a call that is not hers, a queue that does not exist
        (_who("acme", "alice", agent="alice"), "call.hangup", CallRef(call_id="L2")),
        (
            _who("acme", "alice", agent="alice"),
            "call.transfer",
            Transfer(to_kind="queue", to="nope"),
        ),
        (_who("acme", "alice", agent="alice"), "call.unhold", CallRef()),  # not on hold
        (_who("acme", "alice", agent="alice"), "call.transfer_complete", CallRef()),
        (_who("acme", "alice", agent="alice"), "call.transfer_cancel", CallRef()),
        (  # carol is logged out: she cannot be consulted
            _who("acme", "alice", agent="alice"),
            "call.transfer",
            Transfer(to_kind="agent", to="carol", mode="attended"),
        ),
        (_who("acme", "bob", agent="bob"), "call.transfer_complete", CallRef(call_id="L1")),
        # a number that is not one (it would go into a dial string), or one of ours
        (
            _who("acme", "alice", agent="alice"),
            "call.transfer",
            Transfer(to_kind="number", to="7001&PJSIP/9999"),
        ),
        (
            _who("acme", "alice", agent="alice"),
            "call.transfer",
            Transfer(to_kind="number", to="5000"),
        ),
        (
            _who("acme", "alice", agent="alice"),
            "call.transfer",
            Transfer(to_kind="number", to="x", mode="attended"),
        ),
        (_who("acme", "alice", agent="alice"), "call.dial", Dial(number="7001")),  # on a call
        (
            _who("acme", "alice", agent="alice"),
            "callback.schedule",
            ScheduleCallback(number="not a number"),
        ),
        (  # a window that ends before it starts
            _who("acme", "alice", agent="alice"),
            "callback.schedule",
            ScheduleCallback(number="0612345678", at=4e9, until=4e9 - 60),
        ),
        # supervisors: another tenant's agent, an agent without a call
        (_who("beta", "sue", "supervisor"), "supervisor.spy", Spy(agent_id="alice")),
        (_who("acme", "sue", "supervisor"), "supervisor.spy", Spy(agent_id="b-alice")),
        # an unknown tenant
        (_who("gamma", "x", agent="alice"), "call.hangup", CallRef()),
    ],
)
async def test_refused_before_any_ami_action(
    bridge: tuple[ConsoleBridge, NoAmi], principal: Principal, action: str, body: Any
) -> None:
    console, ami = bridge
    with pytest.raises(CenterError):
        await console.act(principal, action, body)
    assert ami.sent == []
    assert console.runners["acme"].legs["c1"].state == TALKING


async def test_the_agent_on_the_call_does_act(bridge: tuple[ConsoleBridge, NoAmi]) -> None:
    console, ami = bridge
    alice = _who("acme", "alice", agent="alice")
    assert await console.act(alice, "call.hold", CallRef(call_id="L1")) == {"call_id": "L1"}
    redirect = [h for name, h in ami.sent if name == "Redirect"]
    assert redirect and redirect[0]["Context"] == "cti-hold"
    assert redirect[0]["ExtraChannel"] == "Local/1001@cti-sim-agent-2;1"
    ami.sent.clear()
    result = await console.act(alice, "call.transfer", Transfer(to_kind="queue", to="support"))
    assert result == {"call_id": "L1", "to_call": "L1-t1"}
    assert console.runners["acme"].agent_states["alice"] == "wrap_up"
    assert ("Redirect", {"Channel": "Local/5000@cti-inbound-1;2", "Context": "cti-wait",
            "Exten": "acme-support", "Priority": 1}) in ami.sent  # fmt: skip
    assert console.runners["acme"].segments == {"c1": "L1-t1"}


async def test_an_attended_transfer_to_a_queue_consults_its_free_agent_reserved_meanwhile(
    bridge: tuple[ConsoleBridge, NoAmi],
) -> None:
    console, ami = bridge
    runner = console.runners["acme"]
    alice = _who("acme", "alice", agent="alice")
    body = Transfer(to_kind="queue", to="support", mode="attended")
    assert await console.act(alice, "call.transfer", body) == {
        "call_id": "L1",
        "consulting": "bob",
    }
    assert runner.agent_states["bob"] == "not_ready" and runner.reasons["bob"] == "consultation"
    assert ("Setvar", {"Channel": "Local/1001@cti-sim-agent-2;1", "Variable": "CTI_DESTINATION",
            "Value": "PJSIP/1002"}) in ami.sent  # fmt: skip
    redirect = [h for name, h in ami.sent if name == "Redirect"]
    assert (redirect[0]["ExtraContext"], redirect[0]["ExtraExten"]) == ("cti-consult", "agent")
    with pytest.raises(CenterError, match="no answered consultation"):
        await console.act(alice, "call.transfer_complete", CallRef())
    bob = _who("acme", "bob", agent="bob")
    for action, action_body in (("agent.ready", Empty()), ("call.dial", Dial(number="7001"))):
        with pytest.raises(CenterError, match="being consulted"):
            await console.act(bob, action, action_body)
    await console.act(alice, "call.transfer_cancel", CallRef())
    assert runner.agent_states["bob"] == "ready"  # free again
    assert runner.talking_leg("alice").consult is None


async def test_a_consulted_agent_who_does_not_answer_is_free_again(
    bridge: tuple[ConsoleBridge, NoAmi],
) -> None:
    console, _ami = bridge
    runner = console.runners["acme"]
    alice = _who("acme", "alice", agent="alice")
    runner.legs["c1"].agent_uniqueid = "alice-leg"
    await console.act(alice, "call.transfer", Transfer(to_kind="agent", to="bob", mode="attended"))
    assert runner.transfers.consulted("bob") and runner.agent_states["bob"] == "not_ready"
    # bob's phone rang out: the agent's leg is back on hold (cti-consult reports it)
    runner.on_ami_event(UserEvent(0.0, "CtiConsultEnded", "alice-leg", "alice-leg"))
    assert not runner.transfers.consulted("bob") and runner.agent_states["bob"] == "ready"
    with pytest.raises(CenterError, match="no answered consultation"):
        await console.act(alice, "call.transfer_complete", CallRef())
    await console.act(alice, "call.transfer_cancel", CallRef())  # back to the caller
    assert runner.agent_states["bob"] == "ready"


def test_the_generated_dialplan_has_hold_consult_and_spy(example_config: PlatformConfig) -> None:
    files = render_asterisk_config(Path("/tmp/x"), Settings(), example_config)
    assert "load => app_chanspy.so" in files["modules.conf"]
    plan = files["extensions.conf"]
    for context in ("[cti-hold]", "[cti-consult]", "[cti-spy]"):
        assert context in plan
    spy = plan.split("[cti-spy]")[1].split("\n\n")[0]
    assert "ChanSpy(${CTI_SPY_TARGET},${CTI_SPY_OPTIONS})" in spy
    hold = plan.split("[cti-hold]")[1].split("\n\n")[0]
    assert "exten => caller,1,MusicOnHold(default," in hold and "CtiDialStatus: ANSWER" in hold
    assert SPY_OPTIONS == {"listen": "qE", "whisper": "qEw", "barge": "qEB"}


async def test_a_callback_in_talk_can_be_hung_up_but_not_held(
    bridge: tuple[ConsoleBridge, NoAmi],
) -> None:
    console, ami = bridge
    runner = console.runners["acme"]
    leg = runner.legs.pop("c1")  # alice's call is a callback we placed: no caller channel
    runner.legs["c1"] = Leg("c1", "", "sales", TALKING, leg.offer_id, "alice")
    runner.legs["c1"].agent_channel = "Local/1001@cti-sim-agent-9;1"
    alice = _who("acme", "alice", agent="alice")
    for action in ("call.hold", "call.transfer"):
        body = Transfer(to_kind="queue", to="support") if action == "call.transfer" else CallRef()
        with pytest.raises(CenterError, match="callback"):
            await console.act(alice, action, body)
    assert ami.sent == []
    await console.act(alice, "call.hangup", CallRef())
    assert ami.sent == [("Hangup", {"Channel": "Local/1001@cti-sim-agent-9;1"})]


async def test_a_campaign_call_is_wrapped_up_with_the_campaigns_own_codes(
    bridge: tuple[ConsoleBridge, NoAmi],
) -> None:
    console, _ami = bridge
    runner = console.runners["acme"]
    runner.campaigns.codes["spring"] = ("sale",)
    data = {"ani": "+33140000000", "dnis": "+33612345305", "direction": "outbound"}
    console.journal.event(
        "acme", "call.arrived", call_id="cmp-1", data={**data, "campaign": "spring"}
    )
    console.last_call[("acme", "bob")] = "cmp-1"
    bob = _who("acme", "bob", agent="bob")
    with pytest.raises(CenterError, match="'info' is not a disposition of campaign 'spring'"):
        await console.act(bob, "wrapup.done", WrapUpDone(disposition="info"))
    done = await console.act(bob, "wrapup.done", WrapUpDone(disposition="sale"))
    assert done["call_id"] == "cmp-1"


async def test_a_wrap_up_is_in_the_store_when_the_agent_is_told_it_is_saved(
    example_config: PlatformConfig, sqlite_engine: AsyncEngine
) -> None:
    acme = example_config.tenants[0]
    runner = AcdRunner(acme, NoAmi(), Settings())  # type: ignore[arg-type]
    journal = Journal(sqlite_engine, flush_interval=3600)  # the writer alone would wait
    console = ConsoleBridge(example_config, {"acme": runner}, journal, Hub(), sqlite_engine)
    console.last_call[("acme", "bob")] = "L7"
    bob = _who("acme", "bob", agent="bob")
    await console.act(bob, "wrapup.done", WrapUpDone(disposition="info", notes="all good"))
    async with sqlite_engine.connect() as conn:
        kinds = (await conn.execute(select(Event.kind).where(Event.call_id == "L7"))).scalars()
        assert list(kinds) == [ev.CALL_WRAPPED_UP]


async def test_the_console_follows_the_answer_and_the_recording_of_the_agents_call(
    bridge: tuple[ConsoleBridge, NoAmi], monkeypatch: pytest.MonkeyPatch
) -> None:
    console, _ami = bridge
    pushed: list[dict[str, Any]] = []
    monkeypatch.setattr(console.hub, "to_agent", lambda _t, _a, payload: pushed.append(payload))
    key = ("acme", "alice")
    console.calls[key] = {"call_id": "L1", "state": "ringing", "since": 1.0, "queue": "sales"}
    console.by_call[("acme", "L1")] = key
    answered = DomainEvent("acme", 5.0, ev.CALL_ANSWERED, "L1", "alice", "sales")
    console.on_event(answered, Folded())
    console.on_event(DomainEvent("acme", 9.0, ev.CALL_HELD, "L1", "alice"), Folded())
    assert pushed[-1]["state"] == "on_hold" and pushed[-1]["since"] == 9.0
    assert pushed[-1]["answered_at"] == 5.0  # the call's duration runs on through the hold

    recording = ActiveRecording("acme", "L1", Path("/r/L1.wav"), "PJSIP/x", "sales", "alice", 5.5)
    shown = []
    for change in ("start", "pause", "resume", "end"):
        if change == "pause":
            recording.pause(10.0)
        elif change == "resume":
            recording.resume(12.0)
        elif change == "end":
            recording.end(20.0)
        console.recording_changed(recording)
        shown.append(console.calls[key].get("recording"))
    assert shown == ["recording", "paused", "recording", None]
    assert [p.get("recording") for p in pushed[-4:]] == shown
    assert console.snapshot(Principal("acme", "alice", "agent", "alice"))["call"] == {
        **console.calls[key],
        "recording": None,
    }
    # a recording of another call (not alice's current one) changes nothing
    count = len(pushed)
    other = ActiveRecording("acme", "L9", Path("/r/L9.wav"), "PJSIP/y", "sales", "alice", 5.0)
    console.recording_changed(other)
    assert len(pushed) == count and console.calls[key]["call_id"] == "L1"


async def test_an_agent_schedules_a_callback_with_a_window(
    example_config: PlatformConfig, sqlite_engine: AsyncEngine
) -> None:
    acme = example_config.tenants[0]
    runner = AcdRunner(acme, NoAmi(), Settings())  # type: ignore[arg-type]
    console = ConsoleBridge(
        example_config, {"acme": runner}, Journal(sqlite_engine), Hub(), sqlite_engine
    )
    now = 1_800_000_000.0
    console.clock = lambda: now
    alice = _who("acme", "alice", agent="alice")
    asked = ScheduleCallback(number="06 12 34 56 78", at=now + 3600, until=now + 7200)
    assert (await console.act(alice, "callback.schedule", asked))["until"] == now + 7200
    bare = ScheduleCallback(number="06 11 11 11 11")  # now, for the queue's hours (sales: 24)
    assert (await console.act(alice, "callback.schedule", bare))["until"] == now + 24 * 3600
    async with sqlite_engine.connect() as conn:
        rows = (await conn.execute(select(Callback.__table__).order_by("id"))).all()
    assert [(r.window_start, r.window_end, r.agent_id) for r in rows] == [
        (now + 3600, now + 7200, "alice"),
        (now, now + 24 * 3600, "alice"),
    ]
    with pytest.raises(CenterError, match="more than 90 days ahead"):
        far = ScheduleCallback(number="0612345678", until=now + 100 * 86400)
        await console.act(alice, "callback.schedule", far)


async def test_the_agent_who_takes_a_callback_sees_the_customer_dialed(
    bridge: tuple[ConsoleBridge, NoAmi],
) -> None:
    console, _ami = bridge
    offered = DomainEvent("acme", 1.0, ev.CALL_OFFERED, "c9-cb", "bob", "sales")
    console.on_event(offered, Folded())
    assert console.calls[("acme", "bob")]["state"] == "ringing"
    life = {"ref": "c9", "number": "+33612345678", "status": "dialing", "agent_id": "bob"}
    console.on_event(DomainEvent("acme", 2.0, ev.CALLBACK_CHANGED, data=life), Folded())
    call = console.calls[("acme", "bob")]
    assert (call["call_id"], call["state"], call["since"]) == ("c9-cb", "dialing", 2.0)
