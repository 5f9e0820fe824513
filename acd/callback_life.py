"""The one life of a callback, whatever asked for it, as a pure table.

    pending --reserve--> reserved --dial--> dialing --answered--> connected
       ^  ^                 |                 |
       |  +---agent_missed--+                 +--busy / no_answer / failed--> retry
       |                                                     (or failed, expired) |
       +------------------------------------due----------------------------------+
    pending | retry | reserved --cancel--> cancelled;  pending | retry --expire--> expired

`reserve`: the ACD gave it an agent (their screen pops); `dial`: the agent took the leg
and the customer is being dialed (an attempt); `agent_missed`: the agent did not take
it (no attempt spent). A customer leg not answered is retried by the `RetryRule` (after
`retry_minutes`, at most `max_attempts` attempts in all); with no attempt left the
callback has failed, and when the next try would come after its window's end it has
expired. connected, failed, expired and cancelled are final.

Every callback has a window (`callback_window`): from when it may be made until when
it is still worth making; the end is the one asked for, else `valid_hours` after the
start (the queue's `callback_window_hours`). An open callback whose window closes
before it could be made expires.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CallbackStatus(StrEnum):
    PENDING = "pending"
    RESERVED = "reserved"
    DIALING = "dialing"
    CONNECTED = "connected"
    RETRY = "retry"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class CallbackResult(StrEnum):
    """How a customer leg ended."""

    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    FAILED = "failed"


FINAL = frozenset(
    {
        CallbackStatus.CONNECTED,
        CallbackStatus.FAILED,
        CallbackStatus.EXPIRED,
        CallbackStatus.CANCELLED,
    }
)
OPEN = frozenset(CallbackStatus) - FINAL

_S = CallbackStatus
TRANSITIONS: dict[tuple[CallbackStatus, str], CallbackStatus] = {
    (_S.PENDING, "reserve"): _S.RESERVED,
    (_S.RETRY, "reserve"): _S.RESERVED,
    (_S.RESERVED, "dial"): _S.DIALING,
    (_S.RESERVED, "agent_missed"): _S.PENDING,
    (_S.RETRY, "due"): _S.PENDING,
    (_S.PENDING, "cancel"): _S.CANCELLED,
    (_S.RETRY, "cancel"): _S.CANCELLED,
    (_S.RESERVED, "cancel"): _S.CANCELLED,
    (_S.PENDING, "expire"): _S.EXPIRED,
    (_S.RETRY, "expire"): _S.EXPIRED,
}

# how Asterisk's DIALSTATUS of the customer leg reads
DIAL_STATUS = {
    "ANSWER": CallbackResult.ANSWERED,
    "BUSY": CallbackResult.BUSY,
    "NOANSWER": CallbackResult.NO_ANSWER,
    "CANCEL": CallbackResult.NO_ANSWER,
    "CONGESTION": CallbackResult.FAILED,
    "CHANUNAVAIL": CallbackResult.FAILED,
}


class IllegalCallbackStep(ValueError):
    pass


class BadWindow(ValueError):
    """A callback window that cannot be: its end not after its start, or out of reach."""


HORIZON_DAYS = 90  # how far ahead a callback may be asked for
DEFAULT_WINDOW_HOURS = 24.0  # a window with no end asked for lasts this long


def check_window(now: float, start: float | None, end: float | None) -> None:
    """Refuse a window asked for (`start`, `end`: epoch seconds, None when not given)
    whose end is not after its start (or now), or that reaches past `HORIZON_DAYS`."""
    horizon = now + HORIZON_DAYS * 86400
    for name, moment in (("start", start), ("end", end)):
        if moment is not None and moment > horizon:
            raise BadWindow(f"the window's {name} is more than {HORIZON_DAYS} days ahead")
    if end is not None and end <= max(now, start or now):
        earlier = "its start" if start is not None and start >= now else "now"
        raise BadWindow(f"the window's end must come after {earlier}")


def callback_window(
    start: float, end: float | None, valid_hours: float, opening: float | None = None
) -> tuple[float, float]:
    """(start, end) of the window a callback may be made in, asked for from `start`
    until `end` (None: `valid_hours` from when it can first be made). `opening`, when
    later than `start` (out of business hours), moves the start; the end stays if the
    opening comes before it, else the window keeps its length from the opening."""
    if not valid_hours > 0:
        raise BadWindow(f"a callback window of {valid_hours} hours")
    begin = start if opening is None else max(start, opening)
    if end is None:
        return begin, begin + valid_hours * 3600
    if end > begin:
        return begin, end
    return begin, begin + max(end - start, 0.0)


@dataclass(frozen=True, slots=True)
class RetryRule:
    retry_minutes: float = 10.0
    max_attempts: int = 3

    def __post_init__(self) -> None:
        if not self.retry_minutes >= 0 or self.max_attempts < 1:
            raise ValueError(f"retry rule: {self.retry_minutes} min, {self.max_attempts} attempts")


@dataclass(frozen=True, slots=True)
class Callback:
    """Where a callback stands: its status, the attempts spent, when it may next go."""

    status: CallbackStatus = CallbackStatus.PENDING
    attempts: int = 0
    due_at: float | None = None
    last_result: CallbackResult | None = None

    def step(self, trigger: str) -> Callback:
        """The callback after `trigger` (a key of TRANSITIONS' second column)."""
        target = TRANSITIONS.get((self.status, trigger))
        if target is None:
            raise IllegalCallbackStep(f"a {self.status} callback cannot {trigger}")
        attempts = self.attempts + 1 if trigger == "dial" else self.attempts
        return Callback(target, attempts, self.due_at, self.last_result)

    def dial(self) -> Callback:
        return self.step("dial")

    def result(
        self, result: CallbackResult, rule: RetryRule, now: float, window_end: float | None = None
    ) -> Callback:
        """The customer leg of the current attempt ended with `result`: connected, else
        retried, failed (no attempt left) or expired (the next try past `window_end`)."""
        if self.status is not CallbackStatus.DIALING:
            raise IllegalCallbackStep(f"a {self.status} callback has no leg to end")
        if result is CallbackResult.ANSWERED:
            return Callback(CallbackStatus.CONNECTED, self.attempts, None, result)
        due = now + rule.retry_minutes * 60
        if self.attempts >= rule.max_attempts:
            return Callback(CallbackStatus.FAILED, self.attempts, None, result)
        if window_end is not None and due >= window_end:
            return Callback(CallbackStatus.EXPIRED, self.attempts, None, result)
        return Callback(CallbackStatus.RETRY, self.attempts, due, result)
