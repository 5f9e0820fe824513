"""Campaigns in the store on SQLite and PostgreSQL: created and checked, their list
imported from CSV and linked to customers, moved through their statuses, contacts
handed out and settled by the journal's `campaign.result` events, progress, and the
do-not-call list."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.campaign import CampaignError, ContactStatus
from cti.store import campaigns as store
from cti.store import customers as customer_store
from cti.store.journal import Journal
from reports import events as ev

QUEUES = ("sales", "support")
SCOPE = customer_store.TenantScope("acme", region="FR")
SPEC = store.CampaignSpec(
    id="spring",
    name="Spring offer",
    queue="sales",
    caller_id="+33140000000",
    zone="Europe/Paris",
    busy_minutes=5,
    max_attempts=2,
)
CSV = """Phone,Name,Customer ID,Timezone
06 12 34 53 05,Jeanne,,
+33698765432,Paul,,America/New_York
+33600000003,,C404,
not a number,Bad,,
+33612345305,Jeanne again,,
+33600000004,Zoned wrong,,Mars/Base
0755000005,,C002,
"""


async def test_a_campaign_is_checked_created_and_moved(store_engine: AsyncEngine) -> None:
    for bad, error in (
        (store.CampaignSpec("Spring!", "x", "sales", "+331"), "lower-case"),
        (store.CampaignSpec("a", "x", "nope", "+331"), "no queue 'nope'"),
        (store.CampaignSpec("a", "x", "sales", "+331", mode="predictive"), "mode"),
        (store.CampaignSpec("a", "x", "sales", "+331", hours="20:00-08:00"), "before"),
        (store.CampaignSpec("a", "x", "sales", "+331", zone="Mars/Base"), "time zone"),
        (store.CampaignSpec("a", "x", "sales", "+331", max_attempts=0), "max_attempts"),
        (store.CampaignSpec("a", "x", "sales", "+331", dispositions=("sale", "x")), "['x']"),
    ):
        with pytest.raises(CampaignError, match=error):
            await store.create_campaign(store_engine, "acme", bad, QUEUES, ("sale", "info"))
    coded = store.CampaignSpec("coded", "x", "sales", "+331", dispositions=("sale",))
    await store.create_campaign(store_engine, "acme", coded, QUEUES, ("sale", "info"))
    assert (await store.get_campaign(store_engine, "acme", "coded")).spec.dispositions == (
        "sale",
    )
    made = await store.create_campaign(store_engine, "acme", SPEC, QUEUES)
    assert made.status == "draft" and made.as_dict()["retry"]["max_attempts"] == 2
    with pytest.raises(CampaignError, match="exists already"):
        await store.create_campaign(store_engine, "acme", SPEC, QUEUES)
    with pytest.raises(CampaignError, match="is draft: cannot pause"):
        await store.move_campaign(store_engine, "acme", "spring", "pause")
    for action, status in (("start", "running"), ("pause", "paused"), ("resume", "running")):
        assert (await store.move_campaign(store_engine, "acme", "spring", action)).status == status
    assert [c.spec.id for c in await store.list_campaigns(store_engine, "acme", "running")] == [
        "spring"
    ]
    assert await store.list_campaigns(store_engine, "globex") == []
    with pytest.raises(CampaignError, match="no campaign 'spring'"):
        await store.get_campaign(store_engine, "globex", "spring")  # another tenant's
    await store.move_campaign(store_engine, "acme", "spring", "stop")
    with pytest.raises(CampaignError, match="list is closed"):
        await store.import_contacts(store_engine, SCOPE, "spring", CSV)


async def test_the_list_is_imported_linked_and_worked_to_its_end(
    store_engine: AsyncEngine,
) -> None:
    await customer_store.create(
        store_engine, SCOPE, id="C001", name="Jeanne", timezone="Europe/Paris",
        phones=["+33612345305"],
    )  # fmt: skip
    await customer_store.create(
        store_engine, SCOPE, id="C002", name="Zoe", timezone="Asia/Tokyo", phones=["+33611111111"]
    )
    await store.create_campaign(store_engine, "acme", SPEC, QUEUES)
    report = await store.import_contacts(store_engine, SCOPE, "spring", CSV)
    assert (report.added, report.duplicates, report.linked) == (4, 1, 2)
    assert [line for line, _why in report.rejected] == [5, 7]
    assert "Mars/Base" in report.rejected[1][1]
    again = await store.import_contacts(store_engine, SCOPE, "spring", CSV)
    assert (again.added, again.duplicates) == (0, 5)  # the same file twice adds nothing
    with pytest.raises(CampaignError, match="no phone column"):
        await store.import_contacts(store_engine, SCOPE, "spring", "name\nJeanne\n")

    due = await store.due_contacts(store_engine, "acme", "spring", 1e10, 10)
    by_number = {v.contact.number: v for v in due}
    assert set(by_number) == {"+33612345305", "+33698765432", "+33600000003", "+33755000005"}
    jeanne = by_number["+33612345305"]
    assert (jeanne.customer_id, jeanne.contact.zone) == ("C001", "Europe/Paris")  # by phone
    assert by_number["+33698765432"].contact.zone == "America/New_York"  # the line's zone
    assert by_number["+33600000003"].customer_id is None  # C404 unknown: not linked
    assert by_number["+33755000005"].customer_id == "C002"  # by id
    assert by_number["+33755000005"].contact.zone == "Asia/Tokyo"  # the customer's zone

    # the dialer starts an attempt; the journal's result event settles it
    from acd.campaign import CallingHours, attempt

    hours = CallingHours.parse("00:00-23:59", ["mon", "tue", "wed", "thu", "fri", "sat", "sun"])
    T = 1_800_000_000.0
    started = attempt(jeanne.contact, T, hours, set())
    await store.save_contacts(store_engine, "acme", [started], {started.id: "cmp-1-a1"})
    assert jeanne.contact.number not in {
        v.contact.number for v in await store.due_contacts(store_engine, "acme", "spring", T, 10)
    }
    journal = Journal(store_engine)
    await journal.start()
    try:
        result = {"campaign": "spring", "contact_id": started.id, "agent_id": "alice"}
        stale = {**result, "call_id": "cmp-1-a0", "result": "answered"}
        journal.event("acme", ev.CAMPAIGN_RESULT, at=T + 30, data=stale)  # an older attempt's
        busy = {**result, "call_id": "cmp-1-a1", "result": "busy"}
        journal.event("acme", ev.CAMPAIGN_RESULT, at=T + 40, data=busy)
        await journal.flush()
    finally:
        await journal.close()
    [back] = [
        v for v in await store.due_contacts(store_engine, "acme", "spring", T + 40 + 300, 10)
        if v.contact.id == started.id
    ]  # fmt: skip
    assert (back.contact.status, back.contact.attempts) == (ContactStatus.PENDING, 1)
    assert back.contact.next_at == T + 40 + 300 and back.agent_id == "alice"
    progress = await store.progress(store_engine, "acme", "spring")
    assert progress["contacts"] == 4 and progress["dialed"] == 1 and progress["remaining"] == 4
    assert progress["by_result"]["busy"] == 1 and progress["contact_rate"] == 0.0

    # a service stop leaves an attempt dialing: at start it is pending again, not spent
    second = attempt(back.contact, T + 400, hours, set())
    await store.save_contacts(store_engine, "acme", [second], {second.id: "cmp-1-a2"})
    assert await store.release_dialing(store_engine, "acme") == 1
    [kept] = [
        v for v in await store.due_contacts(store_engine, "acme", "spring", T + 500, 10)
        if v.contact.id == started.id
    ]  # fmt: skip
    assert kept.contact.attempts == 1


async def test_the_do_not_call_list_is_per_tenant_and_normalised(
    store_engine: AsyncEngine,
) -> None:
    assert await store.add_dnc(store_engine, SCOPE, "06 12 34 53 05", "asked", "sam") == (
        "+33612345305"
    )
    await store.add_dnc(store_engine, SCOPE, "+33612345305", "asked again")  # no duplicate
    listed = await store.list_dnc(store_engine, "acme")
    assert [(d["number"], d["reason"]) for d in listed] == [("+33612345305", "asked again")]
    numbers = ["+33612345305", "+33698765432"]
    assert await store.barred(store_engine, "acme", numbers) == {"+33612345305"}
    assert await store.barred(store_engine, "globex", numbers) == set()
    with pytest.raises(customer_store.InvalidPhone):
        await store.add_dnc(store_engine, SCOPE, "call me maybe")
    assert await store.remove_dnc(store_engine, SCOPE, "0612345305")
    assert not await store.remove_dnc(store_engine, SCOPE, "0612345305")
    assert await store.barred(store_engine, "acme", numbers) == set()
