"""The public "call me back" page of a tenant and the JSON endpoint behind it.

- `GET /public/<tenant>/callback`: the form (name, number, topic, an optional earliest
  time), plain HTML and JavaScript, embeddable in the company's own site (framing
  allowed from anywhere, everything else from this origin only).
- `POST /api/public/<tenant>/callbacks` `{"name", "number", "topic", "after"?}`: the
  number is read in the tenant's region and kept in E.164; the topic picks the queue
  (`web_callback.topics`); out of the business hours (`web_callback.hours`, an IVR hours
  node) the callback waits for the next opening. A number that has an open callback
  already is merged into it. At most `per_address_per_hour` requests per client address
  and `per_number_per_day` per number (429 with Retry-After). The reply says when the
  call is expected: `{"ref", "merged", "expected_at", "expected_local", "queue"}`.

No sign-in: only tenants with a `web_callback` section have these (404 for the others,
and for unknown tenants). The stored callback is taken by the ACD when due
(`cti.callback_scheduler`).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from agent_console.pages import SECURITY_HEADERS, STATIC_DIR
from agent_console.ratelimit import RateLimit
from cti.config import PlatformConfig, TenantConfig, WebCallback
from cti.store import customers as customer_store
from cti.store.callbacks import request_callback
from ivr.menu import next_opening
from ivr.model import HoursNode

router = APIRouter(tags=["public"])

EMBEDDABLE = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": SECURITY_HEADERS["Content-Security-Policy"].replace(
        "frame-ancestors 'none'", "frame-ancestors *"
    ),
}


class CallbackForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200)]
    number: Annotated[str, Field(min_length=3, max_length=40)]
    topic: Annotated[str, Field(min_length=1, max_length=64)]
    after: Annotated[
        str | None, Field(default=None, description="earliest time, ISO 8601 (tenant's zone)")
    ] = None


def _web_tenant(request: Request, tenant_id: str) -> tuple[TenantConfig, WebCallback]:
    config: PlatformConfig | None = request.app.state.config
    tenant = next((t for t in config.tenants if t.tenant.id == tenant_id), None) if config else None
    if tenant is None or tenant.web_callback is None:
        raise HTTPException(404, detail="no callback page here")
    return tenant, tenant.web_callback


@router.get("/public/{tenant_id}/callback", include_in_schema=False)
async def callback_page(request: Request, tenant_id: str) -> Response:
    _web_tenant(request, tenant_id)
    return FileResponse(STATIC_DIR / "callback.html", media_type="text/html", headers=EMBEDDABLE)


@router.get("/api/public/{tenant_id}/topics")
async def callback_topics(request: Request, tenant_id: str) -> dict[str, Any]:
    """What the form offers: the topics, and the tenant's name."""
    tenant, web = _web_tenant(request, tenant_id)
    return {"tenant": tenant.tenant.name, "topics": sorted(web.topics)}


def _limits(request: Request, tenant_id: str, web: WebCallback) -> tuple[RateLimit, RateLimit]:
    limits: dict[str, tuple[RateLimit, RateLimit]] = request.app.state.__dict__.setdefault(
        "callback_limits", {}
    )
    if tenant_id not in limits:
        limits[tenant_id] = (
            RateLimit(web.per_address_per_hour, 3600),
            RateLimit(web.per_number_per_day, 86400),
        )
    return limits[tenant_id]


@router.post("/api/public/{tenant_id}/callbacks", status_code=201)
async def post_callback(request: Request, tenant_id: str, form: CallbackForm) -> dict[str, Any]:
    tenant, web = _web_tenant(request, tenant_id)
    engine = request.app.state.engine
    if engine is None:
        raise HTTPException(503, detail="no database configured")
    clock = getattr(request.app.state, "clock", time.time)
    now = float(clock())
    queue = web.topics.get(form.topic)
    if queue is None:
        raise HTTPException(422, detail=f"unknown topic {form.topic!r}: pick one of the list")
    try:
        number = customer_store.normalise_phone(form.number, tenant.tenant.region)
    except customer_store.InvalidPhone as exc:
        raise HTTPException(422, detail=f"that phone number cannot be called: {exc}") from None
    zone = ZoneInfo(tenant.tenant.timezone)
    earliest = now
    if form.after:
        try:
            after = datetime.fromisoformat(form.after)
        except ValueError:
            raise HTTPException(
                422, detail="after: an ISO 8601 time, e.g. 2026-11-24T14:00"
            ) from None
        earliest = max(now, (after if after.tzinfo else after.replace(tzinfo=zone)).timestamp())
    due = earliest
    node = tenant.ivr.nodes.get(web.hours) if tenant.ivr and web.hours else None
    if isinstance(node, HoursNode):
        opening = next_opening(node, datetime.fromtimestamp(earliest, UTC))
        if opening is None:
            raise HTTPException(422, detail="no opening hours in the next two weeks")
        due = opening.timestamp()
    by_address, by_number = _limits(request, tenant_id, web)
    address = request.client.host if request.client else "unknown"
    wait = max(by_address.retry_after(address, now), by_number.retry_after(number, now))
    if wait > 0:
        raise HTTPException(
            429,
            detail="too many requests: please try again later",
            headers={"Retry-After": str(int(wait) + 1)},
        )
    by_address.hit(address, now)
    by_number.hit(number, now)
    scope = customer_store.TenantScope.from_config(tenant)
    customer = await customer_store.find_by_phone(engine, scope, number)
    requested = await request_callback(
        engine,
        tenant.tenant.id,
        number=number,
        queue=queue,
        source="web",
        now=now,
        due_at=due,
        name=form.name,
        topic=form.topic,
        customer_id=customer.id if customer is not None else None,
    )
    expected = datetime.fromtimestamp(requested.due_at, zone)
    return {
        "ref": requested.ref,
        "merged": requested.merged,
        "number": number,
        "queue": queue,
        "expected_at": requested.due_at,
        "expected_local": expected.isoformat(timespec="minutes"),
        "timezone": tenant.tenant.timezone,
    }
