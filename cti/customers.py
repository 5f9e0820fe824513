"""Where the IVR finds customers: a directory interface and a CSV-backed one.

`CustomerDirectory` is what the IVR shell asks (by caller number or by account
number) and what self-service lookups read. `CsvDirectory` loads
`<config_dir>/customers.csv` (columns `id,name,phone,account,tier,language`,
any further column is a self-service field such as `balance`). The database
store replaces it with the same interface.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from cti.errors import ConfigError
from ivr.menu import Customer
from reports.kpis import normalise_number


class CustomerDirectory(Protocol):
    async def by_phone(self, number: str) -> Customer | None: ...
    async def by_account(self, account: str) -> Customer | None: ...
    async def field(self, customer_id: str, name: str) -> str | None: ...


@dataclass
class CsvDirectory:
    customers: dict[str, Customer] = field(default_factory=dict)
    phones: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=dict)
    fields: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> CsvDirectory:
        directory = cls()
        if not path.exists():
            return directory
        with path.open(newline="", encoding="utf-8") as handle:
            for line, row in enumerate(csv.DictReader(handle), start=2):
                directory._add(path, line, row)
        return directory

    def _add(self, path: Path, line: int, row: dict[str, str]) -> None:
        try:
            customer = Customer(
                row["id"], row["name"], int(row.get("tier") or 0), row.get("language") or None
            )
        except (KeyError, ValueError) as exc:
            raise ConfigError(path, line, f"bad customer row: {exc}") from exc
        self.customers[customer.customer_id] = customer
        for number in (row.get("phone") or "").split(";"):
            if (normalised := normalise_number(number)) is not None:
                self.phones[normalised] = customer.customer_id
        if row.get("account"):
            self.accounts[row["account"].strip()] = customer.customer_id
        known = {"id", "name", "phone", "account", "tier", "language"}
        self.fields[customer.customer_id] = {k: v for k, v in row.items() if k not in known}

    async def by_phone(self, number: str) -> Customer | None:
        customer_id = self.phones.get(normalise_number(number) or "")
        return self.customers.get(customer_id) if customer_id else None

    async def by_account(self, account: str) -> Customer | None:
        customer_id = self.accounts.get(account)
        return self.customers.get(customer_id) if customer_id else None

    async def field(self, customer_id: str, name: str) -> str | None:
        value = self.fields.get(customer_id, {}).get(name)
        return value if value not in (None, "") else None
