"""The agent console's websocket against the running service and a real Asterisk.

An agent logs in over HTTP, opens the socket, goes ready; a real call from a known
customer pops the record (with the customer's history and the IVR path) before the
agent's phone is answered; the agent wraps up with a disposition that lands in the
call's row. Bad messages get errors and the socket survives.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import insert, select

from cti.store import customers as customer_store
from cti.store.models import Call
from cti.store.users import create_user
from tests.integration.center import Center
from tests.integration.conftest import until

pytestmark = pytest.mark.asterisk

JEANNE = "+33612345305"


class Console:
    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.seen: list[dict[str, Any]] = []  # every message, in order
        self.unread: list[dict[str, Any]] = []  # received but not yet expected

    async def send(self, kind: str, **fields: Any) -> None:
        await self.socket.send(json.dumps({"type": kind, "version": 1, **fields}))

    async def expect(self, kind: str, timeout: float = 20.0, **match: Any) -> dict[str, Any]:
        """The first message of `kind` (with these field values) not expected yet."""

        def fits(msg: dict[str, Any]) -> bool:
            return msg["type"] == kind and all(msg.get(k) == v for k, v in match.items())

        for msg in self.unread:
            if fits(msg):
                self.unread.remove(msg)
                return msg
        async with asyncio.timeout(timeout):
            while True:
                msg = json.loads(await self.socket.recv())
                self.seen.append(msg)
                assert msg["version"] == 1
                if fits(msg):
                    return msg
                self.unread.append(msg)


async def login(center: Center, username: str, password: str) -> str:
    port = center.service.settings.http_port
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        reply = await http.post(
            "/api/login", json={"tenant": "acme", "username": username, "password": password}
        )
        assert reply.status_code == 200, reply.text
        return str(reply.json()["token"])


async def test_a_known_caller_pops_with_history_and_the_wrap_up_is_recorded(
    center: Center,
) -> None:
    engine = center.service.engine
    await create_user(engine, "acme", "alice", "agent", "correct horse", agent_id="alice")
    scope = customer_store.TenantScope.from_config(center.service.config.tenants[0])
    await customer_store.create(
        engine,
        scope,
        id="C001",
        name="Jeanne Martin",
        tier=3,
        language="fr",
        phones=[JEANNE],
        fields={"balance": 1250},
    )
    async with engine.begin() as conn:  # a previous call of hers
        await conn.execute(
            insert(Call),
            [
                {
                    "tenant_id": "acme",
                    "call_id": "old-1",
                    "customer_id": "C001",
                    "queue": "support",
                    "agent": "bob",
                    "queued_at": 1_700_000_000.0,
                    "outcome": "answered",
                    "disposition": "info",
                    "notes": "asked about her invoice",
                    "survey_score": 5,
                }
            ],
        )
    await center.phone("1001", ring="2", talk="2")
    token = await login(center, "alice", "correct horse")
    url = f"ws://127.0.0.1:{center.service.settings.http_port}/ws?token={token}"
    async with websockets.connect(url) as socket:
        console = Console(socket)
        hello = await console.expect("hello")
        assert hello["principal"]["agent_id"] == "alice"
        snapshot = await console.expect("snapshot")
        assert snapshot["agent"]["state"] == "logged_out" and "lunch" in snapshot["reasons"]

        # bad input: an error each, and the socket lives on
        await socket.send("{not json")
        assert (await console.expect("error"))["error"] == "bad_json"
        await console.send("agent.fly", id="x")
        assert (await console.expect("error", id="x"))["error"] == "unknown_type"
        await socket.send(json.dumps({"type": "agent.ready", "version": 7}))
        assert (await console.expect("error"))["error"] == "bad_version"
        await console.send("supervisor.set_state", id="s", agent_id="bob", state="ready")
        assert (await console.expect("error", id="s"))["error"] == "forbidden"
        await console.send("agent.not_ready", id="r", reason="fishing")
        assert (await console.expect("error", id="r"))["error"] == "refused"
        await console.send("agent.not_ready", id="r2", reason="x" * 100)
        assert (await console.expect("error", id="r2"))["error"] == "invalid"

        await console.send("agent.login", id="1")
        await console.expect("ack", id="1")
        await console.send("agent.ready", id="2")
        await console.expect("ack", id="2")
        await console.expect("agent.state", state="ready")

        call_id = await center.call(caller=JEANNE, keys="1")
        pop = await console.expect("screen_pop")
        assert pop["caller_number"] == JEANNE and pop["queue"] == "sales"
        if not pop["complete"]:  # the record was still being read: it follows
            pop = await console.expect("screen_pop", complete=True, call_id=pop["call_id"])
        assert pop["customer"]["name"] == "Jeanne Martin" and pop["known"] is True
        assert pop["caller_number"] == JEANNE and pop["tier"] == 3 and pop["language"] == "fr"
        assert pop["queue"] == "sales" and "main" in pop["ivr"]["path"]
        assert pop["waited_seconds"] is not None and pop["waited_seconds"] >= 0
        [old] = pop["history"]["calls"]
        assert (old["call_id"], old["disposition"], old["survey_score"]) == ("old-1", "info", 5)
        assert old["notes"] == "asked about her invoice"
        # the pop came before the agent's phone answered (it rings 2 s)
        assert not any(
            m["type"] == "call.update" and m.get("state") == "talking" for m in console.seen
        )
        await console.expect("call.update", state="talking")
        await console.expect("agent.state", state="wrap_up")
        await console.send("wrapup.done", id="w", disposition="sale", notes="upgraded plan")
        ack = await console.expect("ack", id="w")
        assert ack["result"]["call_id"] == pop["call_id"]
        await console.send("ping", id="p")
        await console.expect("pong", id="p")

    async def recorded() -> Any:
        await center.service.journal.flush()
        async with engine.connect() as conn:
            return (await conn.execute(select(Call).where(Call.call_id == pop["call_id"]))).first()

    await until(lambda: center.outcome(call_id) is not None)
    row = await recorded()
    assert row is not None
    assert (row.disposition, row.notes, row.resolved) == ("sale", "upgraded plan", True)
    assert row.customer_id == "C001" and row.agent == "alice"


async def test_the_socket_needs_a_valid_session(center: Center) -> None:
    url = f"ws://127.0.0.1:{center.service.settings.http_port}/ws?token=forged"
    with pytest.raises(websockets.exceptions.InvalidStatus):
        async with websockets.connect(url):
            pass
