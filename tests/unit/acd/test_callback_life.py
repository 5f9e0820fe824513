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
    BadWindow,
    Callback,
    CallbackResult,
    CallbackStatus,
    IllegalCallbackStep,
    RetryRule,
    callback_window,
    check_window,
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
    assert cb.status is CallbackStatus.EXPIRED  # the next try would come after the window
    assert (cb.attempts, cb.due_at, cb.last_result) == (1, None, CallbackResult.FAILED)
    last = RetryRule(retry_minutes=10, max_attempts=1)
    spent = Callback().step("reserve").dial().result(CallbackResult.BUSY, last, 0.0, 300.0)
    assert spent.status is CallbackStatus.FAILED  # no attempt left: failed, whatever the window
    within = Callback().step("reserve").dial().result(CallbackResult.BUSY, rule, 0.0, 601.0)
    assert (within.status, within.due_at) == (CallbackStatus.RETRY, 600.0)
    answered = Callback().step("reserve").dial().result(CallbackResult.ANSWERED, rule, 0.0)
    assert answered.status is CallbackStatus.CONNECTED
    assert DIAL_STATUS["BUSY"] is CallbackResult.BUSY
    with pytest.raises(ValueError, match="retry rule"):
        RetryRule(max_attempts=0)


H = 3600.0


def test_a_window_ends_where_asked_else_after_the_queues_hours() -> None:
    assert callback_window(100.0, 100.0 + 2 * H, valid_hours=24) == (100.0, 100.0 + 2 * H)
    assert callback_window(100.0, None, valid_hours=24) == (100.0, 100.0 + 24 * H)


def test_out_of_hours_the_start_moves_and_the_end_follows_when_it_must() -> None:
    # asked 18:00-22:00, open again at 20:00: 20:00-22:00 (the end stays)
    assert callback_window(18 * H, 22 * H, 24, opening=20 * H) == (20 * H, 22 * H)
    # asked 20:00-21:00, open again at 09:00 the next day: a window of one hour from then
    assert callback_window(20 * H, 21 * H, 24, opening=33 * H) == (33 * H, 34 * H)
    # no end asked for: the hours count from the opening
    assert callback_window(20 * H, None, 2, opening=33 * H) == (33 * H, 35 * H)
    # an opening before the start (open now) changes nothing
    assert callback_window(20 * H, 21 * H, 24, opening=10 * H) == (20 * H, 21 * H)


def test_a_window_must_end_after_it_starts_and_now_and_stay_within_reach() -> None:
    check_window(1000.0, None, None)
    check_window(1000.0, 2000.0, 3000.0)
    check_window(1000.0, 500.0, 1500.0)  # a start gone by: from now on
    with pytest.raises(BadWindow, match="end must come after its start"):
        check_window(1000.0, 2000.0, 2000.0)
    with pytest.raises(BadWindow, match="end must come after now"):
        check_window(1000.0, None, 900.0)
    with pytest.raises(BadWindow, match="more than 90 days ahead"):
        check_window(1000.0, None, 1000.0 + 91 * 86400)
    with pytest.raises(BadWindow, match="start is more than 90 days"):
        check_window(1000.0, 1000.0 + 91 * 86400, None)
    with pytest.raises(BadWindow):
        callback_window(0.0, None, valid_hours=0)


@settings(max_examples=300, deadline=None)
@given(
    steps=st.lists(st.one_of(st.sampled_from(TRIGGERS), st.sampled_from(RESULTS)), max_size=40),
    retry=st.floats(0, 60),
    attempts=st.integers(1, 4),
    window_end=st.one_of(st.none(), st.floats(0, 3000)),
)
def test_the_life_never_leaves_a_final_state_nor_spends_more_attempts_than_the_rule(
    steps: list[str | CallbackResult], retry: float, attempts: int, window_end: float | None
) -> None:
    rule = RetryRule(retry, attempts)
    cb, now, finals = Callback(), 0.0, 0
    for step in steps:
        now += 1
        before = cb
        try:
            if isinstance(step, CallbackResult):
                cb = cb.result(step, rule, now, window_end)
            else:
                cb = cb.step(step)
        except IllegalCallbackStep:
            assert cb == before  # a refused step changes nothing
            continue
        assert before.status not in FINAL
        assert cb.attempts <= rule.max_attempts
        if cb.due_at is not None and window_end is not None:
            assert cb.due_at < window_end  # no retry is scheduled past the window
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
            cb = cb.result(CallbackResult.BUSY, rule, now, window_end)
    assert cb.attempts <= rule.max_attempts
