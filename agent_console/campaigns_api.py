"""Campaigns and the do-not-call list, for supervisors and admins of the tenant.

- `GET /api/campaigns`, `POST /api/campaigns`, `GET /api/campaigns/{id}` (with its
  progress: contacts, dialed, connected, contact_rate, remaining, by status and by
  result);
- `POST /api/campaigns/{id}/contacts` with a CSV body (`text/csv`): the list's lines
  added, linked to customers; bad lines rejected with their line numbers;
- `POST /api/campaigns/{id}/start|pause|resume|stop`: pausing or stopping withdraws
  at once the calls not yet given an agent;
- `GET /api/dnc`, `POST /api/dnc`, `DELETE /api/dnc/{number}`: the tenant's
  do-not-call list, which no campaign ever dials.

Another tenant's campaign is not found (404); a rule broken is a 422 with the reason.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from acd.campaign import CampaignError
from agent_console.auth import Principal, require_role
from agent_console.customers_api import _engine, _scope
from cti.config import PlatformConfig, TenantConfig
from cti.store import campaigns as store
from cti.store.customers import InvalidPhone

router = APIRouter(tags=["campaigns"])

Manager = Annotated[Principal, Depends(require_role("supervisor", "admin"))]
MAX_CSV_BYTES = 20 * 1024 * 1024
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _weekdays() -> list[Day]:
    return ["mon", "tue", "wed", "thu", "fri"]


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=store.CAMPAIGN_ID.pattern, examples=["spring-offer"])
    name: str = Field(min_length=1, max_length=200)
    queue: str = Field(min_length=1, max_length=64, description="whose agents make the calls")
    caller_id: str = Field(pattern=r"^\+?[0-9]{2,20}$", description="what customers see")
    mode: Literal["progressive", "preview"] = "progressive"
    hours: str = Field(default="09:00-20:00", description="in each customer's own time zone")
    days: list[Day] = Field(default_factory=_weekdays, min_length=1)
    zone: str = Field(default="UTC", max_length=64, description="for customers with no zone")
    busy_minutes: float = Field(default=10.0, ge=0)
    no_answer_minutes: float = Field(default=30.0, ge=0)
    failed_minutes: float = Field(default=60.0, ge=0)
    max_attempts: int = Field(default=3, ge=1, le=20)
    ring_seconds: int = Field(default=25, ge=5, le=120)
    record: bool = False
    dispositions: list[str] = Field(
        default_factory=list, max_length=50, description="wrap-up codes (default: the tenant's)"
    )


class DncIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: str = Field(min_length=1, max_length=40)
    reason: str | None = Field(default=None, max_length=200)


def _tenant(request: Request, tenant_id: str) -> TenantConfig | None:
    config: PlatformConfig | None = getattr(request.app.state, "config", None)
    if config is None:
        return None
    try:
        return config.tenant(tenant_id)
    except KeyError:  # a tenant this installation does not configure has no queue
        return None


def _refused(exc: Exception) -> HTTPException:
    text = str(exc)
    if text.startswith("no campaign"):
        return HTTPException(status.HTTP_404_NOT_FOUND, detail=text)
    if "exists already" in text:
        return HTTPException(status.HTTP_409_CONFLICT, detail=text)
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=text)


async def _view(request: Request, tenant_id: str, campaign: store.CampaignView) -> dict[str, Any]:
    progress = await store.progress(_engine(request), tenant_id, campaign.spec.id)
    return {**campaign.as_dict(), "progress": progress}


@router.get("/api/campaigns")
async def list_campaigns(request: Request, principal: Manager) -> list[dict[str, Any]]:
    found = await store.list_campaigns(_engine(request), principal.tenant_id)
    return [await _view(request, principal.tenant_id, c) for c in found]


@router.post("/api/campaigns", status_code=status.HTTP_201_CREATED)
async def create_campaign(
    body: CampaignIn, request: Request, principal: Manager, response: Response
) -> dict[str, Any]:
    fields = body.model_dump()
    spec = store.CampaignSpec(
        **{**fields, "days": tuple(body.days), "dispositions": tuple(body.dispositions)}
    )
    tenant = _tenant(request, principal.tenant_id)
    queues = [q.id for q in tenant.queues] if tenant else []
    codes = [d.code for d in tenant.dispositions] if tenant else []
    try:
        made = await store.create_campaign(
            _engine(request), principal.tenant_id, spec, queues, codes
        )
    except CampaignError as exc:
        raise _refused(exc) from None
    response.headers["Location"] = f"/api/campaigns/{spec.id}"
    return await _view(request, principal.tenant_id, made)


@router.get("/api/campaigns/{campaign_id}")
async def get_campaign(campaign_id: str, request: Request, principal: Manager) -> dict[str, Any]:
    try:
        found = await store.get_campaign(_engine(request), principal.tenant_id, campaign_id)
    except CampaignError as exc:
        raise _refused(exc) from None
    return await _view(request, principal.tenant_id, found)


@router.post("/api/campaigns/{campaign_id}/contacts")
async def import_contacts(campaign_id: str, request: Request, principal: Manager) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_CSV_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, detail="the file is over 20 MB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise HTTPException(422, detail="the file is not UTF-8 text") from None
    try:
        report = await store.import_contacts(
            _engine(request), _scope(request, principal), campaign_id, text
        )
    except CampaignError as exc:
        raise _refused(exc) from None
    return report.as_dict()


@router.post("/api/campaigns/{campaign_id}/{action}")
async def move_campaign(
    campaign_id: str,
    action: Literal["start", "pause", "resume", "stop"],
    request: Request,
    principal: Manager,
) -> dict[str, Any]:
    try:
        moved = await store.move_campaign(
            _engine(request), principal.tenant_id, campaign_id, action
        )
    except CampaignError as exc:
        raise _refused(exc) from None
    runners = getattr(getattr(request.app.state, "center", None), "runners", {})
    runner = runners.get(principal.tenant_id)
    if runner is not None and moved.status != "running":
        runner.campaigns.cancel(campaign_id)  # calls not yet given an agent are withdrawn
    return await _view(request, principal.tenant_id, moved)


@router.get("/api/dnc")
async def list_dnc(request: Request, principal: Manager) -> list[dict[str, Any]]:
    return await store.list_dnc(_engine(request), principal.tenant_id)


@router.post("/api/dnc", status_code=status.HTTP_201_CREATED)
async def add_dnc(body: DncIn, request: Request, principal: Manager) -> dict[str, Any]:
    try:
        number = await store.add_dnc(
            _engine(request), _scope(request, principal), body.number, body.reason,
            principal.username,
        )  # fmt: skip
    except InvalidPhone as exc:
        raise HTTPException(422, detail=str(exc)) from None
    return {"number": number, "reason": body.reason}


@router.delete("/api/dnc/{number}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_dnc(number: str, request: Request, principal: Manager) -> Response:
    try:
        removed = await store.remove_dnc(_engine(request), _scope(request, principal), number)
    except InvalidPhone as exc:
        raise HTTPException(422, detail=str(exc)) from None
    if not removed:
        raise HTTPException(404, detail=f"{number} is not on the do-not-call list")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
