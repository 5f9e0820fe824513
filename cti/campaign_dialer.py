"""The campaign dialer (one task for every tenant).

Every `campaign_poll_seconds`, for each running progressive campaign: as many calls as
its queue has ready agents not already promised a campaign call
(`acd.campaign.to_dial`), to the contacts due now, inside their calling hours in their
own time zone and off the tenant's do-not-call list (`acd.campaign.pick`). Each call
is an attempt (`dialing` in the store) handed to the ACD
(`AcdRunner.take_campaign_call`): it reserves a ready agent, whose phone rings first
and whose console shows the customer's record, then the customer is dialed with the
campaign's caller ID. The attempt's result comes back through the journal
(`campaign.result`) and the store settles the contact by the campaign's retry rules.
Numbers met on the do-not-call list are marked `dnc` and never dialed. A campaign
paused or stopped has its calls not yet given an agent withdrawn.

Preview campaigns (the agent decides to dial or skip) are not dialed here.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncEngine

from acd.campaign import abandon_attempt, attempt, pick, to_dial
from acd.errors import RoutingError
from acd.runner import AcdRunner, CallbackLeg, Campaigned
from cti.config import PlatformConfig
from cti.store import campaigns as store

log = logging.getLogger("cti.campaign_dialer")

BATCH = 4  # contacts read per call to place (some are outside their hours now)


async def dial_due(
    engine: AsyncEngine, runners: Mapping[str, AcdRunner], config: PlatformConfig, now: float
) -> int:
    """Place the calls the running campaigns are due; how many were placed."""
    placed = 0
    for tenant in config.tenants:
        runner = runners.get(tenant.tenant.id)
        if runner is None:
            continue
        for view in await store.list_campaigns(engine, tenant.tenant.id):
            if view.status != "running":
                runner.cancel_campaign(view.spec.id)
            elif view.spec.mode == "progressive":
                placed += await _dial_campaign(engine, runner, view.spec, now)
    return placed


async def _dial_campaign(
    engine: AsyncEngine, runner: AcdRunner, spec: store.CampaignSpec, now: float
) -> int:
    tenant_id = runner.tenant_id
    wanted = to_dial(
        runner.router.ready_agents(spec.queue), runner.waiting_campaign_calls(spec.queue)
    )
    if wanted == 0:
        return 0
    due = await store.due_contacts(engine, tenant_id, spec.id, now, max(BATCH * wanted, 20))
    if not due:
        return 0
    views = {v.contact.id: v for v in due}
    hours = spec.calling_hours()
    dnc = await store.barred(engine, tenant_id, [v.contact.number for v in due])
    chosen, barred = pick([v.contact for v in due], now, hours, dnc, wanted)
    started = [attempt(c, now, hours, dnc) for c in chosen]
    call_ids = {c.id: f"cmp-{spec.id}-{c.id}-a{c.attempts}-{uuid.uuid4().hex[:6]}" for c in started}
    await store.save_contacts(engine, tenant_id, [*barred, *started], call_ids)
    for contact in barred:
        log.info(
            "%s: campaign %s: %s is on the do-not-call list", tenant_id, spec.id, contact.number
        )
    placed = 0
    for contact in started:
        leg = CallbackLeg(
            ref=call_ids[contact.id],
            call_id=call_ids[contact.id],
            number=contact.number,
            queue=spec.queue,
            customer_id=views[contact.id].customer_id,
            requested_at=now,
            source="campaign",
            campaign=Campaigned(
                spec.id, contact.id, spec.caller_id, spec.ring_seconds, spec.record
            ),
        )
        try:
            runner.take_campaign_call(leg)
            placed += 1
        except RoutingError as exc:  # e.g. the queue left the configuration
            log.warning("%s: campaign %s: call not placed: %s", tenant_id, spec.id, exc)
            await store.save_contacts(engine, tenant_id, [abandon_attempt(contact)], {})
    return placed
