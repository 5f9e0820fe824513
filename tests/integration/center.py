"""A service on its own test Asterisk, and the helpers the live stories share."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from acd import OfferCall, PlaceCallback
from acd.runner import AcdRunner
from cti.config import PlatformConfig, TenantConfig
from cti.service import Service
from tests.integration.conftest import AsteriskStack, until


def fast_config(example: PlatformConfig, **queue_changes: Any) -> PlatformConfig:
    """The example with short timers so the stories run in seconds."""
    tenant = example.tenants[0]
    base = {"ring_timeout_seconds": 5, "wrapup_max_seconds": 2, "announce_every_seconds": None}
    data = tenant.model_dump()
    data["queues"] = [{**q, **base, **queue_changes.get(q["id"], {})} for q in data["queues"]]
    return PlatformConfig(tenants=(TenantConfig.model_validate(data),))


class Center:
    """A service on its own Asterisk, with helpers to place calls and tune phones."""

    def __init__(self, stack: AsteriskStack, service: Service) -> None:
        self.stack = stack
        self.service = service
        self.acd: AcdRunner = service.acd["acme"]
        self.calls = 0

    async def phone(self, extension: str, ring: str = "1", talk: str = "2") -> None:
        await self.service.ami.action("Setvar", Variable=f"SIM_RING_{extension}", Value=ring)
        await self.service.ami.action("Setvar", Variable=f"SIM_TALK_{extension}", Value=talk)

    async def call(
        self, dnis: str = "5000", hold: int = 40, keys: str = "1", caller: str | None = None
    ) -> str:
        """Place a caller who presses `keys` in the IVR (1: sales); returns the call id
        the ACD gives it (its channel's uniqueid)."""
        known = set(self.acd.legs) | set(self.acd.stats.outcomes)
        self.calls += 1
        await self.service.ami.originate(
            f"Local/{dnis}@cti-inbound",
            context="cti-sim-caller",
            exten=keys,
            caller_id=f'"Caller" <{caller or f"+3360000{self.calls:04d}"}>',
            variables={"SIM_HOLD": str(hold)},
        )
        await until(lambda: bool(set(self.acd.legs) - known))
        (call_id,) = set(self.acd.legs) - known
        return call_id

    def outcome(self, call_id: str) -> str | None:
        return self.acd.stats.outcomes.get(call_id)

    def offers(self, call_id: str) -> list[str]:
        return [
            c.agent_id
            for c in self.acd.history
            if isinstance(c, OfferCall | PlaceCallback) and c.call_id == call_id
        ]


@pytest.fixture
async def center_factory(
    asterisk_factory: Callable[..., AsteriskStack], example_config: PlatformConfig, tmp_path: Path
) -> AsyncIterator[Callable[..., Any]]:
    made: list[Service] = []

    async def make(config: PlatformConfig | None = None) -> Center:
        config = config or fast_config(example_config)
        stack = asterisk_factory(config)
        settings = stack.settings.model_copy(
            update={
                "database_url": f"sqlite+aiosqlite:///{tmp_path}/{len(made)}.db",
                "queue_log_path": tmp_path / f"{len(made)}.queue_log",  # its own, not var/
            }
        )
        service = Service(settings, config)
        made.append(service)
        await service.start()
        await service.ami.wait_connected(10)
        return Center(stack, service)

    yield make
    for service in made:
        await stop_or_explain(service)


async def stop_or_explain(service: Service, within: float = 60.0) -> None:
    """Stop the service; if it does not stop in time, fail with every task's stack
    (a hang here would otherwise cost the suite's whole timeout and say nothing)."""
    try:
        await asyncio.wait_for(service.stop(), within)
    except TimeoutError:
        stacks = []
        for task in asyncio.all_tasks():
            out = io.StringIO()
            task.print_stack(file=out)
            stacks.append(f"{task.get_name()}:\n{out.getvalue()}")
        pytest.fail(f"the service did not stop within {within:.0f} s:\n" + "\n".join(stacks))


@pytest.fixture
async def center(center_factory: Callable[..., Any]) -> Center:
    return await center_factory()  # type: ignore[no-any-return]
