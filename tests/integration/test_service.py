"""`cti serve`'s composition against a real Asterisk and a real Mosquitto."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import aiomqtt
import httpx
import pytest

from cti.ami_events import AmiEvent, UserEvent
from cti.calls import CallEnded
from cti.config import PlatformConfig
from cti.service import Service
from tests.integration.conftest import AsteriskStack, Mosquitto, until

pytestmark = pytest.mark.asterisk


@pytest.fixture
async def service(
    asterisk: AsteriskStack, mosquitto: Mosquitto, example_config: PlatformConfig, tmp_path
) -> AsyncIterator[Service]:
    settings = asterisk.settings.model_copy(
        update={"mqtt_url": mosquitto.url, "database_url": f"sqlite+aiosqlite:///{tmp_path}/c.db"}
    )
    svc = Service(settings, example_config)
    await svc.start()
    await svc.ami.wait_connected(10)
    await until(lambda: svc.bus.connected)
    yield svc
    await svc.stop()


async def get_health(service: Service) -> httpx.Response:
    url = f"http://{service.settings.http_host}:{service.settings.http_port}/health"
    async with httpx.AsyncClient() as client:
        return await client.get(url)


async def test_health_reports_every_part(service: Service, mosquitto: Mosquitto) -> None:
    response = await get_health(service)
    body = response.json()
    assert response.status_code == 200, body
    assert (body["status"], body["ami"], body["database"], body["mqtt"]) == ("ok",) * 4
    assert body["agi"]["listening"] is True
    mosquitto.stop()
    await until(lambda: not service.bus.connected)
    response = await get_health(service)
    assert response.status_code == 503
    assert response.json()["mqtt"].startswith("down")
    assert response.json()["ami"] == "ok"


async def test_inbound_call_goes_through_our_agi_to_the_tenant_queue(service: Service) -> None:
    waiting: list[UserEvent] = []

    def on_event(event: AmiEvent) -> None:
        if isinstance(event, UserEvent) and event.name == "CtiWaiting":
            waiting.append(event)

    service.ami.subscribe(on_event)
    requests_before = service.agi.stats.requests
    await service.ami.originate(
        "Local/5001@cti-inbound",
        context="cti-sim-caller",
        exten="1",
        caller_id='"A" <+33611111111>',
        variables={"SIM_HOLD": "2"},
    )
    await until(lambda: bool(waiting))
    assert waiting[0].fields["CtiQueue"] == "acme-sales"
    assert waiting[0].fields["CtiTenant"] == "acme"
    assert service.agi.stats.requests == requests_before + 1
    await until(
        lambda: any(
            isinstance(c, CallEnded) and c.ani == "+33611111111" for c in service.call_changes
        )
    )


async def test_unknown_number_is_refused_by_the_dialplan(service: Service) -> None:
    await service.ami.originate(
        "Local/9999@cti-inbound",
        context="cti-sim-caller",
        exten="s",
        caller_id='"B" <+33622222222>',
        variables={"SIM_HOLD": "20"},
    )
    await until(
        lambda: any(
            isinstance(c, CallEnded) and c.ani == "+33622222222" for c in service.call_changes
        ),
        timeout=15,
    )
    ended = next(
        c for c in service.call_changes if isinstance(c, CallEnded) and c.ani == "+33622222222"
    )
    assert ended.dnis == "9999" and ended.duration_seconds < 10


async def test_call_events_are_published_on_mqtt(service: Service, mosquitto: Mosquitto) -> None:
    """Under the tenant's prefix: a call's domain events, from arrival to hang-up."""
    async with aiomqtt.Client("127.0.0.1", mosquitto.port) as client:
        await client.subscribe("cti/acme/calls/#")
        await client.subscribe("cti/calls/#")  # nothing tenant-less goes out any more
        await service.ami.originate(
            "Local/5000@cti-inbound",
            context="cti-sim-caller",
            exten="1",
            caller_id='"C" <+33633333333>',
            variables={"SIM_HOLD": "1"},
        )
        kinds: list[str] = []
        async with asyncio.timeout(15):
            async for message in client.messages:
                assert str(message.topic).startswith("cti/acme/calls/")
                payload = json.loads(bytes(message.payload))  # type: ignore[arg-type]
                if payload["data"].get("ani") == "+33633333333" or kinds:
                    kinds.append(payload["event"])
                if {"call.hungup", "call.finished"} <= set(kinds):
                    break
    assert kinds[:3] == ["call.arrived", "ivr.finished", "call.queued"]
    assert {"call.hungup", "call.finished"} == set(kinds[3:])  # the caller gave up waiting


async def test_heartbeat_reaches_the_dialplan(service: Service, asterisk: AsteriskStack) -> None:
    out = asterisk.process.cli("dialplan show globals")
    stamp = int(out.split("CTI_HEARTBEAT=")[1].split()[0])
    assert abs(stamp - time.time()) < 15


async def test_garbage_on_the_fastagi_port_is_rejected(service: Service) -> None:
    before = service.agi.stats.rejected
    for payload in (b"GET / HTTP/1.1\r\n\r\n", b"agi_network_script: x\n" * 2000, b""):
        _, writer = await asyncio.open_connection(
            service.settings.agi_host, service.settings.agi_port
        )
        writer.write(payload)
        await writer.drain()
        writer.close()
    await until(lambda: service.agi.stats.rejected == before + 3)
    response = await get_health(service)
    assert response.json()["agi"]["listening"] is True
