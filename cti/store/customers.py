"""Customers in the store: the repository the IVR, the importer and the REST API share.

Every function takes the tenant (a `TenantScope`, or a bare tenant id for the
defaults) and reads or writes only that tenant's rows. Phone numbers are kept
in E.164 (`+33612345305`), normalised with `phonenumbers` in the tenant's
default region; a number that is not a valid phone number is refused with the
reason (`InvalidPhone`). A number belongs to at most one customer of a tenant.

The value tier is either given (`tier_given = True`) or derived from the
revenue by the tenant's `customer_tiers` rules (`derive_tier`); a derived tier
follows the revenue on every write, and `rederive_tiers` re-applies changed
rules to every customer of the tenant.

`contact_history` is what the agent's screen pops: the customer's previous
calls (with the survey score) and their open callbacks, in one query.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from sqlalchemy import (
    Boolean,
    CompoundSelect,
    Float,
    Integer,
    String,
    Text,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cti.store.calls import OPEN_CALLBACK
from cti.store.models import Call, Callback, Customer, CustomerPhone, Survey

if TYPE_CHECKING:
    from cti.config import TenantConfig, TierRule

DEFAULT_REGION = "FR"
OPEN_CALLBACK_STATES = OPEN_CALLBACK  # acd.callback_life
CUSTOMER_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:@-]{0,63}$")
LANGUAGE = re.compile(r"^[a-z]{2}(_[A-Z]{2})?$")
MAX_TIER = 9
MAX_PAGE = 500

# The customer's own columns a partial update may change (phones have their own calls).
UPDATABLE = frozenset(
    {"name", "account", "tier", "revenue", "language", "timezone", "notes", "fields"}
)


# --- errors -----------------------------------------------------------------------------------


class CustomerError(ValueError):
    """A customer write was refused; the message says why, in words an operator can act on."""


class InvalidPhone(CustomerError):
    def __init__(self, raw: str, reason: str) -> None:
        self.raw, self.reason = raw, reason
        super().__init__(f"invalid phone number {raw!r}: {reason}")


class InvalidCustomer(CustomerError):
    """A field has a value the store cannot keep (empty name, tier out of range, ...)."""


class DuplicateCustomer(CustomerError):
    """The id, or the account number, is already another customer's."""


class PhoneTaken(CustomerError):
    def __init__(self, number: str, owner: str) -> None:
        self.number, self.owner = number, owner
        super().__init__(f"phone number {number} already belongs to customer {owner}")


# --- the tenant ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tier:
    """One `customer_tiers` rule: revenue at least `min_revenue` -> `tier`."""

    min_revenue: float
    tier: int


@dataclass(frozen=True, slots=True)
class TenantScope:
    """Whose customers, how their numbers read, how their tier follows revenue."""

    tenant_id: str
    region: str = DEFAULT_REGION
    tiers: tuple[Tier, ...] = ()

    @classmethod
    def from_config(cls, tenant: TenantConfig) -> TenantScope:
        rules: Sequence[TierRule] = tenant.customer_tiers
        return cls(
            tenant.tenant.id,
            tenant.tenant.region,
            tuple(Tier(rule.min_revenue, rule.tier) for rule in rules),
        )


TenantLike = TenantScope | str


def scope_of(tenant: TenantLike) -> TenantScope:
    return tenant if isinstance(tenant, TenantScope) else TenantScope(tenant)


def derive_tier(rules: Iterable[Tier], revenue: float | None) -> int:
    """The highest tier whose threshold the revenue reaches; 0 without revenue or rules."""
    if revenue is None:
        return 0
    reached = [rule.tier for rule in rules if revenue >= rule.min_revenue]
    return max(reached, default=0)


# --- phone numbers ------------------------------------------------------------------------------

_POSSIBLE_REASONS = {
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "unknown country code",
    phonenumbers.ValidationResult.TOO_SHORT: "too short",
    phonenumbers.ValidationResult.TOO_LONG: "too long",
    phonenumbers.ValidationResult.INVALID_LENGTH: "wrong length for its country",
}


def normalise_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """`raw` in E.164; national numbers read in `region`. `InvalidPhone` says what is wrong."""
    text = raw.strip()
    if not text:
        raise InvalidPhone(raw, "empty")
    if re.search(r"[A-Za-z]", text):
        raise InvalidPhone(raw, "contains letters")
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(raw, _parse_reason(exc)) from exc
    possible = phonenumbers.is_possible_number_with_reason(parsed)
    if possible in _POSSIBLE_REASONS:
        raise InvalidPhone(raw, _POSSIBLE_REASONS[possible])
    if not phonenumbers.is_valid_number(parsed):
        where = phonenumbers.region_code_for_number(parsed) or f"+{parsed.country_code}"
        raise InvalidPhone(raw, f"not a valid number in {where}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _parse_reason(exc: phonenumbers.NumberParseException) -> str:
    kinds = phonenumbers.NumberParseException
    return {
        kinds.INVALID_COUNTRY_CODE: "unknown country code",
        kinds.NOT_A_NUMBER: "not a phone number",
        kinds.TOO_SHORT_AFTER_IDD: "too short",
        kinds.TOO_SHORT_NSN: "too short",
        kinds.TOO_LONG: "too long",
    }.get(exc.error_type, str(exc))


def caller_number_e164(raw: str | None, region: str = DEFAULT_REGION) -> str | None:
    """A caller number (ANI) in E.164, or None when anonymous or not a valid number.

    Trunks send the ANI in many shapes (`0612345305`, `33612345305`, `+33...`,
    `0033...`); all of them that denote the same number give the same result.
    """
    if raw is None:
        return None
    text = raw.strip()
    if not text or text.lower() in {"anonymous", "unknown", "restricted", "private"}:
        return None
    candidates = [text]
    if text[0].isdigit() and not text.startswith("0"):
        candidates.append("+" + text)  # an international number without its '+'
    for candidate in candidates:
        try:
            return normalise_phone(candidate, region)
        except InvalidPhone:
            continue
    return None


# --- records -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Phone:
    number: str
    label: str | None = None


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    id: str
    name: str
    account: str | None
    tier: int
    tier_given: bool
    revenue: float | None
    language: str | None
    timezone: str | None
    notes: str | None
    fields: dict[str, Any]
    phones: tuple[Phone, ...]
    created_at: float
    updated_at: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "account": self.account,
            "tier": self.tier,
            "tier_given": self.tier_given,
            "revenue": self.revenue,
            "language": self.language,
            "timezone": self.timezone,
            "notes": self.notes,
            "fields": dict(self.fields),
            "phones": [{"number": p.number, "label": p.label} for p in self.phones],
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True, slots=True)
class SearchPage:
    total: int
    items: tuple[CustomerRecord, ...]


@dataclass(frozen=True, slots=True)
class PastCall:
    call_id: str
    at: float | None
    direction: str
    caller_number: str | None
    queue: str | None
    agent: str | None
    outcome: str | None
    disposition: str | None
    notes: str | None
    survey_score: int | None
    resolved: bool | None
    talk_seconds: float | None
    queue_seconds: float | None
    ivr_path: str | None


@dataclass(frozen=True, slots=True)
class OpenCallback:
    id: int
    number: str
    queue: str | None
    status: str
    requested_at: float
    window_start: float | None
    window_end: float | None
    topic: str | None
    attempts: int


@dataclass(frozen=True, slots=True)
class ContactHistory:
    calls: tuple[PastCall, ...] = ()
    callbacks: tuple[OpenCallback, ...] = ()


# --- validation --------------------------------------------------------------------------------


def _check_id(customer_id: str) -> str:
    if not CUSTOMER_ID.match(customer_id):
        raise InvalidCustomer(
            f"customer id {customer_id!r}: 1-64 letters, digits or _ . : @ - (not first)"
        )
    return customer_id


def _check_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Clean and check the customer columns present in `values`."""
    out = dict(values)
    if "name" in out:
        name = (out["name"] or "").strip()
        if not name:
            raise InvalidCustomer("name is empty")
        if len(name) > 200:
            raise InvalidCustomer("name is longer than 200 characters")
        out["name"] = name
    if "account" in out:
        account = (out["account"] or "").strip() or None
        if account is not None and len(account) > 64:
            raise InvalidCustomer("account is longer than 64 characters")
        out["account"] = account
    if out.get("tier") is not None:
        tier = out["tier"]
        if isinstance(tier, bool) or not isinstance(tier, int) or not 0 <= tier <= MAX_TIER:
            raise InvalidCustomer(f"tier must be a whole number 0..{MAX_TIER}, got {tier!r}")
    if out.get("revenue") is not None:
        revenue = out["revenue"]
        if isinstance(revenue, bool) or not isinstance(revenue, int | float) or revenue < 0:
            raise InvalidCustomer(f"revenue must be a number >= 0, got {revenue!r}")
        out["revenue"] = float(revenue)
    if out.get("language") is not None and not LANGUAGE.match(out["language"]):
        raise InvalidCustomer(f"language {out['language']!r}: expected e.g. 'fr' or 'en_GB'")
    if out.get("timezone"):
        try:
            ZoneInfo(out["timezone"])
        except (ValueError, ZoneInfoNotFoundError):
            raise InvalidCustomer(f"unknown time zone {out['timezone']!r}") from None
    if "fields" in out:
        fields = out["fields"] or {}
        if not isinstance(fields, Mapping) or not all(isinstance(k, str) for k in fields):
            raise InvalidCustomer("fields must be a mapping of names to values")
        out["fields"] = dict(fields)
    for key in ("language", "timezone", "notes"):
        if key in out and out[key] is not None and not str(out[key]).strip():
            out[key] = None
    return out


def _phones(scope: TenantScope, phones: Iterable[str | Phone]) -> list[Phone]:
    result: dict[str, Phone] = {}
    for item in phones:
        phone = item if isinstance(item, Phone) else Phone(item)
        number = normalise_phone(phone.number, scope.region)
        result.setdefault(number, Phone(number, phone.label))
    return list(result.values())


# --- reading -----------------------------------------------------------------------------------


def to_record(row: Customer | Any, phones: Sequence[Phone]) -> CustomerRecord:
    return CustomerRecord(
        id=row.id,
        name=row.name,
        account=row.account,
        tier=row.tier,
        tier_given=bool(row.tier_given),
        revenue=row.revenue,
        language=row.language,
        timezone=row.timezone,
        notes=row.notes,
        fields=dict(row.fields or {}),
        phones=tuple(sorted(phones, key=lambda p: p.number)),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def _load(
    conn: AsyncConnection, tenant_id: str, where: Any, *, order: Sequence[Any] = ()
) -> list[CustomerRecord]:
    rows = (
        await conn.execute(
            select(Customer.__table__)
            .where(Customer.tenant_id == tenant_id, where)
            .order_by(*order)
        )
    ).all()
    phones = await phones_by_customer(conn, tenant_id, [row.id for row in rows])
    return [to_record(row, phones.get(row.id, [])) for row in rows]


async def phones_by_customer(
    conn: AsyncConnection, tenant_id: str, customer_ids: Sequence[str]
) -> dict[str, list[Phone]]:
    result: dict[str, list[Phone]] = {}
    for start in range(0, len(customer_ids), 500):
        chunk = customer_ids[start : start + 500]
        rows = await conn.execute(
            select(CustomerPhone.customer_id, CustomerPhone.number, CustomerPhone.label).where(
                CustomerPhone.tenant_id == tenant_id, CustomerPhone.customer_id.in_(chunk)
            )
        )
        for customer_id, number, label in rows:
            result.setdefault(customer_id, []).append(Phone(number, label))
    return result


async def get(engine: AsyncEngine, tenant: TenantLike, customer_id: str) -> CustomerRecord | None:
    """The customer with its phones, or None (also for another tenant's customer)."""
    async with engine.connect() as conn:
        return await get_in(conn, tenant, customer_id)


async def get_in(
    conn: AsyncConnection, tenant: TenantLike, customer_id: str
) -> CustomerRecord | None:
    found = await _load(conn, scope_of(tenant).tenant_id, Customer.id == customer_id)
    return found[0] if found else None


async def find_by_phone(
    engine: AsyncEngine, tenant: TenantLike, caller_number: str | None
) -> CustomerRecord | None:
    """The customer owning a caller number, in whatever shape the trunk sent it."""
    scope = scope_of(tenant)
    number = caller_number_e164(caller_number, scope.region)
    if number is None:
        return None
    owner = (
        select(CustomerPhone.customer_id)
        .where(CustomerPhone.tenant_id == scope.tenant_id, CustomerPhone.number == number)
        .scalar_subquery()
    )
    async with engine.connect() as conn:
        found = await _load(conn, scope.tenant_id, Customer.id == owner)
    return found[0] if found else None


async def find_by_account(
    engine: AsyncEngine, tenant: TenantLike, account: str
) -> CustomerRecord | None:
    """The customer with this account number (the lowest id if, wrongly, several have it)."""
    account = account.strip()
    if not account:
        return None
    async with engine.connect() as conn:
        found = await _load(
            conn, scope_of(tenant).tenant_id, Customer.account == account, order=[Customer.id]
        )
    return found[0] if found else None


async def search(
    engine: AsyncEngine,
    tenant: TenantLike,
    *,
    q: str | None = None,
    phone: str | None = None,
    account: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> SearchPage:
    """Customers matching every criterion given, names starting with `q` first, then by name.

    `q` matches a name anywhere (case-insensitive), or the start of an id or an
    account number. `phone` matches a whole number in any shape, or, when it is
    not one, any number containing its digits (an agent typing the last four).
    `account` is an exact account number.
    """
    scope = scope_of(tenant)
    limit = max(0, min(limit, MAX_PAGE))
    offset = max(0, offset)
    conditions: list[Any] = [Customer.tenant_id == scope.tenant_id]
    prefix_first: Any = literal(0)
    if q and q.strip():
        text = q.strip()
        conditions.append(
            or_(
                Customer.name.icontains(text, autoescape=True),
                Customer.id.istartswith(text, autoescape=True),
                Customer.account.startswith(text, autoescape=True),
            )
        )
        prefix_first = case((Customer.name.istartswith(text, autoescape=True), 0), else_=1)
    if phone and phone.strip():
        number = caller_number_e164(phone, scope.region)
        owners = select(CustomerPhone.customer_id).where(CustomerPhone.tenant_id == scope.tenant_id)
        if number is not None:
            owners = owners.where(CustomerPhone.number == number)
        else:
            digits = "".join(ch for ch in phone if ch.isdigit())
            if not digits:
                return SearchPage(0, ())
            owners = owners.where(CustomerPhone.number.contains(digits, autoescape=True))
        conditions.append(Customer.id.in_(owners))
    if account and account.strip():
        conditions.append(Customer.account == account.strip())
    where = and_(*conditions)
    async with engine.connect() as conn:
        total = (
            await conn.execute(select(func.count()).select_from(Customer).where(where))
        ).scalar_one()
        rows = (
            await conn.execute(
                select(Customer.__table__)
                .where(where)
                .order_by(prefix_first, Customer.name, Customer.id)
                .limit(limit)
                .offset(offset)
            )
        ).all()
        phones = await phones_by_customer(conn, scope.tenant_id, [row.id for row in rows])
    return SearchPage(int(total), tuple(to_record(row, phones.get(row.id, [])) for row in rows))


# --- writing -----------------------------------------------------------------------------------


async def _account_owner(
    conn: AsyncConnection, tenant_id: str, account: str, other_than: str | None = None
) -> str | None:
    query = select(Customer.id).where(Customer.tenant_id == tenant_id, Customer.account == account)
    if other_than is not None:
        query = query.where(Customer.id != other_than)
    return (await conn.execute(query.limit(1))).scalar_one_or_none()


async def _phone_owners(
    conn: AsyncConnection, tenant_id: str, numbers: Sequence[str]
) -> dict[str, str]:
    if not numbers:
        return {}
    rows = await conn.execute(
        select(CustomerPhone.number, CustomerPhone.customer_id).where(
            CustomerPhone.tenant_id == tenant_id, CustomerPhone.number.in_(list(numbers))
        )
    )
    return {number: owner for number, owner in rows}


async def create(
    engine: AsyncEngine,
    tenant: TenantLike,
    *,
    name: str,
    id: str | None = None,
    account: str | None = None,
    tier: int | None = None,
    revenue: float | None = None,
    language: str | None = None,
    timezone: str | None = None,
    notes: str | None = None,
    fields: Mapping[str, Any] | None = None,
    phones: Iterable[str | Phone] = (),
) -> CustomerRecord:
    """A new customer; `tier=None` derives the tier from the revenue.

    Raises `InvalidCustomer`, `InvalidPhone`, `DuplicateCustomer` (id or account
    already used) or `PhoneTaken`.
    """
    scope = scope_of(tenant)
    customer_id = _check_id(id) if id is not None else uuid.uuid4().hex[:16]
    values = _check_values(
        {
            "name": name,
            "account": account,
            "tier": tier,
            "revenue": revenue,
            "language": language,
            "timezone": timezone,
            "notes": notes,
            "fields": fields or {},
        }
    )
    numbers = _phones(scope, phones)
    now = time.time()
    values["tier_given"] = values["tier"] is not None
    if values["tier"] is None:
        values["tier"] = derive_tier(scope.tiers, values["revenue"])
    async with engine.begin() as conn:
        exists = await conn.execute(
            select(Customer.id).where(
                Customer.tenant_id == scope.tenant_id, Customer.id == customer_id
            )
        )
        if exists.first() is not None:
            raise DuplicateCustomer(f"customer id {customer_id!r} already exists")
        if values["account"] is not None:
            owner = await _account_owner(conn, scope.tenant_id, values["account"])
            if owner is not None:
                raise DuplicateCustomer(
                    f"account {values['account']!r} already belongs to customer {owner}"
                )
        taken = await _phone_owners(conn, scope.tenant_id, [p.number for p in numbers])
        if taken:
            number, owner = sorted(taken.items())[0]
            raise PhoneTaken(number, owner)
        try:
            await conn.execute(
                insert(Customer).values(
                    tenant_id=scope.tenant_id,
                    id=customer_id,
                    created_at=now,
                    updated_at=now,
                    **values,
                )
            )
            if numbers:
                await conn.execute(
                    insert(CustomerPhone),
                    [
                        {
                            "tenant_id": scope.tenant_id,
                            "number": p.number,
                            "customer_id": customer_id,
                            "label": p.label,
                        }
                        for p in numbers
                    ],
                )
        except IntegrityError as exc:  # a concurrent writer took the id or a number
            raise DuplicateCustomer(
                f"customer {customer_id!r} or one of its numbers was just taken"
            ) from exc
        record = await get_in(conn, scope, customer_id)
    assert record is not None
    return record


async def update(
    engine: AsyncEngine, tenant: TenantLike, customer_id: str, changes: Mapping[str, Any]
) -> CustomerRecord | None:
    """Change only the columns named in `changes`; None if there is no such customer.

    `tier: None` returns the customer to the tier derived from the revenue; a
    derived tier follows a changed revenue. `fields` replaces the whole mapping.
    """
    scope = scope_of(tenant)
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise InvalidCustomer(f"cannot update {', '.join(sorted(unknown))}")
    values = _check_values(changes)
    async with engine.begin() as conn:
        current = await get_in(conn, scope, customer_id)
        if current is None:
            return None
        if values.get("account") is not None:
            owner = await _account_owner(conn, scope.tenant_id, values["account"], customer_id)
            if owner is not None:
                raise DuplicateCustomer(
                    f"account {values['account']!r} already belongs to customer {owner}"
                )
        if "tier" in values:
            values["tier_given"] = values["tier"] is not None
        tier_given = values.get("tier_given", current.tier_given)
        if not tier_given:
            revenue = values["revenue"] if "revenue" in values else current.revenue
            values["tier"] = derive_tier(scope.tiers, revenue)
        changed = {k: v for k, v in values.items() if getattr(current, k) != v}
        if not changed:
            return current
        await conn.execute(
            sql_update(Customer)
            .where(Customer.tenant_id == scope.tenant_id, Customer.id == customer_id)
            .values(updated_at=time.time(), **changed)
        )
        return await get_in(conn, scope, customer_id)


async def delete_customer(engine: AsyncEngine, tenant: TenantLike, customer_id: str) -> bool:
    """Remove the customer and its numbers; False if there was none. Past calls stay."""
    tenant_id = scope_of(tenant).tenant_id
    async with engine.begin() as conn:
        # SQLite does not enforce the cascade unless asked: delete the numbers ourselves.
        await conn.execute(
            delete(CustomerPhone).where(
                CustomerPhone.tenant_id == tenant_id, CustomerPhone.customer_id == customer_id
            )
        )
        result = await conn.execute(
            delete(Customer).where(Customer.tenant_id == tenant_id, Customer.id == customer_id)
        )
    return bool(result.rowcount)


async def add_phone(
    engine: AsyncEngine,
    tenant: TenantLike,
    customer_id: str,
    number: str,
    label: str | None = None,
) -> CustomerRecord | None:
    """Give the customer one more number (idempotent; a new label replaces the old).

    None if there is no such customer; `PhoneTaken` if another customer has it.
    """
    scope = scope_of(tenant)
    e164 = normalise_phone(number, scope.region)
    label = (label or "").strip() or None
    if label is not None and len(label) > 32:
        raise InvalidCustomer("phone label is longer than 32 characters")
    async with engine.begin() as conn:
        if await get_in(conn, scope, customer_id) is None:
            return None
        owner = (await _phone_owners(conn, scope.tenant_id, [e164])).get(e164)
        if owner is not None and owner != customer_id:
            raise PhoneTaken(e164, owner)
        if owner is None:
            try:
                await conn.execute(
                    insert(CustomerPhone).values(
                        tenant_id=scope.tenant_id,
                        number=e164,
                        customer_id=customer_id,
                        label=label,
                    )
                )
            except IntegrityError as exc:
                raise PhoneTaken(e164, "(another, just now)") from exc
        else:
            await conn.execute(
                sql_update(CustomerPhone)
                .where(CustomerPhone.tenant_id == scope.tenant_id, CustomerPhone.number == e164)
                .values(label=label)
            )
        await _touch(conn, scope.tenant_id, customer_id)
        return await get_in(conn, scope, customer_id)


async def remove_phone(
    engine: AsyncEngine, tenant: TenantLike, customer_id: str, number: str
) -> bool:
    """Take a number away from the customer; False if the customer did not have it."""
    scope = scope_of(tenant)
    e164 = caller_number_e164(number, scope.region)
    if e164 is None:
        return False
    async with engine.begin() as conn:
        result = await conn.execute(
            delete(CustomerPhone).where(
                CustomerPhone.tenant_id == scope.tenant_id,
                CustomerPhone.customer_id == customer_id,
                CustomerPhone.number == e164,
            )
        )
        if result.rowcount:
            await _touch(conn, scope.tenant_id, customer_id)
    return bool(result.rowcount)


async def _touch(conn: AsyncConnection, tenant_id: str, customer_id: str) -> None:
    await conn.execute(
        sql_update(Customer)
        .where(Customer.tenant_id == tenant_id, Customer.id == customer_id)
        .values(updated_at=time.time())
    )


async def rederive_tiers(engine: AsyncEngine, tenant: TenantLike) -> int:
    """Apply the tenant's (changed) tier rules to every customer without a given tier."""
    scope = scope_of(tenant)
    tier = derive_tier_sql(scope.tiers)
    async with engine.begin() as conn:
        result = await conn.execute(
            sql_update(Customer)
            .where(
                Customer.tenant_id == scope.tenant_id,
                Customer.tier_given.is_(False),
                Customer.tier != tier,
            )
            .values(tier=tier, updated_at=time.time())
        )
    return int(result.rowcount or 0)


def derive_tier_sql(rules: Sequence[Tier]) -> Any:
    """`derive_tier` as an SQL expression over `customers.revenue`."""
    ordered = sorted(rules, key=lambda rule: rule.tier, reverse=True)
    whens = [(Customer.revenue >= rule.min_revenue, rule.tier) for rule in ordered]
    return case(*whens, else_=0) if whens else literal(0)


# --- the screen-pop ----------------------------------------------------------------------------


def _history_query(tenant_id: str, customer_id: str, limit: int) -> CompoundSelect[Any]:
    numbers = select(CustomerPhone.number).where(
        CustomerPhone.tenant_id == tenant_id, CustomerPhone.customer_id == customer_id
    )
    theirs = or_(
        Call.customer_id == customer_id,
        and_(Call.customer_id.is_(None), Call.caller_number.in_(numbers)),
    )
    first_answer = (
        select(Survey.score)
        .where(Survey.tenant_id == Call.tenant_id, Survey.call_id == Call.call_id)
        .order_by(Survey.question)
        .limit(1)
        .scalar_subquery()
    )
    at = func.coalesce(Call.arrived_at, Call.queued_at, Call.answered_at, Call.ended_at)
    calls = (
        select(
            literal_column("'call'", String).label("kind"),
            Call.call_id.label("ref"),
            at.label("at"),
            Call.direction.label("direction"),
            Call.caller_number.label("number"),
            Call.queue.label("queue"),
            Call.agent.label("agent"),
            # a call we placed that did not connect: how its leg ended (busy, no_answer...)
            case(
                (
                    and_(
                        Call.direction == "outbound",
                        Call.outcome != "answered",
                        Call.acd_outcome.is_not(None),
                    ),
                    Call.acd_outcome,
                ),
                else_=Call.outcome,
            ).label("outcome"),
            Call.disposition.label("disposition"),
            Call.notes.label("notes"),
            func.coalesce(first_answer, Call.survey_score).label("survey_score"),
            Call.resolved.label("resolved"),
            Call.talk_seconds.label("talk_seconds"),
            Call.queue_seconds.label("queue_seconds"),
            Call.ivr_path.label("ivr_path"),
            cast(null(), Float).label("window_start"),
            cast(null(), Float).label("window_end"),
            literal_column("0", Integer).label("attempts"),
        )
        .where(Call.tenant_id == tenant_id, theirs)
        .order_by(at.desc(), Call.call_id.desc())
        .limit(limit)
        .subquery()
    )
    callbacks = select(
        literal_column("'callback'", String).label("kind"),
        cast(Callback.id, String).label("ref"),
        Callback.requested_at.label("at"),
        literal_column("'outbound'", String).label("direction"),
        Callback.number.label("number"),
        Callback.queue.label("queue"),
        Callback.agent_id.label("agent"),
        Callback.status.label("outcome"),
        cast(null(), String).label("disposition"),
        cast(Callback.topic, Text).label("notes"),
        cast(null(), Integer).label("survey_score"),
        cast(null(), Boolean).label("resolved"),
        cast(null(), Float).label("talk_seconds"),
        cast(null(), Float).label("queue_seconds"),
        cast(null(), String).label("ivr_path"),
        Callback.window_start.label("window_start"),
        Callback.window_end.label("window_end"),
        Callback.attempts.label("attempts"),
    ).where(
        Callback.tenant_id == tenant_id,
        Callback.status.in_(OPEN_CALLBACK_STATES),
        or_(Callback.customer_id == customer_id, Callback.number.in_(numbers)),
    )
    return union_all(select(calls), callbacks)


async def contact_history(
    engine: AsyncEngine, tenant: TenantLike, customer_id: str, limit: int = 20
) -> ContactHistory:
    """The customer's last `limit` calls (newest first) and open callbacks, in one query.

    A call counts as the customer's when it was identified as theirs, or when it
    came from one of their numbers without being identified.
    """
    tenant_id = scope_of(tenant).tenant_id
    limit = max(0, min(limit, MAX_PAGE))
    async with engine.connect() as conn:
        rows = (await conn.execute(_history_query(tenant_id, customer_id, limit))).all()
    calls: list[PastCall] = []
    callbacks: list[OpenCallback] = []
    for row in rows:
        if row.kind == "call":
            calls.append(
                PastCall(
                    call_id=row.ref,
                    at=row.at,
                    direction=row.direction,
                    caller_number=row.number,
                    queue=row.queue,
                    agent=row.agent,
                    outcome=row.outcome,
                    disposition=row.disposition,
                    notes=row.notes,
                    survey_score=None if row.survey_score is None else int(row.survey_score),
                    resolved=None if row.resolved is None else bool(row.resolved),
                    talk_seconds=row.talk_seconds,
                    queue_seconds=row.queue_seconds,
                    ivr_path=row.ivr_path,
                )
            )
        else:
            callbacks.append(
                OpenCallback(
                    id=int(row.ref),
                    number=row.number,
                    queue=row.queue,
                    status=row.outcome,
                    requested_at=row.at,
                    window_start=row.window_start,
                    window_end=row.window_end,
                    topic=row.notes,
                    attempts=int(row.attempts or 0),
                )
            )
    calls.sort(key=lambda c: (c.at is not None, c.at or 0.0, c.call_id), reverse=True)
    callbacks.sort(key=lambda c: (c.window_start or c.requested_at, c.id))
    return ContactHistory(tuple(calls), tuple(callbacks))


__all__ = [
    "ContactHistory",
    "CustomerError",
    "CustomerRecord",
    "DuplicateCustomer",
    "InvalidCustomer",
    "InvalidPhone",
    "OpenCallback",
    "PastCall",
    "Phone",
    "PhoneTaken",
    "SearchPage",
    "TenantScope",
    "Tier",
    "add_phone",
    "caller_number_e164",
    "contact_history",
    "create",
    "delete_customer",
    "derive_tier",
    "find_by_account",
    "find_by_phone",
    "get",
    "normalise_phone",
    "rederive_tiers",
    "remove_phone",
    "search",
    "update",
]
