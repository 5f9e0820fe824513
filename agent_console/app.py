"""The web application (FastAPI): health, login and the tenant-scoped APIs.

`GET /health` reports the AMI link, the database and the MQTT bus as JSON,
with HTTP 200 when every part is up and 503 when one is down. `/api/login`,
`/api/logout` and `/api/me` open and show a session (`agent_console.auth`);
every other `/api` route takes the principal as a dependency and sees only its
tenant. The agent console and the wallboard are served from this same app
(`agent_console.pages`).

What the routes need is on `app.state`: `engine` (the store, or None),
`config` (the platform configuration, or None), `settings`, `sessions` (the
token signer) and `login_throttle`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from agent_console import (
    auth,
    campaigns_api,
    customers_api,
    kpis_api,
    pages,
    public_callbacks,
    recordings_api,
    users_api,
    ws,
)
from agent_console.hub import Hub
from agent_console.meta_api import router as meta_router
from cti.config import PlatformConfig
from cti.settings import Settings

HealthProbe = Callable[[], Awaitable[dict[str, Any]]]


def create_app(
    health: HealthProbe,
    *,
    engine: AsyncEngine | None = None,
    config: PlatformConfig | None = None,
    settings: Settings | None = None,
) -> FastAPI:
    settings = settings if settings is not None else Settings()
    app = FastAPI(title="CTI platform", version="0.1.0")
    app.state.engine = engine
    app.state.config = config
    app.state.settings = settings
    app.state.sessions = auth.SessionTokens.from_settings(settings)
    app.state.login_throttle = auth.LoginThrottle()
    app.state.hub = Hub()
    app.state.center = None  # the running service sets its ConsoleBridge here

    @app.get("/health")
    async def get_health() -> JSONResponse:
        report = await health()
        return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)

    app.include_router(auth.router)
    app.include_router(users_api.router)
    # The tenant-scoped APIs: one include_router line per module, below this one.
    app.include_router(customers_api.router)
    app.include_router(ws.router)
    app.include_router(kpis_api.router)
    app.include_router(meta_router)
    app.include_router(recordings_api.router)
    app.include_router(campaigns_api.router)
    app.include_router(public_callbacks.router)
    app.include_router(pages.router)

    return app
