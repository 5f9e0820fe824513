"""The IVR interpreter as stories: actions out, results in, a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ivr.menu import (
    Ask,
    Customer,
    FindCustomer,
    Finish,
    IvrError,
    Lookup,
    Play,
    Say,
    Session,
    SetLanguage,
    luhn_valid,
)
from ivr.model import Ivr

MONDAY_NOON = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)  # 12:00 in Paris
SUNDAY = datetime(2026, 11, 22, 11, 0, tzinfo=UTC)
CHRISTMAS = datetime(2026, 12, 25, 11, 0, tzinfo=UTC)
JEANNE = Customer("C001", "Jeanne Martin", tier=3, language="fr")


def tree(**nodes: dict[str, Any]) -> Ivr:
    return Ivr.model_validate({"start": "start", "nodes": nodes})


MENU = {
    "kind": "menu",
    "prompt": "main",
    "choices": {"1": "sales", "2": "support"},
    "retries": 2,
    "fallback": "support",
}
SALES = {"kind": "queue", "queue": "sales", "priority": 2}
SUPPORT = {"kind": "queue", "queue": "support"}


def run(
    ivr: Ivr, results: list[Any], *, ani: str = "+33612345305", now: datetime = MONDAY_NOON
) -> tuple[Session, list[Any]]:
    """Drive a session, answering each action with the next result; returns the actions."""
    session = Session(ivr, ani=ani, dnis="5000", now=now)
    actions = [session.begin()]
    for result in results:
        actions.append(session.resume(result))
    return session, actions


def test_menu_choice_queues_the_call() -> None:
    session, actions = run(tree(start=MENU, sales=SALES, support=SUPPORT), ["1"])
    assert actions == [Ask("main", 1, 5), Finish("queue", queue="sales", priority=2)]
    assert session.context.path == ["start", "sales"]
    assert session.finish == actions[-1]


def test_invalid_input_is_retried_then_falls_back() -> None:
    _, actions = run(tree(start=MENU, sales=SALES, support=SUPPORT), ["7", None, "", "8"])
    assert actions == [
        Ask("main", 1, 5),
        Play("invalid"),
        Ask("main", 1, 5),
        Ask("main", 1, 5),
        Finish("queue", queue="support"),
    ]


def test_retry_after_invalid_then_valid() -> None:
    session, actions = run(tree(start=MENU, sales=SALES, support=SUPPORT), ["5", None, "2"])
    assert actions[-1] == Finish("queue", queue="support")
    assert [s.detail for s in session.timeline] == ["invalid input '5'", "pressed 2", "support"]


def test_play_then_next() -> None:
    ivr = tree(start={"kind": "play", "prompt": "hello", "next": "q"}, q=SALES)
    assert run(ivr, [""])[1] == [Play("hello"), Finish("queue", queue="sales", priority=2)]


COLLECT = {
    "kind": "collect",
    "prompt": "account",
    "variable": "account",
    "min_digits": 8,
    "max_digits": 16,
    "checksum": "luhn",
    "retries": 1,
    "next": "who",
    "fallback": "support",
}
WHO = {
    "kind": "identify",
    "by": "account",
    "variable": "account",
    "found": "sales",
    "not_found": "support",
}


def test_collect_validates_checksum_then_identifies_by_account() -> None:
    ivr = tree(start=COLLECT, who=WHO, sales=SALES, support=SUPPORT)
    session, actions = run(ivr, ["79927398710", None, "79927398713", JEANNE, None])
    assert actions[:4] == [
        Ask("account", 16, 8),
        Play("invalid"),
        Ask("account", 16, 8),
        FindCustomer("account", "79927398713"),
    ]
    assert actions[4] == SetLanguage("fr") and actions[5].queue == "sales"
    assert session.context.customer == JEANNE and session.context.tier == 3
    assert session.context.variables == {"account": "79927398713"}


@pytest.mark.parametrize("digits", ["", "123", "12a45678", "79927398710"])
def test_collect_gives_up_after_retries(digits: str) -> None:
    ivr = tree(start=COLLECT, who=WHO, sales=SALES, support=SUPPORT)
    _, actions = run(ivr, [digits, None, digits])
    assert actions[-1] == Finish("queue", queue="support")


def test_identify_by_ani_found_and_not_found() -> None:
    ident = {"kind": "identify", "by": "ani", "found": "sales", "not_found": "support"}
    ivr = tree(start=ident, sales=SALES, support=SUPPORT)
    session, actions = run(ivr, [None])
    assert actions == [FindCustomer("ani", "+33612345305"), Finish("queue", queue="support")]
    assert session.context.customer is None
    _, actions = run(ivr, [Customer("C9", "X", tier=1)])
    assert actions[-1].queue == "sales"


def test_anonymous_callers_are_not_looked_up() -> None:
    ident = {"kind": "identify", "by": "ani", "found": "sales", "not_found": "support"}
    _, actions = run(tree(start=ident, sales=SALES, support=SUPPORT), [], ani="anonymous")
    assert actions == [Finish("queue", queue="support")]


def test_language_choice_and_default() -> None:
    lang = {
        "kind": "language",
        "prompt": "lang",
        "choices": {"1": "en", "2": "fr"},
        "default": "en",
        "next": "sales",
    }
    session, actions = run(tree(start=lang, sales=SALES), ["2", None])
    assert actions[:2] == [Ask("lang", 1, 5), SetLanguage("fr")]
    assert session.context.language == "fr"
    session, _ = run(tree(start=lang, sales=SALES), ["", None])
    assert session.context.language == "en"


HOURS = {
    "kind": "hours",
    "timezone": "Europe/Paris",
    "weekly": {"mon": ["09:00-18:00"]},
    "holidays": ["2026-12-25"],
    "open": "sales",
    "closed": "closed",
}
CLOSED = {"kind": "hangup", "prompt": "closed-message"}


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (MONDAY_NOON, Finish("queue", queue="sales", priority=2)),
        (SUNDAY, Play("closed-message")),
        (CHRISTMAS, Play("closed-message")),
        (datetime(2026, 11, 23, 17, 0, tzinfo=UTC), Play("closed-message")),  # 18:00 Paris
        (datetime(2026, 11, 23, 8, 0, tzinfo=UTC), Finish("queue", queue="sales", priority=2)),
    ],
)
def test_business_hours_in_the_tenant_time_zone(now: datetime, expected: Any) -> None:
    _, actions = run(tree(start=HOURS, sales=SALES, closed=CLOSED), [], now=now)
    assert actions == [expected]


def test_closed_plays_then_hangs_up() -> None:
    _, actions = run(tree(start=HOURS, sales=SALES, closed=CLOSED), [""], now=SUNDAY)
    assert actions == [Play("closed-message"), Finish("hangup")]


def test_self_service_lookup_reads_the_value_back() -> None:
    ident = {"kind": "identify", "by": "ani", "found": "bal", "not_found": "support"}
    bal = {
        "kind": "lookup",
        "service": "balance",
        "key": "customer",
        "prompt": "you-have",
        "say": "number",
        "next": "sales",
        "not_found": "support",
    }
    ivr = tree(start=ident, bal=bal, sales=SALES, support=SUPPORT)
    session, actions = run(ivr, [JEANNE, None, "1250", "", None])
    assert actions[2:5] == [Lookup("balance", "C001"), Play("you-have"), Say("1250", False)]
    assert actions[-1].queue == "sales"
    assert ("bal", "lookup", "balance=1250") in [
        (s.node, s.kind, s.detail) for s in session.timeline
    ]
    _, actions = run(ivr, [JEANNE, None, None])
    assert actions[-1].queue == "support"


def test_callback_uses_the_caller_number_and_refuses_anonymous() -> None:
    cb = {"kind": "callback", "queue": "sales"}
    _, actions = run(tree(start=cb), [""])
    assert actions == [
        Play("queue-thankyou"),
        Finish("callback", queue="sales", destination="+33612345305"),
    ]
    _, actions = run(tree(start=cb), [], ani="")
    assert actions == [Finish("hangup", reason="callback without a number")]


def test_voicemail_transfer_hangup() -> None:
    assert run(tree(start={"kind": "voicemail", "box": "sales"}), [])[1] == [
        Finish("voicemail", destination="sales")
    ]
    assert run(tree(start={"kind": "transfer", "number": "5001"}), [])[1] == [
        Finish("transfer", destination="5001")
    ]
    assert run(tree(start={"kind": "hangup"}), [])[1] == [Finish("hangup")]


def test_endless_loops_are_cut() -> None:
    loop = {"kind": "menu", "prompt": "m", "choices": {"1": "start", "2": "q"}, "fallback": "q"}
    session = Session(tree(start=loop, q=SALES), ani="1", dnis="2", now=MONDAY_NOON)
    action = session.begin()
    while not isinstance(action, Finish):
        action = session.resume("1")
    assert action.kind == "hangup" and "steps" in action.reason


def test_misuse_is_a_clear_error() -> None:
    session = Session(tree(start=SALES), ani="1", dnis="2", now=MONDAY_NOON)
    with pytest.raises(IvrError):
        session.resume("1")
    session.begin()
    with pytest.raises(IvrError):
        session.resume("1")
    with pytest.raises(ValueError, match="timezone-aware"):
        Session(tree(start=SALES), ani="1", dnis="2", now=datetime(2026, 1, 1))


def test_hangup_during_the_ivr_is_recorded() -> None:
    session = Session(
        tree(start=MENU, sales=SALES, support=SUPPORT), ani="1", dnis="2", now=MONDAY_NOON
    )
    session.begin()
    session.caller_hung_up()
    assert session.finish == Finish("hangup", reason="caller hung up in the IVR")


def test_luhn() -> None:
    assert luhn_valid("79927398713") and not luhn_valid("79927398710")


def test_a_queue_node_hands_on_the_skills_the_call_needs() -> None:
    french = {"kind": "queue", "queue": "sales", "skills": {"french": 3}}
    _, actions = run(tree(start=MENU, sales=french, support=SUPPORT), ["1"])
    assert actions[-1] == Finish("queue", queue="sales", skills=(("french", 3),))
