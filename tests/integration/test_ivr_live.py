"""The IVR on a real Asterisk: callers press keys (SendDTMF) and land where the menu says."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from acd import CallState
from cti.ami_events import AmiEvent, UserEvent
from cti.config import PlatformConfig
from cti.prompts import build_prompts
from cti.service import Service
from cti.store.customer_import import import_file
from cti.store.customers import TenantScope
from tests.integration.center import Center
from tests.integration.conftest import AsteriskStack, until

pytestmark = pytest.mark.asterisk
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def service(
    asterisk: AsteriskStack, example_config: PlatformConfig, tmp_path: Path
) -> AsyncIterator[Service]:
    build_prompts(example_config, tmp_path / "prompts")
    settings = asterisk.settings.model_copy(
        update={
            "database_url": f"sqlite+aiosqlite:///{tmp_path}/c.db",
            "config_dir": ROOT / "config",
            "prompts_dir": tmp_path / "prompts",
        }
    )
    svc = Service(settings, example_config)
    await svc.start()
    scope = TenantScope.from_config(example_config.tenants[0])
    report = await import_file(svc.engine, scope, ROOT / "config" / "customers.csv")
    assert report.created == 3 and not report.rejected
    await svc.ami.wait_connected(10)
    yield svc
    await svc.stop()


async def dial(service: Service, ani: str, keys: str) -> UserEvent:
    """Call 5000 from `ani`, press `keys`; returns the caller's CtiWaiting event."""
    waiting: list[UserEvent] = []

    def on_event(event: AmiEvent) -> None:
        if (
            isinstance(event, UserEvent)
            and event.name == "CtiWaiting"
            and event.fields.get("CallerIDNum") == ani
        ):
            waiting.append(event)

    unsubscribe = service.ami.subscribe(on_event)
    await service.ami.originate(
        "Local/5000@cti-inbound",
        context="cti-sim-caller",
        exten=keys,
        caller_id=f'"Caller" <{ani}>',
        variables={"SIM_HOLD": "25"},
    )
    try:
        await until(lambda: bool(waiting), timeout=40)
    finally:
        unsubscribe()
    return waiting[0]


async def test_known_caller_is_identified_by_number_and_chooses_sales(service: Service) -> None:
    event = await dial(service, "+33612345305", "1")
    fields = event.fields
    assert fields["CtiQueue"] == "acme-sales"
    assert (fields["CtiCustomer"], fields["CtiTier"], fields["CtiLanguage"]) == ("C001", "3", "fr")
    assert fields["CtiPath"] == "welcome>hours>who>main>to_sales"
    timeline = service.ivr_sessions[event.uniqueid].timeline
    assert ("main", "menu", "pressed 1") in [(s.node, s.kind, s.detail) for s in timeline]


async def test_unknown_caller_keys_an_account_number_and_hears_the_balance(
    service: Service,
) -> None:
    event = await dial(service, "+33699000001", "379927398713#")
    fields = event.fields
    assert fields["CtiPath"] == "welcome>hours>who>main>account>by_account>balance>to_sales"
    assert fields["CtiCustomer"] == "C001"
    steps = [(s.kind, s.detail) for s in service.ivr_sessions[event.uniqueid].timeline]
    assert ("collect", "account=79927398713") in steps
    assert ("lookup", "balance=1250") in steps


async def test_caller_asking_for_a_callback_keeps_a_place_and_leaves(service: Service) -> None:
    event = await dial(service, "+33699000002", "9")
    assert event.fields["CtiCallback"] == "+33699000002"
    runner = service.acd["acme"]
    await until(lambda: event.uniqueid not in runner.legs)  # the caller's line is released
    assert runner.router.call_state(event.uniqueid) == CallState.CALLBACK_WAITING
    assert runner.router.position(event.uniqueid) is not None  # but the place is kept


async def test_a_menu_choice_asks_for_a_skill_and_the_router_honours_it(center: Center) -> None:
    """Pressing 4 queues for sales needing French (level 3+): Bob, free but without French,
    is passed over; the call waits for Alice. A plain sales call goes to Bob at once."""
    for ext in ("1001", "1002"):
        await center.phone(ext, ring="1", talk="1")
    center.acd.login("bob")
    center.acd.ready("bob")
    french = await center.call(keys="4")
    await asyncio.sleep(2)
    assert center.offers(french) == []  # waiting, though Bob is ready
    plain = await center.call(keys="1")
    await until(lambda: center.offers(plain) == ["bob"])
    center.acd.login("alice")
    center.acd.ready("alice")
    await until(lambda: center.offers(french) == ["alice"])
