"""The configuration's tenants and wrap-up codes mirrored into the store."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.config import PlatformConfig, TenantConfig
from cti.store.models import Disposition, Tenant
from cti.store.reference import mirror_config


async def codes(engine: AsyncEngine) -> list[tuple[str, str, bool | None]]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(Disposition).order_by(Disposition.code))
        return [(r.code, r.label, r.resolved_default) for r in rows]


async def test_codes_follow_the_configuration(
    store_engine: AsyncEngine, example_config: PlatformConfig
) -> None:
    await mirror_config(store_engine, example_config)
    assert ("sale", "Sale made", True) in await codes(store_engine)
    data = example_config.tenants[0].model_dump()
    data["dispositions"] = [{"code": "sale", "label": "Sold", "resolved": True}]
    changed = PlatformConfig(tenants=(TenantConfig.model_validate(data),))
    await mirror_config(store_engine, changed)
    await mirror_config(store_engine, changed)  # idempotent
    assert await codes(store_engine) == [("sale", "Sold", True)]
    async with store_engine.connect() as conn:
        names = [(r.id, r.name) for r in await conn.execute(select(Tenant))]
    assert names == [("acme", example_config.tenants[0].tenant.name)]
