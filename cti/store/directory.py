"""The IVR's customer directory over the store (`cti.customers.CustomerDirectory`).

`StoreDirectory` answers for one tenant, so a caller of one client company is
never recognised from another's customers. `StoreDirectories` holds one per
configured tenant; the FastAGI shell picks the one of the tenant the dialed
number belongs to (`directories.for_tenant(tenant.tenant.id)`).

Self-service values (`balance`, ...) are the customer's `fields`; a lookup
can also read back the customer's own `name`, `account`, `tier`, `revenue` or
`language` when no field of that name exists.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from cti.config import PlatformConfig
from cti.store import customers as repo
from cti.store.customers import CustomerRecord, TenantLike, TenantScope, scope_of
from ivr.menu import Customer

COLUMNS = ("name", "account", "tier", "revenue", "language")


def ivr_customer(record: CustomerRecord) -> Customer:
    """What the IVR interpreter keeps of a customer."""
    return Customer(record.id, record.name, record.tier, record.language)


class StoreDirectory:
    """`CustomerDirectory` for one tenant, reading the `customers` tables."""

    def __init__(self, engine: AsyncEngine, tenant: TenantLike) -> None:
        self.engine = engine
        self.scope: TenantScope = scope_of(tenant)

    async def by_phone(self, number: str) -> Customer | None:
        record = await repo.find_by_phone(self.engine, self.scope, number)
        return ivr_customer(record) if record is not None else None

    async def by_account(self, account: str) -> Customer | None:
        record = await repo.find_by_account(self.engine, self.scope, account)
        return ivr_customer(record) if record is not None else None

    async def field(self, customer_id: str, name: str) -> str | None:
        """A named value of the customer, as text; None when it has none (or is empty).

        `customer_id` is what the menu's lookup key gave: the identified customer
        (its id), or else a caller number or an account number keyed in.
        """
        record = await self._resolve(customer_id)
        if record is None:
            return None
        value = record.fields.get(name)
        if value is None and name in COLUMNS:
            value = getattr(record, name)
        if value is None or value == "":
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value)

    async def _resolve(self, key: str) -> CustomerRecord | None:
        key = key.strip()
        if not key:
            return None
        record = await repo.get(self.engine, self.scope, key)
        if record is None:
            record = await repo.find_by_phone(self.engine, self.scope, key)
        if record is None:
            record = await repo.find_by_account(self.engine, self.scope, key)
        return record


class StoreDirectories:
    """One `StoreDirectory` per configured tenant (region and tier rules from the config)."""

    def __init__(self, engine: AsyncEngine, config: PlatformConfig) -> None:
        self.engine = engine
        self._by_tenant = {
            tenant.tenant.id: StoreDirectory(engine, TenantScope.from_config(tenant))
            for tenant in config.tenants
        }

    def for_tenant(self, tenant_id: str) -> StoreDirectory:
        """The tenant's directory; `KeyError` for a tenant the configuration does not know."""
        return self._by_tenant[tenant_id]
