"""The ACD on a real Asterisk: callers and agents as Local channels.

Agents' phones are `Local/<ext>@cti-sim-agent/n`: they answer after
`SIM_RING_<ext>` seconds ('never' for no answer) and talk `SIM_TALK_<ext>`
seconds. Callers are originated into `cti-inbound` and hold `SIM_HOLD` seconds
unless an agent takes them.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from acd import OfferCall, Outcome, PlaceCallback, SetAgentNotReady, SetAgentWrapUp
from cti.ami import AmiLink
from cti.ami_events import AmiEvent, OtherEvent, UserEvent
from cti.config import PlatformConfig
from cti.service import Service
from tests.integration.center import Center, fast_config
from tests.integration.conftest import AsteriskStack, until

pytestmark = pytest.mark.asterisk


async def test_callers_reach_distinct_agents_and_agents_come_back_after_wrap_up(
    center: Center,
) -> None:
    for ext in ("1001", "1002"):
        await center.phone(ext, ring="1", talk="2")
    center.acd.login("alice")
    center.acd.login("bob")
    center.acd.ready("alice")
    center.acd.ready("bob")
    first, second = await center.call(), await center.call()
    await until(
        lambda: (
            center.outcome(first) == Outcome.ANSWERED and center.outcome(second) == Outcome.ANSWERED
        )
    )
    assert {center.offers(first)[0], center.offers(second)[0]} == {"alice", "bob"}
    wrapups = [c.agent_id for c in center.acd.history if isinstance(c, SetAgentWrapUp)]
    assert sorted(wrapups) == ["alice", "bob"]
    await until(lambda: center.acd.agent_states["alice"] == "ready", timeout=10)
    await until(lambda: center.acd.agent_states["bob"] == "ready", timeout=10)


async def test_no_answer_puts_the_agent_not_ready_and_the_call_goes_to_the_next(
    center: Center,
) -> None:
    await center.phone("1001", ring="never")
    await center.phone("1002", ring="1", talk="1")
    center.acd.login("alice")
    center.acd.ready("alice")
    call_id = await center.call()
    await until(lambda: center.offers(call_id) == ["alice"])
    await until(lambda: center.acd.agent_states["alice"] == "not_ready", timeout=15)
    assert any(
        isinstance(c, SetAgentNotReady) and c.agent_id == "alice" for c in center.acd.history
    )
    center.acd.login("bob")
    center.acd.ready("bob")
    await until(lambda: center.outcome(call_id) == Outcome.ANSWERED)
    assert center.offers(call_id) == ["alice", "bob"]


async def test_caller_hanging_up_while_waiting_and_while_ringing(center: Center) -> None:
    waiting = await center.call(hold=2)
    await until(lambda: center.outcome(waiting) == Outcome.ABANDONED, timeout=10)
    await center.phone("1001", ring="never")
    center.acd.login("alice")
    center.acd.ready("alice")
    ringing = await center.call(hold=3)
    await until(lambda: center.offers(ringing) == ["alice"])
    await until(lambda: center.outcome(ringing) == Outcome.ABANDONED, timeout=10)
    await until(lambda: center.acd.router.agent_state("alice").value == "ready")


async def test_overflow_to_another_queue(
    center_factory: Callable[..., Any], example_config: PlatformConfig
) -> None:
    config = fast_config(
        example_config, sales={"overflow": ({"after_seconds": 3, "to_queue": "support"},)}
    )
    center = await center_factory(config)
    await center.phone("1003", ring="1", talk="1")
    center.acd.login("carol")  # support only
    center.acd.ready("carol")
    began = time.monotonic()
    call_id = await center.call(dnis="5000")
    await until(lambda: center.offers(call_id) == ["carol"])
    assert time.monotonic() - began >= 2.5
    await until(lambda: center.outcome(call_id) == Outcome.ANSWERED)


async def test_max_wait_sends_the_caller_to_voicemail(
    center_factory: Callable[..., Any], example_config: PlatformConfig
) -> None:
    config = fast_config(
        example_config,
        sales={
            "max_wait": {
                "after_seconds": 3,
                "target": {"kind": "voicemail", "destination": "sales-box"},
            }
        },
    )
    center = await center_factory(config)
    saved: list[UserEvent] = []
    center.service.ami.subscribe(
        lambda e: saved.append(e) if isinstance(e, UserEvent) and e.name == "CtiVoicemail" else None
    )
    call_id = await center.call(hold=12)
    await until(lambda: center.outcome(call_id) == Outcome.ROUTED_OUT, timeout=10)
    await until(lambda: bool(saved), timeout=20)
    recording = Path(saved[0].fields["CtiFile"])
    assert recording.name.startswith("sales-box-")
    await until(recording.exists, timeout=20)  # the caller's message, recorded


async def test_callback_keeps_the_place_and_calls_the_customer(center: Center) -> None:
    call_id = await center.call(hold=40)
    await until(lambda: center.acd.legs[call_id].state == "waiting")
    center.acd.request_callback(call_id, "0612345678")
    await center.phone("1001", ring="1", talk="2")
    await center.phone("0612345678", ring="1", talk="2")
    center.acd.login("alice")
    center.acd.ready("alice")
    await until(lambda: center.outcome(call_id) == Outcome.CALLED_BACK, timeout=30)
    placed = [c for c in center.acd.history if isinstance(c, PlaceCallback)]
    assert [(c.call_id, c.agent_id, c.number) for c in placed] == [(call_id, "alice", "0612345678")]


async def test_service_returning_rebuilds_waiting_calls_and_agents_from_asterisk(
    center: Center,
) -> None:
    center.acd.login("alice")
    center.acd.not_ready("alice", "meeting")
    center.acd.login("bob")
    center.acd.not_ready("bob", "lunch")
    center.acd.login("carol")
    center.acd.logout("carol")
    first = await center.call(hold=60)
    await asyncio.sleep(0.5)  # let the last AstDB writes go out
    await center.service.stop()
    again = Service(center.service.settings, center.service.config)
    await again.start()
    try:
        await again.ami.wait_connected(10)
        runner = again.acd["acme"]
        await until(lambda: first in runner.legs, timeout=15)
        restored = ("alice", "bob")  # from AstDB, one after the other
        await until(lambda: all(runner.agent_states[a] == "not_ready" for a in restored))
        assert runner.reasons["alice"] == "meeting"
        assert runner.agent_states["carol"] == runner.agent_states["dave"] == "logged_out"
        assert (runner.agent_states["bob"], runner.reasons["bob"]) == ("not_ready", "lunch")
        await again.ami.action("Setvar", Variable="SIM_RING_1001", Value="1")
        runner.ready("alice")
        await until(lambda: runner.stats.outcomes.get(first) == Outcome.ANSWERED, timeout=30)
    finally:
        await again.stop()


async def test_waiting_callers_fall_back_to_the_native_queue_without_the_service(
    asterisk_factory: Callable[..., AsteriskStack], example_config: PlatformConfig
) -> None:
    config = fast_config(example_config, sales={"fallback_after_seconds": 5})
    stack = asterisk_factory(config)
    s = stack.settings
    link = AmiLink(s.ami_host, s.ami_port, s.ami_user, s.ami_secret)
    seen: list[AmiEvent] = []
    link.subscribe(seen.append)
    await link.start(wait=10)
    try:
        await link.action("Setvar", Variable="SIM_TALK_1001", Value="1")
        began = time.monotonic()
        await link.originate(
            "Local/5000@cti-inbound",
            context="cti-sim-caller",
            exten="s",
            caller_id='"X" <+33699999999>',
            variables={"SIM_HOLD": "30"},
        )
        await until(
            lambda: any(isinstance(e, OtherEvent) and e.name == "AgentConnect" for e in seen),
            timeout=30,
        )
        fallback = [e for e in seen if isinstance(e, UserEvent) and e.name == "CtiFallback"]
        assert fallback and fallback[0].fields["CtiQueue"] == "acme-sales"
        assert time.monotonic() - began >= 4.5
        await until(
            lambda: any(isinstance(e, OtherEvent) and e.name == "AgentComplete" for e in seen),
            timeout=30,
        )
    finally:
        await link.close()
    # what app_queue wrote reads back into our KPIs: the same call, answered
    done = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "cti.cli",
            "report",
            "--queue-log",
            str(stack.conf_dir / "log" / "queue_log"),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    report = json.loads(done.stdout)["queues"]["acme-sales"]
    assert (report["offered"], report["answered"], report["abandoned"]) == (1, 1, 0)
    assert 0 <= report["asa_seconds"] <= 5 and report["avg_talk_seconds"] >= 1


async def test_waiting_callers_hear_their_position(
    center_factory: Callable[..., Any], example_config: PlatformConfig
) -> None:
    config = fast_config(example_config, sales={"announce_every_seconds": 10})
    center = await center_factory(config)
    heard: list[UserEvent] = []
    center.service.ami.subscribe(
        lambda e: heard.append(e) if isinstance(e, UserEvent) and e.name == "CtiAnnounced" else None
    )
    first = await center.call(hold=30)
    second = await center.call(hold=30)
    await until(lambda: {e.uniqueid for e in heard} >= {first, second}, timeout=30)
    positions = {e.uniqueid: e.fields["CtiPosition"] for e in heard}
    assert positions == {first: "1", second: "2"}
    assert center.acd.legs[second].position == 2


async def test_an_agent_busy_on_a_personal_call_is_not_offered_calls(center: Center) -> None:
    await center.phone("1001", ring="0", talk="4")
    await center.phone("1002", ring="1", talk="1")
    center.acd.login("alice")
    center.acd.ready("alice")
    # alice's phone takes a call that did not come from the ACD
    await center.service.ami.originate("Local/1001@cti-sim-agent/n", application="Wait", data="4")
    await until(lambda: "alice" in center.acd.busy_elsewhere, timeout=10)
    center.acd.login("bob")
    center.acd.ready("bob")
    call_id = await center.call()
    await until(lambda: center.outcome(call_id) == Outcome.ANSWERED)
    assert center.offers(call_id) == ["bob"]
    await until(lambda: center.acd.agent_states["alice"] == "ready", timeout=15)


async def test_one_agent_serves_callers_in_arrival_order(center: Center) -> None:
    await center.phone("1001", ring="1", talk="1")
    calls = [await center.call(hold=60) for _ in range(3)]
    center.acd.login("alice")
    center.acd.ready("alice")
    await until(lambda: all(center.outcome(c) == Outcome.ANSWERED for c in calls), timeout=45)
    offered = [c.call_id for c in center.acd.history if isinstance(c, OfferCall)]
    assert offered == calls
