"""The configuration's tenants and wrap-up codes mirrored into the store."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.config import PlatformConfig, TenantConfig
from cti.store import customers
from cti.store.customers import TenantScope
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


async def test_changed_tier_rules_reach_the_stored_customers(
    store_engine: AsyncEngine, example_config: PlatformConfig
) -> None:
    tenant = example_config.tenants[0]
    scope = TenantScope.from_config(tenant)
    await customers.create(store_engine, scope, id="R1", name="Rich", revenue=9e6)
    await customers.create(store_engine, scope, id="G1", name="Given", revenue=9e6, tier=1)
    data = tenant.model_dump()
    data["customer_tiers"] = [{"min_revenue": 1e6, "tier": 7}]
    await mirror_config(
        store_engine, PlatformConfig(tenants=(TenantConfig.model_validate(data),))
    )
    rich = await customers.get(store_engine, scope, "R1")
    given = await customers.get(store_engine, scope, "G1")
    assert rich is not None and rich.tier == 7  # derived: follows the new rule
    assert given is not None and given.tier == 1  # given: kept
