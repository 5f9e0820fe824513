"""What the report pages need to know of the tenant's configuration: `GET /api/meta`.

`{"tenant", "name", "timezone", "queues": [{"id", "name", "service_level_seconds"}],
"agents": [{"id", "name"}]}` for the principal's tenant only. Supervisors and admins get
every agent; an agent gets only themselves (the reports show them nothing else).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request

from agent_console.auth import CurrentPrincipal
from agent_console.hub import SUPERVISORS
from cti.config import PlatformConfig

router = APIRouter(tags=["reports"])


@router.get("/api/meta")
async def get_meta(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """The tenant's time zone, queues and agents (for filters and pickers)."""
    config: PlatformConfig | None = request.app.state.config
    tenant = None
    if config is not None:
        tenant = next((t for t in config.tenants if t.tenant.id == principal.tenant_id), None)
    if tenant is None:
        raise HTTPException(404, detail=f"no configuration for tenant {principal.tenant_id!r}")
    agents = [
        {"id": a.id, "name": a.name}
        for a in tenant.agents
        if principal.role in SUPERVISORS or a.id == principal.agent_id
    ]
    return {
        "tenant": tenant.tenant.id,
        "name": tenant.tenant.name,
        "timezone": tenant.tenant.timezone,
        "queues": [
            {"id": q.id, "name": q.name, "service_level_seconds": q.service_level_seconds}
            for q in tenant.queues
        ],
        "agents": agents,
    }
