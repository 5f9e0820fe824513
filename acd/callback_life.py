"""The one life of a callback, whatever asked for it, as a pure table.

    pending --reserve--> reserved --dial--> dialing --answered--> connected
       ^  ^                 |                 |
       |  +---agent_missed--+                 +--busy / no_answer / failed--> retry | failed
       |                                                                        |
       +------------------------------------due----------------------------------+
    pending | retry | reserved --cancel--> cancelled;  pending | retry --expire--> expired

`reserve`: the ACD gave it an agent (their screen pops); `dial`: the agent took the leg
and the customer is being dialed (an attempt); `agent_missed`: the agent did not take
it (no attempt spent). A customer leg not answered is retried by the `RetryRule` (after
`retry_minutes`, at most `max_attempts` attempts in all, never past the window), else
the callback has failed. connected, failed, expired and cancelled are final.
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
        """The customer leg of the current attempt ended with `result`."""
        if self.status is not CallbackStatus.DIALING:
            raise IllegalCallbackStep(f"a {self.status} callback has no leg to end")
        if result is CallbackResult.ANSWERED:
            return Callback(CallbackStatus.CONNECTED, self.attempts, None, result)
        due = now + rule.retry_minutes * 60
        if self.attempts >= rule.max_attempts or (window_end is not None and due >= window_end):
            return Callback(CallbackStatus.FAILED, self.attempts, None, result)
        return Callback(CallbackStatus.RETRY, self.attempts, due, result)
