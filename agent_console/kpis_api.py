"""Historical KPIs, staffing, abandoned calls and call records for the caller's tenant.

- `GET /api/kpis?from=&to=&queue=&agent=&by=&interval=&sl_threshold=` JSON
  `{"tenant", "from", "to", "by", "groups": {...}, "total": {...}}` with the field names of
  PRODUCT.md (the same as MQTT, CSV and `cti report`); `GET /api/kpis.csv` the same as
  CSV; `GET /api/kpis/chart.svg` (or `.png`) a chart of chosen fields across the groups.
- `GET /api/staffing?calls=100,120,...&aht=&interval=&target_sl=&threshold=&max_occupancy=`
  Erlang C agents needed per forecast interval.
- `GET /api/calls/abandoned?from=&to=&queue=` abandoned calls not yet called back.
- `POST /api/calls/{call_id}/callback` call back an abandoned caller (supervisors).
- `GET /api/callbacks?status=failed,retry` callbacks by status (supervisors);
  `POST /api/callbacks/{ref}/cancel` and `/reschedule {at}` for one not being made now.
- `GET /api/calls/{call_id}` one call's row and events (its IVR timeline among them), and
  `recording` {url, ended, paused_seconds, pauses} when it has one the user may play.

Supervisors and admins see the whole tenant; an agent sees only their own figures
and calls. Times are ISO 8601 (a date alone is midnight in the tenant's time zone)
or epoch seconds; the default range is today in the tenant's time zone.
"""

from __future__ import annotations

import time as clock
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.callback_life import DEFAULT_WINDOW_HOURS
from acd.errors import RoutingError
from agent_console.auth import CurrentPrincipal, Principal
from agent_console.hub import SUPERVISORS
from agent_console.recordings_api import playable
from cti.config import PlatformConfig, TenantConfig
from cti.store.callbacks import CallbackRefused, change_callback, list_callbacks, request_callback
from cti.store.calls import abandoned_not_called_back, call_record
from cti.store.kpi_queries import kpi_report
from reports import charts
from reports.export import render
from reports.grouping import parse_moment
from reports.staffing import staffing_plan

router = APIRouter(tags=["reports"])

GroupBy = Literal["total", "queue", "agent", "interval", "day", "month"]


def _engine(request: Request) -> AsyncEngine:
    engine = request.app.state.engine
    if engine is None:
        raise HTTPException(503, detail="no database configured")
    return engine  # type: ignore[no-any-return]


def _tenant(request: Request, principal: Principal) -> TenantConfig | None:
    config: PlatformConfig | None = request.app.state.config
    if config is None:
        return None
    return next((t for t in config.tenants if t.tenant.id == principal.tenant_id), None)


def _zone(tenant: TenantConfig | None) -> ZoneInfo:
    return ZoneInfo(tenant.tenant.timezone if tenant is not None else "UTC")


def _moment(text: str, zone: ZoneInfo) -> float:
    try:
        return parse_moment(text, zone)
    except ValueError as exc:
        raise HTTPException(422, detail=str(exc)) from None


def _range(start: str | None, end: str | None, zone: ZoneInfo) -> tuple[float, float]:
    today = datetime.combine(datetime.now(zone).date(), time(), tzinfo=zone)
    low = _moment(start, zone) if start else today.timestamp()
    high = _moment(end, zone) if end else (today + timedelta(days=1)).timestamp()
    if high <= low:
        raise HTTPException(422, detail="'to' must be after 'from'")
    if high - low > 400 * 86400:
        raise HTTPException(422, detail="a report covers at most 400 days")
    return low, high


def _scope_agent(principal: Principal, agent: str | None) -> str | None:
    """Agents see their own figures only."""
    if principal.role in SUPERVISORS:
        return agent
    if principal.agent_id is None:
        raise HTTPException(403, detail="forbidden: no agent bound to this user")
    if agent not in (None, principal.agent_id):
        raise HTTPException(403, detail="forbidden: agents see their own figures only")
    return principal.agent_id


@dataclass(frozen=True, slots=True)
class ReportQuery:
    """The query parameters every KPI view takes."""

    start: str | None
    end: str | None
    queue: str | None
    agent: str | None
    by: GroupBy
    interval: int
    sl_threshold: float | None
    direction: str = "inbound"
    campaign: str | None = None


def _report_query(default_by: GroupBy) -> Callable[..., ReportQuery]:
    def params(
        start: Annotated[str | None, Query(alias="from")] = None,
        end: Annotated[str | None, Query(alias="to")] = None,
        queue: str | None = None,
        agent: str | None = None,
        by: GroupBy = default_by,
        interval: Annotated[
            Literal[15, 30, 60], Query(description="minutes per interval when by=interval")
        ] = 60,
        sl_threshold: Annotated[float | None, Query(gt=0, le=600)] = None,
        direction: Annotated[
            Literal["inbound", "outbound"],
            Query(description="the callers' calls, or the calls we placed"),
        ] = "inbound",
        campaign: Annotated[
            str | None, Query(max_length=64, description="the calls this campaign placed")
        ] = None,
    ) -> ReportQuery:
        if campaign is not None:
            direction = "outbound"  # a campaign's calls are the ones we placed
        return ReportQuery(
            start, end, queue, agent, by, interval, sl_threshold, direction, campaign
        )

    return params


ByQueue = Annotated[ReportQuery, Depends(_report_query("queue"))]
ByInterval = Annotated[ReportQuery, Depends(_report_query("interval"))]


async def _report(request: Request, principal: Principal, q: ReportQuery) -> dict[str, Any]:
    tenant = _tenant(request, principal)
    zone = _zone(tenant)
    low, high = _range(q.start, q.end, zone)
    agent = _scope_agent(principal, q.agent)
    threshold = q.sl_threshold
    if threshold is None and tenant is not None and q.queue is not None:
        threshold = next((x.service_level_seconds for x in tenant.queues if x.id == q.queue), None)
    offset = int(datetime.fromtimestamp(low, zone).utcoffset().total_seconds() // 60)  # type: ignore[union-attr]
    options: dict[str, Any] = {
        "start": low,
        "end": high,
        "queue": q.queue,
        "agent": agent,
        "sl_threshold": threshold if threshold is not None else 20.0,
        "utc_offset_minutes": offset,
        "direction": q.direction,
        "campaign": q.campaign,
    }
    engine = _engine(request)
    groups: dict[str, dict[str, Any]] = {}
    if q.by != "total":
        groups = await kpi_report(
            engine, principal.tenant_id, group_by=q.by, interval_minutes=q.interval, **options
        )
    total = await kpi_report(engine, principal.tenant_id, group_by="total", **options)
    return {
        "tenant": principal.tenant_id,
        "from": low,
        "to": high,
        "by": q.by,
        "queue": q.queue,
        "agent": agent,
        "sl_threshold": options["sl_threshold"],
        "direction": q.direction,
        "campaign": q.campaign,
        "groups": groups,
        "total": total["total"],
    }


@router.get("/api/kpis")
async def get_kpis(request: Request, principal: CurrentPrincipal, q: ByQueue) -> dict[str, Any]:
    """KPIs by queue, agent, interval, day or month, with the PRODUCT.md field names."""
    return await _report(request, principal, q)


@router.get("/api/kpis.csv", response_class=Response)
async def get_kpis_csv(request: Request, principal: CurrentPrincipal, q: ByQueue) -> Response:
    """The same report as CSV: one row per group, then the total."""
    report = await _report(request, principal, q)
    text = render(report["groups"], report["total"], "csv", label=q.by)
    name = f"kpis-{principal.tenant_id}-{q.by}.csv"
    return Response(
        text,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/api/kpis/chart.{fmt}", response_class=Response)
async def get_kpis_chart(
    request: Request,
    principal: CurrentPrincipal,
    fmt: Literal["svg", "png"],
    q: ByInterval,
    fields: str = "offered,answered,abandoned",
) -> Response:
    """A chart of `fields` (comma-separated KPI names) across the report's groups."""
    report = await _report(request, principal, q)
    names = [f.strip() for f in fields.split(",") if f.strip()]
    try:
        image = charts.kpi_chart(
            report["groups"] or {"total": report["total"]},
            names,
            title=f"{principal.tenant_id}: {', '.join(names)}",
            fmt=fmt,
        )
    except ValueError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    return Response(image, media_type="image/svg+xml" if fmt == "svg" else "image/png")


@router.get("/api/staffing")
async def get_staffing(
    principal: CurrentPrincipal,
    calls: Annotated[str, Query(description="calls per interval, comma-separated")],
    aht: Annotated[float, Query(gt=0, le=36000)],
    interval: Annotated[int, Query(gt=0, le=1440)] = 30,
    target_sl: Annotated[float, Query(gt=0, lt=1)] = 0.8,
    threshold: Annotated[float, Query(ge=0, le=3600)] = 20,
    max_occupancy: Annotated[float | None, Query(gt=0, le=1)] = None,
) -> dict[str, Any]:
    """Erlang C: agents needed per interval for the target service level."""
    try:
        volumes = [float(v) for v in calls.split(",") if v.strip()]
        forecast = [(str(i + 1), v) for i, v in enumerate(volumes)]
        rows = staffing_plan(
            forecast,
            aht,
            interval,
            target_sl=target_sl,
            threshold_seconds=threshold,
            max_occupancy=max_occupancy,
        )
    except ValueError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    return {"tenant": principal.tenant_id, "intervals": rows}


@router.get("/api/calls/abandoned")
async def get_abandoned(
    request: Request,
    principal: CurrentPrincipal,
    start: Annotated[str | None, Query(alias="from")] = None,
    end: Annotated[str | None, Query(alias="to")] = None,
    queue: str | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> dict[str, Any]:
    """Abandoned calls whose caller has not been reached since (supervisors)."""
    if principal.role not in SUPERVISORS:
        raise HTTPException(403, detail="forbidden: supervisors and admins only")
    low, high = _range(start, end, _zone(_tenant(request, principal)))
    calls = await abandoned_not_called_back(
        _engine(request), principal.tenant_id, start=low, end=high, queue=queue, limit=limit
    )
    return {"tenant": principal.tenant_id, "calls": [asdict(c) for c in calls]}


@router.post("/api/calls/{call_id}/callback", status_code=201)
async def call_back(request: Request, principal: CurrentPrincipal, call_id: str) -> dict[str, Any]:
    """Call back the caller of an abandoned call (supervisors): a callback through the
    call's queue, due now (merged into an open one of the same number)."""
    if principal.role not in SUPERVISORS:
        raise HTTPException(403, detail="forbidden: supervisors and admins only")
    engine = _engine(request)
    record = await call_record(engine, principal.tenant_id, call_id)
    if record is None:
        raise HTTPException(404, detail=f"no call {call_id!r}")
    number, queue = record.get("caller_number"), record.get("queue")
    if not number or not queue:
        raise HTTPException(422, detail="this call has no number or no queue to call back from")
    now = clock.time()
    tenant = _tenant(request, principal)
    spec = next((q for q in tenant.queues if q.id == queue), None) if tenant else None
    hours = spec.callback_window_hours if spec is not None else DEFAULT_WINDOW_HOURS
    requested = await request_callback(
        engine,
        principal.tenant_id,
        number=number,
        queue=queue,
        source="abandoned",
        now=now,
        due_at=now,
        window_end=now + hours * 3600,
        customer_id=record.get("customer_id"),
    )
    return {"ref": requested.ref, "merged": requested.merged, "number": number, "queue": queue}


@router.get("/api/callbacks")
async def get_callbacks(
    request: Request,
    principal: CurrentPrincipal,
    status: Annotated[
        str, Query(description="comma-separated statuses (acd.callback_life)")
    ] = "pending,reserved,dialing,retry,failed",
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> dict[str, Any]:
    """Callbacks by status, most recently changed first (supervisors): the failed ones
    to follow up, the open ones with their attempts and last result."""
    if principal.role not in SUPERVISORS:
        raise HTTPException(403, detail="forbidden: supervisors and admins only")
    statuses = [s.strip() for s in status.split(",") if s.strip()]
    try:
        found = await list_callbacks(_engine(request), principal.tenant_id, statuses, limit=limit)
    except ValueError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    return {"tenant": principal.tenant_id, "callbacks": [asdict(c) for c in found]}


class CallbackChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: float = Field(gt=0, description="when to call (epoch seconds)")


@router.post("/api/callbacks/{ref}/cancel")
async def cancel_callback(
    request: Request, principal: CurrentPrincipal, ref: str
) -> dict[str, Any]:
    """A supervisor cancels a callback not being made now (waiting in line or stored)."""
    return await _change_callback(request, principal, ref, None)


@router.post("/api/callbacks/{ref}/reschedule")
async def reschedule_callback(
    request: Request, principal: CurrentPrincipal, ref: str, body: CallbackChange
) -> dict[str, Any]:
    """A supervisor moves a callback to another time (it leaves its place in line, if it
    had one, and is taken again when the time comes)."""
    return await _change_callback(request, principal, ref, body.at)


async def _change_callback(
    request: Request, principal: CurrentPrincipal, ref: str, at: float | None
) -> dict[str, Any]:
    if principal.role not in SUPERVISORS:
        raise HTTPException(403, detail="forbidden: supervisors and admins only")
    engine = _engine(request)
    now = clock.time()
    runners = getattr(getattr(request.app.state, "center", None), "runners", {})
    runner = runners.get(principal.tenant_id)
    try:
        if runner is not None and runner.callback_calls.withdraw_callback(ref, cancel=at is None):
            if at is None:
                await request.app.state.center.journal.flush()  # its cancelled row is written
                return {"ref": ref, "status": "cancelled"}
        changed = await change_callback(engine, principal.tenant_id, ref, now, due_at=at)
    except RoutingError as exc:
        raise HTTPException(409, detail=str(exc)) from None
    except CallbackRefused as exc:
        code = 404 if str(exc).startswith("no callback") else 409
        if "in the past" in str(exc):
            code = 422
        raise HTTPException(code, detail=str(exc)) from None
    return asdict(changed)


@router.get("/api/calls/{call_id}")
async def get_call(request: Request, principal: CurrentPrincipal, call_id: str) -> dict[str, Any]:
    """One call's record and events; an agent sees only calls they handled."""
    record = await call_record(_engine(request), principal.tenant_id, call_id)
    if record is None or (
        principal.role not in SUPERVISORS and record.get("agent") != principal.agent_id
    ):
        raise HTTPException(404, detail=f"no call {call_id!r}")
    record["recording"] = await playable(request, principal, call_id)
    return record
