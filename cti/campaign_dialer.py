"""The campaign dialer (one task for every tenant).

Every `campaign_poll_seconds`, for each running progressive campaign: as many calls as
its queue has ready agents not already promised a campaign call
(`acd.campaign.to_dial`), to the contacts due now, inside their calling hours in their
own time zone and off the tenant's do-not-call list (`acd.campaign.pick`). Each call
is an attempt (`dialing` in the store) handed to the ACD
(`AcdRunner.campaigns.take`): it reserves a ready agent, whose phone rings first
and whose console shows the customer's record, then the customer is dialed with the
campaign's caller ID. The attempt's result comes back through the journal
(`campaign.result`) and the store settles the contact by the campaign's retry rules.
Numbers met on the do-not-call list are marked `dnc` and never dialed. A campaign
paused or stopped has its calls not yet given an agent withdrawn.

Preview campaigns: each ready agent of the queue is shown one due contact (the same
rules pick it), kept from ACD offers meanwhile, and decides: dial it (the console's
`campaign.dial`, an attempt from the agent's phone) or skip it (`campaign.skip`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncEngine

from acd.callback_calls import CallbackLeg
from acd.campaign import abandon_attempt, attempt, pick, preview, release, to_dial
from acd.campaign_calls import Campaigned, Preview
from acd.errors import RoutingError
from acd.runner import AcdRunner
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
                runner.campaigns.cancel(view.spec.id)
                taken_back = runner.campaigns.cancel_previews(view.spec.id)
                await _release(engine, runner.tenant_id, taken_back)
            elif view.spec.mode == "progressive":
                placed += await _dial_campaign(engine, runner, view.spec, now)
            else:
                placed += await _offer_previews(engine, runner, view.spec, now)
        await _release(engine, runner.tenant_id, _left_previews(runner))
    return placed


def _campaigned(spec: store.CampaignSpec, contact_id: int) -> Campaigned:
    """What a call of the campaign carries to the ACD."""
    return Campaigned(
        spec.id,
        contact_id,
        spec.caller_id,
        spec.ring_seconds,
        spec.record,
        spec.dispositions,
        spec.queue,
    )


def _left_previews(runner: AcdRunner) -> list[Preview]:
    """Previews whose agent left them without deciding (logged out, took a break)."""
    gone = [
        agent
        for agent in runner.campaigns.previews
        if runner.reasons.get(agent) != "preview" or runner.agent_states.get(agent) != "not_ready"
    ]
    return [p for a in gone if (p := runner.campaigns.end_preview(a)) is not None]


async def _release(engine: AsyncEngine, tenant_id: str, previews: list[Preview]) -> None:
    contacts = []
    for shown in previews:
        view = await store.get_contact(engine, tenant_id, shown.campaign.contact_id)
        contacts.append(release(view.contact))
    if contacts:
        await store.save_contacts(engine, tenant_id, contacts, {})


async def _offer_previews(
    engine: AsyncEngine, runner: AcdRunner, spec: store.CampaignSpec, now: float
) -> int:
    """Each ready agent of the queue without a contact in hand is shown the next one."""
    agents = [
        a for a in runner.router.ready_agent_ids(spec.queue) if a not in runner.campaigns.previews
    ]
    if not agents:
        return 0
    due = await store.due_contacts(engine, runner.tenant_id, spec.id, now, BATCH * len(agents))
    views = {v.contact.id: v for v in due}
    hours = spec.calling_hours()
    dnc = await store.barred(engine, runner.tenant_id, [v.contact.number for v in due])
    chosen, barred = pick([v.contact for v in due], now, hours, dnc, len(agents))
    shown = [preview(c, now, hours, dnc) for c in chosen]
    await store.save_contacts(engine, runner.tenant_id, [*barred, *shown], {})
    offered = 0
    for agent, contact in zip(agents, shown, strict=False):
        view = views[contact.id]
        meta = _campaigned(spec, contact.id)
        try:
            runner.campaigns.preview(
                agent, Preview(meta, contact.number, view.customer_id, view.name)
            )
            offered += 1
        except RoutingError as exc:  # the agent moved meanwhile
            log.info("%s: campaign %s: preview not shown: %s", runner.tenant_id, spec.id, exc)
            await store.save_contacts(engine, runner.tenant_id, [release(contact)], {})
    return offered


async def _dial_campaign(
    engine: AsyncEngine, runner: AcdRunner, spec: store.CampaignSpec, now: float
) -> int:
    tenant_id = runner.tenant_id
    wanted = to_dial(runner.router.ready_agents(spec.queue), runner.campaigns.waiting(spec.queue))
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
            campaign=_campaigned(spec, contact.id),
        )
        try:
            runner.campaigns.take(leg)
            placed += 1
        except RoutingError as exc:  # e.g. the queue left the configuration
            log.warning("%s: campaign %s: call not placed: %s", tenant_id, spec.id, exc)
            await store.save_contacts(engine, tenant_id, [abandon_attempt(contact)], {})
    return placed
