"""The customers of the caller's tenant (`/api/customers`), over `cti.store.customers`.

- `POST /api/customers` create (201), `GET /api/customers/{id}` with its phones,
  `PATCH /api/customers/{id}` change only the fields sent (`"tier": null` goes
  back to the tier derived from revenue), `DELETE /api/customers/{id}`
  (supervisors and admins; 204);
- `GET /api/customers?q=&phone=&account=&limit=&offset=` search, a page and
  the total;
- `GET /api/customers/{id}/history?limit=` the screen-pop: previous calls
  (date, queue, agent, outcome, disposition, notes, survey score, resolved,
  talk time) and open callbacks;
- `POST /api/customers/{id}/phones` add a number (E.164 in the tenant's
  region), `DELETE /api/customers/{id}/phones/{number}` remove it.

The tenant is the principal's, never the request's: another tenant's customer
is a 404 like one that does not exist. A body that does not validate, or a
phone number that is not one, is a 422; an id, account or number that is
already another customer's is a 409.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from agent_console.auth import Principal, current_principal, require_role
from cti.config import PlatformConfig
from cti.store import customers as repo
from cti.store.customers import (
    CustomerRecord,
    DuplicateCustomer,
    InvalidCustomer,
    InvalidPhone,
    OpenCallback,
    PastCall,
    PhoneTaken,
    TenantScope,
)

router = APIRouter(prefix="/api/customers", tags=["customers"])

FieldValue = str | int | float | bool | None
CustomerId = Annotated[str, Field(pattern=repo.CUSTOMER_ID.pattern)]
Language = Annotated[str, Field(pattern=repo.LANGUAGE.pattern)]
Tier = Annotated[int, Field(ge=0, le=repo.MAX_TIER)]
Revenue = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PhoneIn(_Body):
    number: str = Field(min_length=1, max_length=40, examples=["+33612345305", "06 12 34 53 05"])
    label: str | None = Field(default=None, max_length=32, examples=["mobile"])


class CustomerCreate(_Body):
    id: CustomerId | None = Field(default=None, description="Generated when absent.")
    name: str = Field(min_length=1, max_length=200)
    account: str | None = Field(default=None, max_length=64)
    tier: Tier | None = Field(default=None, description="Absent: derived from the revenue.")
    revenue: Revenue | None = None
    language: Language | None = None
    timezone: str | None = Field(default=None, max_length=64)
    notes: str | None = Field(default=None, max_length=10_000)
    fields: dict[str, FieldValue] = Field(default_factory=dict)
    phones: list[PhoneIn] = Field(default_factory=list, max_length=50)


class CustomerPatch(_Body):
    """Only the fields present change; `tier: null` returns to the derived tier."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    account: str | None = Field(default=None, max_length=64)
    tier: Tier | None = None
    revenue: Revenue | None = None
    language: Language | None = None
    timezone: str | None = Field(default=None, max_length=64)
    notes: str | None = Field(default=None, max_length=10_000)
    fields: dict[str, FieldValue] | None = None


class PhoneOut(BaseModel):
    number: str
    label: str | None


class CustomerOut(BaseModel):
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
    phones: list[PhoneOut]
    created_at: float
    updated_at: float


class SearchOut(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[CustomerOut]


class HistoryOut(BaseModel):
    customer_id: str
    calls: list[PastCall]  # the store's own records: one definition of a past call
    callbacks: list[OpenCallback]


Caller = Annotated[Principal, Depends(current_principal)]
Manager = Annotated[Principal, Depends(require_role("supervisor", "admin"))]


def _engine(request: Request) -> AsyncEngine:
    engine: AsyncEngine | None = getattr(request.app.state, "engine", None)
    if engine is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="no database configured")
    return engine


def _scope(request: Request, principal: Principal) -> TenantScope:
    """The principal's tenant, with its phone region and tier rules when configured."""
    config: PlatformConfig | None = getattr(request.app.state, "config", None)
    if config is not None:
        try:
            return TenantScope.from_config(config.tenant(principal.tenant_id))
        except KeyError:
            pass
    return TenantScope(principal.tenant_id)


def _out(record: CustomerRecord) -> CustomerOut:
    return CustomerOut.model_validate(record.as_dict())


def _not_found(customer_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no customer {customer_id!r}")


def _refused(exc: Exception) -> HTTPException:
    if isinstance(exc, DuplicateCustomer | PhoneTaken):
        return HTTPException(status.HTTP_409_CONFLICT, detail=str(exc))
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc))


_REFUSALS = (InvalidCustomer, InvalidPhone, DuplicateCustomer, PhoneTaken)


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_customer(
    body: CustomerCreate, request: Request, principal: Caller, response: Response
) -> CustomerOut:
    data = body.model_dump(exclude={"phones"})
    phones = [repo.Phone(p.number, p.label) for p in body.phones]
    try:
        record = await repo.create(
            _engine(request), _scope(request, principal), phones=phones, **data
        )
    except _REFUSALS as exc:
        raise _refused(exc) from None
    response.headers["Location"] = f"{router.prefix}/{record.id}"
    return _out(record)


@router.get("")
async def search_customers(
    request: Request,
    principal: Caller,
    q: Annotated[str | None, Query(max_length=200)] = None,
    phone: Annotated[str | None, Query(max_length=40)] = None,
    account: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=repo.MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> SearchOut:
    page = await repo.search(
        _engine(request),
        _scope(request, principal),
        q=q,
        phone=phone,
        account=account,
        limit=limit,
        offset=offset,
    )
    return SearchOut(
        total=page.total, limit=limit, offset=offset, items=[_out(r) for r in page.items]
    )


@router.get("/{customer_id}")
async def get_customer(customer_id: str, request: Request, principal: Caller) -> CustomerOut:
    record = await repo.get(_engine(request), _scope(request, principal), customer_id)
    if record is None:
        raise _not_found(customer_id)
    return _out(record)


@router.patch("/{customer_id}")
async def update_customer(
    customer_id: str, body: CustomerPatch, request: Request, principal: Caller
) -> CustomerOut:
    changes = body.model_dump(include=body.model_fields_set)
    if "name" in changes and changes["name"] is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="name cannot be null")
    try:
        record = await repo.update(
            _engine(request), _scope(request, principal), customer_id, changes
        )
    except _REFUSALS as exc:
        raise _refused(exc) from None
    if record is None:
        raise _not_found(customer_id)
    return _out(record)


@router.delete("/{customer_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_customer(customer_id: str, request: Request, principal: Manager) -> Response:
    if not await repo.delete_customer(_engine(request), _scope(request, principal), customer_id):
        raise _not_found(customer_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{customer_id}/history")
async def customer_history(
    customer_id: str,
    request: Request,
    principal: Caller,
    limit: Annotated[int, Query(ge=1, le=repo.MAX_PAGE)] = 20,
) -> HistoryOut:
    engine, scope = _engine(request), _scope(request, principal)
    if await repo.get(engine, scope, customer_id) is None:
        raise _not_found(customer_id)
    history = await repo.contact_history(engine, scope, customer_id, limit)
    return HistoryOut(
        customer_id=customer_id,
        calls=list(history.calls),
        callbacks=list(history.callbacks),
    )


@router.post("/{customer_id}/phones", status_code=status.HTTP_201_CREATED)
async def add_customer_phone(
    customer_id: str, body: PhoneIn, request: Request, principal: Caller
) -> CustomerOut:
    try:
        record = await repo.add_phone(
            _engine(request), _scope(request, principal), customer_id, body.number, body.label
        )
    except _REFUSALS as exc:
        raise _refused(exc) from None
    if record is None:
        raise _not_found(customer_id)
    return _out(record)


@router.delete("/{customer_id}/phones/{number}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_customer_phone(
    customer_id: str, number: str, request: Request, principal: Caller
) -> Response:
    if not await repo.remove_phone(
        _engine(request), _scope(request, principal), customer_id, number
    ):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"customer {customer_id!r} has no number {number!r}"
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
