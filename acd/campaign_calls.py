"""A tenant's campaign calls on its ACD runner (`AcdRunner.campaigns`).

- Progressive (`take`): a campaign's attempt is an outbound call queued as a callback in
  the campaign's queue, so it reserves the best ready agent (who sees the customer's
  record), whose phone rings first, then the customer's with the campaign's caller ID;
  the customer leg's end settles it (`result`, journaled as `campaign.result`).
- Preview (`preview`, `dial_preview`, `end_preview`): a contact shown to a ready agent,
  kept from ACD offers (not ready, `preview`) until they dial it or skip it. The call
  they dial is the agent's own outbound call (`AcdRunner.dial`), journaled in the
  campaign's queue (queued as it is placed) and recorded if the campaign says so, like
  a progressive call.
- Pausing or stopping a campaign withdraws its calls not yet given an agent (`cancel`)
  and takes back its previews (`cancel_previews`).

`cti.campaign_dialer` decides which contacts are called when (`acd.campaign`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from acd.callback_life import CallbackResult
from acd.errors import RoutingError
from acd.events import AgentNotReady, AgentReady, CallbackCancelled, CallQueued
from acd.state import AgentState, CallState
from reports import events as ev
from reports.events import DomainEvent

if TYPE_CHECKING:
    from acd.callback_calls import CallbackLeg
    from acd.runner import AcdRunner

PREVIEW_REASON = "preview"  # an agent deciding whether to call a campaign's contact


@dataclass(frozen=True, slots=True)
class Campaigned:
    """What a campaign's attempt carries besides the callback mechanics it rides on: the
    contact it settles, the caller ID the customer sees, how long their phone rings."""

    campaign: str
    contact_id: int
    caller_id: str
    ring_seconds: int
    record: bool = False
    dispositions: tuple[str, ...] = ()  # its wrap-up codes (empty: the tenant's)
    queue: str | None = None  # the campaign's queue (a progressive call's is its callback's)


@dataclass(frozen=True, slots=True)
class Preview:
    """A preview campaign's contact shown to an agent, who dials it or skips it."""

    campaign: Campaigned
    number: str
    customer_id: str | None
    name: str | None


class CampaignCalls:
    def __init__(self, runner: AcdRunner) -> None:
        self.runner = runner
        # campaign calls whose customer leg ended: how (answered, busy, no_answer, failed:
        # the call's outcome, journaled when its talk ends)
        self.results: dict[str, str] = {}
        self.previews: dict[str, Preview] = {}  # agent -> the contact they preview
        self.codes: dict[str, tuple[str, ...]] = {}  # campaign -> its dispositions

    def take(self, callback: CallbackLeg) -> None:
        """A campaign's attempt: an outbound call queued as a callback in the campaign's
        queue, so it reserves the best ready agent (who sees the customer's record), whose
        phone rings first, then the customer's with the campaign's caller ID."""
        if callback.campaign is None:
            raise RoutingError(f"call {callback.call_id!r} is not a campaign's")
        if callback.queue not in self.runner.queue_ids.values():
            raise RoutingError(f"campaign call {callback.call_id!r}: no queue {callback.queue!r}")
        self.codes[callback.campaign.campaign] = callback.campaign.dispositions
        if self.runner.record is not None:
            data = {
                "ani": callback.campaign.caller_id,
                "dnis": callback.number,
                "direction": "outbound",
                "campaign": callback.campaign.campaign,
            }
            arrived = ev.CALL_ARRIVED
            self.runner.record(
                DomainEvent(
                    self.runner.tenant_id, self.runner.clock(), arrived, callback.call_id, data=data
                )
            )
        self.runner.callbacks[callback.call_id] = callback
        queued = CallQueued(
            callback.call_id,
            callback.queue,
            customer_id=callback.customer_id,
            callback_number=callback.number,
        )
        try:
            self.runner.feed(queued, strict=True)
        except RoutingError:
            del self.runner.callbacks[callback.call_id]
            raise

    def waiting(self, queue: str) -> int:
        """Campaign calls queued in `queue` that no agent holds yet."""
        return sum(
            1 for c in self.runner.callbacks.values() if c.queue == queue and self._unheld(c)
        )

    def _unheld(self, callback: CallbackLeg) -> bool:
        """A campaign's call the router has not given an agent yet."""
        waiting = self.runner.router.call_state(callback.call_id) is CallState.CALLBACK_WAITING
        return callback.campaign is not None and waiting

    def cancel(self, campaign: str) -> int:
        """A campaign paused or stopped: its calls not yet given an agent are withdrawn
        (their contacts are pending again); those under way go to their end."""
        cancelled = 0
        for callback in list(self.runner.callbacks.values()):
            meta = callback.campaign
            if meta is None or meta.campaign != campaign:
                continue
            if self._unheld(callback):
                self.runner.feed(CallbackCancelled(callback.call_id))
                self.result(callback, "cancelled")
                cancelled += 1
        return cancelled

    def cancel_previews(self, campaign: str) -> list[Preview]:
        """A preview campaign paused or stopped: the contacts its agents preview are
        taken back (pending again in the store, by the caller)."""
        agents = [a for a, p in self.previews.items() if p.campaign.campaign == campaign]
        return [p for a in agents if (p := self.end_preview(a)) is not None]

    def result(self, callback: CallbackLeg, result: str) -> None:
        """The attempt is over for the campaign: journaled (the store settles the contact
        by the campaign's rules); the call's own outcome follows when its talk ends."""
        meta = callback.campaign
        assert meta is not None
        self.runner.callbacks.pop(callback.call_id, None)
        if result != "cancelled":
            self.results[callback.call_id] = result
        if self.runner.record is None:
            return
        now = self.runner.clock()
        if result == CallbackResult.ANSWERED:  # the customer answered: the talk begins
            leg = self.runner.legs.get(callback.call_id)
            answered = {"record": meta.record, "channel": leg.agent_channel if leg else None}
            self.runner.record(
                DomainEvent(
                    self.runner.tenant_id,
                    now,
                    ev.CALL_ANSWERED,
                    callback.call_id,
                    callback.agent_id,
                    callback.queue,
                    answered,
                )
            )
        self.journal_result(meta, callback.call_id, callback.agent_id, result)

    def journal_result(
        self, meta: Campaigned, call_id: str, agent_id: str | None, result: str
    ) -> None:
        if self.runner.record is None:
            return
        data = {
            "campaign": meta.campaign,
            "contact_id": meta.contact_id,
            "call_id": call_id,
            "result": result,
            "agent_id": agent_id,
        }
        self.runner.record(
            DomainEvent(
                self.runner.tenant_id, self.runner.clock(), ev.CAMPAIGN_RESULT, None, data=data
            )
        )

    def preview(self, agent_id: str, preview: Preview) -> None:
        """Show a preview campaign's contact to a ready agent, kept from ACD offers (not
        ready, `preview`) until they dial it or skip it."""
        if (
            self.runner.router.agent_state(agent_id) != AgentState.READY
            or agent_id in self.previews
        ):
            raise RoutingError(f"agent {agent_id!r} is not free to preview a contact")
        self.runner.reasons[agent_id] = PREVIEW_REASON
        self.runner.feed(AgentNotReady(agent_id, PREVIEW_REASON), strict=True)
        self.previews[agent_id] = preview
        self._journal_preview(agent_id, preview, ev.CAMPAIGN_PREVIEW)

    def end_preview(self, agent_id: str) -> Preview | None:
        """The agent skipped the contact (or left): they are ready again if still in
        `preview`; the preview they had, if any."""
        preview = self.previews.pop(agent_id, None)
        if preview is None:
            return None
        self._journal_preview(agent_id, preview, ev.CAMPAIGN_PREVIEW_ENDED)
        if (
            self.runner.router.agent_state(agent_id) == AgentState.NOT_READY
            and self.runner.reasons.get(agent_id) == PREVIEW_REASON
        ):
            self.runner.feed(AgentReady(agent_id))
        return preview

    async def dial_preview(self, agent_id: str, call_id: str) -> Preview:
        """The agent dials the contact they preview (the store counted the attempt)."""
        preview = self.previews.pop(agent_id, None)
        if preview is None:
            raise RoutingError(f"agent {agent_id!r} has no contact to dial")
        try:
            await self.runner.dial(
                agent_id,
                preview.number,
                call_id,
                campaign=preview.campaign,
                customer_id=preview.customer_id,
            )
        except RoutingError:
            self.previews[agent_id] = preview  # still theirs: dial again or skip
            raise
        self._journal_preview(agent_id, preview, ev.CAMPAIGN_PREVIEW_ENDED)
        return preview

    def _journal_preview(self, agent_id: str, preview: Preview, kind: str) -> None:
        if self.runner.record is None:
            return
        data = {
            "campaign": preview.campaign.campaign,
            "contact_id": preview.campaign.contact_id,
            "number": preview.number,
            "customer_id": preview.customer_id,
            "name": preview.name,
        }
        self.runner.record(
            DomainEvent(self.runner.tenant_id, self.runner.clock(), kind, None, agent_id, data=data)
        )
