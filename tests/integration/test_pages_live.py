"""The agent console and the wallboard in a real headless Chromium, against the running
service and a real Asterisk.

An agent signs in through the login page, goes ready, and a real call from a known
customer pops her record in the page before the phone is answered; the wrap-up made
in the page lands in the call's row. A supervisor's wallboard follows the queue's
figures and the agents live, with threshold alerts, and changes an agent's state.
After the connection drops, the console comes back with the truth, nothing stale.
Screenshots go to `test-artifacts/`.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect
from sqlalchemy import insert, select

from cti.ami_events import UserEvent
from cti.config import PlatformConfig
from cti.service import Service
from cti.store import callbacks as callback_store
from cti.store import campaigns as campaign_store
from cti.store import customers as customer_store
from cti.store.models import Call, Callback, Recording
from cti.store.users import create_user
from tests.integration.center import Center, fast_config
from tests.integration.conftest import until
from tests.integration.proxy import FaultyProxy

pytestmark = pytest.mark.asterisk

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
JEANNE = "+33612345305"
WAIT = 15_000  # ms, for a page to show what the service did

expect.set_options(timeout=WAIT)


@pytest.fixture(scope="session")
def _require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} missing: run `make setup` (it installs Debian's chromium)")
    ARTIFACTS.mkdir(exist_ok=True)


@pytest.fixture
async def browser(_require_chromium: None) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield chromium
        await chromium.close()


@pytest.fixture
async def open_page(browser: Browser) -> AsyncIterator[Callable[[], Any]]:
    """New pages; each fails the test if a script on it throws."""
    failures: list[str] = []
    pages: list[Page] = []

    async def make() -> Page:
        context = await browser.new_context(viewport={"width": 1400, "height": 900})
        page = await context.new_page()
        page.on("pageerror", lambda error: failures.append(str(error)))
        pages.append(page)
        return page

    yield make
    for page in pages:
        await page.context.close()
    assert not failures, f"script errors in the page: {failures}"


def base_url(center: Center) -> str:
    return f"http://127.0.0.1:{center.service.settings.http_port}"


async def sign_in(page: Page, base: str, username: str, password: str, extension: str = "") -> None:
    await page.goto(base + "/")
    await expect(page).to_have_url(base + "/login")
    await page.fill("#tenant", "acme")
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.fill("#extension", extension)
    await page.click("#sign-in")


async def ready_agent(page: Page, base: str, username: str) -> None:
    """Sign in to the console as an agent (password "correct horse"), log in, go ready."""
    await sign_in(page, base, username, "correct horse")
    await expect(page).to_have_url(base + "/console")
    await expect(page.locator("#link")).to_have_text("Connected")  # else a click is lost
    await page.click("#btn-login")
    await expect(page.locator("#agent-state")).to_have_text("Not ready")
    await page.click("#btn-ready")


async def screenshot(page: Page, name: str) -> None:
    await page.screenshot(path=str(ARTIFACTS / name), full_page=True)


async def jeanne_with_a_past_call(center: Center) -> None:
    engine = center.service.engine
    scope = customer_store.TenantScope.from_config(center.service.config.tenants[0])
    await customer_store.create(
        engine,
        scope,
        id="C001",
        name="Jeanne Martin",
        tier=3,
        language="fr",
        phones=[JEANNE],
        fields={"balance": 1250},
    )
    async with engine.begin() as conn:
        await conn.execute(
            insert(Call),
            [
                {
                    "tenant_id": "acme",
                    "call_id": "old-1",
                    "customer_id": "C001",
                    "queue": "support",
                    "agent": "bob",
                    "queued_at": 1_700_000_000.0,
                    "outcome": "answered",
                    "disposition": "info",
                    "notes": "asked about her invoice",
                    "survey_score": 5,
                }
            ],
        )


async def test_the_console_pops_the_caller_before_the_answer_and_records_the_wrap_up(
    center_factory: Callable[..., Any], example_config: PlatformConfig, open_page: Any
) -> None:
    center: Center = await center_factory(
        fast_config(example_config, sales={"wrapup_max_seconds": 60})
    )
    await create_user(
        center.service.engine, "acme", "alice", "agent", "correct horse", agent_id="alice"
    )
    await jeanne_with_a_past_call(center)
    now = time.time()  # and a callback she asked for on the website, for tomorrow
    await callback_store.request_callback(
        center.service.engine,
        "acme",
        number=JEANNE,
        queue="sales",
        source="web",
        now=now,
        due_at=now + 86400,
        topic="new-contract",
        customer_id="C001",
    )
    await center.phone("1001", ring="2", talk="4")
    page: Page = await open_page()
    base = base_url(center)

    await sign_in(page, base, "alice", "wrong horse", "1001")
    await expect(page.locator("#login-error")).to_have_text("Wrong tenant, user name or password.")
    await screenshot(page, "login-refused.png")
    await page.fill("#password", "correct horse")
    await page.click("#sign-in")
    await expect(page).to_have_url(base + "/console")
    await expect(page.locator("#link")).to_have_text("Connected")
    await expect(page.locator("#agent-state")).to_have_text("Logged out")

    await page.click("#btn-login")
    await expect(page.locator("#agent-state")).to_have_text("Not ready")
    await page.click("#btn-ready")
    await expect(page.locator("#agent-state")).to_have_text("Ready")

    call_id = await center.call(caller=JEANNE, keys="1")
    # the record is on screen while the phone still rings
    await page.wait_for_function(
        """() => document.querySelector('#pop-name')?.textContent === 'Jeanne Martin'
                 && document.querySelector('#call-state').dataset.state === 'ringing'""",
        timeout=WAIT,
    )
    pop = page.locator("#pop-panel")
    await expect(pop).to_contain_text("Tier 3")
    await expect(pop).to_contain_text(JEANNE)
    await expect(pop).to_contain_text("main")  # the IVR path
    await expect(pop).to_contain_text("1250")
    history = page.locator("#history tbody tr")
    await expect(history).to_have_count(1)
    for text in ("Support", "bob", "Information given", "asked about her invoice", "5"):
        await expect(history).to_contain_text(text)
    await expect(pop).to_contain_text("Open callbacks (1)")
    callbacks = page.locator("#callbacks tbody tr")
    await expect(callbacks).to_have_count(1)
    await expect(callbacks).to_contain_text("new-contract")
    await expect(callbacks).to_contain_text("pending")
    await screenshot(page, "console-screen-pop.png")

    await expect(page.locator("#call-state")).to_have_text("Talking")
    await expect(page.locator("#agent-state")).to_have_text("Wrap-up")
    await expect(page.locator("#wrapup-panel")).to_be_visible()
    await expect(page.locator("#acw-left")).to_have_text(re.compile(r"^0:[0-5]\d$|^1:00$"))
    await page.select_option("#disposition", "sale")
    await expect(page.locator("#resolved")).to_be_checked()  # the disposition's default
    await page.uncheck("#resolved")  # the agent's own mark wins
    await page.fill("#notes", "upgraded plan")
    await screenshot(page, "console-wrap-up.png")
    await page.click("#btn-wrapup")
    await expect(page.locator("#wrapup-saved")).to_contain_text("Sale made")
    await expect(page.locator("#wrapup-panel")).to_be_hidden()
    await expect(page.locator("#agent-state")).to_have_text("Ready")

    await until(lambda: center.outcome(call_id) is not None)
    await center.service.journal.flush()
    async with center.service.engine.connect() as conn:
        rows = (await conn.execute(select(Call).where(Call.call_id != "old-1"))).all()
    [row] = rows  # the call just made (its row has the channel's id, not the ACD's leg)
    assert (row.disposition, row.notes, row.resolved) == ("sale", "upgraded plan", False)
    assert (row.customer_id, row.agent, row.caller_number) == ("C001", "alice", JEANNE)


async def test_an_agent_holds_then_hands_the_caller_to_a_colleague_who_sees_them_first(
    center_factory: Callable[..., Any], example_config: PlatformConfig, open_page: Any
) -> None:
    """The call controls of the page: hold and resume, then an attended transfer to a
    colleague, whose console shows the caller's record during the consultation."""
    center: Center = await center_factory(
        fast_config(example_config, sales={"wrapup_max_seconds": 60})
    )
    engine = center.service.engine
    for name in ("alice", "carol"):
        await create_user(engine, "acme", name, "agent", "correct horse", agent_id=name)
    await jeanne_with_a_past_call(center)
    await center.phone("1001", ring="1", talk="60")
    await center.phone("1003", ring="1", talk="60")
    base = base_url(center)
    alice, carol = await open_page(), await open_page()
    for page, name in ((alice, "alice"), (carol, "carol")):
        await ready_agent(page, base, name)
        await expect(page.locator("#agent-state")).to_have_text("Ready")
    await expect(alice.locator("#call-controls")).to_be_hidden()

    await center.call(caller=JEANNE, keys="1")
    await expect(alice.locator("#call-state")).to_have_text("Talking")
    await expect(alice.locator("#pop-panel .dial")).to_have_count(0)  # no call from the pop
    await expect(alice.locator("#call-length")).to_be_visible()
    await asyncio.sleep(2.5)
    await alice.click("#btn-hold")
    await expect(alice.locator("#call-state")).to_have_text("On hold")
    await expect(alice.locator("#btn-hold")).to_have_text("Resume")
    # the time in the state starts again at the hold; the call's duration runs on
    await expect(alice.locator("#call-timer")).to_have_text(re.compile(r"^0:0[01]$"))
    two_seconds_or_more = re.compile(r"^0:0[2-9]$|^0:[1-5]\d$")
    await expect(alice.locator("#call-duration")).to_have_text(two_seconds_or_more)
    await alice.click("#btn-hold")
    await expect(alice.locator("#call-state")).to_have_text("Talking")
    await expect(alice.locator("#call-duration")).to_have_text(two_seconds_or_more)
    await alice.reload()  # the resync's snapshot keeps the call's duration
    await expect(alice.locator("#call-state")).to_have_text("Talking")
    await expect(alice.locator("#call-duration")).to_have_text(two_seconds_or_more)
    await screenshot(alice, "console-call-duration.png")

    await alice.select_option("#transfer-kind", "agent")
    await alice.select_option("#transfer-agent", "carol")
    await alice.check("#transfer-attended")
    await alice.click("#btn-transfer")
    await expect(alice.locator("#consulting")).to_have_text("Talking to Carol Nguyen")
    await expect(alice.locator("#call-state")).to_have_text("On hold")
    await expect(alice.locator("#transfer-form")).to_be_hidden()
    # carol's console shows alice's caller while alice explains
    await expect(carol.locator("#pop-name")).to_have_text("Jeanne Martin")
    await expect(carol.locator("#call-state")).to_have_text("Consultation")
    await expect(carol.locator("#call-queue")).to_have_text("alice consults you about this caller")
    await expect(carol.locator("#agent-reason")).to_have_text("consultation")
    await screenshot(carol, "console-consultation.png")
    await until(
        lambda: any(g.consult is not None and g.consult.channel for g in center.acd.legs.values()),
        timeout=10,
        what="carol answered the consultation",
    )
    await alice.click("#btn-transfer-complete")
    await expect(alice.locator("#agent-state")).to_have_text("Wrap-up")
    await expect(carol.locator("#agent-state")).to_have_text("On call")
    await expect(carol.locator("#call-state")).to_have_text("Talking")
    await expect(carol.locator("#pop-name")).to_have_text("Jeanne Martin")
    await screenshot(alice, "console-transferred.png")
    await carol.click("#btn-hangup")
    await expect(carol.locator("#agent-state")).to_have_text("Wrap-up")
    await center.service.journal.flush()
    async with engine.connect() as conn:
        rows = (await conn.execute(select(Call).where(Call.call_id != "old-1"))).all()
    by_agent = {r.agent: r for r in rows}
    assert set(by_agent) == {"alice", "carol"}, rows
    assert by_agent["alice"].transfers == 1 and by_agent["alice"].hold_seconds > 0
    assert by_agent["carol"].call_id == by_agent["alice"].call_id + "-t1"
    assert by_agent["carol"].customer_id == "C001"


async def test_an_agent_pauses_then_resumes_the_recording_of_her_call_from_the_console(
    center_factory: Callable[..., Any],
    example_config: PlatformConfig,
    open_page: Any,
    tmp_path: Path,
) -> None:
    """A call of a recording queue: the console says it is recorded, the agent pauses
    (the page says so) and resumes; the recording's row lists the pause."""
    center: Center = await center_factory(
        fast_config(example_config, sales={"record": True, "wrapup_max_seconds": 60})
    )
    recorder = center.service.recorder
    recorder.root = tmp_path / "recordings"
    await create_user(
        center.service.engine, "acme", "alice", "agent", "correct horse", agent_id="alice"
    )
    await center.phone("1001", ring="1", talk="30")
    page: Page = await open_page()
    await ready_agent(page, base_url(center), "alice")
    await expect(page.locator("#agent-state")).to_have_text("Ready")
    await expect(page.locator("#recording-controls")).to_be_hidden()

    await center.call(keys="1", hold=60)
    await expect(page.locator("#call-state")).to_have_text("Talking")
    await expect(page.locator("#recording-state")).to_have_text("Recording")
    [(_, call_id)] = recorder.active
    await page.click("#btn-recording")
    await expect(page.locator("#recording-state")).to_have_text("Recording paused")
    await expect(page.locator("#btn-recording")).to_have_text("Resume recording")
    assert recorder.active[("acme", call_id)].paused
    await screenshot(page, "console-recording-paused.png")
    await asyncio.sleep(1.5)
    await page.click("#btn-recording")
    await expect(page.locator("#recording-state")).to_have_text("Recording")
    await expect(page.locator("#btn-recording")).to_have_text("Pause recording")
    await page.reload()  # a resync keeps it
    await expect(page.locator("#recording-state")).to_have_text("Recording")
    await page.click("#btn-hangup")
    await expect(page.locator("#agent-state")).to_have_text("Wrap-up")
    await expect(page.locator("#recording-controls")).to_be_hidden()

    await until(lambda: not recorder.active and not recorder._tasks, what="recording saved")
    async with center.service.engine.connect() as conn:
        row = (await conn.execute(select(Recording).where(Recording.call_id == call_id))).one()
    [[start, end]] = row.pauses
    assert row.started_at < start < end < row.ended_at
    assert end - start >= 1.0 and row.paused_seconds == pytest.approx(end - start, abs=0.01)


async def test_an_idle_agent_finds_a_customer_and_calls_them_from_their_record(
    center_factory: Callable[..., Any], example_config: PlatformConfig, open_page: Any
) -> None:
    """Click-to-call from the console's customer search: the customer's phone rings and
    the outbound call is theirs; another tenant's customer cannot be named."""
    center: Center = await center_factory(
        fast_config(example_config, sales={"wrapup_max_seconds": 60})
    )
    engine = center.service.engine
    await create_user(engine, "acme", "alice", "agent", "correct horse", agent_id="alice")
    await jeanne_with_a_past_call(center)
    globex = customer_store.TenantScope("globex")
    await customer_store.create(engine, globex, id="G001", name="Gus", phones=["+33612349999"])
    await center.phone("1001", ring="1", talk="30")
    await center.phone(JEANNE[1:], ring="1", talk="30")  # Jeanne's phone
    events: list[Any] = []
    center.service.ami.subscribe(events.append)
    page: Page = await open_page()
    base = base_url(center)
    await ready_agent(page, base, "alice")
    await expect(page.locator("#agent-state")).to_have_text("Ready")

    # the server checks the customer named with call.dial against the agent's tenant
    async with httpx.AsyncClient(base_url=base) as http:
        login = await http.post(
            "/api/login",
            json={"tenant": "acme", "username": "alice", "password": "correct horse"},
        )
        auth = {"Authorization": f"Bearer {login.json()['token']}"}
        for customer in ("G001", "nobody"):
            refused = await http.post(
                "/api/actions/call.dial",
                json={"number": "+33612349999", "customer_id": customer},
                headers=auth,
            )
            assert refused.status_code == 409, refused.text
            assert f"no customer '{customer}' in this tenant" in refused.text
    assert center.acd.agent_states["alice"] == "ready"

    await page.fill("#customer-query", "Jeanne")
    await page.click("#btn-customer-search")
    await expect(page.locator("#customer-name")).to_have_text("Jeanne Martin")
    record = page.locator("#customer-record")
    await expect(record).to_contain_text("Tier 3")
    await expect(page.locator("#customer-history tbody tr")).to_have_count(1)
    await expect(record).to_contain_text("asked about her invoice")
    call = page.locator("#customer-panel .dial")
    await expect(call).to_have_count(1)
    await expect(call).to_be_enabled()
    await screenshot(page, "console-customer-search.png")
    await call.click()
    await expect(page.locator("#call-state")).to_have_text("Talking")
    await expect(call).to_be_disabled()  # one call at a time

    def rang() -> bool:
        return any(
            isinstance(e, UserEvent)
            and e.name == "CtiSimRang"
            and e.fields.get("CtiExten") == JEANNE[1:]
            for e in events
        )

    await until(rang, timeout=10, what="Jeanne's phone rang")
    await page.click("#btn-hangup")
    await expect(page.locator("#agent-state")).to_have_text("Wrap-up")  # as after any call
    await expect(page.locator("#wrapup-panel")).to_be_visible()
    await page.select_option("#disposition", "info")
    await page.fill("#notes", "called about her invoice")
    await page.click("#btn-wrapup")
    await expect(page.locator("#agent-state")).to_have_text("Ready")
    await expect(call).to_be_enabled()
    await center.service.journal.flush()
    async with engine.connect() as conn:
        rows = (await conn.execute(select(Call).where(Call.call_id.like("out-%")))).all()
    [row] = rows
    assert (row.direction, row.agent, row.customer_id) == ("outbound", "alice", "C001")
    assert row.dnis == JEANNE and row.notes == "called about her invoice"
    assert row.disposition == "info"


async def test_an_unknown_caller_is_created_or_linked_from_the_pop(
    center_factory: Callable[..., Any], example_config: PlatformConfig, open_page: Any
) -> None:
    center: Center = await center_factory(
        fast_config(example_config, sales={"wrapup_max_seconds": 60})
    )
    engine = center.service.engine
    await create_user(engine, "acme", "alice", "agent", "correct horse", agent_id="alice")
    await jeanne_with_a_past_call(center)
    await center.phone("1001", ring="1", talk="1")
    scope = customer_store.TenantScope.from_config(center.service.config.tenants[0])
    page: Page = await open_page()
    await ready_agent(page, base_url(center), "alice")
    await expect(page.locator("#agent-state")).to_have_text("Ready")

    # a new customer, created with the caller's number
    paul = "+33698765432"
    await center.call(caller=paul)
    await expect(page.locator("#pop-name")).to_have_text("Unknown caller")
    create = page.locator("#new-customer button")
    await expect(create).to_have_text(f"Create customer with {paul}")
    await page.fill("#new-name", "Paul Durand")
    await page.fill("#new-account", "ACC-77")
    await create.click()
    await expect(page.locator("#pop-name")).to_have_text("Paul Durand")
    await expect(page.locator("#pop-panel")).to_contain_text("No previous calls.")
    created = await customer_store.find_by_phone(engine, scope, paul)
    assert created is not None and (created.name, created.account) == ("Paul Durand", "ACC-77")
    await expect(page.locator("#wrapup-call")).to_contain_text("Paul Durand")
    await page.select_option("#disposition", "info")
    await page.click("#btn-wrapup")
    await expect(page.locator("#wrapup-saved")).to_contain_text("Information given")

    # a known customer calling from a new number: found and linked
    other_phone = "+33677777777"
    await center.call(caller=other_phone)
    await expect(page.locator("#pop-name")).to_have_text("Unknown caller")
    await page.fill("#find-query", "Jeanne")
    await page.click("#find-customer button")
    found = page.locator("#find-results li")
    await expect(found).to_have_count(1)
    await expect(found).to_contain_text("Jeanne Martin")
    await found.locator("button").click()
    await expect(page.locator("#pop-name")).to_have_text("Jeanne Martin")
    await expect(page.locator("#history tbody tr")).to_contain_text("asked about her invoice")
    linked = await customer_store.find_by_phone(engine, scope, other_phone)
    assert linked is not None and linked.id == "C001"
    await expect(page.locator("#errors .error-item")).to_have_count(0)


def tile(page: Page, queue: str, figure: str) -> Any:
    return page.locator(f'.tile[data-scope="{queue}"][data-figure="{figure}"]')


async def test_the_wallboard_follows_queues_and_agents_live_and_sets_an_agent_state(
    center_factory: Callable[..., Any], example_config: PlatformConfig, open_page: Any
) -> None:
    thresholds = {
        "calls_waiting": {"amber": 1, "red": 5},
        "longest_wait_seconds": {"amber": 2, "red": 600},
        "abandon_rate": {"amber": 0.2, "red": 0.5},
    }
    center: Center = await center_factory(
        fast_config(example_config, sales={"thresholds": thresholds, "wrapup_max_seconds": 10})
    )
    await create_user(
        center.service.engine, "acme", "sam", "supervisor", "sam's password", extension="1009"
    )
    await center.phone("1001", ring="1", talk="4")
    await center.phone("1009", ring="1", talk="30")
    page: Page = await open_page()
    base = base_url(center)
    await sign_in(page, base, "sam", "sam's password")
    await expect(page).to_have_url(base + "/wallboard")
    await expect(page.locator("#link")).to_have_text("Connected")
    alice = page.locator('#agents tr[data-agent="alice"]')
    await expect(alice.locator(".state")).to_have_text("Logged out")
    await expect(alice.locator('.spy button[data-mode="listen"]')).to_be_disabled()
    await expect(tile(page, "sales", "calls_waiting").locator(".figure")).to_have_text("0")
    await expect(page.locator("#alerts .alert")).to_have_count(0)
    # each queue counts its own agents by state (alice serves sales; bob both queues)
    sales_agents = page.locator('.queue-agents[data-queue="sales"]')
    support_agents = page.locator('.queue-agents[data-queue="support"]')
    await expect(sales_agents).to_have_text("No agent logged in")
    center.acd.login("bob")  # not ready
    await expect(sales_agents).to_have_text("Not ready: 1")
    await expect(support_agents).to_have_text("Not ready: 1")

    # a caller waits: the figures move, the threshold turns the tile amber, alert raised
    answered = await center.call(hold=30)
    waiting = tile(page, "sales", "calls_waiting")
    await expect(waiting.locator(".figure")).to_have_text("1")
    await expect(waiting).to_have_attribute("data-level", "amber")
    longest = tile(page, "sales", "longest_wait_seconds")
    await expect(longest).to_have_attribute("data-level", "amber")  # 2 s and counting
    first = await longest.locator(".figure").text_content()
    await expect(longest.locator(".figure")).not_to_have_text(first or "")
    await expect(page.locator("#alerts")).to_contain_text("Sales: waiting 1")
    await expect(tile(page, "total", "calls_waiting").locator(".figure")).to_have_text("1")

    # the supervisor makes alice ready: she takes the call
    await alice.locator("select").select_option("ready")
    await alice.locator(".set-state button").click()
    await expect(alice.locator(".state")).to_have_text("On call")
    await expect(sales_agents.locator(".badge")).to_have_text(["Not ready: 1", "On call: 1"])
    await expect(support_agents).to_have_text("Not ready: 1")
    # and listens to it: her phone rings into the agent's call
    await alice.locator('.spy button[data-mode="listen"]').click()
    await expect(page.locator("#spy-note")).to_have_text(
        "Your phone rings: listen on alice's call."
    )
    await expect(waiting.locator(".figure")).to_have_text("0")
    await expect(waiting).not_to_have_attribute("data-level", "amber")
    next_caller = asyncio.create_task(center.call(hold=2))  # in the IVR for a few seconds
    # a refusal from the center is shown, not swallowed: no break in the middle of a call
    await alice.locator("select").select_option("not_ready:lunch")
    await alice.locator(".set-state button").click()
    await expect(page.locator("#errors .error-item")).to_contain_text("refused")
    await expect(tile(page, "sales", "answered").locator(".figure")).to_have_text("1")
    await expect(alice.locator(".calls")).to_have_text("1")
    await expect(alice.locator(".state")).to_have_text("Wrap-up")
    assert center.outcome(answered) == "answered"

    # then sends her on a break from her wrap-up; the next caller gives up waiting
    await alice.locator("select").select_option("not_ready:break")
    await alice.locator(".set-state button").click()
    await expect(alice.locator(".state")).to_have_text("Not ready")
    await expect(alice.locator(".reason")).to_have_text("break")
    await expect(sales_agents).to_have_text("Not ready: 2")
    await expect(support_agents).to_have_text("Not ready: 1")
    abandoned = await next_caller
    await expect(tile(page, "sales", "abandoned").locator(".figure")).to_have_text("1")
    rate = tile(page, "sales", "abandon_rate")
    await expect(rate.locator(".figure")).to_have_text("50%")
    await expect(rate).to_have_attribute("data-level", "red")
    await expect(page.locator('#alerts .alert[data-level="red"]')).to_contain_text(
        "Sales: abandon rate 50%"
    )
    await expect(tile(page, "sales", "service_level").locator(".figure")).to_have_text("100%")
    await expect(tile(page, "sales", "offered").locator(".figure")).to_have_text("2")
    assert center.outcome(abandoned) == "abandoned"
    await screenshot(page, "wallboard.png")


async def test_the_wallboard_shows_campaigns_and_runs_them(center: Center, open_page: Any) -> None:
    engine = center.service.engine
    await create_user(engine, "acme", "sam", "supervisor", "sam's password")
    tenant = center.service.config.tenants[0]
    scope = customer_store.TenantScope.from_config(tenant)
    spec = campaign_store.CampaignSpec("spring", "Spring offer", "sales", "+33140000000")
    await campaign_store.create_campaign(engine, "acme", spec, [q.id for q in tenant.queues])
    await campaign_store.import_contacts(engine, scope, "spring", "phone\n0612345305\n0698765432\n")
    page: Page = await open_page()
    base = base_url(center)
    await sign_in(page, base, "sam", "sam's password")
    await expect(page).to_have_url(base + "/wallboard")
    row = page.locator('#campaigns tr[data-campaign="spring"]')
    await expect(row.locator(".contacts")).to_have_text("2")
    await expect(row.locator(".remaining")).to_have_text("2")
    await expect(row.locator(".badge")).to_have_text("draft")
    await row.locator('button[data-move="start"]').click()  # nobody ready: nothing dialed
    await expect(row.locator(".badge")).to_have_text("running")
    await row.locator('button[data-move="pause"]').click()
    await expect(row.locator(".badge")).to_have_text("paused")
    assert (await campaign_store.get_campaign(engine, "acme", "spring")).status == "paused"
    await expect(row.locator('button[data-move="resume"]')).to_be_visible()
    await screenshot(page, "wallboard-campaigns.png")


async def test_a_preview_campaign_shows_the_agent_each_customer_to_call_or_skip(
    center: Center, open_page: Any
) -> None:
    engine = center.service.engine
    await create_user(engine, "acme", "alice", "agent", "correct horse", agent_id="alice")
    await jeanne_with_a_past_call(center)
    await center.phone("1001", ring="1", talk="60")
    await center.phone(JEANNE[1:], ring="1", talk="3")
    tenant = center.service.config.tenants[0]
    scope = customer_store.TenantScope.from_config(tenant)
    spec = campaign_store.CampaignSpec(
        "renewals", "Renewals", "sales", "+33140000000", mode="preview",
        hours="00:00-23:59", days=("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
        dispositions=("sale", "follow_up"),
    )  # fmt: skip
    await campaign_store.create_campaign(engine, "acme", spec, [q.id for q in tenant.queues])
    await campaign_store.import_contacts(
        engine, scope, "renewals", f"phone,name\n{JEANNE},Jeanne\n+33698765432,Paul\n"
    )
    await campaign_store.move_campaign(engine, "acme", "renewals", "start")
    page: Page = await open_page()
    await ready_agent(page, base_url(center), "alice")
    # Jeanne first (the list's order), with her record: alice is kept from other calls
    await expect(page.locator("#preview-name")).to_have_text("Jeanne Martin")
    await expect(page.locator("#preview-history")).to_contain_text("asked about her invoice")
    await expect(page.locator("#agent-reason")).to_have_text("preview")
    await screenshot(page, "console-campaign-preview.png")
    await page.click("#btn-preview-dial")
    await expect(page.locator("#preview-panel")).to_be_hidden()
    await expect(page.locator("#call-state")).to_have_text("Talking")
    # the wrap-up offers the campaign's own codes only
    await expect(page.locator("#wrapup-panel")).to_be_visible(timeout=20_000)
    options = page.locator("#disposition option")
    await expect(options).to_have_count(3)
    assert await options.evaluate_all("os => os.map(o => o.value)") == ["", "sale", "follow_up"]
    await page.select_option("#disposition", "sale")
    await page.click("#btn-wrapup")
    await expect(page.locator("#wrapup-saved")).to_contain_text("Sale made")
    # after the call, alice is ready again and the dialer shows her the next contact
    await expect(page.locator("#preview-name")).to_have_text("Paul", timeout=20_000)
    await page.click("#btn-preview-skip")
    await expect(page.locator("#preview-panel")).to_be_hidden()
    await expect(page.locator("#agent-state")).to_have_text("Ready")
    await until(
        lambda: not center.acd.campaigns.previews and center.acd.agent_states["alice"] == "ready",
        timeout=10,
    )
    await center.service.journal.flush()
    progress = await campaign_store.progress(engine, "acme", "renewals")
    assert progress["by_status"]["connected"] == 1 and progress["by_status"]["skipped"] == 1
    assert progress["remaining"] == 0 and progress["dialed"] == 1
    async with engine.connect() as conn:
        [call] = (await conn.execute(select(Call).where(Call.campaign == "renewals"))).all()
    assert (call.disposition, call.agent, call.direction) == ("sale", "alice", "outbound")
    assert call.queue == "sales"  # the campaign's: in its figures


async def test_the_console_comes_back_with_the_truth_after_the_connection_drops(
    center: Center, open_page: Any
) -> None:
    await create_user(
        center.service.engine, "acme", "alice", "agent", "correct horse", agent_id="alice"
    )
    await center.phone("1001", ring="1", talk="4")
    proxy = FaultyProxy(center.service.settings.http_port)
    await proxy.start()
    try:
        page: Page = await open_page()
        base = f"http://127.0.0.1:{proxy.port}"
        await sign_in(page, base, "alice", "correct horse")
        await expect(page).to_have_url(base + "/console")
        await page.click("#btn-login")
        await page.click("#btn-ready")
        await expect(page.locator("#agent-state")).to_have_text("Ready")
        call_id = await center.call()
        await expect(page.locator("#call-state")).to_have_text("Talking")

        proxy.refusing = True
        proxy.cut()
        banner = page.locator("#banner")
        await expect(banner).to_contain_text("Connection to the server lost")
        await expect(page.locator("#link")).to_have_text("Reconnecting…")
        await expect(page.locator("body")).to_have_class("stale")
        await expect(banner).to_contain_text("attempt 3")  # retrying, backing off
        # meanwhile the call ends, the wrap-up times out, and the agent is put on lunch
        await until(lambda: center.outcome(call_id) == "answered", timeout=10)
        await until(lambda: center.acd.agent_states["alice"] == "ready", timeout=10)
        center.acd.not_ready("alice", "lunch")
        lunch_began = time.monotonic()
        await expect(page.locator("#call-state")).to_have_text("Talking")  # it cannot know
        await screenshot(page, "console-reconnecting.png")

        started = time.monotonic()
        proxy.refusing = False
        await expect(page.locator("#link")).to_have_text("Connected", timeout=20_000)
        assert time.monotonic() - started < 20
        await expect(banner).to_be_hidden()
        await expect(page.locator("body")).not_to_have_class("stale")
        await expect(page.locator("#agent-state")).to_have_text("Not ready")
        await expect(page.locator("#agent-reason")).to_have_text("lunch")
        await expect(page.locator("#call-none")).to_be_visible()
        await expect(page.locator("#call-info")).to_be_hidden()
        await expect(page.locator("#pop-panel")).to_be_hidden()
        minutes, seconds = (await page.locator("#agent-timer").text_content() or "").split(":")
        in_state = int(minutes) * 60 + int(seconds)  # since the lunch began, not before
        assert 0 <= in_state <= time.monotonic() - lunch_began + 1

        # and it works again: the agent goes ready from the page
        await page.click("#btn-ready")
        await expect(page.locator("#agent-state")).to_have_text("Ready")
        await until(lambda: center.acd.agent_states["alice"] == "ready", timeout=5)
        await screenshot(page, "console-reconnected.png")
    finally:
        await proxy.close()


async def test_the_console_comes_back_with_the_truth_after_a_service_restart(
    center: Center, open_page: Any
) -> None:
    """The service restarts while the agent talks: the page reconnects by itself and
    shows what the new service knows (busy on the phone, no call it could act on: no
    stale "Talking"); when the phone is free again the agent is ready, live."""
    await create_user(
        center.service.engine, "acme", "alice", "agent", "correct horse", agent_id="alice"
    )
    await center.phone("1001", ring="1", talk="12")
    page: Page = await open_page()
    base = base_url(center)
    await ready_agent(page, base, "alice")
    call_id = await center.call(caller="+33611000401")
    await expect(page.locator("#call-state")).to_have_text("Talking")

    old = center.service
    await old.stop()
    await expect(page.locator("#link")).to_have_text("Reconnecting…")
    restarted = Service(old.settings, old.config)
    try:
        await restarted.start()
        await restarted.ami.wait_connected(10)
        await expect(page.locator("#link")).to_have_text("Connected", timeout=20_000)
        await expect(page.locator("#agent-state")).to_have_text("Not ready")
        await expect(page.locator("#agent-reason")).to_have_text("busy on phone")
        await expect(page.locator("#call-none")).to_be_visible()
        await expect(page.locator("#pop-panel")).to_be_hidden()
        await screenshot(page, "console-after-restart.png")
        # the talk ends on the phone: the service sees it free, the page follows
        await expect(page.locator("#agent-state")).to_have_text("Ready", timeout=20_000)
        assert restarted.acd["acme"].agent_states["alice"] == "ready"
        assert call_id not in restarted.acd["acme"].legs
    finally:
        await restarted.stop()


async def test_a_visitor_asks_to_be_called_back_from_the_public_page(
    center: Center, open_page: Callable[[], Any]
) -> None:
    page = await open_page()
    base = base_url(center)
    await page.goto(base + "/public/acme/callback")
    await expect(page.locator("#title")).to_have_text("ACME Insurance: call me back")
    await page.fill("#name", "Paul Durand")
    await page.fill("#number", "123")
    await page.click("#send")
    await expect(page.locator("#callback-error")).to_contain_text("cannot be called")
    await page.fill("#number", "06 11 22 33 44")
    await page.select_option("#topic", "claim-or-support")
    await page.click("#send")
    confirmation = page.locator("#confirmation")
    await expect(confirmation).to_contain_text("We will call +33611223344 between")
    await expect(confirmation).to_contain_text("(Europe/Paris)")
    await screenshot(page, "public-callback.png")
    async with center.service.engine.connect() as conn:
        table = Callback.__table__
        columns = (table.c.number, table.c.queue, table.c.source)
        rows = (await conn.execute(select(*columns))).all()
        [window] = (await conn.execute(select(table.c.window_start, table.c.window_end))).all()
    assert rows == [("+33611223344", "support", "web")]
    assert window.window_end - window.window_start == 24 * 3600  # support's default window
