"""IVR paths, the callback offer while waiting and the post-call survey on a real Asterisk.

One Asterisk for the module, from a tenant made for these stories: a menu
(1 sales, 2 support, 3 voicemail, 4 transfer, 5 business hours closed now,
anything else twice: the fallback), a sales queue that offers "press 1 to be
called back" and a support queue with a two-question survey. Callers are
Local channels that press the extension's digits, then `SIM_KEYS` (see the
`cti-sim-caller` context); each test gets a fresh service and leaves no call
behind.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import insert, select

from acd import CallState, Outcome
from cti.ami_events import AmiEvent, ChannelCreated, ChannelHungUp, DialEnded, UserEvent
from cti.config import PlatformConfig, TenantConfig
from cti.prompts import build_prompts
from cti.service import Service
from cti.store.models import Call, Callback
from cti.store.users import create_user
from ivr.menu import Session as IvrSession
from ivr.menu import is_open_at
from ivr.model import HoursNode
from tests.integration.conftest import AsteriskStack, until

pytestmark = pytest.mark.asterisk

ROOT = Path(__file__).resolve().parents[2]
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ZONE = "Asia/Tokyo"
OUTSIDE = "0612345678"


def closed_now(zone: str) -> dict[str, list[str]]:
    """A weekly schedule open every day except within half an hour of now (local time)."""
    local = datetime.now(ZoneInfo(zone))
    weekly = {day: ["00:00-24:00"] for day in DAYS}
    spans = []
    before, after = local - timedelta(minutes=30), local + timedelta(minutes=30)
    if before.date() == local.date() and (before.hour, before.minute) > (0, 0):
        spans.append(f"00:00-{before:%H:%M}")
    if after.date() == local.date():
        spans.append(f"{after:%H:%M}-24:00")
    weekly[DAYS[local.weekday()]] = spans
    return weekly


def paths_config(example: PlatformConfig) -> PlatformConfig:
    data = example.tenants[0].model_dump()
    data["prompts"] = {
        name: {"en": texts["en"]}
        for name, texts in data["prompts"].items()
        if name in ("acme-callback-offer", "acme-survey-agent", "acme-survey-solved")
    }
    fast = {"ring_timeout_seconds": 5, "wrapup_max_seconds": 2, "announce_every_seconds": None}
    data["queues"] = [
        {**q, **fast, "offer_callback": q["id"] == "sales", "survey": None} for q in data["queues"]
    ]
    data["queues"][0]["callback_retry"] = {
        "retry_minutes": 0.05,  # 3 s
        "max_attempts": 2,
        "ring_seconds": 5,
    }
    data["web_callback"] = {**data["web_callback"], "hours": None}  # open at any hour
    data["queues"][1]["survey"] = {
        "questions": [{"prompt": "acme-survey-agent"}, {"prompt": "acme-survey-solved"}],
        "timeout_seconds": 6,
    }
    data["ivr"] = {
        "start": "menu",
        "nodes": {
            "menu": {
                "kind": "menu",
                "prompt": "hello-world",
                "choices": {"1": "to_sales", "2": "to_support", "3": "message", "4": "outside"}
                | {"5": "hours"},
                "timeout_seconds": 4,
                "retries": 1,
                "invalid_prompt": "invalid",
                "fallback": "to_fallback",
            },
            "hours": {
                "kind": "hours",
                "timezone": ZONE,
                "weekly": closed_now(ZONE),
                "open": "to_sales",
                "closed": "closed",
            },
            "closed": {"kind": "hangup", "prompt": "please-try-call-later"},
            "message": {"kind": "voicemail", "box": "acme-box"},
            "outside": {"kind": "transfer", "number": OUTSIDE},
            "to_sales": {"kind": "queue", "queue": "sales"},
            "to_support": {"kind": "queue", "queue": "support"},
            "to_fallback": {"kind": "queue", "queue": "support", "priority": 1},
        },
    }
    return PlatformConfig(tenants=(TenantConfig.model_validate(data),))


@pytest.fixture(scope="module")
def paths(
    asterisk_factory: Callable[..., AsteriskStack],
    example_config: PlatformConfig,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[AsteriskStack, PlatformConfig]:
    config = paths_config(example_config)
    prompts = tmp_path_factory.mktemp("prompts")
    build_prompts(config, prompts)
    return asterisk_factory(config, prompts_dir=prompts), config


class Line:
    """A fresh service on the module's Asterisk, with what the tests watch."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.acd = service.acd["acme"]
        self.events: list[AmiEvent] = []
        service.ami.subscribe(self.events.append)

    async def restart(self) -> None:
        """Stop the service and start a new one on the same database."""
        await self.service.stop()
        self.service = Service(self.service.settings, self.service.config)
        await self.service.start()
        await self.service.ami.wait_connected(10)
        self.acd = self.service.acd["acme"]
        self.service.ami.subscribe(self.events.append)

    async def call(self, ani: str, keys: str, hold: int = 20, **sim: str) -> None:
        await self.service.ami.originate(
            "Local/5000@cti-inbound",
            context="cti-sim-caller",
            exten=keys,
            caller_id=f'"Caller" <{ani}>',
            variables={"SIM_HOLD": str(hold), "SIM_DTMF_DELAY": "2", **sim},
        )

    async def session(self, ani: str, timeout: float = 15) -> tuple[str, IvrSession]:
        """The caller's IVR session once it finished, with the caller's uniqueid."""

        def found() -> list[tuple[str, IvrSession]]:
            sessions = self.service.ivr_sessions.items()
            return [(u, s) for u, s in sessions if s.context.ani == ani]

        await until(lambda: bool(found()), timeout=timeout, what=f"IVR session of {ani}")
        return found()[0]

    def user_events(self, name: str) -> list[UserEvent]:
        return [e for e in self.events if isinstance(e, UserEvent) and e.name == name]

    def hung_up(self, uniqueid: str) -> bool:
        return any(isinstance(e, ChannelHungUp) and e.uniqueid == uniqueid for e in self.events)

    async def phone(self, extension: str, ring: str = "1", talk: str = "2") -> None:
        await self.service.ami.action("Setvar", Variable=f"SIM_RING_{extension}", Value=ring)
        await self.service.ami.action("Setvar", Variable=f"SIM_TALK_{extension}", Value=talk)


@pytest.fixture
async def line(paths: tuple[AsteriskStack, PlatformConfig], tmp_path: Path) -> AsyncIterator[Line]:
    stack, config = paths
    settings = stack.settings.model_copy(
        update={
            "database_url": f"sqlite+aiosqlite:///{tmp_path}/c.db",
            "config_dir": ROOT / "config",
            "callback_poll_seconds": 0.5,
        }
    )
    service = Service(settings, config)
    await service.start()
    await service.ami.wait_connected(10)
    line = Line(service)
    try:
        yield line
    finally:  # leave no call and no agent state to the next test
        await line.service.ami.action("Command", Command="channel request hangup all")
        await line.service.stop()  # (its last AstDB writes land before the tree goes)
        stack.process.cli("database deltree cti-acme-agents")


def steps(session: IvrSession) -> list[tuple[str, str, str]]:
    return [(s.node, s.kind, s.detail) for s in session.timeline]


async def test_two_wrong_digits_hear_the_retry_and_end_in_the_fallback(line: Line) -> None:
    ani = "+33611000001"
    # the first 7 while the menu asks, the second after the 4 s "invalid" prompt
    await line.call(ani, "7", SIM_DTMF_DELAY="2.5", SIM_KEYS="7", SIM_KEYS_DELAY="6")
    uniqueid, session = await line.session(ani, timeout=20)
    assert steps(session) == [
        ("menu", "menu", "invalid input '7'"),
        ("menu", "menu", "invalid input '7'"),
        ("menu", "menu", "fallback"),
        ("to_fallback", "queue", "support"),
    ]
    await until(lambda: uniqueid in line.acd.legs, timeout=5, what="caller waiting")
    (waiting,) = [e for e in line.user_events("CtiWaiting") if e.uniqueid == uniqueid]
    assert (waiting.fields["CtiQueue"], waiting.fields["CtiPath"]) == (
        "acme-support",
        "menu>to_fallback",
    )
    assert waiting.fields["CtiTier"] == "1"  # the fallback's priority


async def test_out_of_hours_hears_the_closed_message_and_is_hung_up(line: Line) -> None:
    hours = line.service.config.tenants[0].ivr.nodes["hours"]  # type: ignore[union-attr]
    assert isinstance(hours, HoursNode)
    assert not is_open_at(hours, datetime.now(ZoneInfo(ZONE)))
    assert is_open_at(hours, datetime.now(ZoneInfo(ZONE)) + timedelta(hours=25))
    ani = "+33611000002"
    await line.call(ani, "5", hold=20)
    uniqueid, session = await line.session(ani)
    assert session.context.path == ["menu", "hours", "closed"]
    assert ("hours", "hours", "closed") in steps(session)
    assert session.finish is not None and session.finish.kind == "hangup"
    await until(lambda: line.hung_up(uniqueid), timeout=8, what="closed: the line is released")
    assert uniqueid not in line.acd.legs and not line.user_events("CtiWaiting")


async def test_voicemail_node_records_the_callers_message(line: Line) -> None:
    ani = "+33611000003"
    await line.call(ani, "3", hold=10)
    uniqueid, session = await line.session(ani)
    assert session.finish is not None
    assert (session.finish.kind, session.finish.destination) == ("voicemail", "acme-box")
    await until(lambda: bool(line.user_events("CtiVoicemail")), timeout=10)
    (saved,) = line.user_events("CtiVoicemail")
    assert saved.uniqueid == uniqueid and saved.fields["CtiBox"] == "acme-box"
    recording = Path(saved.fields["CtiFile"])
    await until(recording.exists, timeout=10, what=f"{recording} on disk")
    assert recording.parent.name == "voicemail"


async def test_transfer_node_reaches_the_other_number(line: Line) -> None:
    await line.phone(OUTSIDE, ring="1", talk="1")
    ani = "+33611000004"
    await line.call(ani, "4", hold=15)
    uniqueid, session = await line.session(ani)
    assert session.finish is not None
    assert (session.finish.kind, session.finish.destination) == ("transfer", OUTSIDE)

    def outside() -> list[ChannelCreated]:
        return [
            e
            for e in line.events
            if isinstance(e, ChannelCreated)
            and e.channel.startswith(f"Local/{OUTSIDE}@cti-sim-agent-")
            and e.channel.endswith(";1")
        ]

    def answered() -> bool:
        ids = {c.uniqueid for c in outside()}
        return any(
            isinstance(e, DialEnded) and e.dest_uniqueid in ids and e.dial_status == "ANSWER"
            for e in line.events
        )

    await until(answered, timeout=10, what=f"{OUTSIDE} answers")
    (caller,) = [e for e in line.events if isinstance(e, ChannelCreated) and e.uniqueid == uniqueid]
    assert outside()[0].linkedid == caller.linkedid  # the caller's own call, transferred
    await until(lambda: line.hung_up(uniqueid), timeout=10, what="the call ends")
    assert not line.user_events("CtiWaiting")


async def test_waiting_caller_presses_1_and_keeps_the_place_for_a_callback(line: Line) -> None:
    ani = "+33611000005"
    await line.call(
        ani, "1", hold=25, SIM_KEYS="1", SIM_KEYS_ON="CTI_WAIT_START", SIM_KEYS_DELAY="1"
    )
    uniqueid, session = await line.session(ani)
    assert session.context.path == ["menu", "to_sales"]
    await until(lambda: bool(line.user_events("CtiCallbackRequest")), timeout=10)
    (request,) = line.user_events("CtiCallbackRequest")
    assert (request.uniqueid, request.fields["CtiNumber"]) == (uniqueid, ani)
    await until(lambda: line.hung_up(uniqueid), timeout=10, what="the caller is released")
    router = line.acd.router
    assert router.call_state(uniqueid) == CallState.CALLBACK_WAITING
    assert router.position(uniqueid) == 1  # the place in line is kept
    assert uniqueid not in line.acd.legs
    assert line.user_events("CtiWaiting")[0].fields["CtiCallback"] == ""  # not asked in the IVR


async def callback_rows(line: Line) -> list[Any]:
    await line.service.journal.flush()
    async with line.service.engine.connect() as conn:
        table = Callback.__table__
        return list((await conn.execute(select(table).order_by(table.c.id))).all())


async def call_rows(line: Line) -> dict[str, Any]:
    """The calls rows by call id (the journal written through)."""
    await line.service.journal.flush()
    async with line.service.engine.connect() as conn:
        return {r.call_id: r for r in (await conn.execute(select(Call.__table__))).all()}


async def press_1_then_agent_ready(line: Line, ani: str) -> str:
    """A sales caller presses 1 while waiting, hangs up; then alice gets ready."""
    await line.call(
        ani, "1", hold=25, SIM_KEYS="1", SIM_KEYS_ON="CTI_WAIT_START", SIM_KEYS_DELAY="1"
    )
    uniqueid, _ = await line.session(ani)
    await until(lambda: line.hung_up(uniqueid), timeout=10, what="the caller is released")
    await line.phone("1001", ring="1", talk="30")
    line.acd.login("alice")
    line.acd.ready("alice")
    return uniqueid


async def callback_row(line: Line, status: str, timeout: float) -> Any:
    """The one callback's row once it reaches `status`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        rows = await callback_rows(line)
        if rows and rows[0].status == status:
            (row,) = rows
            return row
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"callback not {status} after {timeout} s: {rows}")
        await asyncio.sleep(0.3)


async def test_a_busy_customer_is_called_again_by_the_queues_rule_then_connected(
    line: Line,
) -> None:
    ani = "0611000007"  # the customer's phone: busy at first
    await line.phone(ani, ring="busy")
    ref = await press_1_then_agent_ready(line, ani)
    row = await callback_row(line, "retry", timeout=15)
    assert (row.call_id, row.attempts, row.outcome, row.agent_id) == (ref, 1, "busy", "alice")
    assert row.due_at == pytest.approx(row.updated_at + 3, abs=0.5)  # the queue's 0.05 min
    assert line.user_events("CtiCallbackResult")[0].fields["CtiDialStatus"] == "BUSY"
    await line.phone(ani, ring="1", talk="2")  # free now: answers the next attempt
    row = await callback_row(line, "connected", timeout=25)
    assert (row.call_id, row.attempts, row.outcome, row.agent_id) == (ref, 2, "answered", "alice")
    assert not line.acd.callbacks  # settled
    # the caller's call stays inbound, exited when asking; each attempt is an outbound call
    await until(lambda: line.acd.agent_states["alice"] != "on_call", timeout=15, what="talk over")
    calls = await call_rows(line)
    # (the caller's row is under its call's linkedid; the callback's calls under its ref)
    [asked] = [row for row in calls.values() if row.direction == "inbound"]
    outbound = sorted(c for c, row in calls.items() if row.direction == "outbound")
    assert outbound == [f"{ref}-cb", f"{ref}-r1"]
    busy, answered = calls[f"{ref}-cb"], calls[f"{ref}-r1"]
    assert (asked.direction, asked.outcome, asked.acd_outcome) == (
        "inbound",
        "exited",
        "called_back",
    )
    assert (busy.direction, busy.agent, busy.outcome, busy.acd_outcome) == (
        "outbound",
        "alice",
        "exited",
        "busy",
    )
    assert (answered.direction, answered.agent, answered.outcome) == (
        "outbound",
        "alice",
        "answered",
    )
    assert answered.talk_seconds is not None and answered.talk_seconds > 0


async def test_a_customer_busy_at_every_attempt_ends_a_failed_callback(line: Line) -> None:
    ani = "0611000008"
    await line.phone(ani, ring="busy")
    ref = await press_1_then_agent_ready(line, ani)
    row = await callback_row(line, "failed", timeout=30)
    assert (row.call_id, row.attempts, row.outcome) == (ref, 2, "busy")
    await asyncio.sleep(4)  # no third attempt: the rule allows two
    assert len(line.user_events("CtiCallbackResult")) == 2
    assert not line.acd.callbacks  # nothing left to retry


async def test_an_open_callback_survives_a_restart_and_a_promised_one_waits_for_its_time(
    line: Line,
) -> None:
    ani = "0611000009"
    await line.phone(ani, ring="1", talk="2")
    await line.call(
        ani, "1", hold=25, SIM_KEYS="1", SIM_KEYS_ON="CTI_WAIT_START", SIM_KEYS_DELAY="1"
    )
    ref, _ = await line.session(ani)
    await callback_row(line, "pending", timeout=10)
    await line.restart()  # the router forgot it; the store did not
    await until(
        lambda: line.acd.callback_calls.has_callback(ref), timeout=5, what="taken from the store"
    )
    await line.phone("1001", ring="1", talk="30")
    line.acd.login("alice")
    line.acd.ready("alice")
    row = await callback_row(line, "connected", timeout=20)
    assert (row.ref, row.attempts, row.agent_id) == (ref, 1, "alice")
    await asyncio.sleep(1.5)  # the store says "connected" only after the write-behind:
    assert not line.acd.callbacks  # meanwhile the scheduler must not take it again
    # alice promised a call back in 3 s (no queue given: through hers)
    promised = "0611000010"
    await line.phone(promised, ring="1", talk="2")
    now = time.time()
    async with line.service.engine.begin() as conn:
        await conn.execute(
            insert(Callback.__table__).values(
                tenant_id="acme",
                ref="agent-test",
                number=promised,
                source="agent",
                requested_at=now,
                window_start=now + 3,
                status="pending",
                attempts=0,
                agent_id="alice",
                updated_at=now,
            )
        )
    await asyncio.sleep(1.5)
    assert not line.acd.callback_calls.has_callback("agent-test")  # not before its time
    await until(
        lambda: line.acd.callback_calls.has_callback("agent-test"), timeout=5, what="taken when due"
    )
    deadline = time.monotonic() + 25
    while True:
        rows = {r.ref: r for r in await callback_rows(line)}
        if rows["agent-test"].status == "connected":
            break
        assert time.monotonic() < deadline, rows
        await asyncio.sleep(0.3)
    assert (rows["agent-test"].agent_id, rows["agent-test"].queue) == ("alice", "sales")


async def test_survey_after_the_agent_hangs_up_reaches_the_service(
    line: Line, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = line.service.journal
    journaled: list[tuple[Any, ...]] = []
    record = journal.event

    def event(tenant: str, kind: str, **fields: Any) -> Any:
        journaled.append((tenant, kind, fields))
        return record(tenant, kind, **fields)

    monkeypatch.setattr(journal, "event", event)
    await line.phone("1003", ring="1", talk="2")
    line.acd.login("carol")
    line.acd.ready("carol")
    ani = "+33611000006"
    await line.call(
        ani, "2", hold=30, SIM_KEYS="45", SIM_KEYS_ON="CTI_SURVEY_QUESTION", SIM_KEYS_DELAY="1"
    )
    uniqueid, _session = await line.session(ani)
    await until(lambda: line.acd.stats.outcomes.get(uniqueid) == Outcome.ANSWERED, timeout=15)
    await until(lambda: bool(line.service.survey_results), timeout=20, what="survey answered")
    assert line.service.survey_results == [("acme", uniqueid, "carol", [4, 5])]
    await until(lambda: line.hung_up(uniqueid), timeout=5, what="thanked and hung up")
    surveys = [(t, f) for t, kind, f in journaled if kind == "survey.answered"]
    assert surveys == [
        ("acme", {"call_id": uniqueid, "agent_id": "carol", "data": {"scores": [4, 5]}})
    ]


async def test_after_an_attended_transfer_the_survey_is_about_the_agent_who_took_the_call(
    line: Line,
) -> None:
    """A sales caller (no survey) handed by alice to carol after a consultation: when
    carol hangs up, the caller answers support's survey, about carol's segment."""
    await line.phone("1001", ring="1", talk="60")
    await line.phone("1003", ring="1", talk="5")
    for agent in ("alice", "carol"):
        line.acd.login(agent)
        line.acd.ready(agent)
    ani = "+33611000016"
    await line.call(
        ani, "1", hold=40, SIM_KEYS="34", SIM_KEYS_ON="CTI_SURVEY_QUESTION", SIM_KEYS_DELAY="1"
    )
    uniqueid, _session = await line.session(ani)
    await until(lambda: line.acd.legs[uniqueid].state == "talking", timeout=15, what="alice")
    await line.acd.transfers.consult("alice", "agent", "carol")

    def consulted() -> bool:
        leg = line.acd.legs[uniqueid]
        return leg.consult is not None and bool(leg.consult.channel)

    await until(consulted, timeout=10, what="carol answered the consultation")
    segment = f"{uniqueid}-t1"
    assert await line.acd.transfers.complete_transfer("alice", segment) == segment
    await until(lambda: line.acd.stats.outcomes.get(segment) == Outcome.ANSWERED, timeout=15)
    await until(lambda: bool(line.service.survey_results), timeout=20, what="survey answered")
    assert line.service.survey_results == [("acme", segment, "carol", [3, 4])]
    assert line.acd.stats.outcomes[uniqueid] == Outcome.ANSWERED


async def test_a_supervisor_moves_one_waiting_callback_and_cancels_another(line: Line) -> None:
    """Two callers press 1 while nobody is free: the supervisor cancels one callback and
    moves the other 3 s on; the moved one leaves the line, then is made at its time."""
    moved, dropped = "0611000031", "0611000032"
    await line.phone(moved, ring="1", talk="2")
    keys = {"SIM_KEYS": "1", "SIM_KEYS_ON": "CTI_WAIT_START", "SIM_KEYS_DELAY": "1"}
    refs = []
    for ani in (moved, dropped):
        await line.call(ani, "1", hold=25, **keys)
        uniqueid, _ = await line.session(ani)
        await until(lambda u=uniqueid: line.hung_up(u), timeout=10, what="released")  # type: ignore[misc]
        refs.append(uniqueid)
    await until(lambda: len(line.acd.callbacks) == 2, timeout=5)
    await create_user(line.service.engine, "acme", "sam", "supervisor", "sam's password")
    port = line.service.settings.http_port
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as sam:
        login = {"tenant": "acme", "username": "sam", "password": "sam's password"}
        assert (await sam.post("/api/login", json=login)).status_code == 200
        cancelled = await sam.post(f"/api/callbacks/{refs[1]}/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        again = await sam.post(f"/api/callbacks/{refs[1]}/cancel")
        assert again.status_code == 409 and "cancelled" in again.text
        due = time.time() + 3
        moved_to = await sam.post(f"/api/callbacks/{refs[0]}/reschedule", json={"at": due})
        assert moved_to.status_code == 200, moved_to.text
        assert moved_to.json()["due_at"] == pytest.approx(due)
        assert (await sam.post("/api/callbacks/nope/cancel")).status_code == 404
        past = await sam.post(f"/api/callbacks/{refs[0]}/reschedule", json={"at": due - 7200})
        assert past.status_code == 422
    assert not line.acd.callbacks  # both left the line
    await line.phone("1001", ring="1", talk="30")
    line.acd.login("alice")
    line.acd.ready("alice")
    await asyncio.sleep(1.5)
    assert line.acd.agent_states["alice"] == "ready"  # nothing due yet
    rows = {r.ref: r for r in await callback_rows(line)}
    assert rows[refs[0]].status == "pending" and rows[refs[1]].status == "cancelled"
    for _ in range(60):
        rows = {r.ref: r for r in await callback_rows(line)}
        if rows[refs[0]].status == "connected":
            break
        await asyncio.sleep(0.5)
    assert rows[refs[0]].status == "connected" and rows[refs[0]].agent_id == "alice"
    assert rows[refs[1]].status == "cancelled" and rows[refs[1]].attempts == 0
    dialed = [e.fields.get("CtiExten") for e in line.user_events("CtiSimRang")]
    assert dropped not in dialed and moved in dialed


async def test_a_customer_who_never_answers_is_tried_by_the_rule_then_the_callback_fails(
    line: Line,
) -> None:
    ani = "0611000041"
    await line.phone(ani, ring="never")
    ref = await press_1_then_agent_ready(line, ani)
    row = await callback_row(line, "failed", timeout=40)
    assert (row.call_id, row.attempts, row.outcome) == (ref, 2, "no_answer")
    results = [e.fields["CtiDialStatus"] for e in line.user_events("CtiCallbackResult")]
    assert results == ["NOANSWER", "NOANSWER"]  # the queue's 5 s ring, twice


async def test_a_web_request_reaches_a_ready_agent_then_the_customer(line: Line) -> None:
    """The public endpoint's request waits in the store, is taken when due, reserves
    alice (her phone first), then the customer's phone answers: connected."""
    customer = "0611000051"  # kept as +33611000051: the simulation's 33611000051
    await line.phone("33611000051", ring="1", talk="2")
    await line.phone("1001", ring="1", talk="30")
    port = line.service.settings.http_port
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as web:
        form = {"name": "Lea", "number": customer, "topic": "new-contract"}
        reply = await web.post("/api/public/acme/callbacks", json=form)
    assert reply.status_code == 201, reply.text
    line.acd.login("alice")
    line.acd.ready("alice")
    row = await callback_row(line, "connected", timeout=30)
    assert (row.source, row.queue, row.agent_id, row.attempts) == ("web", "sales", "alice", 1)
    await until(lambda: line.acd.agent_states["alice"] != "on_call", timeout=15, what="talk over")
    [(call_id, call)] = (await call_rows(line)).items()
    assert call_id == f"{row.ref}-q0"
    assert (call.direction, call.agent, call.outcome) == ("outbound", "alice", "answered")
    assert row.number == "+33611000051"
    rang = [e.fields.get("CtiExten") for e in line.user_events("CtiSimRang")]
    assert rang.index("1001") < rang.index("33611000051")  # the agent first
