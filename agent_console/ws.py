"""The console's websocket (`/ws`) and the REST twins of its actions (`/api/actions/...`).

Protocol, version 1. Every message is a JSON object with `type` and `version`.

Client -> server: `{"type": <action>, "version": 1, "id": <optional, echoed>, ...fields}`
where the action is one of `ACTIONS` below (fields per action in its model), plus
`ping` and `sync` (ask for a fresh `snapshot`).

Server -> client:
- `hello` once, with the principal, then a `snapshot` (the whole truth for this user:
  `now`, the tenant's reasons, dispositions, queues and colleagues; for an agent their
  state, current call, last pop and campaign preview; for a supervisor every agent's
  state, each queue's thresholds and the agents serving it, and the live figures);
  `snapshot` again in answer to `sync`, `pong` {id} to `ping`;
- `ack` {id, action, result} after an action succeeded, `error` {id, error, detail}
  when a message was malformed, unknown, not allowed, or refused by the center; the
  connection survives every error;
- pushes to the agent: `agent.state` {agent_id, state, reason, since}, `screen_pop`
  (the caller and their record, see `cti.console`), `call.update` {call_id, state,
  since, queue, ..., answered_at once answered, recording: "recording" | "paused" while
  the call is recorded}, `campaign.preview` {preview: the contact a preview campaign
  shows the agent (campaign, contact_id, number, name, customer, history), or null once
  it is dealt with};
- pushes to the tenant's supervisors: `agent.state` (as above), `tenant.stats` {stats},
  `queue.stats` {queue, stats}, `agent.stats` {agent_id, stats} (the live figures of
  `reports.live`, as published on MQTT).

Authentication: the session token (cookie, or `?token=` for the websocket); a message
can only act in the user's own tenant: agents act on themselves, supervisors on the
agents of their tenant; anything else is refused with an `error`.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from fastapi import (
    APIRouter,
    HTTPException,
    Request,
    WebSocket,
    WebSocketDisconnect,
    WebSocketException,
)
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent_console.auth import CurrentPrincipal, Principal, current_principal
from agent_console.hub import SUPERVISORS, Hub, message

log = logging.getLogger("agent_console.ws")

MAX_MESSAGE = 64 * 1024


class CenterError(Exception):
    """An action the center refused (wrong state, unknown agent, not allowed...)."""


class ContactCenter(Protocol):
    """What the pages need from the running service (`cti.console.ConsoleBridge`)."""

    def snapshot(self, principal: Principal) -> dict[str, Any]: ...

    async def act(self, principal: Principal, action: str, body: BaseModel) -> dict[str, Any]: ...


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Empty(_Body):
    pass


class NotReady(_Body):
    reason: str = Field(min_length=1, max_length=64)


class WrapUpDone(_Body):
    disposition: str | None = Field(default=None, max_length=64)
    notes: str | None = Field(default=None, max_length=4000)
    resolved: bool | None = None


class WrapUpMore(_Body):
    seconds: float | None = Field(default=None, gt=0, le=3600)


class SetAgentState(_Body):
    agent_id: str = Field(min_length=1, max_length=64)
    state: Literal["ready", "not_ready", "logged_out"]
    reason: str | None = Field(default=None, max_length=64)


_NUMBER = r"^\+?[0-9*#]{2,32}$"


class CallRef(_Body):
    """The agent's current call; `call_id`, when given, must be that call."""

    call_id: str | None = Field(default=None, max_length=128)


class Transfer(CallRef):
    to_kind: Literal["agent", "queue", "number"]
    to: str = Field(min_length=1, max_length=64)
    mode: Literal["blind", "attended"] = "blind"


class Dial(_Body):
    number: str = Field(pattern=_NUMBER)
    customer_id: str | None = Field(default=None, max_length=64)


class ScheduleCallback(_Body):
    number: str = Field(min_length=1, max_length=40)
    at: float | None = Field(default=None, gt=0, description="when to call (epoch seconds)")
    until: float | None = Field(
        default=None,
        gt=0,
        description="not after (epoch seconds); default: the queue's callback_window_hours",
    )
    customer_id: str | None = Field(default=None, max_length=64)
    queue: str | None = Field(default=None, max_length=64)


class Spy(_Body):
    agent_id: str = Field(min_length=1, max_length=64)
    mode: Literal["listen", "whisper", "barge"] = "listen"


AGENT_ACTIONS: dict[str, type[_Body]] = {
    "agent.login": Empty,
    "agent.ready": Empty,
    "agent.not_ready": NotReady,
    "agent.logout": Empty,
    "wrapup.done": WrapUpDone,
    "wrapup.more": WrapUpMore,
    "call.hangup": CallRef,
    "call.hold": CallRef,
    "call.unhold": CallRef,
    "call.transfer": Transfer,
    "call.transfer_complete": CallRef,
    "call.transfer_cancel": CallRef,
    "call.dial": Dial,
    "campaign.dial": Empty,  # the preview campaign's contact in hand
    "campaign.skip": Empty,
    "callback.schedule": ScheduleCallback,
    "recording.pause": Empty,  # the current call's recording (cti.recording)
    "recording.resume": Empty,
}
SUPERVISOR_ACTIONS: dict[str, type[_Body]] = {
    "supervisor.set_state": SetAgentState,
    "supervisor.spy": Spy,
}
ACTIONS = {**AGENT_ACTIONS, **SUPERVISOR_ACTIONS}


class ProtocolError(Exception):
    def __init__(self, error: str, detail: Any = None) -> None:
        super().__init__(error)
        self.error, self.detail = error, detail
        self.ref: Any = None


def parse(principal: Principal, text: str) -> tuple[str, Any, BaseModel | None]:
    """(type, id, validated body) of a client message, or ProtocolError (with the id)."""
    if len(text) > MAX_MESSAGE:
        raise ProtocolError("too_large", f"messages are limited to {MAX_MESSAGE} bytes")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProtocolError("bad_json", str(exc)) from None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ProtocolError("bad_message", "a message is an object with a string 'type'")
    ref = data.pop("id", None)
    kind = data.pop("type")
    try:
        return kind, ref, _body(principal, kind, data)
    except ProtocolError as exc:
        exc.ref = ref
        raise


def _body(principal: Principal, kind: str, data: dict[str, Any]) -> BaseModel | None:
    """The validated fields of a message of type `kind` (None for ping and sync)."""
    version = data.pop("version", None)
    if version != 1:
        raise ProtocolError("bad_version", f"version must be 1, got {version!r}")
    if kind in ("ping", "sync"):
        return None
    model = ACTIONS.get(kind)
    if model is None:
        raise ProtocolError("unknown_type", f"unknown message type {kind!r}")
    if kind in SUPERVISOR_ACTIONS and principal.role not in SUPERVISORS:
        raise ProtocolError("forbidden", f"{kind} needs the supervisor or admin role")
    if kind in AGENT_ACTIONS and not principal.agent_id:
        raise ProtocolError("forbidden", f"{kind} needs a user bound to an agent")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        detail = exc.errors(include_url=False, include_context=False)
        raise ProtocolError("invalid", detail) from None


router = APIRouter(tags=["console"])


def _center(conn: Any) -> ContactCenter:
    center = getattr(conn.app.state, "center", None)
    if center is None:
        raise CenterError("the contact center is not running in this process")
    return center  # type: ignore[no-any-return]


@router.websocket("/ws")
async def console_socket(websocket: WebSocket) -> None:
    origin = websocket.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != websocket.headers.get("host"):
        # a page of another site opening our socket with the user's cookie: refused
        raise WebSocketException(code=1008, reason="cross-site websocket refused")
    principal = await current_principal(websocket)
    hub: Hub = websocket.app.state.hub
    await websocket.accept()
    conn = hub.connect(principal, websocket.send_text, _closer(websocket))
    try:
        hub.send(conn, message("hello", principal=_principal(principal)))
        center = getattr(websocket.app.state, "center", None)
        if center is not None:
            hub.send(conn, message("snapshot", **center.snapshot(principal)))
        while True:
            text = await websocket.receive_text()
            reply = await _handle(websocket, principal, text)
            hub.send(conn, reply)
    except WebSocketDisconnect:
        pass
    finally:
        await hub.disconnect(conn)


def _closer(websocket: WebSocket) -> Any:
    async def close(code: int, reason: str) -> None:
        await websocket.close(code=code, reason=reason)

    return close


async def _handle(websocket: WebSocket, principal: Principal, text: str) -> dict[str, Any]:
    ref = None
    try:
        kind, ref, body = parse(principal, text)
        if kind == "ping":
            return message("pong", id=ref)
        center = _center(websocket)
        if kind == "sync":
            return message("snapshot", id=ref, **center.snapshot(principal))
        assert body is not None
        result = await center.act(principal, kind, body)
        return message("ack", id=ref, action=kind, result=result)
    except ProtocolError as exc:
        return message("error", id=exc.ref, error=exc.error, detail=exc.detail)
    except CenterError as exc:
        return message("error", id=ref, error="refused", detail=str(exc))
    except Exception:
        log.exception("console action failed: %s", text[:200])
        return message("error", id=ref, error="internal", detail="the action failed")


def _principal(principal: Principal) -> dict[str, Any]:
    return {
        "tenant": principal.tenant_id,
        "username": principal.username,
        "role": principal.role,
        "agent_id": principal.agent_id,
    }


# --- REST twins: everything the pages do over the socket, also as plain HTTP ----------


@router.get("/api/console/snapshot")
async def get_snapshot(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """What the socket's `snapshot` message carries, for this user."""
    try:
        return message("snapshot", **_center(request).snapshot(principal))
    except CenterError as exc:
        raise HTTPException(503, detail=str(exc)) from None


def _add_rest_twin(action: str, model: type[_Body]) -> None:
    async def endpoint(request: Request, body: Any, principal: CurrentPrincipal) -> dict[str, Any]:
        if action in SUPERVISOR_ACTIONS and principal.role not in SUPERVISORS:
            raise HTTPException(403, detail=f"forbidden: {action} needs the supervisor role")
        if action in AGENT_ACTIONS and not principal.agent_id:
            raise HTTPException(403, detail=f"forbidden: {action} needs a user bound to an agent")
        try:
            result = await _center(request).act(principal, action, body)
        except CenterError as exc:
            raise HTTPException(409, detail=str(exc)) from None
        return message("ack", action=action, result=result)

    endpoint.__annotations__["body"] = model  # the action's own body model
    endpoint.__name__ = "post_" + action.replace(".", "_")
    router.add_api_route(
        f"/api/actions/{action}", endpoint, methods=["POST"], summary=f"console action {action}"
    )


for _action, _model in ACTIONS.items():
    _add_rest_twin(_action, _model)
