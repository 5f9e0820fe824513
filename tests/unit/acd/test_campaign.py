"""The campaign rules (`acd.campaign`): unit tests, and a property test of a dialer
driven by them against random agents, results and time."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, time

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from acd.callback_life import CallbackResult
from acd.campaign import (
    FINAL,
    CallingHours,
    CampaignError,
    Contact,
    ContactStatus,
    RetryRules,
    abandon_attempt,
    attempt,
    callable_now,
    pick,
    preview,
    release,
    settle,
    skip,
    to_dial,
)

MONDAY_NOON_UTC = datetime(2026, 11, 23, 12, 0, tzinfo=UTC).timestamp()
HOURS = CallingHours(time(9, 0), time(20, 0), frozenset(range(5)))
RULES = RetryRules(busy_minutes=5, no_answer_minutes=20, failed_minutes=60, max_attempts=3)


def test_calling_hours_are_the_customers_own() -> None:
    # Monday 12:00 UTC: 13:00 in Paris, 07:00 in New York, 21:00 in Tokyo
    assert HOURS.open_at(MONDAY_NOON_UTC, "Europe/Paris")
    assert not HOURS.open_at(MONDAY_NOON_UTC, "America/New_York")
    assert not HOURS.open_at(MONDAY_NOON_UTC, "Asia/Tokyo")
    saturday = MONDAY_NOON_UTC - 2 * 86400
    assert not HOURS.open_at(saturday, "Europe/Paris")
    assert CallingHours.parse("08:30-12:30", ["sat"]).open_at(saturday, "UTC")


@pytest.mark.parametrize(
    ("text", "days", "error"),
    [
        ("20:00-09:00", ["mon"], "before they start"),
        ("9h-17h", ["mon"], "HH:MM-HH:MM"),
        ("09:00-17:00", ["funday"], "unknown calling days"),
    ],
)
def test_bad_calling_hours_are_refused(text: str, days: list[str], error: str) -> None:
    with pytest.raises(CampaignError, match=error):
        CallingHours.parse(text, days)


def test_an_unknown_zone_is_a_clear_error() -> None:
    with pytest.raises(CampaignError, match="unknown time zone 'Mars/Base'"):
        HOURS.open_at(MONDAY_NOON_UTC, "Mars/Base")


def test_results_settle_a_contact_by_the_rules() -> None:
    now = MONDAY_NOON_UTC
    c = attempt(Contact(1, "+33600000001", "Europe/Paris"), now, HOURS, set())
    busy = settle(c, CallbackResult.BUSY, RULES, now)
    assert (busy.status, busy.attempts, busy.next_at) == (ContactStatus.PENDING, 1, now + 300)
    assert not callable_now(busy, now + 299, HOURS, set())
    again = attempt(busy, now + 300, HOURS, set())
    quiet = settle(again, CallbackResult.NO_ANSWER, RULES, now + 300)
    assert quiet.next_at == now + 300 + 1200
    last = attempt(quiet, quiet.next_at, HOURS, set())
    assert settle(last, CallbackResult.FAILED, RULES, now).status is ContactStatus.FAILED
    assert settle(last, CallbackResult.ANSWERED, RULES, now).status is ContactStatus.CONNECTED
    assert abandon_attempt(last) == quiet  # an attempt that never reached the customer
    with pytest.raises(CampaignError):
        settle(quiet, CallbackResult.ANSWERED, RULES, now)
    assert skip(quiet).status is ContactStatus.SKIPPED


def test_pick_never_offers_a_barred_number_and_reports_it() -> None:
    contacts = [Contact(i, f"+3360000000{i}", "Europe/Paris") for i in range(1, 5)]
    chosen, barred = pick(contacts, MONDAY_NOON_UTC, HOURS, {"+33600000002"}, limit=2)
    assert [c.id for c in chosen] == [1, 3]
    assert [(c.id, c.status) for c in barred] == [(2, ContactStatus.DNC)]
    with pytest.raises(CampaignError):
        attempt(contacts[1], MONDAY_NOON_UTC, HOURS, {"+33600000002"})


def test_progressive_pacing_is_one_call_per_ready_agent() -> None:
    assert [to_dial(r, w) for r, w in ((0, 0), (3, 0), (3, 1), (1, 4))] == [0, 3, 2, 0]


ZONES = ["Europe/Paris", "America/New_York", "Asia/Tokyo", "UTC"]
RESULTS = list(CallbackResult)


class Dialer(RuleBasedStateMachine):
    """A progressive dialer made of the rules, as the service runs it: each turn places
    `to_dial(ready, waiting)` calls; a placed call waits in the campaign's queue until
    the router reserves it a ready agent, and only then is the customer dialed (as a
    callback: the agent first). Agents go not ready and come back, results arrive at
    random, time jumps."""

    @initialize(
        numbers=st.lists(st.integers(0, 15), min_size=1, max_size=25),
        zones=st.lists(st.sampled_from(ZONES), min_size=25, max_size=25),
        barred=st.sets(st.integers(0, 15), max_size=4),
        agents=st.integers(1, 4),
    )
    def setup(self, numbers: list[int], zones: list[str], barred: set[int], agents: int) -> None:
        self.now = MONDAY_NOON_UTC
        self.contacts = {i: Contact(i, f"+3361000{n:04d}", zones[i]) for i, n in enumerate(numbers)}
        self.dnc = {f"+3361000{n:04d}" for n in barred}
        self.agents = agents
        self.ready = agents  # free for a call; the others talk (one call each) or are away
        self.away = 0  # not ready
        self.waiting: list[int] = []  # placed, no agent yet (the customer not dialed)
        self.calls: dict[int, int] = {}  # contact -> its agent's slot (one per call)
        self.spent: dict[int, int] = {}  # contact -> attempts that reached the customer

    @rule(dt=st.sampled_from([0, 60, 600, 3600, 6 * 3600, 86400]))
    def tick(self, dt: int) -> None:
        self.now += dt
        n = to_dial(self.ready, waiting=len(self.waiting))
        pending = sorted(self.contacts.values(), key=lambda c: (c.next_at, c.id))
        chosen, barred = pick(pending, self.now, HOURS, self.dnc, n)
        for contact in barred:
            self.contacts[contact.id] = contact
        for contact in chosen:
            assert contact.number not in self.dnc, "a do-not-call number is never dialed"
            assert HOURS.open_at(self.now, contact.zone), "only inside the customer's hours"
            self.contacts[contact.id] = attempt(contact, self.now, HOURS, self.dnc)
            self.waiting.append(contact.id)
            self.spent[contact.id] = self.spent.get(contact.id, 0) + 1
        if chosen:  # never more calls waiting for an agent than agents ready to take them
            assert len(self.waiting) <= self.ready

    @precondition(lambda self: self.waiting and self.ready)
    @rule(data=st.data())
    def the_router_gives_a_call_an_agent(self, data: st.DataObject) -> None:
        contact_id = data.draw(st.sampled_from(self.waiting))
        self.waiting.remove(contact_id)
        self.ready -= 1
        self.calls[contact_id] = 1  # the agent is reserved: now the customer is dialed

    @precondition(lambda self: self.ready)
    @rule()
    def an_agent_goes_not_ready(self) -> None:
        self.ready -= 1
        self.away += 1

    @precondition(lambda self: self.away)
    @rule()
    def an_agent_comes_back(self) -> None:
        self.away -= 1
        self.ready += 1

    @precondition(lambda self: self.waiting)
    @rule(data=st.data())
    def a_waiting_call_is_withdrawn(self, data: st.DataObject) -> None:
        """Paused or stopped before an agent took it: not an attempt."""
        contact_id = data.draw(st.sampled_from(self.waiting))
        self.waiting.remove(contact_id)
        self.contacts[contact_id] = abandon_attempt(self.contacts[contact_id])
        self.spent[contact_id] -= 1

    @precondition(lambda self: self.calls)
    @rule(data=st.data(), result=st.sampled_from(RESULTS), reached=st.booleans())
    def a_call_ends(self, data: st.DataObject, result: CallbackResult, reached: bool) -> None:
        contact_id = data.draw(st.sampled_from(sorted(self.calls)))
        del self.calls[contact_id]
        contact = self.contacts[contact_id]
        if reached:
            self.contacts[contact_id] = settle(contact, result, RULES, self.now)
        else:  # the agent never took it: not an attempt
            self.contacts[contact_id] = abandon_attempt(contact)
            self.spent[contact_id] -= 1
        self.ready += 1

    @invariant()
    def calls_never_outnumber_the_agents_reserved_for_them(self) -> None:
        """Every customer dialed has an agent of their own; no agent has two."""
        assert 0 <= self.ready and 0 <= self.away
        assert len(self.calls) + self.ready + self.away == self.agents
        dialing = [c for c in self.contacts.values() if c.status is ContactStatus.DIALING]
        assert len(dialing) == len(self.calls) + len(self.waiting)
        assert not set(self.waiting) & set(self.calls)
        # calls placed and waiting never outnumber the agents logged in and free of calls
        assert len(self.waiting) <= self.ready + self.away

    @invariant()
    def attempts_stay_within_the_rules(self) -> None:
        for contact in self.contacts.values():
            assert 0 <= contact.attempts <= RULES.max_attempts
            if contact.status is ContactStatus.DNC:
                assert contact.attempts == 0 and contact.number in self.dnc

    def teardown(self) -> None:
        if sys.exc_info()[1] is not None:
            return
        for _ in range(400):  # work the list to its end: every contact ends exactly once
            if all(c.status in FINAL for c in self.contacts.values()):
                break
            self.ready, self.away = self.ready + self.away, 0  # everyone back
            while self.waiting:
                self.calls[self.waiting.pop()] = 1
                self.ready -= 1
            for contact_id in list(self.calls):
                del self.calls[contact_id]
                self.contacts[contact_id] = settle(
                    self.contacts[contact_id], CallbackResult.NO_ANSWER, RULES, self.now
                )
                self.ready += 1
            self.tick(3600)
        assert all(c.status in FINAL for c in self.contacts.values())
        for contact_id, contact in self.contacts.items():
            assert self.spent.get(contact_id, 0) == contact.attempts


TestDialer = Dialer.TestCase
TestDialer.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_a_previewed_contact_is_dialed_skipped_or_released_and_checked_again() -> None:
    now = MONDAY_NOON_UTC
    contact = Contact(7, "+33600000007", "Europe/Paris")
    shown = preview(contact, now, HOURS, set())
    assert shown.status is ContactStatus.PREVIEWING
    assert not callable_now(shown, now, HOURS, set())  # not handed to anyone else
    dialing = attempt(shown, now + 30, HOURS, set())
    assert (dialing.status, dialing.attempts) == (ContactStatus.DIALING, 1)
    assert skip(shown).status is ContactStatus.SKIPPED
    assert release(shown) == contact
    with pytest.raises(CampaignError, match="do-not-call"):
        attempt(shown, now, HOURS, {"+33600000007"})  # barred while the agent looked
    evening = now + 8 * 3600  # 21:00 in Paris
    with pytest.raises(CampaignError, match="outside its calling hours"):
        attempt(shown, evening, HOURS, set())
    with pytest.raises(CampaignError):
        preview(shown, now, HOURS, set())
