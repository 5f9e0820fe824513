"""The agent console's side of preview campaigns (`CampaignDesk`, part of ConsoleBridge).

When the dialer shows an agent a contact (`campaign.preview` in the journal), the
agent's console gets a `campaign.preview` message: the contact, and the customer's
record and history when the contact is linked to one. The agent then acts:

- `campaign.dial`: the attempt is counted in the store (the rules check again that
  the number is not barred and the customer's hours are open), and the agent's phone
  rings, then the customer's with the campaign's caller ID;
- `campaign.skip`: the contact is skipped for good; the agent is ready again.

Either way (or when the dialer takes the contact back) a `campaign.preview` message
with `preview: null` clears the panel.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from acd.campaign import CampaignError, abandon_attempt, attempt, skip
from acd.errors import RoutingError
from acd.runner import AcdRunner
from agent_console.hub import message
from agent_console.ws import CenterError
from cti.config import TenantConfig
from cti.store import campaigns as store
from cti.store import customers as customer_store
from reports import events as ev
from reports.events import DomainEvent

if TYPE_CHECKING:
    from cti.console import ConsoleBridge

log = logging.getLogger("cti.console")


class CampaignDesk:
    def __init__(self, bridge: ConsoleBridge) -> None:
        self.bridge = bridge
        self.previews: dict[tuple[str, str], dict[str, Any]] = {}  # (tenant, agent) -> shown
        self._tasks: set[asyncio.Task[None]] = set()

    # -- journal in ----------------------------------------------------------------------

    def on_preview(self, event: DomainEvent) -> None:
        assert event.agent_id is not None
        key = (event.tenant, event.agent_id)
        if event.kind == ev.CAMPAIGN_PREVIEW_ENDED:
            shown = self.previews.get(key)
            if shown is not None and shown["contact_id"] == event.data.get("contact_id"):
                del self.previews[key]
                self.bridge.hub.to_agent(*key, message("campaign.preview", preview=None))
            return
        shown = {
            "campaign": event.data.get("campaign"),
            "contact_id": event.data.get("contact_id"),
            "number": event.data.get("number"),
            "name": event.data.get("name"),
            "customer": None,
            "history": None,
            "since": event.at,
        }
        self.previews[key] = shown
        self.bridge.hub.to_agent(*key, message("campaign.preview", preview=shown))
        if event.data.get("customer_id"):
            task = asyncio.get_running_loop().create_task(
                self._with_record(key, shown, str(event.data["customer_id"]))
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _with_record(
        self, key: tuple[str, str], shown: dict[str, Any], customer_id: str
    ) -> None:
        """The customer's record and history follow in a second message."""
        tenant = self.bridge.tenants[key[0]]
        scope = customer_store.TenantScope.from_config(tenant)
        engine = self.bridge.engine
        try:
            customer = await customer_store.get(engine, scope, customer_id)
            if customer is None:
                return
            history = await customer_store.contact_history(engine, scope, customer.id, 20)
        except Exception as exc:  # the preview stays, without the record
            log.warning("preview of contact %s: record not loaded: %s", shown["contact_id"], exc)
            return
        if self.previews.get(key) is not shown:
            return  # dialed or skipped meanwhile
        shown["customer"] = customer.as_dict()
        shown["history"] = {
            "calls": [asdict(c) for c in history.calls],
            "callbacks": [asdict(c) for c in history.callbacks],
        }
        self.bridge.hub.to_agent(*key, message("campaign.preview", preview=shown))

    # -- the agent acts --------------------------------------------------------------------

    async def act(
        self, tenant: TenantConfig, runner: AcdRunner, agent: str, action: str
    ) -> dict[str, Any]:
        tid = tenant.tenant.id
        preview = runner.campaigns.previews.get(agent)
        if preview is None:
            raise CenterError("you have no campaign contact to dial or skip")
        meta = preview.campaign
        engine = self.bridge.engine
        try:
            view = await store.get_contact(engine, tid, meta.contact_id)
            if action == "campaign.skip":
                await store.save_contacts(engine, tid, [skip(view.contact)], {})
                runner.campaigns.end_preview(agent)
                return {"contact_id": meta.contact_id, "skipped": True}
            if action != "campaign.dial":
                raise CenterError(f"{action} is not available in this version")
            self.bridge.check_free(tid, agent)
            campaign = await store.get_campaign(engine, tid, meta.campaign)
            now = time.time()
            barred = await store.barred(engine, tid, [view.contact.number])
            started = attempt(view.contact, now, campaign.spec.calling_hours(), barred)
        except CampaignError as exc:
            raise CenterError(str(exc)) from None
        call_id = (
            f"cmp-{meta.campaign}-{meta.contact_id}-a{started.attempts}-{uuid.uuid4().hex[:6]}"
        )
        await store.save_contacts(engine, tid, [started], {started.id: call_id})
        try:
            await runner.campaigns.dial_preview(agent, call_id)
        except RoutingError:
            await store.save_contacts(engine, tid, [abandon_attempt(started)], {})
            raise
        return self.bridge.dialing(tid, agent, call_id, preview.number, preview.customer_id)
