"""The websocket hub: who is connected, and pushing messages to them without waiting.

Each connection has a bounded outbox drained by its own task, so one slow browser
never delays the others or the service. A message is encoded once per push, not
once per receiver. A connection whose outbox overflows is closed (the page
reconnects and resynchronises), never silently left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from agent_console.auth import Principal

log = logging.getLogger("agent_console.hub")

PROTOCOL_VERSION = 1
SUPERVISORS = frozenset({"supervisor", "admin"})


def message(kind: str, **fields: Any) -> dict[str, Any]:
    """A protocol message: a type, the protocol version, then its fields."""
    return {"type": kind, "version": PROTOCOL_VERSION, **fields}


@dataclass(eq=False)
class Connection:
    principal: Principal
    send_text: Callable[[str], Awaitable[None]]
    close: Callable[[int, str], Awaitable[None]]
    outbox: asyncio.Queue[str | None] = field(default_factory=lambda: asyncio.Queue(1000))
    task: asyncio.Task[None] | None = None
    overflowed: bool = False

    def push(self, text: str) -> bool:
        if self.overflowed:
            return False
        try:
            self.outbox.put_nowait(text)
        except asyncio.QueueFull:
            self.overflowed = True
            return False
        return True


@dataclass
class HubStats:
    connections: int = 0
    sent: int = 0
    overflows: int = 0


class Hub:
    def __init__(self) -> None:
        self._by_tenant: dict[str, set[Connection]] = {}
        self._by_agent: dict[tuple[str, str], set[Connection]] = {}
        self._supervisors: dict[str, set[Connection]] = {}
        self.stats = HubStats()

    def connect(
        self,
        principal: Principal,
        send_text: Callable[[str], Awaitable[None]],
        close: Callable[[int, str], Awaitable[None]],
    ) -> Connection:
        conn = Connection(principal, send_text, close)
        self._by_tenant.setdefault(principal.tenant_id, set()).add(conn)
        if principal.agent_id:
            self._by_agent.setdefault((principal.tenant_id, principal.agent_id), set()).add(conn)
        if principal.role in SUPERVISORS:
            self._supervisors.setdefault(principal.tenant_id, set()).add(conn)
        conn.task = asyncio.create_task(self._drain(conn), name=f"ws-{principal.username}")
        self.stats.connections += 1
        return conn

    async def disconnect(self, conn: Connection) -> None:
        tenant = conn.principal.tenant_id
        self._by_tenant.get(tenant, set()).discard(conn)
        if conn.principal.agent_id:
            self._by_agent.get((tenant, conn.principal.agent_id), set()).discard(conn)
        self._supervisors.get(tenant, set()).discard(conn)
        if conn.task is not None:
            conn.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await conn.task
        self.stats.connections -= 1

    def connections(self, tenant: str) -> int:
        return len(self._by_tenant.get(tenant, ()))

    async def _drain(self, conn: Connection) -> None:
        while True:
            text = await conn.outbox.get()
            if text is None:
                return
            try:
                await conn.send_text(text)
            except Exception:
                return  # the socket is gone; its receive loop cleans up
            self.stats.sent += 1
            if conn.overflowed:
                break
        self.stats.overflows += 1
        with contextlib.suppress(Exception):
            await conn.close(1013, "too slow: reconnect to resynchronise")

    def send(self, conn: Connection, payload: dict[str, Any]) -> None:
        conn.push(json.dumps(payload))

    def to_agent(self, tenant: str, agent_id: str, payload: dict[str, Any]) -> int:
        """Push to every console of one agent; returns how many got it."""
        targets = self._by_agent.get((tenant, agent_id))
        if not targets:
            return 0
        text = json.dumps(payload)
        return sum(1 for conn in list(targets) if conn.push(text))

    def has_supervisors(self, tenant: str) -> bool:
        return bool(self._supervisors.get(tenant))

    def to_tenant(
        self, tenant: str, payload: dict[str, Any], *, roles: frozenset[str] | None = None
    ) -> int:
        """Push to the tenant's connections (only those with one of `roles`, if given)."""
        if roles == SUPERVISORS:
            targets = self._supervisors.get(tenant)
        else:
            targets = {
                c
                for c in self._by_tenant.get(tenant, ())
                if roles is None or c.principal.role in roles
            }
        if not targets:
            return 0
        text = json.dumps(payload)
        return sum(1 for conn in list(targets) if conn.push(text))
