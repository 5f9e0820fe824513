"""The agent's call controls and the supervisor's listen, on a real Asterisk.

Agents act through the REST twins of the console's actions (the websocket carries
the same actions, see test_console_live.py); phones, callers and outside numbers are
Local channels of the simulation contexts. Each story checks what Asterisk did (AMI
events, channels) and what the store recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import select

from cti.ami_events import AmiEvent, DialEnded, DialStarted, OtherEvent
from cti.store.kpi_queries import kpi_report
from cti.store.models import AgentStateInterval, Call, Callback
from cti.store.users import create_user, get_user
from tests.integration.center import Center
from tests.integration.conftest import until

pytestmark = pytest.mark.asterisk

PASSWORD = "correct horse"


class Agent:
    """A logged-in user acting through /api/actions/<action>."""

    def __init__(self, center: Center, http: httpx.AsyncClient, token: str) -> None:
        self.center, self.http, self.token = center, http, token

    async def act(self, action: str, expect: int = 200, **body: Any) -> dict[str, Any]:
        reply = await self.http.post(f"/api/actions/{action}", json=body)
        assert reply.status_code == expect, (action, reply.status_code, reply.text)
        return reply.json()  # type: ignore[no-any-return]


@contextlib.asynccontextmanager
async def user(
    center: Center,
    name: str,
    role: str = "agent",
    extension: str | None = None,
    at: str | None = None,
) -> AsyncIterator[Agent]:
    """`name` logged in (at the phone `at`, when not their own)."""
    agent_id = name if role == "agent" else None
    engine = center.service.engine
    if await get_user(engine, "acme", name) is None:  # the first time only
        await create_user(
            engine, "acme", name, role, PASSWORD, agent_id=agent_id, extension=extension
        )
    port = center.service.settings.http_port
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        login = {"tenant": "acme", "username": name, "password": PASSWORD}
        reply = await http.post("/api/login", json={**login, "extension": at} if at else login)
        assert reply.status_code == 200, reply.text
        yield Agent(center, http, str(reply.json()["token"]))


class Watch:
    """Every AMI event from now on."""

    def __init__(self, center: Center) -> None:
        self.events: list[AmiEvent] = []
        self.stop = center.service.ami.subscribe(self.events.append)

    def dialed(self, prefix: str) -> list[DialStarted]:
        return [
            e
            for e in self.events
            if isinstance(e, DialStarted) and e.dest_channel.startswith(prefix)
        ]

    def answered(self, prefix: str) -> bool:
        ids = {e.dest_uniqueid for e in self.dialed(prefix)}
        return any(
            isinstance(e, DialEnded) and e.dest_uniqueid in ids and e.dial_status == "ANSWER"
            for e in self.events
        )

    def named(self, name: str) -> list[OtherEvent]:
        return [e for e in self.events if isinstance(e, OtherEvent) and e.name == name]


async def talking(center: Center, agent: str, keys: str = "1") -> tuple[str, str]:
    """A caller (sales: 1) answered by `agent`: (runner call id, journal call id)."""
    call_id = await center.call(keys=keys, hold=60)
    await until(
        lambda: any(g.agent_id == agent and g.state == "talking" for g in center.acd.legs.values()),
        what=f"{agent} talking",
    )
    console = center.service.console
    await until(lambda: (console.calls.get(("acme", agent)) or {}).get("state") == "talking")
    return call_id, console.calls[("acme", agent)]["call_id"]


async def row(center: Center, call_id: str) -> Any:
    await center.service.journal.flush()
    async with center.service.engine.connect() as conn:
        return (await conn.execute(select(Call).where(Call.call_id == call_id))).first()


async def ready(agent: Agent) -> None:
    await agent.act("agent.login")
    await agent.act("agent.ready")


async def channels(center: Center) -> list[dict[str, str]]:
    return [dict(e) for e in await center.service.ami.action_list("CoreShowChannels")]


async def test_hang_up_from_the_console_ends_the_call_and_starts_wrap_up(center: Center) -> None:
    await center.phone("1001", ring="1", talk="30")
    async with user(center, "alice") as alice:
        await ready(alice)
        call_id, journal_id = await talking(center, "alice")
        started = time.monotonic()
        ack = await alice.act("call.hangup", call_id=journal_id)
        assert ack["result"]["call_id"] == journal_id
        await until(lambda: center.acd.agent_states["alice"] == "wrap_up", timeout=5)
        await until(lambda: center.outcome(call_id) == "answered", timeout=5)
        assert time.monotonic() - started < 5  # not the phone's own 30 s hang-up
        assert call_id not in center.acd.legs
        # the call is over: nothing more to hang up
        await alice.act("call.hangup", expect=409)
    record = await row(center, journal_id)
    assert record.agent == "alice" and record.outcome == "answered"
    assert record.talk_seconds is not None and record.talk_seconds < 5


async def test_an_agent_at_another_desk_gets_calls_on_that_phone(center: Center) -> None:
    """Hot-desking: alice logs in at carol's phone (1003); her calls ring there. bob
    cannot log in at the phone alice sits at; back at her own desk, 1001 rings again."""
    await center.phone("1003", ring="1", talk="2")
    await center.phone("1001", ring="1", talk="2")
    watch = Watch(center)
    async with user(center, "alice", at="1003") as alice:
        await ready(alice)
        first = await center.call(caller="+33611000301")
        await until(lambda: center.outcome(first) == "answered", timeout=15)
        assert watch.dialed("Local/1003@cti-sim-agent") and not watch.dialed("Local/1001@")
        async with user(center, "bob", at="1003") as bob:
            refused = await bob.act("agent.login", expect=409)
            assert "in use by agent 'alice'" in refused["detail"]
        await until(lambda: center.acd.agent_states["alice"] in ("wrap_up", "ready"))
        if center.acd.agent_states["alice"] == "wrap_up":
            await alice.act("wrapup.done")
        await alice.act("agent.logout")
    async with user(center, "alice") as alice:  # no extension given: her own phone
        await ready(alice)
        second = await center.call(caller="+33611000302")
        await until(lambda: center.outcome(second) == "answered", timeout=15)
        assert watch.dialed("Local/1001@cti-sim-agent")


async def test_hold_plays_music_then_the_call_goes_on_and_hold_time_is_recorded(
    center: Center,
) -> None:
    await center.phone("1001", ring="1", talk="30")
    async with user(center, "alice") as alice:
        await ready(alice)
        call_id, journal_id = await talking(center, "alice")
        leg = center.acd.legs[call_id]
        await alice.act("call.hold")
        held_at = time.monotonic()
        await alice.act("call.hold", expect=409)  # already on hold
        await until(
            lambda: (
                (center.service.console.calls.get(("acme", "alice")) or {}).get("state")
                == "on_hold"
            ),
            timeout=5,
        )
        await asyncio.sleep(1)
        now = {c["Channel"]: c for c in await channels(center)}
        assert now[leg.channel]["Application"] == "MusicOnHold"  # the caller hears music
        assert now[leg.agent_channel]["Context"] == "cti-hold"  # the agent's leg waits
        await asyncio.sleep(1)
        await alice.act("call.unhold", call_id=journal_id)
        held = time.monotonic() - held_at
        await asyncio.sleep(1.5)
        # back together: the talk goes on (the runner never saw it end)
        assert center.acd.legs[call_id].state == "talking" and center.outcome(call_id) is None
        now = {c["Channel"]: c for c in await channels(center)}
        assert now[leg.channel]["BridgeId"] and (
            now[leg.channel]["BridgeId"] == now[leg.agent_channel]["BridgeId"]
        )
        assert center.acd.agent_states["alice"] == "on_call"
        await alice.act("call.hangup")
        await until(lambda: center.outcome(call_id) == "answered", timeout=5)
    record = await row(center, journal_id)
    assert abs(record.hold_seconds - held) < 0.8, (record.hold_seconds, held)
    assert record.talk_seconds is not None and record.talk_seconds >= 1


async def test_an_agent_hanging_up_on_a_held_caller_ends_the_call(center: Center) -> None:
    await center.phone("1001", ring="1", talk="4")  # the agent's phone hangs up after 4 s
    async with user(center, "alice") as alice:
        await ready(alice)
        call_id, journal_id = await talking(center, "alice")
        leg = center.acd.legs[call_id]
        await alice.act("call.hold")
        await until(lambda: center.outcome(call_id) == "answered", timeout=8)
        assert center.acd.agent_states["alice"] == "wrap_up"
        for _ in range(50):  # the caller's channel goes too (sales has no survey)
            if leg.channel not in {c["Channel"] for c in await channels(center)}:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"{leg.channel} still up")
    record = await row(center, journal_id)
    assert 1.5 < record.hold_seconds < 4.5 and record.talk_seconds < 3


async def test_blind_transfer_to_a_queue_is_a_new_segment_for_the_next_agent(
    center: Center,
) -> None:
    await center.phone("1001", ring="1", talk="30")
    await center.phone("1003", ring="1", talk="2")
    center.acd.login("carol")
    center.acd.ready("carol")
    async with user(center, "alice") as alice:
        await ready(alice)
        _, journal_id = await talking(center, "alice")
        await asyncio.sleep(1)
        ack = await alice.act("call.transfer", to_kind="queue", to="support")
        segment = ack["result"]["to_call"]
        assert segment == f"{journal_id}-t1"
        assert center.acd.agent_states["alice"] == "wrap_up"
        await until(lambda: center.offers(segment) == ["carol"], timeout=10, what="offer")
        await until(lambda: center.outcome(segment) == "answered", timeout=15, what="talk")
        await alice.act("call.hold", expect=409)  # no longer alice's call
    first, second = await row(center, journal_id), await row(center, segment)
    assert (first.agent, first.queue, first.transfers, first.outcome) == (
        "alice",
        "sales",
        1,
        "answered",
    )
    assert (second.agent, second.queue, second.outcome) == ("carol", "support", "answered")
    assert 0.5 < first.talk_seconds < 4 and 1 < second.talk_seconds < 4
    assert second.caller_number == first.caller_number
    assert second.answered_at > first.talk_ended_at
    # the same contact: the segment names its call and is not a repeat call for FCR
    assert (second.segment_of, first.segment_of) == (journal_id, None)
    assert (second.fcr_key, first.fcr_key) == (None, f"n:{first.caller_number}")


async def test_blind_transfer_to_an_agent_passes_over_the_others(center: Center) -> None:
    """alice hands her sales caller to dave: bob is ready in sales too, but the call
    waits for dave (busy with another caller) and goes to him when he is free."""
    await center.phone("1001", ring="1", talk="30")
    await center.phone("1002", ring="1", talk="2")
    await center.phone("1004", ring="1", talk="2")
    center.acd.login("dave")
    center.acd.ready("dave")
    other = await center.call(keys="2")  # support: dave takes it
    await until(lambda: center.offers(other) == ["dave"], timeout=10, what="dave busy")
    async with user(center, "alice") as alice:
        await ready(alice)
        _, journal_id = await talking(center, "alice")
        center.acd.login("bob")
        center.acd.ready("bob")
        await alice.act("call.transfer", to_kind="agent", to="nobody", expect=409)
        ack = await alice.act("call.transfer", to_kind="agent", to="dave")
        segment = ack["result"]["to_call"]
        await until(lambda: center.offers(segment) == ["dave"], timeout=20, what="to dave")
        assert center.acd.agent_states["bob"] == "ready"  # passed over while dave was busy
    first = await row(center, journal_id)
    assert first.transfers == 1 and first.agent == "alice"


async def test_blind_transfer_to_a_number_reaches_it(center: Center) -> None:
    await center.phone("1001", ring="1", talk="30")
    await center.phone("7001", ring="1", talk="5")
    watch = Watch(center)
    async with user(center, "alice") as alice:
        await ready(alice)
        call_id, journal_id = await talking(center, "alice")
        await alice.act("call.transfer", call_id=journal_id, to_kind="number", to="7001")
        await until(lambda: watch.answered("Local/7001@cti-sim-agent"), timeout=8)
        assert center.acd.agent_states["alice"] == "wrap_up"
        assert center.outcome(call_id) == "answered"
    record = await row(center, journal_id)
    assert record.transfers == 1 and record.agent == "alice"


async def test_attended_transfer_consults_then_hands_the_caller_over(center: Center) -> None:
    await center.phone("1001", ring="1", talk="30")
    await center.phone("7001", ring="1", talk="30")
    watch = Watch(center)
    async with user(center, "alice") as alice:
        await ready(alice)
        call_id, journal_id = await talking(center, "alice")
        leg = center.acd.legs[call_id]
        await alice.act("call.transfer_complete", expect=409)  # nothing consulted yet
        ack = await alice.act("call.transfer", to_kind="number", to="7001", mode="attended")
        assert ack["result"]["consulting"] == "7001"
        await until(lambda: watch.answered("Local/7001@cti-sim-agent"), timeout=8)
        now = {c["Channel"]: c for c in await channels(center)}
        assert now[leg.channel]["Application"] == "MusicOnHold"  # the caller waits meanwhile
        assert center.acd.agent_states["alice"] == "on_call"
        await alice.act("call.transfer_complete", call_id=journal_id)
        assert center.acd.agent_states["alice"] == "wrap_up"
        await asyncio.sleep(1)
        now = {c["Channel"]: c for c in await channels(center)}
        target = [c for c in now.values() if c["Channel"].startswith("Local/7001@")]
        assert target and now[leg.channel]["BridgeId"]  # the caller now talks to 7001
        assert now[leg.channel]["BridgeId"] in {c.get("BridgeId") for c in target}, now
        assert leg.agent_channel not in now  # the agent's leg is gone
    record = await row(center, journal_id)
    assert record.transfers == 1 and record.outcome == "answered" and record.hold_seconds > 0.5


async def test_attended_transfer_cancelled_brings_the_agent_back(center: Center) -> None:
    await center.phone("1001", ring="1", talk="30")
    await center.phone("7002", ring="1", talk="30")
    watch = Watch(center)
    async with user(center, "alice") as alice:
        await ready(alice)
        call_id, journal_id = await talking(center, "alice")
        leg = center.acd.legs[call_id]
        await alice.act("call.transfer", to_kind="number", to="7002", mode="attended")
        await until(lambda: watch.answered("Local/7002@cti-sim-agent"), timeout=8)
        await alice.act("call.transfer_cancel")
        await asyncio.sleep(1.5)
        now = {c["Channel"]: c for c in await channels(center)}
        assert not [c for c in now if c.startswith("Local/7002@")]  # the consulted hung up
        assert now[leg.channel]["BridgeId"] == now[leg.agent_channel]["BridgeId"] != ""
        assert center.acd.legs[call_id].state == "talking" and center.outcome(call_id) is None
        await alice.act("call.hangup")
        await until(lambda: center.outcome(call_id) == "answered", timeout=5)
    record = await row(center, journal_id)
    assert record.transfers == 0 and record.hold_seconds > 0.5


async def test_attended_transfer_to_an_agent_pops_the_caller_then_hands_the_call_over(
    center: Center,
) -> None:
    """alice consults carol: carol is kept from other calls and her console shows alice's
    caller; on completion carol talks to the caller at once, as a new segment."""
    await center.phone("1001", ring="1", talk="30")
    await center.phone("1003", ring="1", talk="30")
    center.acd.login("carol")
    center.acd.ready("carol")
    console = center.service.console
    watch = Watch(center)
    async with user(center, "alice") as alice:
        await ready(alice)
        call_id, journal_id = await talking(center, "alice")
        leg = center.acd.legs[call_id]
        center.acd.login("dave")  # logged in, not ready: dave cannot be consulted...
        await alice.act("call.transfer", to_kind="agent", to="alice", mode="attended", expect=409)
        ack = await alice.act("call.transfer", to_kind="agent", to="carol", mode="attended")
        assert ack["result"]["consulting"] == "carol"
        assert center.acd.agent_states["carol"] == "not_ready"
        assert center.acd.reasons["carol"] == "consultation"
        other = await center.call(keys="2", hold=30)  # a support caller: carol is reserved
        pop = console.pops[("acme", "carol")]
        assert pop["call_id"] == journal_id and pop["consultation"] == {"from_agent": "alice"}
        assert pop["caller_number"] == (await row(center, journal_id)).caller_number
        assert console.calls[("acme", "carol")]["state"] == "consulting"
        await until(lambda: watch.answered("Local/1003@cti-sim-agent"), timeout=8)
        assert center.offers(other) == []
        ack = await alice.act("call.transfer_complete", call_id=journal_id)
        segment = ack["result"]["to_call"]
        assert segment == f"{journal_id}-t1"
        assert center.acd.agent_states["alice"] == "wrap_up"
        assert center.acd.agent_states["carol"] == "on_call"
        assert center.acd.legs[segment].agent_id == "carol"
        await until(lambda: console.calls[("acme", "carol")]["call_id"] == segment)
        await until(lambda: console.calls[("acme", "carol")]["state"] == "talking")
        await asyncio.sleep(1)
        now = {c["Channel"]: c for c in await channels(center)}
        carol = [c for c in now.values() if c["Channel"].startswith("Local/1003@")]
        assert now[leg.channel]["BridgeId"] in {c.get("BridgeId") for c in carol}, now
        assert leg.agent_channel not in now  # alice's leg is gone
        assert center.offers(other) == []  # carol talks: the support caller still waits
        await center.acd.hangup("carol")
        await until(lambda: center.outcome(segment) == "answered", timeout=8)
        assert center.acd.agent_states["carol"] == "wrap_up"
    first, second = await row(center, journal_id), await row(center, segment)
    assert (first.agent, first.transfers, first.outcome) == ("alice", 1, "answered")
    assert (second.agent, second.queue, second.outcome) == ("carol", "support", "answered")
    assert second.caller_number == first.caller_number and second.talk_seconds > 0.5
    assert second.answered_at >= first.talk_ended_at


async def test_attended_transfer_to_a_queue_consults_its_free_agent_or_says_none_is(
    center: Center,
) -> None:
    await center.phone("1001", ring="1", talk="30")
    await center.phone("1003", ring="1", talk="30")
    console = center.service.console
    watch = Watch(center)
    async with user(center, "alice") as alice:
        await ready(alice)
        call_id, journal_id = await talking(center, "alice")
        refused = await alice.act(
            "call.transfer", to_kind="queue", to="support", mode="attended", expect=409
        )
        assert "no agent of queue 'support' is free" in json.dumps(refused)
        center.acd.login("carol")
        center.acd.ready("carol")
        ack = await alice.act("call.transfer", to_kind="queue", to="support", mode="attended")
        assert ack["result"]["consulting"] == "carol"
        assert center.acd.agent_states["carol"] == "not_ready"
        await until(lambda: watch.answered("Local/1003@cti-sim-agent"), timeout=8)
        await alice.act("call.transfer_cancel")
        assert center.acd.agent_states["carol"] == "ready"  # free again
        assert ("acme", "carol") not in console.calls and ("acme", "carol") not in console.pops
        await asyncio.sleep(1)
        assert center.acd.legs[call_id].state == "talking" and center.outcome(call_id) is None
        await alice.act("call.hangup")
        await until(lambda: center.outcome(call_id) == "answered", timeout=5)
    record = await row(center, journal_id)
    assert record.transfers == 0 and record.agent == "alice"


async def test_click_to_call_rings_the_agent_then_the_number_and_is_outbound(
    center: Center,
) -> None:
    await center.phone("1001", ring="1", talk="30")
    await center.phone("7002", ring="1", talk="30")
    watch = Watch(center)
    began = time.time()
    async with user(center, "alice") as alice:
        await ready(alice)
        ack = await alice.act("call.dial", number="7002")
        call_id = ack["result"]["call_id"]
        assert center.acd.agent_states["alice"] == "not_ready"  # no ACD offer meanwhile
        await until(lambda: watch.answered("Local/7002@cti-sim-agent"), timeout=8)
        await alice.act("call.dial", number="7003", expect=409)  # one at a time
        console = center.service.console
        await until(lambda: console.calls[("acme", "alice")]["state"] == "talking", timeout=5)
        assert center.acd.agent_states["alice"] == "on_call"  # busy, as on any call
        await asyncio.sleep(1.5)
        await alice.act("call.hangup", call_id=call_id)
        await until(lambda: center.acd.agent_states["alice"] == "wrap_up", timeout=5)
        await until(lambda: center.acd.agent_states["alice"] == "ready", timeout=5)  # 2 s
        assert not watch.dialed("Local/7003")
    await until(lambda: center.service.journal.folder("acme").calls[call_id].ended_at is not None)
    record = await row(center, call_id)
    assert (record.direction, record.agent, record.dnis) == ("outbound", "alice", "7002")
    assert record.answered_at is not None and record.queue is None
    assert 1 < record.talk_seconds < 4
    # the talk is alice's time on a call, the after-call work her wrap-up: occupancy counts it
    async with center.service.engine.connect() as conn:
        states = (
            await conn.execute(
                select(AgentStateInterval)
                .where(AgentStateInterval.agent_id == "alice")
                .order_by(AgentStateInterval.start)
            )
        ).all()
    spans = {s.state: s.end - s.start for s in states if s.state in ("on_call", "wrap_up")}
    seen = [s.state for s in states if s.state != "ready"]
    assert seen[-3:] == ["not_ready", "on_call", "wrap_up"]  # ringing, talk, after-call work
    assert abs(spans["on_call"] - record.talk_seconds) < 0.5
    assert 1.5 < spans["wrap_up"] < 3
    report = await kpi_report(center.service.engine, "acme", start=began, end=time.time() + 1)
    assert report["total"]["occupancy"] > 0.3
    assert report["total"]["occupancy_with_acw"] > report["total"]["occupancy"]


async def test_schedule_callback_records_a_pending_row(center: Center) -> None:
    async with user(center, "alice") as alice:
        ack = await alice.act(
            "callback.schedule", number="06 12 34 56 78", at=time.time() + 3600, queue="sales"
        )
        await alice.act("callback.schedule", number="12ab", expect=409)
        await alice.act("callback.schedule", number="0612345678", queue="nope", expect=409)
    async with center.service.engine.connect() as conn:
        rows = (await conn.execute(select(Callback))).all()
    [cb] = rows
    assert cb.id == ack["result"]["callback_id"]
    assert (cb.tenant_id, cb.number, cb.status, cb.source, cb.agent_id, cb.queue) == (
        "acme",
        "+33612345678",
        "pending",
        "agent",
        "alice",
        "sales",
    )
    assert cb.window_start > time.time() + 3000


async def test_supervisor_listens_through_chanspy(center: Center) -> None:
    await center.phone("1001", ring="1", talk="30")
    await center.phone("1009", ring="0", talk="10")
    watch = Watch(center)
    async with user(center, "alice") as alice:
        await ready(alice)
        await talking(center, "alice")
        async with user(center, "sue", role="supervisor", extension="1009") as sup:
            ack = await sup.act("supervisor.spy", agent_id="alice", mode="listen")
            assert ack["result"]["mode"] == "listen"
            await until(lambda: bool(watch.named("ChanSpyStart")), timeout=8)
            [start] = watch.named("ChanSpyStart")[:1]
            leg = next(g for g in center.acd.legs.values() if g.agent_id == "alice")
            assert start.headers.get("SpyeeChannel") == leg.agent_channel
            assert start.headers.get("SpyerChannel", "").startswith("Local/1009@cti-sim-agent")
            for mode, options in (("whisper", "qEw"), ("barge", "qEB")):
                await sup.act("supervisor.spy", agent_id="alice", mode=mode)

                async def spying(options: str = options) -> bool:
                    data = [
                        c.get("ApplicationData", "")
                        for c in await channels(center)
                        if c.get("Application") == "ChanSpy"
                    ]
                    return any(d.endswith("," + options) for d in data)

                for _ in range(40):  # Asterisk runs ChanSpy with the mode's options
                    if await spying():
                        break
                    await asyncio.sleep(0.2)
                else:
                    raise AssertionError(f"no ChanSpy with {options} for {mode}")
            await sup.act("supervisor.spy", agent_id="bob", mode="listen", expect=409)  # no call
            await sup.act("supervisor.spy", agent_id="mallory", mode="barge", expect=409)
        async with user(center, "sam", role="supervisor") as sup2:  # no extension: refused
            await sup2.act("supervisor.spy", agent_id="alice", expect=409)
        await alice.act("supervisor.spy", agent_id="alice", expect=403)  # agents cannot
        await alice.act("call.hangup")


async def test_refusals_come_back_as_errors(center: Center) -> None:
    await center.phone("1001", ring="1", talk="30")
    async with user(center, "alice") as alice:
        await ready(alice)
        async with user(center, "bob") as bob:
            await bob.act("agent.login")
            port = center.service.settings.http_port
            url = f"ws://127.0.0.1:{port}/ws?token={bob.token}"
            async with websockets.connect(url) as socket:

                async def send(kind: str, **fields: Any) -> dict[str, Any]:
                    await socket.send(
                        json.dumps({"type": kind, "version": 1, "id": kind, **fields})
                    )
                    while True:
                        msg = json.loads(await socket.recv())
                        if msg.get("id") == kind:
                            return msg  # type: ignore[no-any-return]

                error = await send("call.hold")  # bob has no call
                assert (error["type"], error["error"]) == ("error", "refused")
                call_id, journal_id = await talking(center, "alice")
                # alice's call is not bob's, whatever id he names
                for action in ("call.hangup", "call.hold", "call.unhold"):
                    error = await send(action, call_id=journal_id)
                    assert (error["type"], error["error"]) == ("error", "refused")
                error = await send("call.transfer", call_id=journal_id, to_kind="queue", to="x")
                assert (error["type"], error["error"]) == ("error", "refused")
                error = await send("call.transfer", to_kind="agent", to="carol")
                assert error["error"] == "refused"  # bob has no call to transfer
                error = await send("call.transfer", to_kind="planet", to="mars")
                assert error["error"] == "invalid"
                error = await send("supervisor.spy", agent_id="alice")
                assert error["error"] == "forbidden"
            # alice herself: a call id that is not hers, a queue that does not exist
            await alice.act("call.hangup", call_id="someone-else", expect=409)
            await alice.act("call.transfer", to_kind="queue", to="nope", expect=409)
            assert center.acd.legs[call_id].state == "talking"  # untouched by all this
            await alice.act("call.hangup")
