"""Campaigns in the store: their definition, their lists (imported from CSV, linked to
customers), where each contact stands, the do-not-call list, and their progress.

The rules of who is called when are `acd.campaign`'s; this module reads and writes
what they decide. A contact is `dialing` from the moment the dialer hands it to the
ACD until the attempt's result (journaled as `campaign.result`) settles it, in the
journal's own transaction (`apply_result`).
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from acd.callback_life import CallbackResult
from acd.campaign import (
    DAYS,
    CallingHours,
    CampaignError,
    Contact,
    ContactStatus,
    RetryRules,
    abandon_attempt,
    settle,
)
from cti.store.customers import InvalidPhone, TenantLike, find_by_phone, normalise_phone, scope_of
from cti.store.models import Campaign, CampaignContact, Customer, DoNotCall

MODES = ("progressive", "preview")
CAMPAIGN_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# what a campaign can be asked to do, from which status, to which
MOVES: dict[str, tuple[frozenset[str], str]] = {
    "start": (frozenset({"draft"}), "running"),
    "pause": (frozenset({"running"}), "paused"),
    "resume": (frozenset({"paused"}), "running"),
    "stop": (frozenset({"draft", "running", "paused"}), "stopped"),
}


@dataclass(frozen=True)
class CampaignSpec:
    """A campaign as created (API, CLI); checked on creation."""

    id: str
    name: str
    queue: str
    caller_id: str
    mode: str = "progressive"
    hours: str = "09:00-20:00"
    days: tuple[str, ...] = DAYS[:5]
    zone: str = "UTC"
    busy_minutes: float = 10.0
    no_answer_minutes: float = 30.0
    failed_minutes: float = 60.0
    max_attempts: int = 3
    ring_seconds: int = 25
    record: bool = False
    dispositions: tuple[str, ...] = ()  # the wrap-up codes of its calls (empty: the tenant's)

    def check(self, queues: Iterable[str], codes: Iterable[str] | None = None) -> None:
        if not CAMPAIGN_ID.match(self.id):
            raise CampaignError(f"campaign id {self.id!r}: lower-case letters, digits, - and _")
        if self.queue not in set(queues):
            raise CampaignError(f"no queue {self.queue!r} in this tenant")
        if self.mode not in MODES:
            raise CampaignError(f"mode {self.mode!r}: one of {', '.join(MODES)}")
        if not 5 <= self.ring_seconds <= 120:
            raise CampaignError("ring_seconds: from 5 to 120")
        self.calling_hours().open_at(0, self.zone)  # the hours and the zone are valid
        self.rules()
        unknown = sorted(set(self.dispositions) - set(codes or ())) if codes is not None else []
        if unknown:
            raise CampaignError(f"unknown dispositions {unknown}: use the tenant's codes")

    def calling_hours(self) -> CallingHours:
        return CallingHours.parse(self.hours, self.days)

    def rules(self) -> RetryRules:
        return RetryRules(
            self.busy_minutes, self.no_answer_minutes, self.failed_minutes, self.max_attempts
        )


def spec_of(row: Any) -> CampaignSpec:
    return CampaignSpec(
        id=row.id,
        name=row.name,
        queue=row.queue,
        caller_id=row.caller_id,
        mode=row.mode,
        hours=row.hours,
        days=tuple(row.days.split(",")),
        zone=row.zone,
        busy_minutes=row.busy_minutes,
        no_answer_minutes=row.no_answer_minutes,
        failed_minutes=row.failed_minutes,
        max_attempts=row.max_attempts,
        ring_seconds=row.ring_seconds,
        record=row.record,
        dispositions=tuple(c for c in row.dispositions.split(",") if c),
    )


@dataclass(frozen=True)
class CampaignView:
    spec: CampaignSpec
    status: str

    def as_dict(self) -> dict[str, Any]:
        spec = self.spec
        return {
            "id": spec.id,
            "name": spec.name,
            "queue": spec.queue,
            "caller_id": spec.caller_id,
            "mode": spec.mode,
            "status": self.status,
            "hours": spec.hours,
            "days": list(spec.days),
            "zone": spec.zone,
            "retry": {
                "busy_minutes": spec.busy_minutes,
                "no_answer_minutes": spec.no_answer_minutes,
                "failed_minutes": spec.failed_minutes,
                "max_attempts": spec.max_attempts,
            },
            "ring_seconds": spec.ring_seconds,
            "record": spec.record,
            "dispositions": list(spec.dispositions),
        }


async def create_campaign(
    engine: AsyncEngine,
    tenant_id: str,
    spec: CampaignSpec,
    queues: Iterable[str],
    codes: Iterable[str] | None = None,
) -> CampaignView:
    """A new campaign (draft); `codes`: the tenant's disposition codes, which its own
    must be among."""
    spec.check(queues, codes)
    now = time.time()
    async with engine.begin() as conn:
        exists = await conn.scalar(
            select(func.count()).where(Campaign.tenant_id == tenant_id, Campaign.id == spec.id)
        )
        if exists:
            raise CampaignError(f"campaign {spec.id!r} exists already")
        await conn.execute(
            insert(Campaign).values(
                tenant_id=tenant_id,
                id=spec.id,
                name=spec.name,
                queue=spec.queue,
                caller_id=spec.caller_id,
                mode=spec.mode,
                status="draft",
                hours=spec.hours,
                days=",".join(spec.days),
                zone=spec.zone,
                busy_minutes=spec.busy_minutes,
                no_answer_minutes=spec.no_answer_minutes,
                failed_minutes=spec.failed_minutes,
                max_attempts=spec.max_attempts,
                ring_seconds=spec.ring_seconds,
                record=spec.record,
                dispositions=",".join(spec.dispositions),
                created_at=now,
                updated_at=now,
            )
        )
    return CampaignView(spec, "draft")


async def get_campaign(engine: AsyncEngine, tenant_id: str, campaign_id: str) -> CampaignView:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(Campaign).where(Campaign.tenant_id == tenant_id, Campaign.id == campaign_id)
            )
        ).first()
    if row is None:
        raise CampaignError(f"no campaign {campaign_id!r} in this tenant")
    return CampaignView(spec_of(row), row.status)


async def list_campaigns(
    engine: AsyncEngine, tenant_id: str, status: str | None = None
) -> list[CampaignView]:
    query = select(Campaign).where(Campaign.tenant_id == tenant_id).order_by(Campaign.id)
    if status is not None:
        query = query.where(Campaign.status == status)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [CampaignView(spec_of(r), r.status) for r in rows]


async def move_campaign(
    engine: AsyncEngine, tenant_id: str, campaign_id: str, action: str
) -> CampaignView:
    """start, pause, resume or stop; refused from a status it does not apply to."""
    if action not in MOVES:
        raise CampaignError(f"unknown campaign action {action!r}")
    sources, target = MOVES[action]
    current = await get_campaign(engine, tenant_id, campaign_id)
    if current.status not in sources:
        raise CampaignError(f"campaign {campaign_id!r} is {current.status}: cannot {action}")
    async with engine.begin() as conn:
        await conn.execute(
            update(Campaign)
            .where(Campaign.tenant_id == tenant_id, Campaign.id == campaign_id)
            .values(status=target, updated_at=time.time())
        )
    return CampaignView(current.spec, target)


# -- the list ----------------------------------------------------------------------------

NUMBER_COLUMNS = ("phone", "number", "phone_number", "telephone", "mobile")


@dataclass
class ImportReport:
    added: int = 0
    duplicates: int = 0  # numbers already in the list (the file's or the store's)
    linked: int = 0  # contacts matched to a customer
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line, why)

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "duplicates": self.duplicates,
            "linked": self.linked,
            "rejected": [{"line": line, "error": why} for line, why in self.rejected],
        }


async def import_contacts(
    engine: AsyncEngine, tenant: TenantLike, campaign_id: str, text: str
) -> ImportReport:
    """Add the CSV's lines to the campaign's list. Columns (header names, any case):
    phone (or number), name, customer_id, timezone; a contact is linked to the customer
    by id, else by phone number, and called in that customer's zone (else the line's,
    else the campaign's). A bad line is rejected with its line number; the others go."""
    scope = scope_of(tenant)
    campaign = await get_campaign(engine, scope.tenant_id, campaign_id)
    if campaign.status == "stopped":
        raise CampaignError(f"campaign {campaign_id!r} is stopped: its list is closed")
    sample = text[:4096]
    dialect = csv.excel_tab if sample.count("\t") > sample.count(",") else csv.excel
    if sample.count(";") > sample.count(","):
        dialect = _Semicolon
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    headers = [_key(h) for h in reader.fieldnames or []]
    column = next((c for c in NUMBER_COLUMNS if c in headers), None)
    if column is None:
        raise CampaignError(f"the file has no phone column (one of: {', '.join(NUMBER_COLUMNS)})")
    report = ImportReport()
    async with engine.connect() as conn:
        known = set(
            (
                await conn.scalars(
                    select(CampaignContact.number).where(
                        CampaignContact.tenant_id == scope.tenant_id,
                        CampaignContact.campaign_id == campaign_id,
                    )
                )
            ).all()
        )
    rows: list[dict[str, Any]] = []
    now = time.time()
    for line, record in enumerate(reader, start=2):
        fields = {_key(k): (v or "").strip() for k, v in record.items() if k}
        try:
            number = normalise_phone(fields.get(column, ""), scope.region)
        except InvalidPhone as exc:
            report.rejected.append((line, str(exc)))
            continue
        if number in known:
            report.duplicates += 1
            continue
        customer_id, zone = await _customer_of(engine, scope, fields, number)
        zone = zone or fields.get("timezone") or campaign.spec.zone
        try:
            CallingHours().open_at(now, zone)
        except CampaignError as exc:
            report.rejected.append((line, str(exc)))
            continue
        known.add(number)
        report.linked += customer_id is not None
        rows.append(
            {
                "tenant_id": scope.tenant_id,
                "campaign_id": campaign_id,
                "number": number,
                "customer_id": customer_id,
                "name": fields.get("name") or None,
                "zone": zone,
                "status": str(ContactStatus.PENDING),
                "attempts": 0,
                "next_at": 0.0,
                "last_result": None,
                "agent_id": None,
                "call_id": None,
                "updated_at": now,
            }
        )
    if rows:
        async with engine.begin() as conn:
            await conn.execute(insert(CampaignContact), rows)
    report.added = len(rows)
    return report


def _key(header: str) -> str:
    return header.strip().lower().replace(" ", "_").replace("-", "_")


class _Semicolon(csv.excel):
    delimiter = ";"


async def _customer_of(
    engine: AsyncEngine, scope: Any, fields: Mapping[str, str], number: str
) -> tuple[str | None, str | None]:
    """The customer the line is about (by id, else by number) and their time zone."""
    wanted = fields.get("customer_id") or fields.get("customer")
    if wanted:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    select(Customer.id, Customer.timezone).where(
                        Customer.tenant_id == scope.tenant_id, Customer.id == wanted
                    )
                )
            ).first()
        if row is not None:
            return row.id, row.timezone
    found = await find_by_phone(engine, scope, number)
    return (found.id, found.timezone) if found is not None else (None, None)


@dataclass(frozen=True)
class ContactView:
    contact: Contact
    customer_id: str | None
    name: str | None
    agent_id: str | None
    call_id: str | None


def _contact(row: Any) -> Contact:
    last = CallbackResult(row.last_result) if row.last_result else None
    return Contact(
        row.id,
        row.number,
        row.zone,
        ContactStatus(row.status),
        row.attempts,
        row.next_at,
        last,
    )


async def due_contacts(
    engine: AsyncEngine, tenant_id: str, campaign_id: str, now: float, limit: int
) -> list[ContactView]:
    """Pending contacts whose next attempt is due, soonest first (the rules then keep
    those inside their calling hours and off the do-not-call list)."""
    c = CampaignContact
    query = (
        select(c)
        .where(
            c.tenant_id == tenant_id,
            c.campaign_id == campaign_id,
            c.status == str(ContactStatus.PENDING),
            c.next_at <= now,
        )
        .order_by(c.next_at, c.id)
        .limit(limit)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [ContactView(_contact(r), r.customer_id, r.name, r.agent_id, r.call_id) for r in rows]


async def save_contacts(
    engine: AsyncEngine, tenant_id: str, contacts: Iterable[Contact], call_ids: Mapping[int, str]
) -> None:
    """Write what the rules made of these contacts (an attempt begun, barred)."""
    now = time.time()
    async with engine.begin() as conn:
        for contact in contacts:
            values: dict[str, Any] = {
                "status": str(contact.status),
                "attempts": contact.attempts,
                "next_at": contact.next_at,
                "updated_at": now,
            }
            if contact.id in call_ids:
                values["call_id"] = call_ids[contact.id]
            await conn.execute(
                update(CampaignContact)
                .where(CampaignContact.tenant_id == tenant_id, CampaignContact.id == contact.id)
                .values(**values)
            )


async def release_dialing(engine: AsyncEngine, tenant_id: str) -> int:
    """At start: attempts left `dialing` by a stop of the service never reached their
    end, and previews were left undecided; those contacts are pending again (the
    attempt is not counted)."""
    c = CampaignContact
    async with engine.begin() as conn:
        dialing = await conn.execute(
            update(c)
            .where(c.tenant_id == tenant_id, c.status == str(ContactStatus.DIALING))
            .values(status=str(ContactStatus.PENDING), attempts=c.attempts - 1)
        )
        previewing = await conn.execute(
            update(c)
            .where(c.tenant_id == tenant_id, c.status == str(ContactStatus.PREVIEWING))
            .values(status=str(ContactStatus.PENDING))
        )
    return int(dialing.rowcount or 0) + int(previewing.rowcount or 0)


async def get_contact(engine: AsyncEngine, tenant_id: str, contact_id: int) -> ContactView:
    c = CampaignContact
    async with engine.connect() as conn:
        row = (
            await conn.execute(select(c).where(c.tenant_id == tenant_id, c.id == contact_id))
        ).first()
    if row is None:
        raise CampaignError(f"no contact {contact_id} in this tenant")
    return ContactView(_contact(row), row.customer_id, row.name, row.agent_id, row.call_id)


async def apply_result(conn: AsyncConnection, tenant_id: str, data: Mapping[str, Any]) -> None:
    """A `campaign.result` event: the attempt's result settles its contact by the
    campaign's rules (`cancelled`: the attempt never reached the customer)."""
    c = CampaignContact
    row = (
        await conn.execute(
            select(c).where(c.tenant_id == tenant_id, c.id == int(data["contact_id"]))
        )
    ).first()
    campaign = (
        await conn.execute(
            select(Campaign).where(Campaign.tenant_id == tenant_id, Campaign.id == data["campaign"])
        )
    ).first()
    if row is None or campaign is None or row.status != str(ContactStatus.DIALING):
        return  # settled already (a repeat of the event), or gone
    if data.get("call_id") and row.call_id and data["call_id"] != row.call_id:
        return  # about an earlier attempt than the one in progress
    contact = _contact(row)
    result = str(data.get("result"))
    at = float(data.get("at") or time.time())
    if result == "cancelled":
        settled = abandon_attempt(contact)
    else:
        outcome = CallbackResult(result) if result in set(CallbackResult) else CallbackResult.FAILED
        settled = settle(contact, outcome, spec_of(campaign).rules(), at)
    await conn.execute(
        update(c)
        .where(c.tenant_id == tenant_id, c.id == contact.id)
        .values(
            status=str(settled.status),
            attempts=settled.attempts,
            next_at=settled.next_at,
            last_result=None if settled.last_result is None else str(settled.last_result),
            agent_id=data.get("agent_id") or row.agent_id,
            call_id=data.get("call_id") or row.call_id,
            updated_at=at,
        )
    )


async def progress(engine: AsyncEngine, tenant_id: str, campaign_id: str) -> dict[str, Any]:
    """Where the campaign stands: contacts by status and by last result, attempts made
    (`dialed`), contacts reached (`connected`), `contact_rate` (connected / contacts
    dialed at least once) and `remaining` (pending or dialing)."""
    await get_campaign(engine, tenant_id, campaign_id)
    c = CampaignContact
    mine = (c.tenant_id == tenant_id, c.campaign_id == campaign_id)
    async with engine.connect() as conn:
        by_status = await conn.execute(
            select(c.status, func.count()).where(*mine).group_by(c.status)
        )
        statuses: dict[str, int] = {row[0]: row[1] for row in by_status}
        by_result = await conn.execute(
            select(c.last_result, func.count())
            .where(*mine, c.last_result.is_not(None))
            .group_by(c.last_result)
        )
        results: dict[str, int] = {str(row[0]): row[1] for row in by_result}
        dialed, touched = (
            await conn.execute(
                select(
                    func.coalesce(func.sum(c.attempts), 0),
                    func.count().filter(c.attempts > 0),
                ).where(*mine)
            )
        ).one()
    connected = int(statuses.get(str(ContactStatus.CONNECTED), 0))
    remaining = int(statuses.get(str(ContactStatus.PENDING), 0)) + int(
        statuses.get(str(ContactStatus.DIALING), 0)
    )
    return {
        "contacts": sum(statuses.values()),
        "dialed": int(dialed),
        "connected": connected,
        "contact_rate": connected / touched if touched else None,
        "remaining": remaining,
        "by_status": {str(s): int(statuses.get(str(s), 0)) for s in ContactStatus},
        "by_result": {str(r): int(results.get(str(r), 0)) for r in CallbackResult},
    }


# -- the do-not-call list -----------------------------------------------------------------


async def add_dnc(
    engine: AsyncEngine,
    tenant: TenantLike,
    number: str,
    reason: str | None = None,
    by: str | None = None,
) -> str:
    scope = scope_of(tenant)
    e164 = normalise_phone(number, scope.region)
    async with engine.begin() as conn:
        await conn.execute(
            delete(DoNotCall).where(
                DoNotCall.tenant_id == scope.tenant_id, DoNotCall.number == e164
            )
        )
        await conn.execute(
            insert(DoNotCall).values(
                tenant_id=scope.tenant_id,
                number=e164,
                reason=reason,
                added_by=by,
                added_at=time.time(),
            )
        )
    return e164


async def remove_dnc(engine: AsyncEngine, tenant: TenantLike, number: str) -> bool:
    scope = scope_of(tenant)
    e164 = normalise_phone(number, scope.region)
    async with engine.begin() as conn:
        result = await conn.execute(
            delete(DoNotCall).where(
                DoNotCall.tenant_id == scope.tenant_id, DoNotCall.number == e164
            )
        )
    return bool(result.rowcount)


async def barred(engine: AsyncEngine, tenant_id: str, numbers: Iterable[str]) -> set[str]:
    """Those of `numbers` on the tenant's do-not-call list."""
    wanted = sorted(set(numbers))
    if not wanted:
        return set()
    async with engine.connect() as conn:
        found = await conn.scalars(
            select(DoNotCall.number).where(
                DoNotCall.tenant_id == tenant_id, DoNotCall.number.in_(wanted)
            )
        )
        return set(found.all())


async def list_dnc(engine: AsyncEngine, tenant_id: str) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(DoNotCall).where(DoNotCall.tenant_id == tenant_id).order_by(DoNotCall.number)
            )
        ).all()
    return [
        {"number": r.number, "reason": r.reason, "added_by": r.added_by, "added_at": r.added_at}
        for r in rows
    ]
