"""The users of the caller's tenant, for supervisors and admins (`GET /api/users`).

The tenant comes from the principal, never from the request: there is no way to
name another tenant here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel

from agent_console.auth import Principal, require_role
from cti.store import users


class UserOut(BaseModel):
    username: str
    role: str
    agent_id: str | None
    extension: str | None
    display_name: str | None
    created_at: float


router = APIRouter(prefix="/api", tags=["users"])


@router.get("/users")
async def list_users(
    request: Request,
    principal: Annotated[Principal, Depends(require_role("supervisor", "admin"))],
) -> list[UserOut]:
    engine = request.app.state.engine
    if engine is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="no database configured")
    return [
        UserOut(
            username=user.username,
            role=user.role,
            agent_id=user.agent_id,
            extension=user.extension,
            display_name=user.display_name,
            created_at=user.created_at,
        )
        for user in await users.list_users(engine, principal.tenant_id)
    ]
