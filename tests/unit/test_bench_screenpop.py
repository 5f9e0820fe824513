"""The screen-pop benchmark's AMI server speaks enough AMI for `AmiLink` and the ACD runner."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from cti.ami import AmiLink
from cti.ami_events import (
    AmiEvent,
    ChannelCreated,
    ChannelHungUp,
    DialEnded,
    Resynced,
    UserEvent,
)
from cti.errors import AmiActionError, AmiAuthError

BENCH = Path(__file__).resolve().parents[2] / "bench" / "screenpop.py"


@pytest.fixture(scope="module")
def screenpop() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_screenpop", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


async def wait_for(predicate, timeout: float = 3.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_amilink_logs_in_acts_and_sees_a_call(screenpop: ModuleType) -> None:
    server = screenpop.FakeAsterisk(talk_seconds=0.05)
    port = await server.start()
    link = AmiLink("127.0.0.1", port, screenpop.AMI_USER, screenpop.AMI_SECRET)
    seen: list[AmiEvent] = []
    link.subscribe(seen.append)
    try:
        await link.start(wait=5)
        assert link.connected
        await wait_for(lambda: any(isinstance(e, Resynced) for e in seen))
        assert (await link.action("Ping")).ok
        assert (await link.action("Setvar", Variable="CTI_HEARTBEAT", Value="1")).ok
        with pytest.raises(AmiActionError):
            await link.action_list("DBGet", Family="cti-bench-agents", Key="a1")

        uniqueid = server.new_call("bench-sales", "+33612345678")
        await wait_for(lambda: any(isinstance(e, UserEvent) for e in seen))
        created = next(e for e in seen if isinstance(e, ChannelCreated))
        waiting = next(e for e in seen if isinstance(e, UserEvent))
        assert created.uniqueid == created.linkedid == uniqueid
        assert created.context == "cti-inbound" and created.exten == screenpop.DNIS
        assert waiting.name == "CtiWaiting" and waiting.uniqueid == uniqueid
        assert waiting.fields["CtiQueue"] == "bench-sales"
        assert waiting.fields["CtiTenant"] == screenpop.TENANT
        assert waiting.fields["Channel"] == created.channel

        channels = await link.action_list("CoreShowChannels")
        assert [c["Uniqueid"] for c in channels] == [uniqueid]

        reply = await link.action(
            "Redirect", Channel=created.channel, Context="cti-connect", Exten="1001", Priority=1
        )
        assert reply.ok
        await wait_for(
            lambda: any(isinstance(e, ChannelHungUp) and e.uniqueid == uniqueid for e in seen)
        )
        answer = next(e for e in seen if isinstance(e, DialEnded))
        assert answer.uniqueid == uniqueid and answer.dial_status == "ANSWER"
        result = next(e for e in seen if isinstance(e, UserEvent) and e.name == "CtiOfferResult")
        assert result.fields["CtiDialStatus"] == "ANSWER"
        assert await link.action_list("CoreShowChannels") == []
        with pytest.raises(AmiActionError):
            await link.action("Redirect", Channel="PJSIP/gone", Context="x", Exten="1")
        assert link.stats.malformed == 0
    finally:
        await link.close()
        await server.close()


async def test_a_wrong_secret_is_refused(screenpop: ModuleType) -> None:
    server = screenpop.FakeAsterisk()
    port = await server.start()
    link = AmiLink("127.0.0.1", port, screenpop.AMI_USER, "wrong")
    try:
        await link.start()
        with pytest.raises(AmiAuthError):
            await link.wait_connected(5)
    finally:
        await link.close()
        await server.close()


def test_the_generated_tenant_is_valid(screenpop: ModuleType) -> None:
    config = screenpop.tenant_config(7)
    tenant = config.tenants[0]
    assert len(tenant.agents) == 7
    assert {q.wrapup_max_seconds for q in tenant.queues} == {0}
