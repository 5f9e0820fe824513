"""The IVR interpreter, sans-IO: results in, actions out, time injected.

`Session(ivr, ani=..., dnis=..., now=...)` walks a validated menu tree
(`ivr.model`). `begin()` returns the first action; the shell carries it out
and hands the result to `resume(result)`, which returns the next action, until
a `Finish` says where the call goes (queue, callback, voicemail, transfer,
hangup). What each action expects back:

- `Play` -> the digit that interrupted it, or "" (it never waits for input);
- `Ask` -> the digits keyed ("" on timeout);
- `Say`, `SetLanguage` -> None;
- `FindCustomer` -> a `Customer` or None;
- `Lookup` -> the value as text, or None when there is none.

Every step is kept in `timeline` (for the call record and the agent's screen),
and `context` carries what the ACD and the agent need: customer, tier,
language, collected variables and the path through the menu.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from ivr.model import (
    CallbackNode,
    CollectNode,
    HangupNode,
    HoursNode,
    IdentifyNode,
    Ivr,
    LanguageNode,
    LookupNode,
    MenuNode,
    PlayNode,
    QueueNode,
    TransferNode,
    VoicemailNode,
)
from reports.kpis import normalise_number

MAX_STEPS = 200


@dataclass(frozen=True, slots=True)
class Customer:
    customer_id: str
    name: str
    tier: int = 0
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Play:
    prompt: str
    interruptible: bool = False


@dataclass(frozen=True, slots=True)
class Ask:
    prompt: str
    max_digits: int
    timeout_seconds: int


@dataclass(frozen=True, slots=True)
class Say:
    value: str
    as_digits: bool


@dataclass(frozen=True, slots=True)
class SetLanguage:
    language: str


@dataclass(frozen=True, slots=True)
class FindCustomer:
    by: Literal["ani", "account"]
    key: str


@dataclass(frozen=True, slots=True)
class Lookup:
    service: str
    key: str


RouteKind = Literal["queue", "callback", "voicemail", "transfer", "hangup"]


@dataclass(frozen=True, slots=True)
class Finish:
    """Where the call goes when the IVR is done with it."""

    kind: RouteKind
    queue: str = ""
    destination: str = ""
    priority: int = 0
    reason: str = ""
    skills: tuple[tuple[str, int], ...] = ()  # (skill, minimum level) the call needs


Action = Play | Ask | Say | SetLanguage | FindCustomer | Lookup | Finish


@dataclass(frozen=True, slots=True)
class Step:
    node: str
    kind: str
    detail: str = ""


@dataclass
class CallContext:
    ani: str
    dnis: str
    customer: Customer | None = None
    language: str = "en"
    variables: dict[str, str] = field(default_factory=dict)
    path: list[str] = field(default_factory=list)

    @property
    def tier(self) -> int:
        return self.customer.tier if self.customer is not None else 0


class IvrError(Exception):
    """The session was driven wrongly (resumed after it finished, or before it began)."""


class Session:
    def __init__(self, ivr: Ivr, *, ani: str, dnis: str, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        self.ivr = ivr
        self.now = now
        self.context = CallContext(ani=ani.strip(), dnis=dnis)
        self.timeline: list[Step] = []
        self.finish: Finish | None = None
        self._run = self._walk()
        self._begun = False

    def begin(self) -> Action:
        if self._begun:
            raise IvrError("session already begun")
        self._begun = True
        return self._advance(None)

    def resume(self, result: Any) -> Action:
        if not self._begun or self.finish is not None:
            raise IvrError("session is not waiting for a result")
        return self._advance(result)

    def caller_hung_up(self) -> None:
        """Record that the caller left during the IVR."""
        if self.finish is None:
            self.finish = Finish("hangup", reason="caller hung up in the IVR")
            self.timeline.append(
                Step(self.context.path[-1] if self.context.path else "", "hangup", "caller hung up")
            )

    def _advance(self, result: Any) -> Action:
        action = self._run.send(result)
        if isinstance(action, Finish):
            self.finish = action
        return action

    # ---- the walk ---------------------------------------------------------
    def _walk(self) -> Generator[Action, Any, None]:
        name = self.ivr.start
        for _ in range(MAX_STEPS):
            node = self.ivr.nodes[name]
            self.context.path.append(name)
            handler = getattr(self, f"_{node.kind}")
            outcome = yield from handler(name, node)
            if isinstance(outcome, Finish):
                yield outcome
                return
            name = outcome
        self.timeline.append(Step(name, "stop", f"more than {MAX_STEPS} steps"))
        yield Finish("hangup", reason=f"IVR stopped after {MAX_STEPS} steps")

    def _note(self, node: str, kind: str, detail: str = "") -> None:
        self.timeline.append(Step(node, kind, detail))

    def _play(self, name: str, node: PlayNode) -> Generator[Action, Any, str]:
        yield Play(node.prompt)
        self._note(name, "play", node.prompt)
        return node.next

    def _menu(self, name: str, node: MenuNode) -> Generator[Action, Any, str]:
        for attempt in range(node.retries + 1):
            digits = yield Ask(node.prompt, 1, node.timeout_seconds)
            if digits in node.choices:
                self._note(name, "menu", f"pressed {digits}")
                return node.choices[digits]
            self._note(name, "menu", f"invalid input {digits!r}" if digits else "no input")
            if digits and attempt < node.retries:
                yield Play(node.invalid_prompt)
        self._note(name, "menu", "fallback")
        return node.fallback

    def _collect(self, name: str, node: CollectNode) -> Generator[Action, Any, str]:
        for attempt in range(node.retries + 1):
            digits = (yield Ask(node.prompt, node.max_digits, node.timeout_seconds)) or ""
            problem = _digits_problem(digits, node)
            if problem is None:
                self.context.variables[node.variable] = digits
                self._note(name, "collect", f"{node.variable}={digits}")
                return node.next
            self._note(name, "collect", problem)
            if attempt < node.retries:
                yield Play(node.invalid_prompt)
        self._note(name, "collect", "fallback")
        return node.fallback

    def _identify(self, name: str, node: IdentifyNode) -> Generator[Action, Any, str]:
        if node.by == "ani":
            key = self.context.ani
            if normalise_number(key) is None:
                self._note(name, "identify", "anonymous caller")
                return node.not_found
        else:
            key = self.context.variables.get(node.variable or "", "")
        customer = yield FindCustomer(node.by, key)
        if customer is None:
            self._note(name, "identify", f"no customer for {node.by} {key}")
            return node.not_found
        self.context.customer = customer
        self._note(name, "identify", f"customer {customer.customer_id} tier {customer.tier}")
        if customer.language and customer.language != self.context.language:
            self.context.language = customer.language
            yield SetLanguage(customer.language)
        return node.found

    def _language(self, name: str, node: LanguageNode) -> Generator[Action, Any, str]:
        digits = yield Ask(node.prompt, 1, node.timeout_seconds)
        language = node.choices.get(digits, node.default)
        self.context.language = language
        self._note(name, "language", language)
        yield SetLanguage(language)
        return node.next

    def _hours(self, name: str, node: HoursNode) -> Generator[Action, Any, str]:
        is_open = is_open_at(node, self.now)
        self._note(name, "hours", "open" if is_open else "closed")
        return node.open if is_open else node.closed
        yield  # pragma: no cover  (makes this a generator like its siblings)

    def _lookup(self, name: str, node: LookupNode) -> Generator[Action, Any, str]:
        key = self._lookup_key(node)
        value = None if key is None else (yield Lookup(node.service, key))
        if value is None:
            self._note(name, "lookup", f"{node.service}: nothing for {key}")
            return node.not_found
        self._note(name, "lookup", f"{node.service}={value}")
        if node.prompt:
            yield Play(node.prompt)
        yield Say(str(value), node.say == "digits")
        return node.next

    def _lookup_key(self, node: LookupNode) -> str | None:
        if node.key == "customer":
            customer = self.context.customer
            return customer.customer_id if customer else None
        if node.key == "ani":
            return self.context.ani or None
        return self.context.variables.get(node.key)

    def _queue(self, name: str, node: QueueNode) -> Generator[Action, Any, Finish]:
        self._note(name, "queue", node.queue)
        return Finish(
            "queue", queue=node.queue, priority=node.priority, skills=tuple(node.skills.items())
        )
        yield  # pragma: no cover

    def _callback(self, name: str, node: CallbackNode) -> Generator[Action, Any, Finish]:
        number = (
            self.context.variables.get(node.variable, "") if node.variable else self.context.ani
        )
        if normalise_number(number) is None:
            self._note(name, "callback", "no number to call back")
            return Finish("hangup", reason="callback without a number")
        yield Play(node.prompt)
        self._note(name, "callback", number)
        return Finish("callback", queue=node.queue, destination=number)

    def _voicemail(self, name: str, node: VoicemailNode) -> Generator[Action, Any, Finish]:
        self._note(name, "voicemail", node.box)
        return Finish("voicemail", destination=node.box)
        yield  # pragma: no cover

    def _transfer(self, name: str, node: TransferNode) -> Generator[Action, Any, Finish]:
        self._note(name, "transfer", node.number)
        return Finish("transfer", destination=node.number)
        yield  # pragma: no cover

    def _hangup(self, name: str, node: HangupNode) -> Generator[Action, Any, Finish]:
        if node.prompt:
            yield Play(node.prompt)
        self._note(name, "hangup")
        return Finish("hangup")


def _digits_problem(digits: str, node: CollectNode) -> str | None:
    if not digits:
        return "no input"
    if not digits.isdigit():
        return f"not digits: {digits!r}"
    if not node.min_digits <= len(digits) <= node.max_digits:
        return f"{len(digits)} digits, expected {node.min_digits} to {node.max_digits}"
    if node.checksum == "luhn" and not luhn_valid(digits):
        return f"checksum failed for {digits}"
    return None


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check used by card and many account numbers."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        value = int(char)
        if i % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def is_open_at(node: HoursNode, now: datetime) -> bool:
    local = now.astimezone(ZoneInfo(node.timezone))
    if local.date().isoformat() in node.holidays:
        return False
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[local.weekday()]
    clock = local.time()
    for span in node.weekly.get(day, []):  # type: ignore[call-overload]
        start, end = span.split("-")
        if _clock(start) <= clock and (end == "24:00" or clock < _clock(end)):
            return True
    return False


def next_opening(node: HoursNode, now: datetime, days: int = 14) -> datetime | None:
    """`now` when open, else the start of the next open span within `days` (in the
    node's time zone), None when closed all that time."""
    if is_open_at(node, now):
        return now
    zone = ZoneInfo(node.timezone)
    local = now.astimezone(zone)
    for ahead in range(days + 1):
        day = (local + timedelta(days=ahead)).date()
        if day.isoformat() in node.holidays:
            continue
        name = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[day.weekday()]
        starts = sorted(_clock(span.split("-")[0]) for span in node.weekly.get(name, []))  # type: ignore[call-overload]
        for start in starts:
            opening = datetime.combine(day, start, tzinfo=zone)
            if opening > local:
                return opening
    return None


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))
