"""Stopping a background task for good.

`task.cancel(); await task` can wait forever on Python 3.11: `asyncio.wait_for` swallows
a cancellation that lands just as its inner future completes (fixed in 3.12), so a loop
built on it carries on as if nothing was asked. `stop_task` cancels again until the
task has ended (seen in the suite: a service's teardown waiting 300 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

log = logging.getLogger("cti.tasks")


async def stop_task(task: asyncio.Task[Any] | None, *, grace: float = 10.0) -> None:
    """Cancel `task` until it has ended, then return (its own error, other than the
    cancellation, is raised). After `grace` seconds it is left running, logged."""
    if task is None:
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=min(0.5, max(0.0, deadline - loop.time())))
        if not task.done() and loop.time() >= deadline:
            log.warning("task %s did not stop within %.0f s; left behind", task.get_name(), grace)
            return
    with contextlib.suppress(asyncio.CancelledError):
        await task
