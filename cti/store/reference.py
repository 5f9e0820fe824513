"""The configuration's reference data in the store: tenants and their wrap-up codes.

The YAML files stay the source; at start the service mirrors them into `tenants`
and `dispositions` so that reports and other tools reading the database can name
them. A code removed from the configuration is removed here too. The tenant's
`customer_tiers` rules are applied again to every customer without a given tier, so a
rule changed in the file reaches the customers already stored.
"""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.config import PlatformConfig
from cti.store.customers import TenantScope, rederive_tiers
from cti.store.journal import upsert
from cti.store.models import Disposition, Tenant


async def mirror_config(engine: AsyncEngine, config: PlatformConfig) -> None:
    async with engine.begin() as conn:
        tenants = [{"id": t.tenant.id, "name": t.tenant.name} for t in config.tenants]
        await upsert(conn, Tenant.__table__, tenants, ["id"])
        for tenant in config.tenants:
            tid = tenant.tenant.id
            codes = [
                {"tenant_id": tid, "code": d.code, "label": d.label, "resolved_default": d.resolved}
                for d in tenant.dispositions
            ]
            gone = delete(Disposition).where(Disposition.tenant_id == tid)
            if codes:
                gone = gone.where(Disposition.code.not_in([c["code"] for c in codes]))
                await upsert(conn, Disposition.__table__, codes, ["tenant_id", "code"])
            await conn.execute(gone)
    for tenant in config.tenants:
        await rederive_tiers(engine, TenantScope.from_config(tenant))
