"""Campaigns: which contact is called next, when, and what a call's result makes of it.

Pure rules, no I/O and no clock (times are arguments):

- a contact is called only inside the campaign's calling hours *in the contact's own
  time zone*, never when its number is on the tenant's do-not-call list, and at most
  `RetryRules.max_attempts` times;
- a call's result settles it: answered ends it (connected); busy, no answer or a
  failed leg set its next attempt by the rule for that result, or, after the last
  attempt, end it (failed);
- progressive pacing: one customer call per ready agent. A call placed reserves the
  agent it was placed for, so calls in progress never outnumber the agents reserved
  for them, and a call is only placed while an agent is ready for it
  (`to_dial(ready, waiting)`).

    pending --attempt--> dialing --answered--> connected
       ^                    |
       +---busy/no_answer/failed (attempts left: at next_at)
                            +---busy/no_answer/failed (last attempt)--> failed
    pending --on the do-not-call list--> dnc
    preview: pending --preview--> previewing --attempt--> dialing ...
                                  previewing --skip--> skipped;  --release--> pending
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from acd.callback_life import CallbackResult


class ContactStatus(StrEnum):
    PENDING = "pending"  # to be called, not before next_at
    PREVIEWING = "previewing"  # shown to an agent who decides to dial or skip (preview)
    DIALING = "dialing"  # an attempt in progress
    CONNECTED = "connected"
    FAILED = "failed"
    DNC = "dnc"  # on the do-not-call list: never dialed
    SKIPPED = "skipped"  # the agent chose not to call (preview)


FINAL = frozenset(
    {ContactStatus.CONNECTED, ContactStatus.FAILED, ContactStatus.DNC, ContactStatus.SKIPPED}
)


class CampaignError(ValueError):
    """A step the rules do not allow (e.g. attempting a contact that is not pending)."""


@dataclass(frozen=True, slots=True)
class RetryRules:
    """Minutes before the next attempt, by the result of the last one; attempts in all."""

    busy_minutes: float = 10.0
    no_answer_minutes: float = 30.0
    failed_minutes: float = 60.0
    max_attempts: int = 3

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise CampaignError("max_attempts must be at least 1")
        if min(self.busy_minutes, self.no_answer_minutes, self.failed_minutes) < 0:
            raise CampaignError("retry minutes cannot be negative")

    def minutes(self, result: CallbackResult) -> float:
        if result is CallbackResult.BUSY:
            return self.busy_minutes
        if result is CallbackResult.NO_ANSWER:
            return self.no_answer_minutes
        return self.failed_minutes


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class CallingHours:
    """When customers may be called, in their own local time: `days` (0 = Monday) from
    `start` to `end` (end excluded)."""

    start: time = time(9, 0)
    end: time = time(20, 0)
    days: frozenset[int] = frozenset(range(5))

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise CampaignError(f"calling hours end ({self.end}) before they start ({self.start})")
        if not self.days or not self.days <= set(range(7)):
            raise CampaignError("calling days: at least one of 0 (Monday) .. 6 (Sunday)")

    @classmethod
    def parse(cls, text: str, days: Iterable[str] = DAYS[:5]) -> CallingHours:
        """From "09:00-20:00" and day names (mon .. sun)."""
        try:
            start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
        except ValueError as exc:
            raise CampaignError(f"calling hours {text!r}: expected HH:MM-HH:MM") from exc
        names = [d.strip().lower()[:3] for d in days]
        unknown = [d for d in names if d not in DAYS]
        if unknown:
            raise CampaignError(f"unknown calling days {unknown} (use {', '.join(DAYS)})")
        return cls(start, end, frozenset(DAYS.index(d) for d in names))

    def open_at(self, now: float, zone: str) -> bool:
        """Whether `now` (epoch seconds) is inside the hours in time zone `zone`."""
        local = datetime.fromtimestamp(now, _zone(zone))
        return local.weekday() in self.days and self.start <= local.time() < self.end


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CampaignError(f"unknown time zone {name!r}") from exc


@dataclass(frozen=True, slots=True)
class Contact:
    """One line of a campaign's list, as the rules see it."""

    id: int
    number: str
    zone: str
    status: ContactStatus = ContactStatus.PENDING
    attempts: int = 0
    next_at: float = 0.0
    last_result: CallbackResult | None = None


def callable_now(contact: Contact, now: float, hours: CallingHours, dnc: Collection[str]) -> bool:
    """Whether the contact may be dialed at `now`."""
    return (
        contact.status is ContactStatus.PENDING
        and contact.next_at <= now
        and contact.number not in dnc
        and hours.open_at(now, contact.zone)
    )


def pick(
    contacts: Iterable[Contact],
    now: float,
    hours: CallingHours,
    dnc: Collection[str],
    limit: int,
) -> tuple[list[Contact], list[Contact]]:
    """Up to `limit` contacts to dial now, in the order given, and the pending contacts
    met on the way whose number is on the do-not-call list (to be marked `dnc`)."""
    chosen: list[Contact] = []
    barred: list[Contact] = []
    for contact in contacts:
        if len(chosen) >= limit:
            break
        if contact.status is ContactStatus.PENDING and contact.number in dnc:
            barred.append(replace(contact, status=ContactStatus.DNC))
        elif callable_now(contact, now, hours, dnc):
            chosen.append(contact)
    return chosen, barred


def attempt(contact: Contact, now: float, hours: CallingHours, dnc: Collection[str]) -> Contact:
    """An attempt begins: the contact is dialing, one attempt more. A contact an agent
    previews is checked again (the list or the hours may have changed meanwhile)."""
    if contact.status is ContactStatus.PREVIEWING:
        contact = replace(contact, status=ContactStatus.PENDING, next_at=min(contact.next_at, now))
    if not callable_now(contact, now, hours, dnc):
        why = "on the do-not-call list" if contact.number in dnc else str(contact.status)
        if contact.status is ContactStatus.PENDING and contact.number not in dnc:
            why = "outside its calling hours" if contact.next_at <= now else "not due yet"
        raise CampaignError(f"contact {contact.id} cannot be dialed now ({why})")
    return replace(contact, status=ContactStatus.DIALING, attempts=contact.attempts + 1)


def preview(contact: Contact, now: float, hours: CallingHours, dnc: Collection[str]) -> Contact:
    """The contact is shown to an agent, who will dial it or skip it."""
    if not callable_now(contact, now, hours, dnc):
        raise CampaignError(f"contact {contact.id} cannot be previewed now ({contact.status})")
    return replace(contact, status=ContactStatus.PREVIEWING)


def release(contact: Contact) -> Contact:
    """The agent previewing the contact left without deciding: pending again."""
    if contact.status is not ContactStatus.PREVIEWING:
        return contact
    return replace(contact, status=ContactStatus.PENDING)


def settle(contact: Contact, result: CallbackResult, rules: RetryRules, now: float) -> Contact:
    """What the attempt's result makes of the contact."""
    if contact.status is not ContactStatus.DIALING:
        raise CampaignError(f"contact {contact.id} has no attempt in progress ({contact.status})")
    if result is CallbackResult.ANSWERED:
        return replace(contact, status=ContactStatus.CONNECTED, last_result=result)
    if contact.attempts >= rules.max_attempts:
        return replace(contact, status=ContactStatus.FAILED, last_result=result)
    return replace(
        contact,
        status=ContactStatus.PENDING,
        next_at=now + rules.minutes(result) * 60.0,
        last_result=result,
    )


def abandon_attempt(contact: Contact) -> Contact:
    """An attempt that never reached the customer (the agent did not take it, the service
    stopped): the contact is pending again and the attempt is not spent."""
    if contact.status is not ContactStatus.DIALING:
        return contact
    return replace(contact, status=ContactStatus.PENDING, attempts=contact.attempts - 1)


def skip(contact: Contact) -> Contact:
    """The agent previewing the contact chose not to call it."""
    if contact.status not in (ContactStatus.PENDING, ContactStatus.PREVIEWING):
        raise CampaignError(f"contact {contact.id} cannot be skipped ({contact.status})")
    return replace(contact, status=ContactStatus.SKIPPED)


def to_dial(ready_agents: int, waiting: int) -> int:
    """Progressive pacing: how many calls to place now, one per ready agent not already
    promised to a call placed and waiting for its agent."""
    return max(0, ready_agents - waiting)
