"""The AMI link against a real Asterisk: calls, bad secret, restart, freeze, garbage."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest

from cti.ami import AmiLink
from cti.ami_events import AmiEvent, LinkDown, LinkUp, Resynced
from cti.calls import CAUSE_LOST, CallArrived, CallChange, CallEnded, CallModel
from cti.errors import AmiAuthError, AsteriskError
from tests.integration.conftest import AsteriskStack, until
from tests.integration.proxy import FaultyProxy

pytestmark = pytest.mark.asterisk


class Tracker:
    """An AMI link feeding a call model, remembering everything it saw."""

    def __init__(self, link: AmiLink) -> None:
        self.link = link
        self.model = CallModel()
        self.events: list[AmiEvent] = []
        self.changes: list[CallChange] = []
        link.subscribe(self._on_event)

    def _on_event(self, event: AmiEvent) -> None:
        self.events.append(event)
        self.changes.extend(self.model.apply(event))

    def ended(self) -> dict[str, CallEnded]:
        return {c.ani: c for c in self.changes if isinstance(c, CallEnded)}

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 20.0) -> None:
        await until(predicate, timeout, f"saw {self.changes[-5:]}")


def make_link(stack: AsteriskStack, port: int | None = None, **kw: object) -> AmiLink:
    s = stack.settings
    options: dict[str, object] = {"ping_interval": 0.5, "ping_timeout": 1.0, "action_timeout": 3.0}
    options.update(kw)
    return AmiLink(
        s.ami_host,
        port or s.ami_port,
        s.ami_user,
        str(options.pop("secret", s.ami_secret)),
        **options,
    )  # type: ignore[arg-type]


@pytest.fixture
async def tracker(asterisk: AsteriskStack) -> AsyncIterator[Tracker]:
    link = make_link(asterisk)
    tracker = Tracker(link)
    await link.start(wait=10)
    yield tracker
    await link.close()


async def call(link: AmiLink, ani: str, dnis: str = "5000", hold: int = 2) -> None:
    await link.originate(
        f"Local/{dnis}@cti-inbound",
        context="cti-sim-caller",
        exten="s",
        caller_id=f'"Test" <{ani}>',
        variables={"SIM_HOLD": str(hold)},
    )


async def test_calls_are_tracked_with_ani_dnis_times_and_cause(tracker: Tracker) -> None:
    callers = {"+33100000001": "5000", "+33100000002": "5001", "+33100000003": "5000"}
    started = time.time()
    for ani, dnis in callers.items():
        await call(tracker.link, ani, dnis, hold=2)
    await tracker.wait_for(lambda: set(callers) <= set(tracker.ended()))
    for ani, dnis in callers.items():
        ended = tracker.ended()[ani]
        record = tracker.model.get(ended.call_id)
        assert record is not None and record.dnis == dnis
        assert started - 1 < record.arrived_at <= record.answered_at <= record.ended_at  # type: ignore[operator]
        assert ended.cause == 16 and ended.answered
        assert 1.5 < ended.duration_seconds < 4


async def test_originate_returns_at_once_even_when_nobody_answers(tracker: Tracker) -> None:
    await tracker.link.action("Setvar", Variable="SIM_RING_1999", Value="never")
    began = time.monotonic()
    reply = await tracker.link.originate(
        "Local/1999@cti-sim-agent/n", application="Wait", data="1", timeout_ms=3000
    )
    assert reply.ok and time.monotonic() - began < 1.0
    assert tracker.link.connected


async def test_a_refused_action_raises_a_clear_error(tracker: Tracker) -> None:
    with pytest.raises(AsteriskError, match="Redirect refused"):
        await tracker.link.action(
            "Redirect", Channel="PJSIP/none-0000", Context="x", Exten="1", Priority=1
        )
    entries = await tracker.link.action_list("CoreShowChannels")
    assert isinstance(entries, list) and tracker.link.connected


async def test_wrong_secret_fails_fast_with_a_clear_error(asterisk: AsteriskStack) -> None:
    link = make_link(asterisk, secret="not-the-secret")
    began = time.monotonic()
    with pytest.raises(AmiAuthError, match=r"login refused for user 'cti'.*CTI_AMI_SECRET"):
        await link.start(wait=10)
    assert time.monotonic() - began < 5
    assert link.stats.connects == 0
    assert isinstance(await asyncio.wait_for(link.failed(), 1), AmiAuthError)
    await link.close()


async def test_actions_while_disconnected_fail_at_once() -> None:
    link = AmiLink("127.0.0.1", 9, "cti", "x", reconnect_min=5)
    await link.start()
    with pytest.raises(AsteriskError, match="not connected"):
        await link.action("Ping")
    with pytest.raises(AsteriskError, match="not reachable within"):
        await link.wait_connected(0.3)
    await link.close()


async def test_restart_reconnects_and_resync_ends_calls_lost_meanwhile(
    asterisk_factory: Callable[..., AsteriskStack],
) -> None:
    stack = asterisk_factory()
    link = make_link(stack)
    tracker = Tracker(link)
    await link.start(wait=10)
    await call(link, "+33200000001", hold=60)
    await tracker.wait_for(lambda: len(tracker.model.calls) == 1)
    stack.process.restart()
    await tracker.wait_for(lambda: link.stats.connects == 2 and link.connected)
    await tracker.wait_for(lambda: "+33200000001" in tracker.ended())
    lost = tracker.ended()["+33200000001"]
    assert lost.cause == CAUSE_LOST and not tracker.model.calls
    assert any(isinstance(e, LinkDown) for e in tracker.events)
    assert [e.reconnect for e in tracker.events if isinstance(e, LinkUp)] == [False, True]
    await call(link, "+33200000002", hold=1)
    await tracker.wait_for(lambda: "+33200000002" in tracker.ended())
    await link.close()


async def test_gap_in_the_link_is_repaired_by_resync(asterisk: AsteriskStack) -> None:
    proxy = FaultyProxy(asterisk.settings.ami_port)
    await proxy.start()
    observer = make_link(asterisk)  # a direct link that places calls during the gap
    await observer.start(wait=10)
    link = make_link(asterisk, port=proxy.port, reconnect_min=0.2)
    tracker = Tracker(link)
    await link.start(wait=10)
    await call(observer, "+33300000001", hold=3)  # will end during the gap
    await tracker.wait_for(lambda: len(tracker.model.calls) == 1)
    proxy.refusing = True
    proxy.cut()
    await call(observer, "+33300000002", hold=30)  # will start during the gap
    await asyncio.sleep(4)
    proxy.refusing = False
    await tracker.wait_for(lambda: link.stats.connects == 2 and link.connected)
    resync = [e for e in tracker.events if isinstance(e, Resynced)][-1]
    assert any(c.caller_num == "+33300000002" for c in resync.channels)
    assert tracker.ended()["+33300000001"].cause == CAUSE_LOST
    adopted = [c for c in tracker.changes if isinstance(c, CallArrived)][-1]
    assert adopted.ani == "+33300000002"
    assert len(tracker.model.calls) == 1
    await observer.action("Hangup", Channel="/^Local/5000@cti-inbound-.*$/")
    await tracker.wait_for(lambda: "+33300000002" in tracker.ended())
    await link.close()
    await observer.close()
    await proxy.close()


async def test_frozen_asterisk_is_noticed_by_the_watchdog(
    asterisk_factory: Callable[..., AsteriskStack],
) -> None:
    stack = asterisk_factory()
    link = make_link(stack, ping_interval=0.5, ping_timeout=1.0, action_timeout=3.0)
    tracker = Tracker(link)

    def downs() -> list[LinkDown]:
        return [e for e in tracker.events if isinstance(e, LinkDown)]

    def freeze_at_login(event: AmiEvent) -> None:
        # frozen between the login and the resync of the live channels
        if isinstance(event, LinkUp) and link.stats.connects == 1:
            stack.process.freeze()

    link.subscribe(freeze_at_login)
    await link.start(wait=10)
    try:
        try:
            await tracker.wait_for(lambda: len(downs()) == 1, 15)
            assert downs()[0].reason.startswith("resync: ") and not link.connected
        finally:
            stack.process.thaw()
        # a thawed Asterisk first works through the connections queued while frozen
        await tracker.wait_for(lambda: link.connected and link.stats.connects == 2, 45)
        await tracker.wait_for(lambda: sum(isinstance(e, Resynced) for e in tracker.events) == 1)
        stack.process.freeze()
        try:
            await tracker.wait_for(lambda: len(downs()) == 2, 6)
            assert downs()[1].reason.startswith("watchdog: ")
            assert link.stats.ping_failures == 1 and not link.connected
        finally:
            stack.process.thaw()
        await tracker.wait_for(lambda: link.connected and link.stats.connects == 3, 45)
        await call(link, "+33400000001", hold=1)
        await tracker.wait_for(lambda: "+33400000001" in tracker.ended())
    finally:
        await link.close()


async def test_garbage_on_the_socket_is_counted_and_survived(asterisk: AsteriskStack) -> None:
    proxy = FaultyProxy(asterisk.settings.ami_port)
    await proxy.start()
    link = make_link(asterisk, port=proxy.port)
    tracker = Tracker(link)
    await link.start(wait=10)
    proxy.inject(b"\r\n\r\n\x00\xff\xfe\x80garbage\r\n\r\nEvent: Hangup\r\n\r\n::::\r\n\r\n")
    proxy.inject(b"Event: VarSet\r\nUniqueid: 1\r\n" + b"x" * 100 + b"\r\n\r\n")
    await asyncio.sleep(0.3)
    assert link.stats.malformed == 3
    assert link.connected
    await call(link, "+33500000001", hold=1)
    await tracker.wait_for(lambda: "+33500000001" in tracker.ended())
    assert link.stats.connects == 1
    await link.close()
    await proxy.close()
