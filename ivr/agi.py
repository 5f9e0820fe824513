"""The IVR's FastAGI entry point: where `cti-inbound` hands us a call.

For now it identifies the tenant from the dialed number (DNIS) and sends the
call to the tenant's first queue by setting `CTI_QUEUE` (the native queue
name the dialplan's `cti-wait` context knows). The menu interpreter
(`ivr/menu.py`) will take over the choice of queue; the dialplan contract
stays the same: `CTI_QUEUE` set to a queue, or `-` to hang up.
"""

from __future__ import annotations

import logging

from cti.agi import AgiSession, Handler
from cti.asterisk_conf import native_queue_name
from cti.config import PlatformConfig

log = logging.getLogger("ivr.agi")

HANG_UP = "-"


def inbound_handler(config: PlatformConfig) -> Handler:
    """The `inbound` FastAGI script for this configuration."""

    async def inbound(session: AgiSession) -> None:
        dnis = await session.get_variable("CTI_DNIS") or session.dnis
        tenant = config.tenant_for_number(dnis)
        if tenant is None:
            log.warning("call %s: dialed number %r belongs to no tenant", session.uniqueid, dnis)
            await session.set_variable("CTI_QUEUE", HANG_UP)
            return
        queue = native_queue_name(tenant, tenant.queues[0].id)
        await session.set_variable("CTI_QUEUE", queue)
        log.info(
            "call %s: ani=%s dnis=%s tenant=%s -> queue %s",
            session.uniqueid,
            session.caller_num or "anonymous",
            dnis,
            tenant.tenant.id,
            queue,
        )

    return inbound
