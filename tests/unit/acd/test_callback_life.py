"""The callback life table: every callback ends in exactly one final state, attempts
never exceed the rule, and nothing leaves a final state."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acd.callback_life import (
    DIAL_STATUS,
    FINAL,
    TRANSITIONS,
    Callback,
    CallbackResult,
    CallbackStatus,
    IllegalCallbackStep,
    RetryRule,
)

TRIGGERS = sorted({trigger for _, trigger in TRANSITIONS})
RESULTS = list(CallbackResult)


def test_a_busy_customer_is_retried_then_the_callback_fails() -> None:
    rule = RetryRule(retry_minutes=5, max_attempts=2)
    cb = Callback().step("reserve").dial()
    cb = cb.result(CallbackResult.BUSY, rule, now=1000.0)
    assert (cb.status, cb.attempts, cb.due_at) == (CallbackStatus.RETRY, 1, 1300.0)
    cb = cb.step("due").step("reserve").dial().result(CallbackResult.NO_ANSWER, rule, 1400.0)
    assert (cb.status, cb.attempts, cb.last_result) == (
        CallbackStatus.FAILED,
        2,
        CallbackResult.NO_ANSWER,
    )
    with pytest.raises(IllegalCallbackStep, match="failed callback cannot reserve"):
        cb.step("reserve")


def test_an_agent_who_misses_it_spends_no_attempt_and_the_window_bounds_retries() -> None:
    cb = Callback().step("reserve").step("agent_missed")
    assert (cb.status, cb.attempts) == (CallbackStatus.PENDING, 0)
    rule = RetryRule(retry_minutes=10, max_attempts=5)
    cb = cb.step("reserve").dial().result(CallbackResult.FAILED, rule, 0.0, window_end=300.0)
    assert cb.status is CallbackStatus.FAILED  # the next try would come after the window
    answered = Callback().step("reserve").dial().result(CallbackResult.ANSWERED, rule, 0.0)
    assert answered.status is CallbackStatus.CONNECTED
    assert DIAL_STATUS["BUSY"] is CallbackResult.BUSY
    with pytest.raises(ValueError, match="retry rule"):
        RetryRule(max_attempts=0)


@settings(max_examples=300, deadline=None)
@given(
    steps=st.lists(st.one_of(st.sampled_from(TRIGGERS), st.sampled_from(RESULTS)), max_size=40),
    retry=st.floats(0, 60),
    attempts=st.integers(1, 4),
)
def test_the_life_never_leaves_a_final_state_nor_spends_more_attempts_than_the_rule(
    steps: list[str | CallbackResult], retry: float, attempts: int
) -> None:
    rule = RetryRule(retry, attempts)
    cb, now, finals = Callback(), 0.0, 0
    for step in steps:
        now += 1
        before = cb
        try:
            if isinstance(step, CallbackResult):
                cb = cb.result(step, rule, now)
            else:
                cb = cb.step(step)
        except IllegalCallbackStep:
            assert cb == before  # a refused step changes nothing
            continue
        assert before.status not in FINAL
        assert cb.attempts <= rule.max_attempts
        finals += cb.status in FINAL
    assert finals <= 1  # at most one final state, and only once
    # driven to the end, any callback reaches exactly one final state
    while cb.status not in FINAL:
        if cb.status is CallbackStatus.RETRY:
            cb = cb.step("due")
        elif cb.status is CallbackStatus.PENDING:
            cb = cb.step("reserve")
        elif cb.status is CallbackStatus.RESERVED:
            cb = cb.dial()
        else:
            cb = cb.result(CallbackResult.BUSY, rule, now)
    assert cb.attempts <= rule.max_attempts
