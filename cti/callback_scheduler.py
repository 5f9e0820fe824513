"""Stored callbacks whose time has come go to the ACD (one task for every tenant).

Callbacks asked for in the queue are in the router's hands from the start; the others
(promised by an agent, asked for on the web, left open when the service stopped) wait
in the store until they are due (`cti.store.callbacks.due_callbacks`); every
`callback_poll_seconds` the due ones the router does not hold yet are queued as
callbacks (`CallbackCalls.take_callback`): in their queue, else the promising agent's
first queue, and offered to the promising agent first. Open callbacks whose window
closed before they could be made expire: in the store, and in the ACD's line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from sqlalchemy.ext.asyncio import AsyncEngine

from acd.callback_calls import CallbackLeg
from acd.callback_life import Callback, CallbackResult, CallbackStatus
from acd.errors import RoutingError
from acd.runner import AcdRunner
from cti.config import Agent, PlatformConfig
from cti.store.callbacks import CallbackView, due_callbacks, expire_callbacks

log = logging.getLogger("cti.callback_scheduler")


async def take_due_callbacks(
    engine: AsyncEngine, runners: Mapping[str, AcdRunner], config: PlatformConfig, now: float
) -> int:
    """Queue every due stored callback the ACD does not hold yet; how many were queued."""
    taken = 0
    for tenant in config.tenants:
        tid = tenant.tenant.id
        runner = runners.get(tid)
        expired = [] if runner is None else runner.callback_calls.expire_callbacks(now)
        held = set() if runner is None else runner.callback_calls.held_callbacks()
        expired += await expire_callbacks(engine, tid, now, keep=held)
        for ref in expired:
            log.info("%s: callback %s expired before it could be made", tid, ref)
        if runner is None:
            continue
        for row in await due_callbacks(engine, tid, now):
            if row.ref in held:
                continue
            queue = row.queue or _agents_queue(tenant.agents, row.agent_id)
            if queue is None:
                log.warning("%s: callback %s has no queue to go through", runner.tenant_id, row.ref)
                continue
            try:
                runner.callback_calls.take_callback(
                    _leg(row, queue), for_agent_id=row.agent_id if row.source == "agent" else None
                )
                taken += 1
            except RoutingError as exc:
                log.warning("%s: callback %s not queued: %s", runner.tenant_id, row.ref, exc)
    return taken


def _agents_queue(agents: Iterable[Agent], agent_id: str | None) -> str | None:
    """The first queue of the agent who promised the callback."""
    agent = next((a for a in agents if a.id == agent_id), None)
    return agent.queues[0] if agent is not None and agent.queues else None


def _leg(row: CallbackView, queue: str) -> CallbackLeg:
    last = CallbackResult(row.last_result) if row.last_result in set(CallbackResult) else None
    life = Callback(CallbackStatus(row.status), row.attempts, row.due_at, last)
    return CallbackLeg(
        ref=row.ref,
        call_id=row.ref,
        number=row.number,
        queue=queue,
        customer_id=row.customer_id,
        requested_at=row.requested_at,
        source=row.source,
        life=life,
        agent_id=row.agent_id,
        asking_call=row.call_id,
        window_start=row.window_start,
        window_end=row.window_end,
    )
