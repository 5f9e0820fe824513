"""The supervisors' history page in a real headless Chromium, against the running service.

A few calls of today are seeded in the service's migrated SQLite store; a supervisor
signs in through the login page, follows the wallboard's link to /history and reads
the figures by queue and by agent, downloads the same figures as CSV, sees the charts
load, opens the record of the abandoned call not called back (its IVR path among its
events), and estimates staffing, with the API's refusals shown on the page.
The screenshot goes to `test-artifacts/history.png`.
"""

from __future__ import annotations

import csv
import io
import re
import time
import wave
from collections.abc import Callable
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import insert, select

from cti.store import rollup
from cti.store.models import Call, Callback, Event, Recording
from cti.store.users import create_user
from tests.integration.center import Center
from tests.integration.test_pages_live import (
    _require_chromium,
    base_url,
    browser,
    open_page,
    screenshot,
    sign_in,
)

__all__ = ["_require_chromium", "browser", "open_page"]  # fixtures

pytestmark = pytest.mark.asterisk

CALLER = "+33611111111"


def _call(call_id: str, queue: str, at: float, wait: float, agent: str | None = None) -> dict:
    """A call row with every column named (an executemany takes the first row's keys)."""
    talk = {"alice": 60.0, "bob": 120.0}.get(agent or "", 0.0)
    answered = agent is not None
    return {
        "tenant_id": "acme",
        "call_id": call_id,
        "queue": queue,
        "queued_at": at,
        "queue_seconds": wait,
        "outcome": "answered" if answered else "abandoned",
        "caller_number": CALLER if not answered else f"+3360000{call_id[-1]}",
        "agent": agent,
        "answered_at": at + wait if answered else None,
        "talk_seconds": talk if answered else None,
        "hold_seconds": 0.0,
        "acw_seconds": 10.0 if answered else None,
        "talk_ended_at": at + wait + talk if answered else None,
    }


def _event(n: int, at: float, kind: str, data: dict[str, Any], queue: str | None = None) -> dict:
    return {
        "event_id": f"hist-{n}",
        "tenant_id": "acme",
        "at": at,
        "kind": kind,
        "call_id": "lost-1",
        "agent_id": None,
        "queue": queue,
        "payload": data,
        "folded": True,
    }


async def seed_today(center: Center) -> None:
    """Sales: 3 offered, 2 answered (alice, bob), 1 abandoned; support: 1 answered (bob)."""
    zone = ZoneInfo(center.service.config.tenants[0].tenant.timezone)
    midnight = datetime.combine(datetime.now(zone).date(), clock_time(), tzinfo=zone).timestamp()
    at = midnight + 9 * 3600
    lost = at + 600
    async with center.service.engine.begin() as conn:
        await conn.execute(
            insert(Call.__table__),
            [
                _call("sale-1", "sales", at, 5.0, "alice"),
                _call("sale-2", "sales", at + 60, 30.0, "bob"),
                _call("lost-1", "sales", lost, 40.0),
                _call("help-1", "support", at + 120, 10.0, "bob"),
            ],
        )
        await conn.execute(
            insert(Event.__table__),
            [
                _event(1, lost - 8, "call.arrived", {"ani": CALLER, "dnis": "5000"}),
                _event(2, lost - 3, "ivr.finished", {"path": ["welcome", "main"], "tier": 1}),
                _event(3, lost, "call.queued", {}, "sales"),
                _event(4, lost + 40, "call.finished", {"outcome": "abandoned"}, "sales"),
            ],
        )
        await rollup.rebuild(conn, "acme")  # rows written beside the journal: their hours too


def figures(page: Page, group: str, field: str) -> Any:
    return page.locator(f'#kpis tr[data-group="{group}"] td[data-field="{field}"]')


async def test_a_supervisor_reads_the_history_downloads_it_and_opens_an_abandoned_call(
    center: Center, open_page: Callable[[], Any]
) -> None:
    await create_user(center.service.engine, "acme", "sam", "supervisor", "sam's password")
    await seed_today(center)
    page: Page = await open_page()
    base = base_url(center)
    await sign_in(page, base, "sam", "sam's password")
    await expect(page).to_have_url(base + "/wallboard")
    await page.click("a[href='/history']")
    await expect(page).to_have_url(base + "/history")

    # by queue (the default), today (the default)
    await expect(page.locator("#kpis thead th[data-field='offered']")).to_have_text("Offered")
    await expect(figures(page, "sales", "offered")).to_have_text("3")
    await expect(figures(page, "sales", "answered")).to_have_text("2")
    await expect(figures(page, "sales", "abandoned")).to_have_text("1")
    await expect(figures(page, "sales", "service_level")).to_have_text("50%")  # 5 s and 30 s
    await expect(figures(page, "sales", "asa_seconds")).to_have_text("0:17")  # (5 + 30) / 2
    await expect(figures(page, "support", "offered")).to_have_text("1")
    await expect(figures(page, "total", "offered")).to_have_text("4")
    await expect(figures(page, "total", "abandon_rate")).to_have_text("25%")
    await expect(page.locator('#kpis tr[data-group="sales"] th')).to_have_text("Sales")
    await expect(page.locator('#bands td[data-band="5"]')).to_have_text("33.3%")
    await expect(page.locator('#bands td[data-band="30"]')).to_have_text("100%")

    # by agent: the table and the CSV say the same
    await page.select_option("#by", "agent")
    await expect(page.locator("#kpis thead th[data-field='agent']")).to_have_text("Agent")
    await expect(figures(page, "alice", "answered")).to_have_text("1")
    await expect(figures(page, "bob", "answered")).to_have_text("2")
    await expect(figures(page, "bob", "aht_seconds")).to_have_text("2:10")  # 120 talk + 10 ACW
    await expect(page.locator('#kpis tr[data-group="bob"] th')).to_have_text("Bob Dupont")
    href = await page.locator("#csv").get_attribute("href")
    assert href is not None and "by=agent" in href
    async with page.expect_download() as download_info:
        await page.click("#csv")
    download = await download_info.value
    path = await download.path()
    rows = {r["agent"]: r for r in csv.DictReader(io.StringIO(path.read_text()))}
    assert (rows["alice"]["answered"], rows["bob"]["answered"]) == ("1", "2")
    assert rows["total"]["offered"] == "4" and rows["total"]["answered"] == "3"

    # the charts of this view load as images
    for chart in ("#chart-volume", "#chart-service"):
        await expect(page.locator(chart)).to_have_attribute("src", re.compile(r"by=agent"))
        await page.wait_for_function(
            "(sel) => { const img = document.querySelector(sel);"
            " return img.complete && img.naturalWidth > 0; }",
            arg=chart,
        )

    # a queue filter narrows the figures
    await page.select_option("#queue", "support")
    await expect(page.locator("#kpis tbody tr")).to_have_count(1)
    await expect(figures(page, "bob", "answered")).to_have_text("1")
    await expect(figures(page, "total", "offered")).to_have_text("1")
    await page.select_option("#queue", "")
    await expect(figures(page, "alice", "answered")).to_have_text("1")  # all queues again

    # the abandoned call not called back, and its record with the IVR path
    lost = page.locator('#abandoned tr[data-call="lost-1"]')
    await expect(page.locator("#abandoned tbody tr")).to_have_count(1)
    await expect(lost).to_contain_text(CALLER)
    await expect(lost).to_contain_text("0:40")
    await expect(lost).to_contain_text("9:10")  # queued at 09:10 in the tenant's time zone
    await lost.locator("button.link-button").click()
    record = page.locator("#call-record")
    await expect(record).to_be_visible()
    await expect(page.locator("#call-title")).to_have_text("Call lost-1")
    await expect(page.locator('#call-fields dd[data-field="outcome"]')).to_have_text("abandoned")
    await expect(page.locator("#call-ivr")).to_have_text("welcome \u203a main")
    await expect(page.locator("#call-events tbody tr")).to_have_count(4)

    # staffing: the API's refusal is shown, then an estimate
    await page.fill("#st-calls", "100, 200")
    await page.fill("#st-aht", "0")
    await page.click("#st-run")
    await expect(page.locator("#errors .error-item")).to_contain_text("HTTP 422")
    await page.fill("#st-aht", "180")
    await page.click("#st-run")
    await expect(page.locator('#staffing-result tr[data-interval="1"] .agents')).to_have_text("14")
    await expect(page.locator("#staffing-result tbody tr")).to_have_count(2)
    await page.locator("#errors .error-item button").click()
    await expect(page.locator("#errors .error-item")).to_have_count(0)

    # the quick ranges are days of the tenant's calendar; yesterday had no calls
    today = datetime.now(ZoneInfo(center.service.config.tenants[0].tenant.timezone)).date()
    await page.click("[data-range='last7']")
    await expect(page.locator("#from")).to_have_value((today - timedelta(days=6)).isoformat())
    await expect(page.locator("#to")).to_have_value(today.isoformat())
    await page.click("[data-range='month']")
    await expect(page.locator("#from")).to_have_value(today.replace(day=1).isoformat())
    await page.click("[data-range='yesterday']")
    await expect(figures(page, "total", "offered")).to_have_text("0")
    await expect(page.locator("#abandoned-empty")).to_be_visible()
    await page.click("[data-range='today']")
    await expect(figures(page, "total", "offered")).to_have_text("4")
    await expect(page.locator("#errors .error-item")).to_have_count(0)
    await screenshot(page, "history.png")

    # signed out, the page sends to the login page, which comes back to it
    await page.click("#sign-out")
    await expect(page).to_have_url(base + "/login")
    await page.goto(base + "/history")
    await expect(page).to_have_url(base + "/login?next=/history")
    await page.fill("#username", "sam")
    await page.fill("#password", "sam's password")
    await page.click("#sign-in")
    await expect(page).to_have_url(base + "/history")
    await expect(figures(page, "sales", "offered")).to_have_text("3")


def _callback(ref: str, number: str, status: str, due: float | None, now: float) -> dict:
    return {
        "tenant_id": "acme",
        "ref": ref,
        "number": number,
        "queue": "sales",
        "source": "web",
        "requested_at": now - 3600,
        "window_start": due,
        "due_at": due,
        "status": status,
        "attempts": 3 if status == "failed" else 0,
        "outcome": "no_answer" if status == "failed" else None,
        "updated_at": now - 60,
    }


def _wav(path: Path, seconds: float) -> None:
    with wave.open(str(path), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(b"\0\0" * int(8000 * seconds))


async def test_a_supervisor_calls_back_an_abandoned_caller_and_follows_up_the_callbacks(
    center: Center, open_page: Callable[[], Any], tmp_path: Path
) -> None:
    """The history page's callbacks: call back an abandoned caller, cancel one callback
    and move another; and the player of a recorded call's record."""
    engine = center.service.engine
    await create_user(engine, "acme", "sam", "supervisor", "sam's password")
    await seed_today(center)
    now = time.time()
    tomorrow = now + 86_400
    file = tmp_path / "sale-1.wav"
    _wav(file, 3.0)
    async with engine.begin() as conn:
        await conn.execute(
            insert(Callback.__table__),
            [
                _callback("web-1", "+33622222201", "pending", tomorrow, now),
                _callback("web-2", "+33622222202", "pending", tomorrow, now),
                _callback("web-3", "+33622222203", "failed", None, now),
            ],
        )
        await conn.execute(
            insert(Recording.__table__).values(
                tenant_id="acme",
                call_id="sale-1",
                path=str(file),
                queue="sales",
                agent_id="alice",
                started_at=now - 10,
                ended_at=now - 5,
                paused_seconds=2.0,
                pauses=[[now - 9, now - 7]],
            )
        )
    page: Page = await open_page()
    base = base_url(center)
    await sign_in(page, base, "sam", "sam's password")
    await expect(page).to_have_url(base + "/wallboard")
    await page.goto(base + "/history")

    callbacks = page.locator("#callbacks tbody tr")
    await expect(callbacks).to_have_count(3)
    failed = page.locator('#callbacks tr[data-ref="web-3"]')
    await expect(failed).to_contain_text("no_answer")
    await expect(failed.locator("button")).to_have_count(0)  # one that failed is not moved here

    # (a) the abandoned caller is called back through the call's queue
    lost = page.locator('#abandoned tr[data-call="lost-1"]')
    await lost.locator("button.call-back").click()
    await expect(lost).to_contain_text("Requested")
    await expect(page.locator("#callback-notice")).to_contain_text(f"Callback to {CALLER}")
    await expect(callbacks).to_have_count(4)
    asked = page.locator("#callbacks tbody tr", has_text=CALLER)
    await expect(asked).to_contain_text("abandoned")
    async with engine.connect() as conn:
        [row] = (await conn.execute(select(Callback).where(Callback.number == CALLER))).all()
    assert (row.source, row.queue) == ("abandoned", "sales")

    # (b) one is cancelled, another moved to a day and time chosen in the page
    await page.locator('#callbacks tr[data-ref="web-1"] button.cancel').click()
    await expect(page.locator('#callbacks tr[data-ref="web-1"]')).to_have_count(0)
    await expect(page.locator("#callback-notice")).to_contain_text("cancelled")
    moved = page.locator('#callbacks tr[data-ref="web-2"]')
    await moved.locator("input.move-at").fill("2031-05-04T10:30")
    await moved.locator("button.move").click()
    await expect(page.locator("#callback-notice")).to_contain_text("moved")
    await expect(moved.locator(".due")).to_contain_text("2031")
    await screenshot(page, "history-callbacks.png")
    async with engine.connect() as conn:
        rows = {
            r.ref: r
            for r in (await conn.execute(select(Callback).where(Callback.ref.like("web-%")))).all()
        }
    assert rows["web-1"].status == "cancelled"
    assert rows["web-2"].status == "pending"
    due = await page.evaluate("() => new Date('2031-05-04T10:30').getTime() / 1000")
    assert rows["web-2"].due_at == pytest.approx(due)
    await page.locator('#callbacks tr[data-ref="web-2"] input.move-at').fill("2001-01-01T10:00")
    await page.locator('#callbacks tr[data-ref="web-2"] button.move').click()
    await expect(page.locator("#errors .error-item")).to_contain_text("HTTP 422")

    # (c) a recorded call's record has its player, the abandoned call's has none
    await page.fill("#open-call-id", "sale-1")
    await page.click("#open-call button")
    await expect(page.locator("#call-title")).to_have_text("Call sale-1")
    audio = page.locator("#call-audio")
    await expect(audio).to_have_attribute("src", "/api/recordings/sale-1")
    await page.wait_for_function(
        "() => document.querySelector('#call-audio').duration > 2.5", timeout=15_000
    )
    await expect(page.locator("#call-pauses")).to_contain_text("Paused 1 time(s), 0:02")
    await screenshot(page, "history-recording.png")
    await lost.locator("td button.link-button").click()
    await expect(page.locator("#call-title")).to_have_text("Call lost-1")
    await expect(page.locator("#call-recording")).to_be_hidden()
