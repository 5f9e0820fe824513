"""Playing a call's recording: `GET /api/recordings/{call_id}` streams the WAV file.

Only to users of the call's tenant: supervisors and admins, and the agent who took
the call when the tenant sets `agents_may_play_recordings`. A call of another tenant
is not found (404), as is a call without a recording; a user of the tenant without
the right is refused (403); a recording the service is still making is a 409.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from agent_console.auth import CurrentPrincipal, Principal
from agent_console.hub import SUPERVISORS
from cti.config import PlatformConfig
from cti.store.models import Recording

router = APIRouter(tags=["recordings"])


def may_play(principal: Principal, agent_id: str | None, agents_allowed: bool) -> bool:
    """Whether a user of the recording's tenant may play it."""
    if principal.role in SUPERVISORS:
        return True
    return agents_allowed and principal.agent_id is not None and principal.agent_id == agent_id


def _agents_allowed(request: Request, tenant_id: str) -> bool:
    config: PlatformConfig | None = request.app.state.config
    if config is None:
        return False
    tenant = next((t for t in config.tenants if t.tenant.id == tenant_id), None)
    return tenant is not None and tenant.agents_may_play_recordings


def _recording_now(request: Request, tenant_id: str, call_id: str) -> bool:
    """Whether the running service is recording this call now (a row left open by a
    restart is not: Asterisk closed its file with the channel)."""
    recorder = getattr(request.app.state.center, "recorder", None)
    active = getattr(recorder, "active", {})
    return (tenant_id, call_id) in active


async def _recording(engine: AsyncEngine, tenant_id: str, call_id: str) -> Any:
    """The tenant's recording row of the call, or None."""
    async with engine.connect() as conn:
        found = await conn.execute(
            select(Recording).where(Recording.tenant_id == tenant_id, Recording.call_id == call_id)
        )
        return found.first()


async def playable(request: Request, principal: Principal, call_id: str) -> dict[str, Any] | None:
    """What a call record says of its recording when the user may play it: where to
    play it from, and its pauses (the file holds the call without them); else None."""
    engine: AsyncEngine | None = request.app.state.engine
    if engine is None:
        return None
    row = await _recording(engine, principal.tenant_id, call_id)
    if row is None or not may_play(
        principal, row.agent_id, _agents_allowed(request, principal.tenant_id)
    ):
        return None
    return {
        "url": f"/api/recordings/{quote(call_id, safe='')}",
        "ended": row.ended_at is not None,
        "paused_seconds": row.paused_seconds,
        "pauses": row.pauses,
    }


@router.get("/api/recordings/{call_id}", response_class=FileResponse)
async def get_recording(
    call_id: str, request: Request, principal: CurrentPrincipal
) -> FileResponse:
    engine: AsyncEngine | None = request.app.state.engine
    if engine is None:
        raise HTTPException(503, detail="no database configured")
    row = await _recording(engine, principal.tenant_id, call_id)
    if row is None:
        raise HTTPException(404, detail="no recording of this call")
    if not may_play(principal, row.agent_id, _agents_allowed(request, principal.tenant_id)):
        raise HTTPException(403, detail="forbidden: you may not play this recording")
    if row.ended_at is None and _recording_now(request, principal.tenant_id, call_id):
        raise HTTPException(409, detail="the call is still being recorded")
    path = Path(row.path)
    if not await asyncio.to_thread(path.is_file):
        raise HTTPException(404, detail="the recording's file is gone")
    return FileResponse(path, media_type="audio/wav", filename=f"{call_id}.wav")
