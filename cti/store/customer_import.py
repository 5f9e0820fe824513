"""Importing customers from a CSV file into the store (`cti customers import`).

1. **Mapping.** Each CSV column goes to a customer field: `id, name, phone,
   account, tier, revenue, language, timezone, notes`; obvious header names
   are recognised (`customer_id`, `Phone number`, `Account No`, ...), any
   other column becomes a self-service field (`fields.<column>`, e.g.
   `balance`), and `--map column=field` overrides (`field` may be
   `fields.<name>` or `-` to leave the column out). Several columns may feed
   `phone`; one cell may hold several numbers separated by `;`, `,` or `|`.
2. **Reading.** Each row is checked on its own: numbers normalised to E.164
   in the tenant's region, tier, revenue, language. A bad row is rejected
   with its line number and the reason; the others go on.
3. **Merging.** Rows are taken in file order. A row belongs to the customer
   with its id, or else with its account number or one of its phone numbers,
   in the file or already in the store; rows of the same customer are merged
   (phones unioned, later non-empty values win). A row that would join two
   different customers is rejected rather than guessed at.
4. **Writing**, in one transaction, only what changes: importing the same
   file twice changes nothing the second time.
"""

from __future__ import annotations

import csv
import re
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import insert, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cti.store.customers import (
    CUSTOMER_ID,
    LANGUAGE,
    MAX_TIER,
    CustomerRecord,
    InvalidPhone,
    TenantLike,
    TenantScope,
    derive_tier,
    normalise_phone,
    phones_by_customer,
    scope_of,
    to_record,
)
from cti.store.models import Customer, CustomerPhone

FIELDS = ("id", "name", "phone", "account", "tier", "revenue", "language", "timezone", "notes")
SKIP = "-"
EXTRA_PREFIX = "fields."

# Header names (lower case, spaces and dashes as '_') read as a field without a --map.
ALIASES: dict[str, str] = {
    **{name: name for name in FIELDS},
    "customer_id": "id",
    "customer": "id",
    "client_id": "id",
    "customer_number": "id",
    "full_name": "name",
    "customer_name": "name",
    "client_name": "name",
    "nom": "name",
    "phones": "phone",
    "phone_number": "phone",
    "phone_numbers": "phone",
    "telephone": "phone",
    "tel": "phone",
    "mobile": "phone",
    "mobile_phone": "phone",
    "cell": "phone",
    "account_number": "account",
    "account_no": "account",
    "account_id": "account",
    "value_tier": "tier",
    "annual_revenue": "revenue",
    "lang": "language",
    "locale": "language",
    "tz": "timezone",
    "time_zone": "timezone",
    "note": "notes",
    "comment": "notes",
    "comments": "notes",
}
PHONE_SPLIT = re.compile(r"[;,|]")


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (unreadable, no header, a bad --map)."""


@dataclass(frozen=True, slots=True)
class Rejected:
    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class Row:
    """One checked CSV row: empty cells are None (they never overwrite)."""

    line: int
    id: str | None = None
    name: str | None = None
    account: str | None = None
    phones: tuple[str, ...] = ()
    tier: int | None = None
    revenue: float | None = None
    language: str | None = None
    timezone: str | None = None
    notes: str | None = None
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    rows: int = 0
    dry_run: bool = False
    mapping: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        verb = "would be " if self.dry_run else ""
        return (
            f"{self.rows} row(s): {verb}created {self.created}, {verb}updated {self.updated}, "
            f"unchanged {self.unchanged}, merged {self.merged}, rejected {len(self.rejected)}"
        )


# --- mapping -----------------------------------------------------------------------------------


def header_key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def parse_map_args(items: Iterable[str]) -> dict[str, str]:
    """`["Tel=phone", "Solde=fields.balance"]` -> `{"Tel": "phone", "Solde": "fields.balance"}`."""
    result: dict[str, str] = {}
    for item in items:
        column, sep, target = item.partition("=")
        if not sep or not column.strip() or not target.strip():
            raise ImportFileError(f"--map {item!r}: expected csv_column=field")
        result[column.strip()] = target.strip()
    return result


def build_mapping(headers: Sequence[str], overrides: Mapping[str, str]) -> dict[str, str]:
    """CSV column -> field (`id`, ..., `fields.<name>` or `-`)."""
    unknown = [column for column in overrides if column not in headers]
    if unknown:
        raise ImportFileError(
            f"--map: no column {unknown[0]!r} in the file (columns: {', '.join(headers)})"
        )
    mapping: dict[str, str] = {}
    for column in headers:
        target = overrides.get(column)
        if target is None:
            target = ALIASES.get(header_key(column), EXTRA_PREFIX + column.strip())
        elif target not in FIELDS and target != SKIP:
            if not target.startswith(EXTRA_PREFIX) or target == EXTRA_PREFIX:
                raise ImportFileError(
                    f"--map {column}={target}: the field must be one of {', '.join(FIELDS)}, "
                    f"fields.<name> or {SKIP!r}"
                )
        mapping[column] = target
    for target in FIELDS:
        columns = [c for c, t in mapping.items() if t == target]
        if target != "phone" and len(columns) > 1:
            raise ImportFileError(
                f"columns {', '.join(map(repr, columns))} all map to {target!r}: "
                f"use --map to leave all but one out ({columns[1]}=-)"
            )
    return mapping


# --- reading -----------------------------------------------------------------------------------


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def read_csv(
    path: Path, tenant: TenantLike, overrides: Mapping[str, str] | None = None
) -> tuple[dict[str, str], list[Row], list[Rejected]]:
    """The mapping, the good rows and the rejected ones of a CSV file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path} is not UTF-8 text: {exc.reason}") from exc
    return parse_csv(text.splitlines(keepends=True), tenant, overrides or {})


def parse_csv(
    lines: Sequence[str], tenant: TenantLike, overrides: Mapping[str, str]
) -> tuple[dict[str, str], list[Row], list[Rejected]]:
    scope = scope_of(tenant)
    if not lines or not lines[0].strip():
        raise ImportFileError("the file is empty: the first line must name the columns")
    reader = csv.reader(lines, delimiter=_delimiter(lines[0]))
    headers = [h.strip() for h in next(reader)]
    if len(set(headers)) != len(headers) or not all(headers):
        raise ImportFileError("the header line has an empty or repeated column name")
    mapping = build_mapping(headers, overrides)
    rows: list[Row] = []
    rejected: list[Rejected] = []
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            rejected.append(Rejected(line, f"unreadable CSV: {exc}"))
            break
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(headers):
            rejected.append(
                Rejected(line, f"{len(cells)} cells for {len(headers)} columns (a stray quote?)")
            )
            continue
        try:
            rows.append(check_row(line, dict(zip(headers, cells, strict=False)), mapping, scope))
        except ValueError as exc:
            rejected.append(Rejected(line, str(exc)))
    return mapping, rows, rejected


def check_row(
    line: int, cells: Mapping[str, str], mapping: Mapping[str, str], scope: TenantScope
) -> Row:
    """One row's values, checked; `ValueError` with the reason when it cannot be imported."""
    values: dict[str, Any] = {}
    phones: dict[str, None] = {}
    extra: dict[str, str] = {}
    for column, raw in cells.items():
        target, text = mapping[column], (raw or "").strip()
        if not text or target == SKIP:
            continue
        if target == "phone":
            for part in PHONE_SPLIT.split(text):
                if part.strip():
                    try:
                        phones[normalise_phone(part, scope.region)] = None
                    except InvalidPhone as exc:
                        raise ValueError(f"{column}: {exc}") from exc
        elif target.startswith(EXTRA_PREFIX):
            extra[target[len(EXTRA_PREFIX) :]] = text
        else:
            values[target] = _value(column, target, text)
    if not (values.get("id") or values.get("account") or phones):
        raise ValueError("nothing identifies the customer: no id, account or phone number")
    return Row(line=line, phones=tuple(phones), fields=extra, **values)


def _decimal(text: str) -> str:
    """`1 250,50`, `1.250,50`, `1,250.50` -> `1250.50`: the last of `,` `.` is the decimal point."""
    text = re.sub(r"[\s\u00a0\u202f']", "", text)
    if "," in text and "." in text:
        thousands = "," if text.rfind(".") > text.rfind(",") else "."
        text = text.replace(thousands, "")
    if text.count(",") == 1:
        return text.replace(",", ".")
    return text.replace(",", "")


def _value(column: str, target: str, text: str) -> Any:
    if target == "id" and not CUSTOMER_ID.match(text):
        raise ValueError(f"{column}: {text!r} is not a usable customer id")
    if target == "tier":
        if not text.isdigit() or int(text) > MAX_TIER:
            raise ValueError(f"{column}: tier {text!r} is not a whole number 0..{MAX_TIER}")
        return int(text)
    if target == "revenue":
        try:
            revenue = float(_decimal(text))
        except ValueError:
            raise ValueError(f"{column}: revenue {text!r} is not a number") from None
        if not revenue >= 0 or revenue == float("inf"):
            raise ValueError(f"{column}: revenue {text!r} must be a number >= 0")
        return revenue
    if target == "language":
        if not LANGUAGE.match(text):
            raise ValueError(f"{column}: language {text!r}: expected e.g. 'fr' or 'en_GB'")
        return text
    limits = {"id": 64, "name": 200, "account": 64, "timezone": 64}
    if target in limits and len(text) > limits[target]:
        raise ValueError(f"{column}: longer than {limits[target]} characters")
    return text


# --- merging -----------------------------------------------------------------------------------

_SCALARS = ("name", "account", "revenue", "language", "timezone", "notes")


@dataclass
class _Target:
    id: str
    existing: CustomerRecord | None
    values: dict[str, Any]
    phones: dict[str, str | None]
    lines: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, record: CustomerRecord) -> _Target:
        values = {name: getattr(record, name) for name in (*_SCALARS, "tier", "tier_given")}
        values["fields"] = dict(record.fields)
        return cls(record.id, record, values, {p.number: p.label for p in record.phones})


@dataclass
class _Index:
    by_id: dict[str, _Target] = field(default_factory=dict)
    by_account: dict[str, _Target] = field(default_factory=dict)
    by_phone: dict[str, _Target] = field(default_factory=dict)

    def add(self, target: _Target) -> None:
        self.by_id[target.id] = target
        if target.values.get("account"):
            self.by_account[target.values["account"]] = target
        for number in target.phones:
            self.by_phone[number] = target


async def _existing(
    conn: AsyncConnection, tenant_id: str, rows: Sequence[Row]
) -> list[CustomerRecord]:
    """The stored customers any row could belong to (by id, account or phone)."""
    ids = sorted({r.id for r in rows if r.id})
    accounts = sorted({r.account for r in rows if r.account})
    numbers = sorted({n for r in rows for n in r.phones})
    found: dict[str, Any] = {}
    for column, keys in ((Customer.id, ids), (Customer.account, accounts), (None, numbers)):
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            if column is None:
                owners = select(CustomerPhone.customer_id).where(
                    CustomerPhone.tenant_id == tenant_id, CustomerPhone.number.in_(chunk)
                )
                where: Any = Customer.id.in_(owners)
            else:
                where = column.in_(chunk)
            result = await conn.execute(
                select(Customer.__table__).where(Customer.tenant_id == tenant_id, or_(where))
            )
            for row in result:
                found[row.id] = row
    phones = await phones_by_customer(conn, tenant_id, sorted(found))
    return [to_record(row, phones.get(cid, [])) for cid, row in sorted(found.items())]


def _owner_of(row: Row, index: _Index) -> _Target | str | None:
    """The target the row belongs to, None for a new customer, or why it is ambiguous."""
    claims: list[tuple[str, _Target]] = []
    if row.account and row.account in index.by_account:
        claims.append((f"account {row.account}", index.by_account[row.account]))
    claims += [(f"phone {n}", index.by_phone[n]) for n in row.phones if n in index.by_phone]
    if row.id:
        own = index.by_id.get(row.id)
        for what, target in claims:
            if target is not own:
                return f"id {row.id} but {what} is customer {target.id}'s"
        return own
    owners = {id(target): (what, target) for what, target in claims}
    if len(owners) > 1:
        (what_a, a), (what_b, b) = list(owners.values())[:2]
        return f"{what_a} is customer {a.id}'s but {what_b} is customer {b.id}'s"
    return claims[0][1] if claims else None


def _merge(target: _Target, row: Row, index: _Index) -> None:
    for name in _SCALARS:
        value = getattr(row, name)
        if value is not None:
            if name == "account" and target.values.get("account") not in (None, value):
                index.by_account.pop(target.values["account"], None)
            target.values[name] = value
    if row.tier is not None:
        target.values["tier"], target.values["tier_given"] = row.tier, True
    target.values["fields"].update(row.fields)
    for number in row.phones:
        target.phones.setdefault(number, None)
    target.lines.append(row.line)
    index.add(target)


def plan(
    rows: Sequence[Row], existing: Sequence[CustomerRecord], report: ImportReport
) -> list[_Target]:
    """Assign every row to a customer (rejecting the ambiguous), in file order."""
    index = _Index()
    for record in existing:
        index.add(_Target.of(record))
    touched: dict[str, _Target] = {}
    for row in rows:
        owner = _owner_of(row, index)
        if isinstance(owner, str):
            report.rejected.append(Rejected(row.line, owner))
            continue
        if owner is None:
            if not row.name:
                report.rejected.append(Rejected(row.line, "a new customer needs a name"))
                continue
            values: dict[str, Any] = {name: None for name in _SCALARS}
            values.update(tier=0, tier_given=False, fields={})
            owner = _Target(row.id or uuid.uuid4().hex[:16], None, values, {})
        if owner.lines:
            report.merged += 1
        _merge(owner, row, index)
        touched[owner.id] = owner
    return list(touched.values())


# --- writing -----------------------------------------------------------------------------------


async def import_rows(
    engine: AsyncEngine,
    tenant: TenantLike,
    rows: Sequence[Row],
    *,
    dry_run: bool = False,
    report: ImportReport | None = None,
) -> ImportReport:
    """Merge checked rows into the tenant's customers, in one transaction."""
    scope = scope_of(tenant)
    report = report if report is not None else ImportReport()
    report.dry_run = dry_run
    now = time.time()
    async with engine.begin() as conn:
        targets = plan(rows, await _existing(conn, scope.tenant_id, rows), report)
        new_customers: list[dict[str, Any]] = []
        new_phones: list[dict[str, Any]] = []
        for target in targets:
            values = dict(target.values)
            if not values["tier_given"]:
                values["tier"] = derive_tier(scope.tiers, values["revenue"])
            before = target.existing
            added = [n for n in target.phones if before is None or n not in _numbers(before)]
            new_phones += [
                {"tenant_id": scope.tenant_id, "number": n, "customer_id": target.id} for n in added
            ]
            if before is None:
                report.created += 1
                new_customers.append(
                    {"tenant_id": scope.tenant_id, "id": target.id, "created_at": now}
                    | {"updated_at": now}
                    | values
                )
                continue
            changed = {k: v for k, v in values.items() if getattr(before, k) != v}
            if not changed and not added:
                report.unchanged += 1
                continue
            report.updated += 1
            if not dry_run:
                await conn.execute(
                    sql_update(Customer)
                    .where(Customer.tenant_id == scope.tenant_id, Customer.id == target.id)
                    .values(updated_at=now, **changed)
                )
        if not dry_run:
            if new_customers:
                await conn.execute(insert(Customer), new_customers)
            if new_phones:
                await conn.execute(insert(CustomerPhone), new_phones)
    report.rejected.sort(key=lambda r: r.line)
    return report


def _numbers(record: CustomerRecord) -> set[str]:
    return {phone.number for phone in record.phones}


async def import_file(
    engine: AsyncEngine,
    tenant: TenantLike,
    path: Path,
    overrides: Mapping[str, str] | None = None,
    *,
    dry_run: bool = False,
) -> ImportReport:
    """Read, check, merge and write a CSV file of customers (see the module's docstring)."""
    mapping, rows, rejected = read_csv(path, tenant, overrides)
    report = ImportReport(rows=len(rows) + len(rejected), mapping=mapping, rejected=rejected)
    return await import_rows(engine, tenant, rows, dry_run=dry_run, report=report)


__all__ = [
    "ALIASES",
    "FIELDS",
    "ImportFileError",
    "ImportReport",
    "Rejected",
    "Row",
    "build_mapping",
    "check_row",
    "import_file",
    "import_rows",
    "parse_csv",
    "parse_map_args",
    "plan",
    "read_csv",
]
