"""Who is calling the web app: session tokens, the current principal, roles, login and logout.

A session token is `<payload>.<signature>`: the payload is the base64url JSON of
the principal (tenant, username, role, agent id) and its expiry, the signature
an HMAC-SHA256 of the payload under the installation's session secret
(`CTI_SESSION_SECRET`, or one generated at the first start and kept in
`var/session_secret` so that a restart logs nobody out). Tokens are stateless:
logging out clears the cookie, and a token stays valid until it expires.

A request presents its token as `Authorization: Bearer <token>`, or as the
httpOnly `cti_session` cookie that `POST /api/login` sets; a websocket may also
give it as the `token` query parameter (browsers cannot set headers there).

`current_principal` is the dependency every scoped endpoint takes, and
`require_role("supervisor", "admin")` the one that also checks the role: the
roles listed are exactly those let in (an admin is not implicitly a supervisor).
A principal is always inside one tenant; every query filters on its `tenant_id`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response, WebSocketException, status
from pydantic import BaseModel, Field
from starlette.requests import HTTPConnection

from cti.config import PlatformConfig
from cti.errors import CtiError
from cti.settings import Settings
from cti.store import users

ROLES = users.ROLES
COOKIE_NAME = "cti_session"
SECRET_FILE = Path("var") / "session_secret"
MIN_SECRET_LENGTH = 32
LOGIN_FAILED = "wrong tenant, username or password"


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of a request."""

    tenant_id: str
    username: str
    role: str
    agent_id: str | None


class InvalidToken(CtiError):
    """A session token that is malformed, forged or expired."""


def load_or_create_secret(path: Path) -> bytes:
    """The secret kept in `path`, created (readable by its owner only) when absent."""
    try:
        secret = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        secret = ""
    if len(secret) >= MIN_SECRET_LENGTH:
        return secret.encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = secrets.token_urlsafe(48)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(fresh + "\n")
    os.replace(temporary, path)
    return fresh.encode()


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionTokens:
    """Issues and checks signed session tokens; the secret is read at first use."""

    def __init__(
        self,
        secret: bytes | Callable[[], bytes],
        hours: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if isinstance(secret, bytes) and len(secret) < MIN_SECRET_LENGTH:
            raise CtiError(
                f"the session secret is too short: give CTI_SESSION_SECRET at least"
                f" {MIN_SECRET_LENGTH} characters, or leave it empty to have one generated"
            )
        self._secret = secret
        self.seconds = hours * 3600.0
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionTokens:
        if settings.session_secret:
            return cls(settings.session_secret.encode(), settings.session_hours)
        return cls(lambda: load_or_create_secret(SECRET_FILE), settings.session_hours)

    def _key(self) -> bytes:
        if not isinstance(self._secret, bytes):
            self._secret = self._secret()
        return self._secret

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self._key(), payload.encode("ascii"), hashlib.sha256).digest()
        return _b64encode(digest)

    def issue(self, principal: Principal) -> tuple[str, float]:
        """A token for `principal` and the epoch at which it expires."""
        expires_at = float(int(self.clock() + self.seconds))
        body = {
            "tenant": principal.tenant_id,
            "username": principal.username,
            "role": principal.role,
            "agent_id": principal.agent_id,
            "exp": expires_at,
        }
        payload = _b64encode(json.dumps(body, separators=(",", ":")).encode())
        return f"{payload}.{self._sign(payload)}", expires_at

    def read(self, token: str) -> Principal:
        """The principal a token names; `InvalidToken` if forged, malformed or expired."""
        payload, dot, signature = token.partition(".")
        if not dot or not payload.isascii() or not signature.isascii():
            raise InvalidToken("malformed session token")
        if not hmac.compare_digest(self._sign(payload), signature):
            raise InvalidToken("invalid session token")
        try:
            body = json.loads(_b64decode(payload))
            principal = Principal(
                tenant_id=_text(body["tenant"]),
                username=_text(body["username"]),
                role=_text(body["role"]),
                agent_id=None if body["agent_id"] is None else _text(body["agent_id"]),
            )
            expires_at = float(body["exp"])
        except (binascii.Error, ValueError, KeyError, TypeError) as exc:
            raise InvalidToken("malformed session token") from exc
        if principal.role not in ROLES:
            raise InvalidToken("malformed session token")
        if self.clock() >= expires_at:
            raise InvalidToken("session expired: log in again")
        return principal


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value


class LoginThrottle:
    """Counts failed logins per key in a sliding window and says when to refuse more."""

    def __init__(
        self,
        max_failures: int = 5,
        window_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self.clock = clock
        self.max_keys = max_keys
        self._failures: dict[tuple[str, ...], deque[float]] = {}

    def _recent(self, key: tuple[str, ...]) -> deque[float] | None:
        failures = self._failures.get(key)
        if failures is None:
            return None
        horizon = self.clock() - self.window
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return None
        return failures

    def retry_after(self, key: tuple[str, ...]) -> float | None:
        """Seconds until another attempt is allowed, or None if one is allowed now."""
        failures = self._recent(key)
        if failures is None or len(failures) < self.max_failures:
            return None
        return max(failures[0] + self.window - self.clock(), 0.0)

    def failed(self, key: tuple[str, ...]) -> None:
        if key not in self._failures and len(self._failures) >= self.max_keys:
            for stale in list(self._failures)[: self.max_keys // 10 + 1]:
                self._recent(stale)
            while len(self._failures) >= self.max_keys:
                del self._failures[next(iter(self._failures))]
        self._failures.setdefault(key, deque()).append(self.clock())

    def succeeded(self, key: tuple[str, ...]) -> None:
        self._failures.pop(key, None)


def _unauthorized(connection: HTTPConnection, reason: str) -> Exception:
    if connection.scope["type"] == "websocket":
        return WebSocketException(code=status.WS_1008_POLICY_VIOLATION, reason=reason)
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail=f"not authenticated: {reason}",
        headers={"WWW-Authenticate": "Bearer"},
    )


_BEARER = re.compile(r"^\s*Bearer\s+(\S+)\s*$", re.IGNORECASE)


def _token_of(connection: HTTPConnection) -> str | None:
    match = _BEARER.match(connection.headers.get("authorization", ""))
    if match:
        return match.group(1)
    cookie = connection.cookies.get(COOKIE_NAME)
    if cookie:
        return cookie
    if connection.scope["type"] == "websocket":
        return connection.query_params.get("token") or None
    return None


async def current_principal(request: HTTPConnection) -> Principal:
    """The caller, from their session token; 401 (websockets: close 1008) when there is none.

    Works for HTTP requests and websockets alike (`Request` and `WebSocket` are
    both `HTTPConnection`s).
    """
    token = _token_of(request)
    if token is None:
        raise _unauthorized(request, "log in first (no session token)")
    tokens: SessionTokens = request.app.state.sessions
    try:
        return tokens.read(token)
    except InvalidToken as exc:
        raise _unauthorized(request, str(exc)) from None


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_role(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency giving the principal when their role is one of `roles`, else 403."""
    unknown = [role for role in roles if role not in ROLES]
    if not roles or unknown:
        raise ValueError(f"require_role needs roles among {ROLES}, got {roles!r}")
    allowed = frozenset(roles)

    async def principal_with_role(
        request: HTTPConnection, principal: CurrentPrincipal
    ) -> Principal:
        if principal.role not in allowed:
            reason = f"this needs the role {' or '.join(roles)}; you are {principal.role}"
            if request.scope["type"] == "websocket":
                raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION, reason=reason)
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"forbidden: {reason}")
        return principal

    return principal_with_role


class LoginRequest(BaseModel):
    tenant: str = Field(min_length=1, max_length=64)
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=users.MAX_PASSWORD_LENGTH)
    extension: str | None = Field(
        default=None,
        pattern=r"^[0-9*#+]{1,32}$",
        description="The phone extension an agent sits at, when not their usual one (one"
        " of the center's phones; none: their own); a supervisor's phone for listening.",
    )


class LoginResponse(BaseModel):
    token: str
    role: str
    agent_id: str | None
    tenant: str
    username: str
    extension: str | None
    expires_at: float = Field(description="Epoch seconds.")


class PrincipalOut(BaseModel):
    tenant: str
    username: str
    role: str
    agent_id: str | None


router = APIRouter(prefix="/api", tags=["auth"])


def _phones(config: PlatformConfig | None, tenant_id: str) -> dict[str, str]:
    """The tenant's phones (the extensions the Asterisk configuration has), by agent."""
    try:
        tenant = config.tenant(tenant_id) if config is not None else None
    except KeyError:
        return {}
    return {agent.id: agent.extension for agent in tenant.agents} if tenant else {}


@router.post("/login", responses={401: {}, 422: {}, 429: {}})
async def login(body: LoginRequest, request: Request, response: Response) -> LoginResponse:
    """Check the password and open a session: the token in the body and as a cookie."""
    engine = request.app.state.engine
    if engine is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="no database configured")
    throttle: LoginThrottle = request.app.state.login_throttle
    client = request.client.host if request.client else "unknown"
    key = (body.tenant, body.username.lower(), client)
    wait = throttle.retry_after(key)
    if wait is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail="too many failed logins: wait a minute and try again",
            headers={"Retry-After": str(max(1, round(wait)))},
        )
    user = await users.authenticate(engine, body.tenant, body.username, body.password)
    if user is None:
        throttle.failed(key)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail=LOGIN_FAILED,
            headers={"WWW-Authenticate": "Bearer"},
        )
    throttle.succeeded(key)
    extension = body.extension
    if user.role == "agent":  # an agent sits at one of the tenant's phones, else their own
        phones = _phones(request.app.state.config, user.tenant_id)
        if extension is not None and phones and extension not in phones.values():
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                detail=f"extension {extension!r} is not a phone of this center"
                f" (one of: {', '.join(sorted(phones.values()))})",
            )
        if extension is None:  # their own phone, as the tenant file says
            extension = phones.get(user.agent_id or "", user.extension)
    elif extension is None:
        extension = user.extension  # a supervisor's own phone, kept
    if extension != user.extension:
        await users.set_extension(engine, user.tenant_id, user.username, extension)
    principal = Principal(user.tenant_id, user.username, user.role, user.agent_id)
    tokens: SessionTokens = request.app.state.sessions
    token, expires_at = tokens.issue(principal)
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=int(tokens.seconds),
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="lax",
        path="/",
    )
    return LoginResponse(
        token=token,
        role=user.role,
        agent_id=user.agent_id,
        tenant=user.tenant_id,
        username=user.username,
        extension=extension,
        expires_at=expires_at,
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(request: Request, response: Response) -> None:
    """Clear the session cookie (a bearer token held elsewhere stays valid until it expires)."""
    response.delete_cookie(
        COOKIE_NAME,
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="lax",
        path="/",
    )


@router.get("/me")
async def me(principal: CurrentPrincipal) -> PrincipalOut:
    return PrincipalOut(
        tenant=principal.tenant_id,
        username=principal.username,
        role=principal.role,
        agent_id=principal.agent_id,
    )
