"""The generated dialplan for the callback offer, the survey and transfers."""

from __future__ import annotations

from pathlib import Path

from cti.asterisk_conf import DEFAULT_CALLBACK_PROMPT, render_asterisk_config
from cti.config import PlatformConfig, TenantConfig
from cti.settings import Settings

SETTINGS = Settings(agi_port=4999, prompts_dir=Path("/srv/prompts"))


def extension(text: str, context: str, exten: str) -> list[str]:
    """The lines of one extension of one context."""
    block = text.split(f"[{context}]\n", 1)[1].split("\n[", 1)[0].splitlines()
    start = block.index(next(line for line in block if line.startswith(f"exten => {exten},1,")))
    lines = [block[start]]
    for line in block[start + 1 :]:
        if line.startswith("exten => "):
            break
        lines.append(line)
    return lines


def dialplan(config: PlatformConfig) -> str:
    return render_asterisk_config(Path("/tmp/ast"), SETTINGS, config)["extensions.conf"]


def test_only_queues_that_offer_it_listen_for_1(example_config: PlatformConfig) -> None:
    text = dialplan(example_config)
    sales = "\n".join(extension(text, "cti-wait", "acme-sales"))
    support = "\n".join(extension(text, "cti-wait", "acme-support"))
    offer = 'Read(CTI_KEY,/srv/prompts/acme/${IF(${REGEX("^(en|fr)$" ${CTI_LANGUAGE})}'
    assert offer in sales and "/acme-callback-offer,1,,1,1)" in sales
    assert "UserEvent(CtiCallbackRequest,CtiCallId: ${UNIQUEID}" in sales
    assert "StartMusicOnHold(default)" in sales and "Goto(offer)" in sales
    assert "CtiCallbackRequest" not in support and "Read(" not in support
    assert "MusicOnHold(default,5)" in support
    # both keep the heartbeat fall-back and a Wait in the loop
    for text_ in (sales, support):
        assert "?fallback)" in text_ and "Wait(0.2)" in text_ and "Queue(acme-" in text_


def test_the_core_sounds_offer_when_the_queue_names_no_prompt(
    example_config: PlatformConfig,
) -> None:
    data = example_config.tenants[0].model_dump()
    data["queues"][0]["callback_prompt"] = None
    text = dialplan(PlatformConfig(tenants=(TenantConfig.model_validate(data),)))
    sales = "\n".join(extension(text, "cti-wait", "acme-sales"))
    assert f"Read(CTI_KEY,{DEFAULT_CALLBACK_PROMPT},1,,1,1)" in sales


def test_the_survey_follows_the_agents_hang_up(example_config: PlatformConfig) -> None:
    text = dialplan(example_config)
    assert " same => n,Set(CTI_SURVEY=)" in extension(text, "cti-wait", "acme-sales")
    assert " same => n,Set(CTI_SURVEY=1)" in extension(text, "cti-wait", "acme-support")
    carol = extension(text, "cti-connect", "1003")
    assert " same => n,Set(CTI_AGENT=carol)" in carol
    assert ' same => n,Dial(PJSIP/1003,${CTI_RING_TIMEOUT},${IF($["${CTI_SURVEY}" = "1"]?g:)})' in (
        carol
    )
    assert " same => n(survey),AGI(agi://127.0.0.1:4999/survey)" in carol


def test_transfers_to_our_own_numbers_stay_inside(example_config: PlatformConfig) -> None:
    number = extension(dialplan(example_config), "cti-route-out", "number")
    assert '${REGEX("^(5000|5001)$" ${CTI_DESTINATION})}' in number[0]
    assert " same => n,Dial(PJSIP/${CTI_DESTINATION}@trunk,60)" in number
    assert " same => n(inside),Dial(Local/${CTI_DESTINATION}@cti-inbound,60)" in number
