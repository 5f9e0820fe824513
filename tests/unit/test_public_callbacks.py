"""The public "call me back" endpoint: E.164 numbers, topics to queues, merging, rate
limits, waiting for the business hours; with the next-opening and rate-limit cores."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from agent_console.app import create_app
from agent_console.ratelimit import RateLimit
from cti.callback_scheduler import take_due_callbacks
from cti.config import PlatformConfig
from cti.settings import Settings
from cti.store import users
from cti.store.models import Callback
from ivr.menu import next_opening
from ivr.model import HoursNode

# Monday 2026-11-23 20:00 in Paris (19:00 UTC): after hours in the test schedule
MONDAY_EVENING = datetime(2026, 11, 23, 19, 0, tzinfo=UTC).timestamp()
OFFICE = {"mon": ["09:00-12:00", "14:00-18:00"], "tue": ["09:00-18:00"]}


def office(**kw: Any) -> HoursNode:
    return HoursNode(
        kind="hours", timezone="Europe/Paris", weekly=OFFICE, open="a", closed="b", **kw
    )


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text + "+01:00")


def test_the_next_opening_is_now_when_open_else_the_next_span() -> None:
    node = office()
    assert next_opening(node, paris("2026-11-23T10:00")) == paris("2026-11-23T10:00")
    assert next_opening(node, paris("2026-11-23T12:30")) == paris("2026-11-23T14:00")
    assert next_opening(node, paris("2026-11-23T20:00")) == paris("2026-11-24T09:00")
    holiday = office(holidays=["2026-11-24"])  # then the Monday after
    assert next_opening(holiday, paris("2026-11-23T20:00")) == paris("2026-11-30T09:00")
    closed = HoursNode(kind="hours", weekly={}, open="a", closed="b")
    assert next_opening(closed, paris("2026-11-23T20:00")) is None


def test_a_rate_limit_slides() -> None:
    limit = RateLimit(2, 60)
    for at in (0.0, 10.0):
        assert limit.retry_after("a", at) == 0
        limit.hit("a", at)
    assert limit.retry_after("a", 30.0) == 30.0  # the first hit leaves the window at 60
    assert limit.retry_after("b", 30.0) == 0  # per key
    assert limit.retry_after("a", 60.0) == 0
    with pytest.raises(ValueError):
        RateLimit(0, 60)


@pytest.fixture
def engine(sqlite_engine: AsyncEngine) -> AsyncEngine:
    return sqlite_engine


@pytest.fixture
async def client(
    engine: AsyncEngine, example_config: PlatformConfig
) -> AsyncIterator[httpx.AsyncClient]:
    data = example_config.model_dump()
    acme = data["tenants"][0]
    acme["ivr"]["nodes"]["hours"]["weekly"] = OFFICE
    acme["web_callback"]["per_number_per_day"] = 2
    config = PlatformConfig.model_validate(data)

    async def healthy() -> dict[str, Any]:
        return {"status": "ok"}

    app = create_app(
        healthy, engine=engine, config=config, settings=Settings(session_secret="k" * 40)
    )
    app.state.clock = lambda: MONDAY_EVENING
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        yield http


async def stored(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        table = Callback.__table__
        return list((await conn.execute(select(table).order_by(table.c.id))).all())


async def test_after_hours_a_request_waits_for_the_opening_and_a_second_one_merges(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    form = {"name": "Ann Lee", "number": "06 12 34 56 78", "topic": "new-contract"}
    reply = await client.post("/api/public/acme/callbacks", json=form)
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["number"] == "+33612345678" and body["queue"] == "sales"
    assert body["merged"] is False
    assert body["expected_local"] == "2026-11-24T09:00+01:00"  # Tuesday's opening
    again = await client.post(
        "/api/public/acme/callbacks", json={**form, "number": "+33 6 12 34 56 78"}
    )
    assert again.json()["merged"] is True and again.json()["ref"] == body["ref"]
    (row,) = await stored(engine)
    assert (row.source, row.status, row.queue, row.name) == ("web", "pending", "sales", "Ann Lee")
    assert row.window_start == paris("2026-11-24T09:00").timestamp()
    # no end asked for: the queue's callback_window_hours (24) from the opening
    assert row.window_end == paris("2026-11-25T09:00").timestamp()
    assert body["until_local"] == "2026-11-25T09:00+01:00"
    later = await client.post(
        "/api/public/acme/callbacks",
        json={**form, "number": "0611111111", "after": "2026-11-24T15:30"},
    )
    assert later.json()["expected_local"] == "2026-11-24T15:30+01:00"  # open then


async def test_the_visitor_gives_a_window_that_moves_with_the_opening_hours(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    form = {"name": "Ann Lee", "topic": "new-contract"}
    asked = {"from": "2026-11-24T10:00", "until": "2026-11-24T11:30"}  # open then
    one = (
        await client.post(
            "/api/public/acme/callbacks", json={**form, "number": "0611111111", **asked}
        )
    ).json()
    assert (one["expected_local"], one["until_local"]) == (
        "2026-11-24T10:00+01:00",
        "2026-11-24T11:30+01:00",
    )
    # asked for tonight, closed until Tuesday 09:00: the same hour from the opening
    tonight = {"from": "2026-11-23T21:00", "until": "2026-11-23T22:00"}
    two = (
        await client.post(
            "/api/public/acme/callbacks", json={**form, "number": "0622222222", **tonight}
        )
    ).json()
    assert (two["expected_local"], two["until_local"]) == (
        "2026-11-24T09:00+01:00",
        "2026-11-24T10:00+01:00",
    )
    # only an end: from the opening until then
    until = {"until": "2026-11-24T17:00"}
    three = (
        await client.post(
            "/api/public/acme/callbacks", json={**form, "number": "0633333333", **until}
        )
    ).json()
    assert (three["expected_local"], three["until_local"]) == (
        "2026-11-24T09:00+01:00",
        "2026-11-24T17:00+01:00",
    )
    rows = await stored(engine)
    assert [r.window_end for r in rows] == [
        paris(t).timestamp() for t in ("2026-11-24T11:30", "2026-11-24T10:00", "2026-11-24T17:00")
    ]


async def test_a_web_callback_whose_window_passes_expires_and_supervisors_see_it(
    client: httpx.AsyncClient, engine: AsyncEngine, example_config: PlatformConfig
) -> None:
    form = {"name": "Ann Lee", "number": "0612345678", "topic": "new-contract"}
    window = {"from": "2026-11-24T10:00", "until": "2026-11-24T11:00"}
    asked = (await client.post("/api/public/acme/callbacks", json={**form, **window})).json()
    # no agent made it in its window (no ACD here at all): at 11:01 it has expired
    await take_due_callbacks(engine, {}, example_config, paris("2026-11-24T11:01").timestamp())
    await users.create_user(engine, "acme", "sam", "supervisor", "password-123")
    login = {"tenant": "acme", "username": "sam", "password": "password-123"}
    token = (await client.post("/api/login", json=login)).json()["token"]
    sam = {"Authorization": f"Bearer {token}"}
    listed = await client.get("/api/callbacks?status=expired", headers=sam)
    assert listed.status_code == 200, listed.text
    [expired] = listed.json()["callbacks"]
    assert (expired["ref"], expired["status"], expired["source"]) == (
        asked["ref"],
        "expired",
        "web",
    )
    assert expired["window_end"] == paris("2026-11-24T11:00").timestamp()
    open_ones = (await client.get("/api/callbacks?status=pending", headers=sam)).json()
    assert open_ones["callbacks"] == []


async def test_bad_input_gets_a_clear_refusal(client: httpx.AsyncClient) -> None:
    form = {"name": "Ann", "number": "0612345678", "topic": "new-contract"}
    bad_number = await client.post("/api/public/acme/callbacks", json={**form, "number": "123"})
    assert bad_number.status_code == 422 and "cannot be called" in bad_number.text
    bad_topic = await client.post("/api/public/acme/callbacks", json={**form, "topic": "x"})
    assert bad_topic.status_code == 422 and "unknown topic" in bad_topic.text
    bad_time = await client.post("/api/public/acme/callbacks", json={**form, "after": "soon"})
    assert bad_time.status_code == 422 and "ISO 8601" in bad_time.text
    bad_end = await client.post("/api/public/acme/callbacks", json={**form, "until": "later"})
    assert bad_end.status_code == 422 and "until: an ISO 8601 time" in bad_end.text
    for window, why in [
        ({"from": "2026-11-24T11:00", "until": "2026-11-24T10:00"}, "after its start"),
        ({"from": "2026-11-24T11:00", "until": "2026-11-24T11:00"}, "after its start"),
        ({"until": "2026-11-23T19:00"}, "after now"),  # gone by (it is 20:00 in Paris)
        ({"until": "2027-06-01T10:00"}, "more than 90 days ahead"),
        ({"from": "2027-06-01T10:00"}, "more than 90 days ahead"),
        ({"from": "2026-11-24T10:00", "after": "2026-11-24T10:00"}, "once"),
    ]:
        refused = await client.post("/api/public/acme/callbacks", json={**form, **window})
        assert refused.status_code == 422 and why in refused.text, (window, refused.text)
    extra = await client.post("/api/public/acme/callbacks", json={**form, "admin": True})
    assert extra.status_code == 422
    assert (await client.post("/api/public/globex/callbacks", json=form)).status_code == 404
    assert (await client.get("/public/globex/callback")).status_code == 404


async def test_requests_are_limited_per_number_and_per_address(
    client: httpx.AsyncClient,
) -> None:
    form = {"name": "Ann", "number": "0612345678", "topic": "new-contract"}
    for _ in range(2):
        assert (await client.post("/api/public/acme/callbacks", json=form)).status_code == 201
    third = await client.post("/api/public/acme/callbacks", json=form)
    assert third.status_code == 429 and int(third.headers["Retry-After"]) > 3600
    for n in range(3):  # other numbers from the same address: five an hour in all
        other = {**form, "number": f"061234500{n}"}
        assert (await client.post("/api/public/acme/callbacks", json=other)).status_code == 201
    blocked = await client.post("/api/public/acme/callbacks", json={**form, "number": "0699999999"})
    assert blocked.status_code == 429


async def test_the_page_is_served_framable_with_its_topics(client: httpx.AsyncClient) -> None:
    page = await client.get("/public/acme/callback")
    assert page.status_code == 200 and "callback.js" in page.text
    assert "frame-ancestors *" in page.headers["Content-Security-Policy"]
    topics = (await client.get("/api/public/acme/topics")).json()
    assert topics == {"tenant": "ACME Insurance", "topics": ["claim-or-support", "new-contract"]}
