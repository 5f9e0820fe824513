"""The web application (FastAPI): for now the service's health endpoint.

`GET /health` reports the AMI link, the database and the MQTT bus as JSON,
with HTTP 200 when every part is up and 503 when one is down. The agent
console and the wallboard will be served from this same app.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

HealthProbe = Callable[[], Awaitable[dict[str, Any]]]


def create_app(health: HealthProbe) -> FastAPI:
    app = FastAPI(title="CTI platform", version="0.1.0")

    @app.get("/health")
    async def get_health() -> JSONResponse:
        report = await health()
        return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)

    return app
