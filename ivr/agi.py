"""The IVR's FastAGI shell: runs a tenant's menu (`ivr.menu`) on a live call.

`cti-inbound` hands every call to the `inbound` script. The shell finds the
tenant by the dialed number, runs the interpreter (prompts, digits, customer
look-ups, self-service values) and, when it finishes, tells the dialplan where
the call goes through channel variables:

- `CTI_QUEUE`: the native name of the queue to wait in, or `-` to hang up;
- `CTI_ROUTE` / `CTI_DESTINATION`: leave for `cti-route-out` (voicemail,
  another number);
- `CTI_CALLBACK`: the caller asked to be called back (the ACD keeps a place);
- `CTI_CUSTOMER`, `CTI_TIER`, `CTI_LANGUAGE`, `CTI_IVR_PATH`: what the ACD and
  the agent's screen need.

`cti-connect` hands a caller whose agent hung up to the `survey` script when
the queue has a `survey:`: it asks the questions (`ivr.survey`), sets
`CTI_SURVEY_QUESTION` (`<question>.<attempt>`) before each one and
`CTI_SURVEY_SCORES` at the end, and reports the scores to `on_result`.

The shell owns the clock and the I/O; the interpreter owns every decision.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cti.agi import AgiHangup, AgiSession, Handler
from cti.asterisk_conf import native_queue_name
from cti.config import PlatformConfig, TenantConfig
from cti.customers import CustomerDirectory
from cti.prompts import prompt_path
from ivr.menu import (
    Action,
    Ask,
    FindCustomer,
    Finish,
    Lookup,
    Play,
    Say,
    Session,
    SetLanguage,
)
from ivr.survey import Done, Question, SurveyRun

log = logging.getLogger("ivr.agi")

HANG_UP = "-"
DIGITS = "0123456789*#"
ROUTES = {"voicemail": "voicemail", "transfer": "number"}

FinishHook = Callable[[str, TenantConfig, Session], None]
# tenant id, call id (the caller's uniqueid), agent id, scores in question order
SurveyHook = Callable[[str, str, str | None, list[int]], object]


def inbound_handler(
    config: PlatformConfig,
    directories: Callable[[str], CustomerDirectory],
    *,
    prompts_dir: Path = Path("var/prompts"),
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    on_finish: FinishHook | None = None,
) -> Handler:
    """The `inbound` FastAGI script for this configuration."""

    async def inbound(agi: AgiSession) -> None:
        dnis = await agi.get_variable("CTI_DNIS") or agi.dnis
        tenant = config.tenant_for_number(dnis)
        if tenant is None:
            log.warning("call %s: dialed number %r belongs to no tenant", agi.uniqueid, dnis)
            await agi.set_variable("CTI_QUEUE", HANG_UP)
            return
        if tenant.ivr is None:
            await agi.set_variable("CTI_QUEUE", native_queue_name(tenant, tenant.queues[0].id))
            return
        directory = directories(tenant.tenant.id)  # the tenant's own customers only
        session = Session(tenant.ivr, ani=agi.caller_num, dnis=dnis, now=clock())
        try:
            action = session.begin()
            while not isinstance(action, Finish):
                prompts = _Prompts(prompts_dir, tenant, session.context.language)
                action = session.resume(await _perform(agi, action, directory, prompts))
        except AgiHangup:
            session.caller_hung_up()
            raise
        finally:
            if on_finish is not None:
                on_finish(agi.uniqueid, tenant, session)
        await _route(agi, tenant, session, action)

    return inbound


def survey_handler(
    config: PlatformConfig,
    *,
    prompts_dir: Path = Path("var/prompts"),
    on_result: SurveyHook | None = None,
) -> Handler:
    """The `survey` FastAGI script: the queue's questions after the agent hung up."""

    async def survey(agi: AgiSession) -> None:
        tenant_id = await agi.get_variable("CTI_TENANT")
        native = await agi.get_variable("CTI_QUEUE")
        agent_id = await agi.get_variable("CTI_AGENT") or None
        # after a transfer the caller's channel carries a later segment of the call
        call_id = await agi.get_variable("CTI_SEGMENT") or agi.uniqueid
        language = await agi.get_variable("CTI_LANGUAGE") or "en"
        tenant = next((t for t in config.tenants if t.tenant.id == tenant_id), None)
        queue = None
        if tenant is not None:
            queue = next(
                (q for q in tenant.queues if native_queue_name(tenant, q.id) == native), None
            )
        if tenant is None or queue is None or queue.survey is None:
            log.warning("call %s: no survey for %r in %r", agi.uniqueid, native, tenant_id)
            return
        prompts = _Prompts(prompts_dir, tenant, language)
        if any(prompts.file(q.prompt) is None for q in queue.survey.questions):
            return  # questions nobody can hear are not asked (logged by _Prompts)
        run = SurveyRun(queue.survey)
        try:
            action = run.begin()
            while not isinstance(action, Done):
                result = ""
                if isinstance(action, Question):
                    await agi.set_variable(
                        "CTI_SURVEY_QUESTION", f"{action.number}.{action.attempt}"
                    )
                    asked = prompts.file(action.prompt) or "silence/1"
                    result = await agi.get_data(asked, action.timeout_seconds * 1000, 1)
                else:
                    played = prompts.file(action.prompt)
                    if played is not None:
                        await agi.stream_file(played)
                action = run.resume(result)
            await agi.set_variable("CTI_SURVEY_SCORES", ",".join(map(str, run.scores)))
        finally:
            log.info(
                "call %s: survey of agent %s: %s%s",
                agi.uniqueid,
                agent_id,
                run.scores,
                "" if run.done is not None and run.done.complete else " (incomplete)",
            )
            if run.scores and on_result is not None:
                try:
                    on_result(tenant.tenant.id, call_id, agent_id, list(run.scores))
                except Exception:
                    log.exception("call %s: survey result not recorded", call_id)

    return survey


class _Prompts:
    """Our generated prompts by name and language; other names are Asterisk's sounds."""

    def __init__(self, prompts_dir: Path, tenant: TenantConfig, language: str) -> None:
        self.prompts_dir, self.tenant, self.language = prompts_dir, tenant, language

    def file(self, name: str) -> str | None:
        path = prompt_path(self.prompts_dir, self.tenant, name, self.language)
        if path is None:
            return name
        if not path.with_suffix(".wav").exists():
            log.warning("prompt %s not built (run `cti prompts build`): skipped", path)
            return None
        return str(path)


async def _perform(
    agi: AgiSession, action: Action, directory: CustomerDirectory, prompts: _Prompts
) -> Any:
    if isinstance(action, Play):
        file = prompts.file(action.prompt)
        if file is None:
            return ""
        return await agi.stream_file(file, DIGITS if action.interruptible else "")
    if isinstance(action, Ask):
        file = prompts.file(action.prompt) or "silence/1"
        return await agi.get_data(file, action.timeout_seconds * 1000, action.max_digits)
    if isinstance(action, Say):
        verb = "SAY DIGITS" if action.as_digits else "SAY NUMBER"
        await agi.command(f'{verb} {action.value} ""')
        return None
    if isinstance(action, SetLanguage):
        await agi.set_variable("CHANNEL(language)", action.language)
        return None
    if isinstance(action, FindCustomer):
        if action.by == "ani":
            return await directory.by_phone(action.key)
        return await directory.by_account(action.key)
    if isinstance(action, Lookup):
        return await directory.field(action.key, action.service)
    raise TypeError(f"unknown IVR action {action!r}")


async def _route(agi: AgiSession, tenant: TenantConfig, session: Session, end: Finish) -> None:
    context = session.context
    await agi.set_variable("CTI_IVR_PATH", ">".join(context.path))
    await agi.set_variable("CTI_LANGUAGE", context.language)
    if context.customer is not None:
        await agi.set_variable("CTI_CUSTOMER", context.customer.customer_id)
    await agi.set_variable("CTI_TIER", str(context.tier + end.priority))
    if end.skills:
        await agi.set_variable("CTI_SKILLS", ",".join(f"{k}:{v}" for k, v in end.skills))
    if end.kind in ("queue", "callback"):
        await agi.set_variable("CTI_QUEUE", native_queue_name(tenant, end.queue))
        if end.kind == "callback":
            await agi.set_variable("CTI_CALLBACK", end.destination)
    elif end.kind in ROUTES:
        await agi.set_variable("CTI_ROUTE", ROUTES[end.kind])
        await agi.set_variable("CTI_DESTINATION", end.destination)
    else:
        await agi.set_variable("CTI_QUEUE", HANG_UP)
    log.info(
        "call %s: ivr %s -> %s %s (customer %s, tier %d)",
        agi.uniqueid,
        ">".join(context.path),
        end.kind,
        end.queue or end.destination,
        context.customer.customer_id if context.customer else "unknown",
        context.tier,
    )
