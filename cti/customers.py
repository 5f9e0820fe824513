"""Where the IVR finds customers: the directory interface it asks.

`CustomerDirectory` is what the IVR shell asks (by caller number or by account
number) and what self-service lookups read; `cti.store.directory.StoreDirectory`
answers it from the store, one tenant at a time. Customers get into the store
with `cti customers import FILE.csv` (`cti.store.customer_import`).
"""

from __future__ import annotations

from typing import Protocol

from ivr.menu import Customer


class CustomerDirectory(Protocol):
    async def by_phone(self, number: str) -> Customer | None: ...
    async def by_account(self, account: str) -> Customer | None: ...
    async def field(self, customer_id: str, name: str) -> str | None: ...
