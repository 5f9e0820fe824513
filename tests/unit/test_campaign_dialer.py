"""The campaign dialer's turns against the real router and store (SQLite), with a fake
clock: who is dialed, when, and how many at a time. No Asterisk: the calls it places
stop at the ACD's commands, which are not carried out here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from acd.callback_calls import CallbackLeg
from acd.campaign_calls import Campaigned
from acd.runner import AcdRunner
from acd.state import CallState
from cti.campaign_dialer import dial_due
from cti.config import PlatformConfig
from cti.settings import Settings
from cti.store import campaigns as store
from cti.store.customers import TenantScope

MONDAY_NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC).timestamp()  # 13:00 Paris, 21:00 Tokyo
TUESDAY_1AM = MONDAY_NOON + 13 * 3600  # 02:00 Paris, 10:00 Tokyo
SATURDAY_NOON = MONDAY_NOON + 5 * 86400


class NoAmi:
    def subscribe(self, _subscriber: Any) -> Any:
        return lambda: None


async def test_calls_follow_the_customers_hours_the_list_and_the_ready_agents(
    sqlite_engine: AsyncEngine, example_config: PlatformConfig
) -> None:
    tenant = example_config.tenants[0]
    runner = AcdRunner(tenant, NoAmi(), Settings())  # type: ignore[arg-type]
    for agent in ("alice", "bob"):
        runner.login(agent)
        runner.ready(agent)
    spec = store.CampaignSpec("spring", "Spring", "sales", "+33140000000", zone="Europe/Paris")
    await store.create_campaign(sqlite_engine, "acme", spec, ["sales", "support"])
    scope = TenantScope.from_config(tenant)
    listing = "phone,timezone\n+33600000001,\n+33600000002,Asia/Tokyo\n+33600000003,\n"
    await store.import_contacts(sqlite_engine, scope, "spring", listing)
    await store.add_dnc(sqlite_engine, scope, "+33600000003")
    runners = {"acme": runner}

    async def turn(now: float) -> int:
        return await dial_due(sqlite_engine, runners, example_config, now)

    assert await turn(MONDAY_NOON) == 0  # a draft is not dialed
    await store.move_campaign(sqlite_engine, "acme", "spring", "start")
    assert await turn(MONDAY_NOON) == 1  # Paris is open, Tokyo is not; the barred never
    [call] = runner.callbacks.values()
    assert call.number == "+33600000001"
    assert runner.router.call_state(call.call_id) is CallState.CALLBACK_OFFERED  # to an agent
    assert sorted(runner.agent_states.values()).count("reserved") == 1
    assert await turn(MONDAY_NOON + 60) == 0  # nobody else is due in their hours
    assert await turn(SATURDAY_NOON) == 0
    assert await turn(TUESDAY_1AM) == 1  # 10:00 in Tokyo: the ready agent takes it
    assert {c.number for c in runner.callbacks.values()} == {"+33600000001", "+33600000002"}
    assert await turn(TUESDAY_1AM + 60) == 0  # no agent left ready: nothing more
    progress = await store.progress(sqlite_engine, "acme", "spring")
    assert progress["by_status"]["dialing"] == 2 and progress["by_status"]["dnc"] == 1
    assert progress["dialed"] == 2

    await store.move_campaign(sqlite_engine, "acme", "spring", "pause")
    assert await turn(TUESDAY_1AM + 120) == 0  # both calls hold an agent: they go on
    assert len(runner.callbacks) == 2

    # a call still waiting for an agent when the campaign pauses is withdrawn
    meta = Campaigned("spring", 99, "+33140000000", 25)
    waiting = CallbackLeg(
        "w", "cmp-w", "+33600000009", "sales", None, 0.0, "campaign", campaign=meta
    )
    runner.campaigns.take(waiting)  # nobody is ready: it waits
    assert runner.campaigns.waiting("sales") == 1
    await turn(TUESDAY_1AM + 180)
    assert runner.campaigns.waiting("sales") == 0
    assert runner.router.call_state("cmp-w") is CallState.FINISHED
    assert runner.stats.outcomes["cmp-w"] == "callback_cancelled"
