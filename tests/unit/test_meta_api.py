"""What the history page reads besides the reports: the tenant's queues and agents
(`GET /api/meta`, scoped to the principal) and charts at the chosen SL threshold."""

from __future__ import annotations

import httpx

from tests.unit.test_kpis_api import DAY, client, engine, token

__all__ = ["client", "engine"]  # the fixtures of the reports API tests


async def test_a_supervisor_gets_the_tenants_queues_and_agents(client: httpx.AsyncClient) -> None:
    sam = await token(client, "acme", "sam")
    reply = await client.get("/api/meta", headers=sam)
    assert reply.status_code == 200, reply.text
    meta = reply.json()
    assert (meta["tenant"], meta["timezone"]) == ("acme", "Europe/Paris")
    assert meta["queues"] == [
        {"id": "sales", "name": "Sales", "service_level_seconds": 20},
        {"id": "support", "name": "Support", "service_level_seconds": 30},
    ]
    assert [a["id"] for a in meta["agents"]] == ["alice", "bob", "carol", "dave"]
    assert meta["agents"][0] == {"id": "alice", "name": "Alice Martin"}


async def test_an_agent_gets_only_themselves_and_strangers_nothing(
    client: httpx.AsyncClient,
) -> None:
    alice = await token(client, "acme", "alice")
    assert (await client.get("/api/meta", headers=alice)).json()["agents"] == [
        {"id": "alice", "name": "Alice Martin"}
    ]
    gus = await token(client, "globex", "gus")  # a tenant the configuration does not have
    reply = await client.get("/api/meta", headers=gus)
    assert reply.status_code == 404 and "acme" not in reply.text
    client.cookies.clear()
    assert (await client.get("/api/meta")).status_code == 401


async def test_the_chart_follows_the_sl_threshold(client: httpx.AsyncClient) -> None:
    sam = await token(client, "acme", "sam")
    url = f"/api/kpis/chart.svg?from={DAY}&by=queue&fields=service_level"
    default, strict = [
        await client.get(url + extra, headers=sam) for extra in ("", "&sl_threshold=2")
    ]
    assert default.status_code == strict.status_code == 200
    assert default.text != strict.text  # sales' answered call waited 4 s: 100% vs 0%
    again = await client.get(url + "&sl_threshold=20", headers=sam)
    assert again.text == default.text
    bad = await client.get(url + "&sl_threshold=0", headers=sam)
    assert bad.status_code == 422
