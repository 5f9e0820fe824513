"""The public "call me back" page of a tenant and the JSON endpoint behind it.

- `GET /public/<tenant>/callback`: the form (name, number, topic, an optional preferred
  time window), plain HTML and JavaScript, embeddable in the company's own site
  (framing allowed from anywhere, everything else from this origin only).
- `POST /api/public/<tenant>/callbacks` `{"name", "number", "topic", "from"?, "until"?}`
  (times ISO 8601, in the tenant's zone unless they say otherwise; `after` is an older
  name of `from`): the number is read in the tenant's region and kept in E.164; the
  topic picks the queue (`web_callback.topics`). The window is checked
  (`acd.callback_life.check_window`: its end after its start and after now, neither
  more than 90 days ahead); out of the business hours (`web_callback.hours`, an IVR
  hours node) its start moves to the next opening, and its end with it when the window
  would be over by then; with no end the queue's `callback_window_hours` apply. When
  the window closes before the call could be made the callback expires. A number that
  has an open callback already is merged into it. At most `per_address_per_hour`
  requests per client address and `per_number_per_day` per number (429 with
  Retry-After). The reply says when the call is expected: `{"ref", "merged",
  "expected_at", "expected_local", "until_at", "until_local", "queue"}`.

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

from acd.callback_life import BadWindow, callback_window, check_window
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
    start: Annotated[
        str | None,
        Field(alias="from", description="not before, ISO 8601 (the tenant's zone)"),
    ] = None
    after: Annotated[str | None, Field(description="older name of `from`")] = None
    until: Annotated[str | None, Field(description="not after, ISO 8601 (the tenant's zone)")] = (
        None
    )


def _moment(name: str, text: str | None, zone: ZoneInfo) -> float | None:
    """An ISO 8601 time of the form as epoch seconds (the tenant's zone unless given)."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise HTTPException(
            422, detail=f"{name}: an ISO 8601 time, e.g. 2026-11-24T14:00"
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).timestamp()


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
    if form.start and form.after:
        raise HTTPException(422, detail="give the window's start once: from (or after)")
    start = _moment("from", form.start, zone) if form.start else _moment("after", form.after, zone)
    until = _moment("until", form.until, zone)
    try:
        check_window(now, start, until)
    except BadWindow as exc:
        raise HTTPException(422, detail=str(exc)) from None
    earliest = now if start is None else max(now, start)
    opening_at = None
    node = tenant.ivr.nodes.get(web.hours) if tenant.ivr and web.hours else None
    if isinstance(node, HoursNode):
        opening = next_opening(node, datetime.fromtimestamp(earliest, UTC))
        if opening is None:
            raise HTTPException(422, detail="no opening hours in the next two weeks")
        opening_at = opening.timestamp()
    hours = tenant.queue(queue).callback_window_hours
    due, window_end = callback_window(earliest, until, hours, opening_at)
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
        window_end=window_end,
        name=form.name,
        topic=form.topic,
        customer_id=customer.id if customer is not None else None,
    )
    expected = datetime.fromtimestamp(requested.due_at, zone)
    window_end = requested.window_end or window_end
    return {
        "ref": requested.ref,
        "merged": requested.merged,
        "number": number,
        "queue": queue,
        "expected_at": requested.due_at,
        "expected_local": expected.isoformat(timespec="minutes"),
        "until_at": window_end,
        "until_local": datetime.fromtimestamp(window_end, zone).isoformat(timespec="minutes"),
        "timezone": tenant.tenant.timezone,
    }
