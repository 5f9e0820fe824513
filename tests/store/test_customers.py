"""The customer repository, the CSV import and the IVR store directory, on both backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.store import customers as repo
from cti.store.customer_import import import_file
from cti.store.customers import (
    DuplicateCustomer,
    InvalidCustomer,
    InvalidPhone,
    Phone,
    PhoneTaken,
    TenantScope,
    Tier,
)
from cti.store.directory import StoreDirectories, StoreDirectory
from cti.store.models import Call, Callback, Customer, CustomerPhone, Survey
from ivr.menu import Customer as IvrCustomer

ROOT = Path(__file__).resolve().parents[2]
ACME = TenantScope("acme", "FR", (Tier(1000.0, 1), Tier(10_000.0, 2), Tier(100_000.0, 3)))
GLOBEX = TenantScope("globex", "US")


async def _jeanne(
    engine: AsyncEngine, tenant: TenantScope = ACME, **extra: Any
) -> repo.CustomerRecord:
    values: dict[str, Any] = {
        "id": "C001",
        "name": "Jeanne Martin",
        "account": "79927398713",
        "phones": ["06 12 34 53 05"],
        "language": "fr",
        "fields": {"balance": "1250"},
    }
    values.update(extra)
    return await repo.create(engine, tenant, **values)


# --- create, get, update, delete ----------------------------------------------------------------


async def test_create_normalises_phones_and_derives_the_tier(store_engine: AsyncEngine) -> None:
    created = await _jeanne(
        store_engine, revenue=12_500.0, phones=["06 12 34 53 05", Phone("0140000001", "home")]
    )
    assert created.phones == (Phone("+33140000001", "home"), Phone("+33612345305", None))
    assert (created.tier, created.tier_given) == (2, False)
    fetched = await repo.get(store_engine, ACME, "C001")
    assert fetched == created
    assert fetched is not None and fetched.fields == {"balance": "1250"}


async def test_a_given_tier_wins_over_revenue(store_engine: AsyncEngine) -> None:
    created = await _jeanne(store_engine, revenue=500_000.0, tier=1)
    assert (created.tier, created.tier_given) == (1, True)
    back = await repo.update(store_engine, ACME, "C001", {"tier": None})
    assert back is not None and (back.tier, back.tier_given) == (3, False)


async def test_a_derived_tier_follows_the_revenue(store_engine: AsyncEngine) -> None:
    await _jeanne(store_engine, revenue=50.0)
    raised = await repo.update(store_engine, ACME, "C001", {"revenue": 1000.0})
    assert raised is not None and raised.tier == 1
    # the rules change (e.g. the tenant file): rederive_tiers applies them to every customer
    richer_rules = TenantScope("acme", "FR", (Tier(500.0, 4),))
    assert await repo.rederive_tiers(store_engine, richer_rules) == 1
    again = await repo.get(store_engine, ACME, "C001")
    assert again is not None and again.tier == 4
    assert await repo.rederive_tiers(store_engine, richer_rules) == 0


async def test_partial_update_changes_only_what_is_named(store_engine: AsyncEngine) -> None:
    created = await _jeanne(store_engine, notes="prefers mornings")
    updated = await repo.update(store_engine, ACME, "C001", {"name": "Jeanne Martin-Roux"})
    assert updated is not None
    assert updated.name == "Jeanne Martin-Roux"
    assert (updated.notes, updated.account, updated.phones) == (
        "prefers mornings",
        created.account,
        created.phones,
    )
    assert updated.updated_at >= created.updated_at
    same = await repo.update(store_engine, ACME, "C001", {"name": "Jeanne Martin-Roux"})
    assert same == updated  # nothing changed: not even updated_at
    assert await repo.update(store_engine, ACME, "nobody", {"name": "X"}) is None
    with pytest.raises(InvalidCustomer):
        await repo.update(store_engine, ACME, "C001", {"phones": []})
    with pytest.raises(InvalidCustomer):
        await repo.update(store_engine, ACME, "C001", {"timezone": "Mars/Olympus"})


async def test_refusals(store_engine: AsyncEngine) -> None:
    await _jeanne(store_engine)
    with pytest.raises(DuplicateCustomer):
        await _jeanne(store_engine, phones=[])
    with pytest.raises(DuplicateCustomer, match="account"):
        await _jeanne(store_engine, id="C002", phones=[])
    with pytest.raises(PhoneTaken) as taken:
        await _jeanne(store_engine, id="C002", account=None, phones=["+33 6 12 34 53 05"])
    assert (taken.value.number, taken.value.owner) == ("+33612345305", "C001")
    with pytest.raises(InvalidPhone, match="too short"):
        await _jeanne(store_engine, id="C003", account=None, phones=["12"])
    with pytest.raises(InvalidCustomer):
        await _jeanne(store_engine, id="C004", account=None, phones=[], name="  ")
    with pytest.raises(InvalidCustomer):
        await _jeanne(store_engine, id="C005", account=None, phones=[], tier=12)
    async with store_engine.connect() as conn:
        count = (await conn.execute(select(func.count()).select_from(Customer))).scalar_one()
    assert count == 1


async def test_delete_removes_the_numbers_too(store_engine: AsyncEngine) -> None:
    await _jeanne(store_engine)
    assert not await repo.delete_customer(store_engine, GLOBEX, "C001")
    assert await repo.delete_customer(store_engine, ACME, "C001")
    assert await repo.get(store_engine, ACME, "C001") is None
    assert not await repo.delete_customer(store_engine, ACME, "C001")
    async with store_engine.connect() as conn:
        phones = (await conn.execute(select(func.count()).select_from(CustomerPhone))).scalar_one()
    assert phones == 0
    # the number is free again
    other = await repo.create(store_engine, ACME, id="C009", name="Next", phones=["0612345305"])
    assert other.phones == (Phone("+33612345305"),)


async def test_phones_added_and_removed(store_engine: AsyncEngine) -> None:
    await _jeanne(store_engine)
    await repo.create(store_engine, ACME, id="C002", name="Paul Durand")
    added = await repo.add_phone(store_engine, ACME, "C001", "01 40 00 00 01", "home")
    assert added is not None and Phone("+33140000001", "home") in added.phones
    relabelled = await repo.add_phone(store_engine, ACME, "C001", "+33140000001", "office")
    assert relabelled is not None and Phone("+33140000001", "office") in relabelled.phones
    with pytest.raises(PhoneTaken):
        await repo.add_phone(store_engine, ACME, "C002", "0140000001")
    with pytest.raises(InvalidPhone):
        await repo.add_phone(store_engine, ACME, "C002", "hello")
    assert await repo.add_phone(store_engine, ACME, "nobody", "0699000001") is None
    assert await repo.add_phone(store_engine, GLOBEX, "C001", "+33699000001") is None
    assert not await repo.remove_phone(store_engine, ACME, "C002", "0140000001")
    assert await repo.remove_phone(store_engine, ACME, "C001", "0033140000001")
    left = await repo.get(store_engine, ACME, "C001")
    assert left is not None and left.phones == (Phone("+33612345305"),)


# --- finding ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ani", ["+33612345305", "0612345305", "33612345305", "0033612345305", "06 12 34 53 05"]
)
async def test_find_by_caller_number_in_any_shape(store_engine: AsyncEngine, ani: str) -> None:
    await _jeanne(store_engine)
    found = await repo.find_by_phone(store_engine, ACME, ani)
    assert found is not None and found.id == "C001"


async def test_lookups_never_cross_tenants(store_engine: AsyncEngine) -> None:
    await _jeanne(store_engine)
    await repo.create(
        store_engine,
        GLOBEX,
        id="C001",
        name="Globex Jeanne",
        account="79927398713",
        phones=["+33612345305"],
    )
    acme = await repo.find_by_account(store_engine, ACME, "79927398713")
    globex = await repo.find_by_account(store_engine, GLOBEX, "79927398713")
    assert acme is not None and acme.name == "Jeanne Martin"
    assert globex is not None and globex.name == "Globex Jeanne"
    by_phone = await repo.find_by_phone(store_engine, GLOBEX, "+33612345305")
    assert by_phone is not None and by_phone.name == "Globex Jeanne"
    assert await repo.find_by_phone(store_engine, "initech", "+33612345305") is None
    assert await repo.get(store_engine, "initech", "C001") is None
    page = await repo.search(store_engine, GLOBEX, q="jeanne")
    assert [c.name for c in page.items] == ["Globex Jeanne"]


async def test_anonymous_and_unknown_callers(store_engine: AsyncEngine) -> None:
    await _jeanne(store_engine)
    for ani in (None, "", "anonymous", "12", "0699999999"):
        assert await repo.find_by_phone(store_engine, ACME, ani) is None
    assert await repo.find_by_account(store_engine, ACME, "") is None
    assert await repo.find_by_account(store_engine, ACME, "000") is None


async def test_search_by_name_phone_account_with_pages(store_engine: AsyncEngine) -> None:
    names = ["Martin Durand", "Jeanne Martin", "Paul Martinez", "Amina Diallo", "Luc Lemartin"]
    for i, name in enumerate(names, start=1):
        await repo.create(
            store_engine,
            ACME,
            id=f"C{i:03}",
            name=name,
            account=f"ACC{i}",
            phones=[f"+336123400{i:02}"],
        )
    page = await repo.search(store_engine, ACME, q="mart")
    assert page.total == 4
    # names starting with the text first, then the others, each by name
    assert [c.name for c in page.items] == [
        "Martin Durand",
        "Jeanne Martin",
        "Luc Lemartin",
        "Paul Martinez",
    ]
    first = await repo.search(store_engine, ACME, q="mart", limit=2)
    second = await repo.search(store_engine, ACME, q="mart", limit=2, offset=2)
    assert (first.total, second.total) == (4, 4)
    assert [c.id for c in first.items + second.items] == [c.id for c in page.items]
    by_phone = await repo.search(store_engine, ACME, phone="06 12 34 00 04")
    assert [c.name for c in by_phone.items] == ["Amina Diallo"]
    assert by_phone.items[0].phones == (Phone("+33612340004"),)
    by_digits = await repo.search(store_engine, ACME, phone="0005")
    assert [c.id for c in by_digits.items] == ["C005"]
    by_account = await repo.search(store_engine, ACME, account="ACC3")
    assert [c.id for c in by_account.items] == ["C003"]
    both = await repo.search(store_engine, ACME, q="martin", account="ACC3")
    assert [c.id for c in both.items] == ["C003"]
    assert (await repo.search(store_engine, ACME, q="100%_")).total == 0
    assert (await repo.search(store_engine, ACME)).total == 5


# --- the screen-pop -----------------------------------------------------------------------------


def _call(call_id: str, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {c.name: None for c in Call.__table__.columns}
    row.update(
        tenant_id="acme",
        call_id=call_id,
        direction="inbound",
        offers=1,
        hold_seconds=0.0,
        transfers=0,
    )
    row.update(values)
    return row


async def test_a_call_we_placed_shows_how_it_ended_in_the_history(
    store_engine: AsyncEngine,
) -> None:
    await _jeanne(store_engine)
    base = {"customer_id": "C001", "queue": "sales", "direction": "outbound", "agent": "bob"}
    calls = [
        _call("o1", arrived_at=1000.0, outcome="exited", acd_outcome="busy", **base),
        _call("o2", arrived_at=2000.0, outcome="answered", acd_outcome="answered", **base),
        _call("i1", arrived_at=3000.0, outcome="abandoned", acd_outcome="abandoned"),
    ]
    calls[2]["customer_id"] = "C001"
    async with store_engine.begin() as conn:
        await conn.execute(insert(Call), calls)
    history = await repo.contact_history(store_engine, ACME, "C001")
    assert [(c.call_id, c.outcome) for c in history.calls] == [
        ("i1", "abandoned"),
        ("o2", "answered"),
        ("o1", "busy"),  # not the KPI's "exited": the customer's line was busy
    ]


async def test_contact_history_has_calls_surveys_and_open_callbacks(
    store_engine: AsyncEngine,
) -> None:
    await _jeanne(store_engine)
    await repo.create(store_engine, ACME, id="C002", name="Paul", phones=["0699000001"])
    calls = [
        _call(
            "k1",
            customer_id="C001",
            arrived_at=1000.0,
            queue="sales",
            agent="alice",
            outcome="answered",
            disposition="sale",
            notes="bought the premium plan",
            resolved=True,
            talk_seconds=180.0,
            queue_seconds=12.0,
            ivr_path="welcome>main",
        ),
        _call(
            "k2",
            customer_id="C001",
            arrived_at=3000.0,
            queue="support",
            agent="bob",
            outcome="answered",
            disposition="question",
            resolved=False,
            talk_seconds=60.0,
        ),
        # not identified at the time, but from her number: hers
        _call(
            "k3",
            caller_number="+33612345305",
            arrived_at=2000.0,
            queue="support",
            outcome="abandoned",
        ),
        # someone else's, and another tenant's
        _call("k4", customer_id="C002", arrived_at=4000.0, queue="sales"),
        _call("k5", customer_id="C001", arrived_at=5000.0, queue="sales") | {"tenant_id": "globex"},
    ]
    callbacks = [
        {
            "tenant_id": "acme",
            "number": "+33612345305",
            "customer_id": "C001",
            "queue": "sales",
            "source": "web",
            "requested_at": 3500.0,
            "status": "pending",
            "updated_at": 3500.0,
            "topic": "renewal",
            "window_start": 4000.0,
            "window_end": 5000.0,
            "attempts": 0,
        },
        {
            "tenant_id": "acme",
            "number": "+33612345305",
            "customer_id": None,
            "queue": "support",
            "source": "queue",
            "requested_at": 3600.0,
            "status": "retry",
            "updated_at": 3600.0,
            "topic": None,
            "window_start": None,
            "window_end": None,
            "attempts": 2,
        },
        {
            "tenant_id": "acme",
            "number": "+33612345305",
            "customer_id": "C001",
            "queue": "sales",
            "source": "agent",
            "requested_at": 100.0,
            "status": "connected",
            "updated_at": 200.0,
            "topic": None,
            "window_start": None,
            "window_end": None,
            "attempts": 1,
        },
        {
            "tenant_id": "globex",
            "number": "+33612345305",
            "customer_id": "C001",
            "queue": "x",
            "source": "web",
            "requested_at": 100.0,
            "status": "pending",
            "updated_at": 200.0,
            "topic": None,
            "window_start": None,
            "window_end": None,
            "attempts": 0,
        },
    ]
    async with store_engine.begin() as conn:
        await conn.execute(insert(Call), calls)
        for n, callback in enumerate(callbacks):
            callback["ref"] = f"{callback['source']}-{n}"
        await conn.execute(insert(Callback), callbacks)
        await conn.execute(
            insert(Survey),
            [
                {
                    "tenant_id": "acme",
                    "call_id": "k1",
                    "question": 1,
                    "score": 5,
                    "at": 1200.0,
                    "agent_id": "alice",
                },
                {
                    "tenant_id": "acme",
                    "call_id": "k1",
                    "question": 2,
                    "score": 3,
                    "at": 1200.0,
                    "agent_id": "alice",
                },
            ],
        )
    history = await repo.contact_history(store_engine, ACME, "C001", limit=10)
    assert [c.call_id for c in history.calls] == ["k2", "k3", "k1"]
    k1 = history.calls[2]
    assert (k1.at, k1.queue, k1.agent, k1.outcome, k1.disposition) == (
        1000.0,
        "sales",
        "alice",
        "answered",
        "sale",
    )
    assert (k1.notes, k1.survey_score, k1.resolved, k1.talk_seconds, k1.queue_seconds) == (
        "bought the premium plan",
        5,
        True,
        180.0,
        12.0,
    )
    assert history.calls[0].resolved is False and history.calls[0].survey_score is None
    assert [(cb.status, cb.queue, cb.topic) for cb in history.callbacks] == [
        ("retry", "support", None),
        ("pending", "sales", "renewal"),
    ]
    assert history.callbacks[0].attempts == 2
    assert history.callbacks[1].window_start == 4000.0
    latest = await repo.contact_history(store_engine, ACME, "C001", limit=1)
    assert [c.call_id for c in latest.calls] == ["k2"] and len(latest.callbacks) == 2
    other = await repo.contact_history(store_engine, GLOBEX, "C001")
    assert [c.call_id for c in other.calls] == ["k5"] and len(other.callbacks) == 1
    assert await repo.contact_history(store_engine, ACME, "nobody") == repo.ContactHistory()


# --- the IVR's directory ------------------------------------------------------------------------


async def test_store_directory_answers_like_the_csv_one(
    store_engine: AsyncEngine, example_config: Any
) -> None:
    report = await import_file(store_engine, "acme", ROOT / "config" / "customers.csv")
    assert (report.created, report.rejected) == (3, [])
    directory = StoreDirectories(store_engine, example_config).for_tenant("acme")
    assert await directory.by_phone("0612345305") == IvrCustomer("C001", "Jeanne Martin", 3, "fr")
    assert await directory.by_phone("+33140000001") == IvrCustomer("C002", "Paul Durand", 1, "en")
    assert await directory.by_phone("+33699999999") is None
    assert await directory.by_phone("anonymous") is None
    assert await directory.by_account("12345674") == IvrCustomer("C003", "Amina Diallo", 2, "en")
    assert await directory.by_account("999") is None
    assert await directory.field("C001", "balance") == "1250"
    assert await directory.field("C003", "balance") == "0"
    assert await directory.field("C001", "nothing") is None
    assert await directory.field("C404", "balance") is None
    # a lookup keyed by the caller number or a keyed-in account finds the customer too
    assert await directory.field("+33612340791", "balance") == "87"
    assert await directory.field("79927398713", "balance") == "1250"
    assert await directory.field("C002", "account") == "4111111111111111"
    other = StoreDirectory(store_engine, "globex")
    assert await other.by_phone("+33612345305") is None
    assert await other.field("C001", "balance") is None
    with pytest.raises(KeyError):
        StoreDirectories(store_engine, example_config).for_tenant("globex")


# --- importing ----------------------------------------------------------------------------------


async def _all(engine: AsyncEngine, tenant: str = "acme") -> list[repo.CustomerRecord]:
    return list((await repo.search(engine, tenant, limit=500)).items)


async def test_the_example_file_imports_cleanly_and_twice_changes_nothing(
    store_engine: AsyncEngine,
) -> None:
    path = ROOT / "config" / "customers.csv"
    first = await import_file(store_engine, ACME, path)
    assert (first.created, first.updated, first.merged, first.rejected) == (3, 0, 0, [])
    before = await _all(store_engine)
    second = await import_file(store_engine, ACME, path)
    assert (second.created, second.updated, second.unchanged, second.rejected) == (0, 0, 3, [])
    assert await _all(store_engine) == before  # not even updated_at moved
    paul = await repo.get(store_engine, ACME, "C002")
    assert paul is not None
    assert [p.number for p in paul.phones] == ["+33140000001", "+33612340791"]
    assert (paul.tier, paul.tier_given, paul.language, paul.fields) == (
        1,
        True,
        "en",
        {"balance": "87"},
    )


def _write(tmp_path: Path, text: str, name: str = "customers.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


async def test_import_merges_duplicates_and_reports_rejects(
    store_engine: AsyncEngine, tmp_path: Path
) -> None:
    await _jeanne(store_engine, notes="already here")
    path = _write(
        tmp_path,
        "Full Name;Telephone;Account No;Annual Revenue;Solde\n"
        # same account as the stored C001: merged into her, phone added, later values win
        "Jeanne M. Martin;+33 6 99 00 00 01;79927398713;;1300\n"
        # two rows of one new customer (same phone): one customer, phones unioned
        "Marc Petit;06 11 11 11 11;;25000;\n"
        "Marc Petit;06 11 11 11 11, 01 40 00 00 09;M-77;;42\n"
        # rejected rows
        "No Phone;12;;;\n"
        "Bad Revenue;06 22 22 22 22;;lots;\n"
        ";06 33 33 33 33;;;\n"
        "Bridge;06 11 11 11 11;79927398713;;\n"
        "\n",
    )
    report = await import_file(store_engine, ACME, path, {"Solde": "fields.balance"})
    assert [(r.line, r.reason.split(":")[0].split("'s but")[0]) for r in report.rejected] == [
        (5, "Telephone"),
        (6, "Annual Revenue"),
        (7, "a new customer needs a name"),
        (8, "account 79927398713 is customer C001"),
    ]
    assert (report.created, report.updated, report.merged, report.unchanged) == (1, 1, 1, 0)
    jeanne = await repo.get(store_engine, ACME, "C001")
    assert jeanne is not None
    assert jeanne.name == "Jeanne M. Martin"
    assert jeanne.notes == "already here"  # an empty cell never erases
    assert [p.number for p in jeanne.phones] == ["+33612345305", "+33699000001"]
    assert jeanne.fields == {"balance": "1300"}
    marc = await repo.find_by_account(store_engine, ACME, "M-77")
    assert marc is not None
    assert report.rejected[0].reason == "Telephone: invalid phone number '12': too short"
    assert report.rejected[1].reason == "Annual Revenue: revenue 'lots' is not a number"
    assert report.rejected[3].reason == (
        f"account 79927398713 is customer C001's but phone +33611111111 is customer {marc.id}'s"
    )
    assert [p.number for p in marc.phones] == ["+33140000009", "+33611111111"]
    assert (marc.revenue, marc.tier, marc.tier_given, marc.fields) == (
        25000.0,
        2,
        False,
        {"balance": "42"},
    )
    before = await _all(store_engine)
    again = await import_file(store_engine, ACME, path, {"Solde": "fields.balance"})
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert len(again.rejected) == 4
    assert await _all(store_engine) == before


async def test_import_rejects_an_id_that_contradicts_a_number(
    store_engine: AsyncEngine, tmp_path: Path
) -> None:
    await _jeanne(store_engine)
    path = _write(tmp_path, "id,name,phone\nC002,Paul,0612345305\nC001,,0699000002\n")
    report = await import_file(store_engine, ACME, path)
    assert [(r.line, r.reason) for r in report.rejected] == [
        (2, "id C002 but phone +33612345305 is customer C001's")
    ]
    assert (report.created, report.updated) == (0, 1)
    jeanne = await repo.get(store_engine, ACME, "C001")
    assert jeanne is not None and jeanne.name == "Jeanne Martin"
    assert [p.number for p in jeanne.phones] == ["+33612345305", "+33699000002"]
    assert await repo.get(store_engine, ACME, "C002") is None


async def test_dry_run_writes_nothing(store_engine: AsyncEngine) -> None:
    report = await import_file(store_engine, ACME, ROOT / "config" / "customers.csv", dry_run=True)
    assert (report.created, report.dry_run) == (3, True)
    assert await _all(store_engine) == []


async def test_import_is_per_tenant(store_engine: AsyncEngine) -> None:
    path = ROOT / "config" / "customers.csv"
    await import_file(store_engine, ACME, path)
    report = await import_file(store_engine, GLOBEX, path)
    assert report.created == 3  # the same numbers and accounts, another company's customers
    assert len(await _all(store_engine, "globex")) == 3
    async with store_engine.connect() as conn:
        phones = (await conn.execute(select(func.count()).select_from(CustomerPhone))).scalar_one()
    assert phones == 8
