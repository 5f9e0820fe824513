"""stop_task: a background task stops even when it swallows a cancellation."""

from __future__ import annotations

import asyncio

import pytest

from cti.tasks import stop_task


async def test_a_task_that_swallows_one_cancellation_is_cancelled_again() -> None:
    swallowed = 0

    async def stubborn() -> None:  # as a loop around 3.11's wait_for can behave
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed += 1

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    await asyncio.wait_for(stop_task(task), 5)
    assert task.cancelled() and swallowed == 1


async def test_a_task_that_never_stops_is_left_after_the_grace(
    caplog: pytest.LogCaptureFixture,
) -> None:
    deaf = True

    async def stubborn() -> None:
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                if not deaf:
                    raise

    task = asyncio.create_task(stubborn(), name="deaf")
    await asyncio.sleep(0)
    await asyncio.wait_for(stop_task(task, grace=0.3), 5)
    assert not task.done() and "task deaf did not stop" in caplog.text
    deaf = False  # it listens again: stopped for good
    await asyncio.wait_for(stop_task(task), 5)
    assert task.cancelled()


async def test_an_error_of_the_task_is_raised_and_none_is_nothing() -> None:
    async def broken() -> None:
        raise ValueError("boom")

    task = asyncio.create_task(broken())
    await asyncio.sleep(0)
    with pytest.raises(ValueError, match="boom"):
        await stop_task(task)
    await stop_task(None)
