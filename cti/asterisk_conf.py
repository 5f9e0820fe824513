"""Generate a complete, self-contained Asterisk configuration from ours.

`write_asterisk_config(out_dir, settings, config)` writes every file Asterisk
needs into one directory: `asterisk -C DIR/asterisk.conf -f` runs from it alone,
as the current user, touching no system file. The dialplan holds the contexts
the service relies on:

- `cti-inbound`: calls enter here (ANI = caller number, DNIS = the extension);
  each tenant number hands the call to our IVR over FastAGI.
- `cti-wait`: the holding context. Callers wait on music on hold; if our
  service has not refreshed the global heartbeat `CTI_HEARTBEAT` for longer
  than the queue's `fallback_after_seconds`, the caller falls back to a native
  `Queue()` with the agents' devices, so nobody is stranded. In a queue with
  `offer_callback`, the caller hears "press 1 to be called back" on arrival and
  at every announcement, and a 1 pressed while waiting sends a
  `CtiCallbackRequest` UserEvent: the ACD keeps the place and releases the
  caller (`cti-route-out,callback`).
- `cti-connect`: the ACD redirects a waiting caller here to ring one agent
  (`CTI_AGENT` on the caller's channel names them); the outcome is reported
  with a `CtiOfferResult` UserEvent and, unless answered, the caller goes back
  to waiting. In a queue with a `survey`, the caller stays on the line when the
  agent hangs up and is handed to the `survey` FastAGI script.
- `cti-hold`: a caller on hold from the console hears music, the agent's leg waits in
  silence, until AMI `Bridge` joins them again.
- `cti-spy`: the supervisor's phone in `ChanSpy` on an agent's leg.
- with `simulation=True`, `cti-sim-agent` and `cti-sim-caller`: Local-channel
  stand-ins for phones, used by the tests and the demo.
"""

from __future__ import annotations

import re
from pathlib import Path

from cti.config import PlatformConfig, Queue, TenantConfig
from cti.settings import Settings

# "Press one" in Asterisk's core sounds, when the queue names no prompt of its own
DEFAULT_CALLBACK_PROMPT = "vm-press&digits/1"

MODULES = (
    "res_pjproject",
    "res_sorcery_config",
    "res_sorcery_memory",
    "res_sorcery_astdb",
    "res_pjsip",
    "res_pjsip_session",
    "res_pjsip_authenticator_digest",
    "res_pjsip_endpoint_identifier_user",
    "res_pjsip_registrar",
    "res_pjsip_sdp_rtp",
    "res_pjsip_caller_id",
    "res_pjsip_dtmf_info",
    "res_pjsip_refer",
    "res_pjsip_pubsub",
    "res_pjsip_nat",
    "chan_pjsip",
    "res_rtp_asterisk",
    "res_timing_timerfd",
    "res_musiconhold",
    "res_speech",
    "res_agi",
    "res_clioriginate",
    "pbx_config",
    "app_dial",
    "app_queue",
    "app_playback",
    "app_userevent",
    "app_senddtmf",
    "app_read",
    "app_verbose",
    "app_echo",
    "app_exec",
    "app_stack",
    "app_chanspy",
    "app_mixmonitor",
    "app_record",
    "app_sayunixtime",
    "bridge_simple",
    "bridge_native_rtp",
    "bridge_softmix",
    "bridge_holding",
    "bridge_builtin_features",
    "func_callerid",
    "func_channel",
    "func_strings",
    "func_logic",
    "func_math",
    "func_global",
    "func_cut",
    "func_db",
    "func_devstate",
    "func_hangupcause",
    "codec_ulaw",
    "codec_alaw",
    "codec_gsm",
    "codec_resample",
    "codec_a_mu",
    "format_gsm",
    "format_wav",
    "format_wav_gsm",
    "format_pcm",
    "format_sln",
    "cdr_csv",
    "res_manager_devicestate",
    "app_transfer",
    "app_blind_transfer",
)


def write_asterisk_config(
    out_dir: Path, settings: Settings, config: PlatformConfig, *, simulation: bool = False
) -> list[Path]:
    """Write every Asterisk file into `out_dir`; returns the files written."""
    out_dir = Path(out_dir).resolve()
    for sub in (
        "run",
        "log",
        "spool",
        "lib",
        "db",
        "keys",
        "log/cdr-csv",
        "spool/monitor",
        "spool/voicemail",
    ):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)
    files = render_asterisk_config(out_dir, settings, config, simulation=simulation)
    written = []
    for name, text in files.items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def render_asterisk_config(
    out_dir: Path, settings: Settings, config: PlatformConfig, *, simulation: bool = False
) -> dict[str, str]:
    """The files' names and contents, without writing anything."""
    return {
        "asterisk.conf": _asterisk_conf(out_dir),
        "modules.conf": _modules_conf(),
        "logger.conf": "[general]\n[logfiles]\nmessages => notice,warning,error\n",
        "manager.conf": _manager_conf(settings),
        "pjsip.conf": _pjsip_conf(settings, config),
        "extensions.conf": _extensions_conf(settings, config, simulation, out_dir),
        "queues.conf": _queues_conf(settings, config),
        "musiconhold.conf": "[default]\nmode=files\ndirectory=/usr/share/asterisk/moh\n",
        "cdr.conf": "[general]\nenable=yes\n[csv]\nusegmtime=yes\nloguniqueid=yes\n",
        "rtp.conf": "[general]\nrtpstart=20000\nrtpend=30000\n",
        "ccss.conf": "[general]\n",
        "cel.conf": "[general]\nenable = no\n",
        "acl.conf": "",
        "udptl.conf": "[general]\n",
        "pjproject.conf": "",
        "features.conf": "[general]\n",
        "indications.conf": "[general]\ncountry=us\n[us]\ndescription=United States\n"
        "ringcadence=2000,4000\ndial=350+440\nbusy=480+620/500,0/500\nring=440+480/2000,0/4000\n",
    }


def native_queue_name(tenant: TenantConfig, queue_id: str) -> str:
    """Native app_queue name of one of our queues: tenant-prefixed, unique."""
    return f"{tenant.tenant.id}-{queue_id}"


def agent_device(settings: Settings, extension: str) -> str:
    return settings.agent_device.format(extension=extension)


def _asterisk_conf(out: Path) -> str:
    return f"""[directories]
astetcdir => {out}
astmoddir => /usr/lib/asterisk/modules
astvarlibdir => {out}/lib
astdbdir => {out}/db
astkeydir => {out}/keys
astdatadir => /usr/share/asterisk
astagidir => /usr/share/asterisk/agi-bin
astspooldir => {out}/spool
astrundir => {out}/run
astlogdir => {out}/log
astsbindir => /usr/sbin

[options]
verbose = 0
debug = 0
nocolor = yes
transmit_silence = yes
documentation_language = en_US
"""


def _modules_conf() -> str:
    loads = "\n".join(f"load => {name}.so" for name in MODULES)
    return f"[modules]\nautoload = no\n{loads}\n"


def _manager_conf(settings: Settings) -> str:
    return f"""[general]
enabled = yes
port = {settings.ami_port}
bindaddr = {settings.ami_host}
timestampevents = yes
displayconnects = no

[{settings.ami_user}]
secret = {settings.ami_secret}
deny = 0.0.0.0/0.0.0.0
permit = 127.0.0.1/255.255.255.255
read = system,call,agent,user,dtmf,reporting,cdr,dialplan
write = system,call,agent,user,originate,reporting,command
writetimeout = 5000
"""


def _pjsip_conf(settings: Settings, config: PlatformConfig) -> str:
    parts = [
        f"""[transport-udp]
type = transport
protocol = udp
bind = {settings.sip_host}:{settings.sip_port}
"""
    ]
    for tenant, agent in config.all_agents():
        ext = agent.extension
        parts.append(
            f"""; {tenant.tenant.id}: {agent.name}
[{ext}]
type = endpoint
context = cti-agents
disallow = all
allow = ulaw,alaw,gsm
auth = {ext}
aors = {ext}
callerid = "{agent.name}" <{ext}>
set_var = CTI_TENANT={tenant.tenant.id}

[{ext}]
type = auth
auth_type = userpass
username = {ext}
password = {settings.sip_password}

[{ext}]
type = aor
max_contacts = 1
remove_existing = yes
"""
        )
    return "\n".join(parts)


# Position and expected wait, played when the ACD sets CTI_POSITION (and
# CTI_EWT_MINUTES) on a waiting caller; the holding loop notices within 5 s.
# Queues that offer a callback go on to the offer (label `offer`) afterwards.
def _announcement(offer: bool) -> list[str]:
    return [
        *_ANNOUNCEMENT[:-3],
        f" same => n,Goto({'offer' if offer else 'loop'})",
        *_ANNOUNCEMENT[-2:],
    ]


_ANNOUNCEMENT = [
    " same => n(announce),Set(POS=${CTI_POSITION})",
    " same => n,Set(CTI_POSITION=)",
    " same => n,GotoIf($[${POS} = 1]?next)",
    " same => n,Playback(queue-thereare)",
    " same => n,SayNumber(${POS})",
    " same => n,Playback(queue-callswaiting)",
    " same => n(holdtime),GotoIf($[0${CTI_EWT_MINUTES} < 1]?announced)",
    " same => n,Playback(queue-holdtime)",
    " same => n,SayNumber(${CTI_EWT_MINUTES})",
    " same => n,Playback(queue-minutes)",
    " same => n(announced),UserEvent(CtiAnnounced,CtiCallId: ${UNIQUEID},CtiPosition: ${POS},"
    "CtiEwtMinutes: ${CTI_EWT_MINUTES})",
    " same => n,Goto(loop)",
    " same => n(next),Playback(queue-youarenext)",
    " same => n,Goto(holdtime)",
]


# While waiting in a queue that offers a callback: music, and a 1 pressed is heard.
_LISTEN = [
    " same => n,StartMusicOnHold(default)",
    " same => n,Read(CTI_KEY,,1,,1,5)",
    " same => n,StopMusicOnHold()",
    ' same => n,GotoIf($["${CTI_KEY}" = "1"]?callback)',
]
# The caller pressed 1: the ACD keeps the place and redirects the caller to
# `cti-route-out,callback` (confirmation, goodbye). Without an answer from the
# service the caller simply goes on waiting.
_CALLBACK_REQUEST = [
    " same => n(callback),UserEvent(CtiCallbackRequest,CtiCallId: ${UNIQUEID},"
    "CtiQueue: ${EXTEN},CtiTenant: ${CTI_TENANT},CtiNumber: ${CALLERID(num)})",
    " same => n,MusicOnHold(default,5)",
    " same => n,Goto(loop)",
]


def _callback_offer(settings: Settings, tenant: TenantConfig, queue: Queue) -> list[str]:
    """The spoken offer (label `offer`), for callers whose number is known."""
    return [
        ' same => n(offer),GotoIf($["${CALLERID(num)}" = "" | "${CTI_CALLBACK}" != ""]?loop)',
        f" same => n,Read(CTI_KEY,{_prompt_file(settings, tenant, queue.callback_prompt)},1,,1,1)",
        ' same => n,GotoIf($["${CTI_KEY}" = "1"]?callback)',
    ]


def _prompt_file(settings: Settings, tenant: TenantConfig, name: str | None) -> str:
    """A tenant prompt in the caller's language (else its first one), or the core sounds."""
    if name is None:
        return DEFAULT_CALLBACK_PROMPT
    languages = list(tenant.prompts[name])
    pattern = "^(" + "|".join(languages) + ")$"
    language = (
        f'${{IF(${{REGEX("{pattern}" ${{CTI_LANGUAGE}})}}?${{CTI_LANGUAGE}}:{languages[0]})}}'
    )
    return f"{Path(settings.prompts_dir).resolve()}/{tenant.tenant.id}/{language}/{name}"


def _callback_and_route_out(settings: Settings, out_dir: Path, own_numbers: list[str]) -> list[str]:
    outbound = settings.outbound_device.format(number="${EXTEN}")
    outbound_to_destination = settings.outbound_device.format(number="${CTI_DESTINATION}")
    voicemail = f"{out_dir}/spool/voicemail"
    return [
        "",
        "[cti-callback]",
        "; An originated agent leg lands here once the agent answers; the extension",
        "; is the customer's number.",
        "exten => _[0-9+*#].,1,UserEvent(CtiCallbackAnswered,CtiCallId: ${CTI_CALL_ID},"
        "CtiOfferId: ${CTI_OFFER_ID})",
        "; a campaign's call shows the campaign's caller ID and rings CTI_DIAL_SECONDS",
        ' same => n,ExecIf($["${CTI_CALLER_ID}" != ""]?Set(CALLERID(all)=${CTI_CALLER_ID}))',
        ' same => n,Set(RING=${IF($["${CTI_DIAL_SECONDS}" = ""]?60:${CTI_DIAL_SECONDS})})',
        f" same => n,Dial({outbound},${{RING}})",
        " same => n,UserEvent(CtiCallbackResult,CtiCallId: ${CTI_CALL_ID},"
        "CtiDialStatus: ${DIALSTATUS})",
        " same => n,Hangup()",
        "",
        "[cti-route-out]",
        "; A caller leaves the queue (maximum wait, or a callback request).",
        "exten => voicemail,1,Playback(vm-intro)",
        " same => n,UserEvent(CtiVoicemail,CtiCallId: ${UNIQUEID},CtiBox: ${CTI_DESTINATION},"
        f"CtiFile: {voicemail}/${{CTI_DESTINATION}}-${{UNIQUEID}}.wav)",
        f" same => n,Record({voicemail}/${{CTI_DESTINATION}}-${{UNIQUEID}}.wav,3,120,k)",
        " same => n,Hangup()",
        "exten => callback,1,Playback(queue-thankyou)",
        " same => n,Playback(vm-goodbye)",
        " same => n,Hangup()",
        "; our own numbers go back through cti-inbound, others out through the trunk",
        'exten => number,1,GotoIf($[${REGEX("^(' + "|".join(own_numbers or ["-"]) + ')$" '
        "${CTI_DESTINATION})}]?inside)",
        f" same => n,Dial({outbound_to_destination},60)",
        " same => n,Hangup()",
        " same => n(inside),Dial(Local/${CTI_DESTINATION}@cti-inbound,60)",
        " same => n,Hangup()",
    ]


def _consult(settings: Settings, own_numbers: list[str]) -> list[str]:
    """Attended transfer: the agent's leg (caller on hold) dials the party consulted."""
    outbound = settings.outbound_device.format(number="${CTI_DESTINATION}")
    return [
        "",
        "[cti-consult]",
        "; The ACD redirects the agent's leg here (CTI_DESTINATION: the number, or at `agent`",
        "; the device of the agent consulted); when the consultation ends without a",
        "; transfer, the leg goes back to waiting on hold.",
        'exten => number,1,GotoIf($[${REGEX("^(' + "|".join(own_numbers or ["-"]) + ')$" '
        "${CTI_DESTINATION})}]?inside)",
        "; g: the agent's leg lives on when the consulted party hangs up",
        f" same => n,Dial({outbound},60,g)",
        " same => n(back),UserEvent(CtiConsultEnded,CtiCallId: ${UNIQUEID},"
        "CtiDialStatus: ${DIALSTATUS})",
        " same => n,Goto(cti-hold,agent,1)",
        " same => n(inside),Dial(Local/${CTI_DESTINATION}@cti-inbound,60,g)",
        " same => n,Goto(back)",
        "; an agent consulted: CTI_DESTINATION is their device",
        "exten => agent,1,Dial(${CTI_DESTINATION},30,g)",
        " same => n,Goto(number,back)",
    ]


def _hold_and_spy(agi: str) -> list[str]:
    """Hold from the console (the phone need not help) and the supervisor's ChanSpy."""
    return [
        "",
        "[cti-hold]",
        "; The ACD redirects a talking caller to `caller` (music) and the agent's leg to",
        "; `agent` (silence) while CTI_HOLD = 1 on both; AMI Bridge joins them again after",
        "; clearing it. When that bridge ends each leg goes on below its loop: the caller",
        "; reports the end of the talk as cti-connect does (then the survey, if any).",
        "exten => caller,1,MusicOnHold(default,2)",
        ' same => n,GotoIf($["${CTI_HOLD}" = "1"]?1)',
        " same => n,UserEvent(CtiOfferResult,CtiCallId: ${UNIQUEID},CtiAgent: ${CTI_AGENT},"
        "CtiOfferId: ${CTI_OFFER_ID},CtiDialStatus: ANSWER)",
        ' same => n,GotoIf($["${CTI_SURVEY}" = "1"]?survey)',
        " same => n,Hangup()",
        f" same => n(survey),AGI({agi}/survey)",
        " same => n,Hangup()",
        "exten => agent,1,Wait(1)",
        ' same => n,GotoIf($["${CTI_HOLD}" = "1"]?1)',
        " same => n,Hangup()",
        "",
        "[cti-spy]",
        "; A supervisor's phone, originated here, listens to (whispers to, barges into)",
        "; the agent's leg CTI_SPY_TARGET with options CTI_SPY_OPTIONS (q, E, w or B).",
        "exten => _X.,1,Answer()",
        " same => n,ChanSpy(${CTI_SPY_TARGET},${CTI_SPY_OPTIONS})",
        " same => n,Hangup()",
    ]


def _extensions_conf(
    settings: Settings, config: PlatformConfig, simulation: bool, out_dir: Path
) -> str:
    agi = f"agi://{settings.agi_host}:{settings.agi_port}"
    lines = [
        "[general]",
        "static = yes",
        "writeprotect = yes",
        "clearglobalvars = no",
        "",
        "[globals]",
        "CTI_HEARTBEAT = 0",
        "",
        "[cti-inbound]",
        "; A call enters with ANI = CALLERID(num) and DNIS = EXTEN.",
    ]
    for tenant in config.tenants:
        default_queue = native_queue_name(tenant, tenant.queues[0].id)
        for number in tenant.tenant.numbers:
            lines += [
                f"exten => {number},1,Set(__CTI_TENANT={tenant.tenant.id})",
                " same => n,Set(__CTI_DNIS=${EXTEN})",
                " same => n,Set(__CTI_ANI=${CALLERID(num)})",
                " same => n,Answer()",
                f" same => n,AGI({agi}/inbound)",
                ' same => n,GotoIf($["${CTI_ROUTE}" != ""]?cti-route-out,${CTI_ROUTE},1)',
                f' same => n,GotoIf($["${{CTI_QUEUE}}" = ""]?cti-wait,{default_queue},1)',
                ' same => n,GotoIf($["${CTI_QUEUE}" = "-"]?done)',
                " same => n,Goto(cti-wait,${CTI_QUEUE},1)",
                " same => n(done),Hangup()",
            ]
    lines += [
        "exten => _[0-9*#+a-z].,1,Answer()",
        " same => n,Playback(ss-noservice)",
        " same => n,Hangup(1)",
        "",
        "[cti-wait]",
        "; Callers wait here. Falls back to the native queue when our service's",
        "; heartbeat is older than the queue's bound.",
    ]
    for tenant in config.tenants:
        for queue in tenant.queues:
            name = native_queue_name(tenant, queue.id)
            bound = queue.fallback_after_seconds
            offer = queue.offer_callback
            lines += [
                f"exten => {name},1,Set(__CTI_QUEUE={name})",
                ' same => n,Set(CTI_WAIT_START=${IF($["${CTI_WAIT_START}" = ""]?${EPOCH}:'
                "${CTI_WAIT_START})})",
                f" same => n,Set(CTI_SURVEY={'1' if queue.survey is not None else ''})",
                " same => n,UserEvent(CtiWaiting,CtiCallId: ${UNIQUEID},CtiQueue: ${EXTEN},"
                "CtiTenant: ${CTI_TENANT},CtiTier: ${CTI_TIER},CtiCustomer: ${CTI_CUSTOMER},"
                "CtiCallback: ${CTI_CALLBACK},CtiPath: ${CTI_IVR_PATH},"
                "CtiLanguage: ${CTI_LANGUAGE},CtiSkills: ${CTI_SKILLS})",
                *(_callback_offer(settings, tenant, queue) if offer else []),
                f" same => n(loop),GotoIf($[${{EPOCH}} - ${{CTI_WAIT_START}} > {bound} & "
                f"${{EPOCH}} - 0${{GLOBAL(CTI_HEARTBEAT)}} > {bound}]?fallback)",
                ' same => n,GotoIf($["${CTI_POSITION}" != ""]?announce)',
                *(_LISTEN if offer else [" same => n,MusicOnHold(default,5)"]),
                " same => n,Wait(0.2)",
                " same => n,Goto(loop)",
                *_announcement(offer),
                *(_CALLBACK_REQUEST if offer else []),
                " same => n(fallback),UserEvent(CtiFallback,CtiCallId: ${UNIQUEID},"
                "CtiQueue: ${EXTEN})",
                f" same => n,Queue({name},t)",
                " same => n,Hangup()",
            ]
    lines += ["", "[cti-connect]", "; The ACD redirects a waiting caller here to ring one agent."]
    for _tenant, agent in config.all_agents():
        device = agent_device(settings, agent.extension)
        lines += [
            f"exten => {agent.extension},1,Set(CTI_RING_TIMEOUT="
            '${IF($["${CTI_RING_TIMEOUT}" = ""]?15:${CTI_RING_TIMEOUT})})',
            f" same => n,Set(CTI_AGENT={agent.id})",
            "; g: with a survey, the caller stays on the line when the agent hangs up",
            f" same => n,Dial({device},${{CTI_RING_TIMEOUT}},"
            '${IF($["${CTI_SURVEY}" = "1"]?g:)})',
            " same => n,UserEvent(CtiOfferResult,CtiCallId: ${UNIQUEID},CtiAgent: ${EXTEN},"
            "CtiOfferId: ${CTI_OFFER_ID},CtiDialStatus: ${DIALSTATUS})",
            ' same => n,GotoIf($["${DIALSTATUS}" = "ANSWER"]?done)',
            " same => n,Goto(cti-wait,${CTI_QUEUE},1)",
            ' same => n(done),GotoIf($["${CTI_SURVEY}" = "1"]?survey)',
            " same => n,Hangup()",
            f" same => n(survey),AGI({agi}/survey)",
            " same => n,Hangup()",
        ]
    lines += _hold_and_spy(agi)
    own_numbers = [re.escape(n) for t in config.tenants for n in t.tenant.numbers]
    lines += _consult(settings, own_numbers)
    lines += _callback_and_route_out(settings, out_dir, own_numbers)
    lines += [
        "",
        "[cti-agents]",
        "; Calls placed by agents' phones.",
        "exten => _X.,1,Dial(PJSIP/${EXTEN},30)",
        " same => n,Hangup()",
    ]
    if simulation:
        lines += _simulation_contexts()
    return "\n".join(lines) + "\n"


def _simulation_contexts() -> list[str]:
    return [
        "",
        "[cti-sim-agent]",
        "; Local/<ext>@cti-sim-agent/n stands for an agent's phone (or a customer's, dialed",
        "; out). Globals SIM_RING_<ext> (seconds, 'never' or 'busy') and SIM_TALK_<ext>;",
        "; +<digits> is <digits>. CtiSimRang tells the caller ID the phone was shown.",
        "exten => _+X.,1,Goto(${EXTEN:1},1)",
        "exten => _X.,1,UserEvent(CtiSimRang,CtiExten: ${EXTEN},CtiCallerId: ${CALLERID(num)})",
        " same => n,Set(RING=${GLOBAL(SIM_RING_${EXTEN})})",
        " same => n,Set(TALK=${GLOBAL(SIM_TALK_${EXTEN})})",
        ' same => n,GotoIf($["${RING}" = "never"]?never)',
        ' same => n,GotoIf($["${RING}" = "busy"]?busy)',
        ' same => n,Wait(${IF($["${RING}" = ""]?1:${RING})})',
        " same => n,Answer()",
        ' same => n,Wait(${IF($["${TALK}" = ""]?5:${TALK})})',
        " same => n,Hangup()",
        " same => n(never),Wait(3600)",
        " same => n(busy),Busy(5)",
        "",
        "[cti-sim-caller]",
        "; The caller's half of an originated Local/<DNIS>@cti-inbound call: presses",
        "; the digits of the extension (s: none) after SIM_DTMF_DELAY seconds, then",
        "; holds for SIM_HOLD seconds. SIM_KEYS: more digits, pressed one at a time",
        "; SIM_KEYS_DELAY seconds after each change of the variable SIM_KEYS_ON on the",
        "; caller's channel (e.g. CTI_WAIT_START, CTI_SURVEY_QUESTION), or every",
        "; SIM_KEYS_DELAY seconds when SIM_KEYS_ON is not given.",
        'exten => s,1,Wait(${IF($["${SIM_HOLD}" = ""]?30:${SIM_HOLD})})',
        " same => n,Hangup()",
        'exten => _[0-9*#]!,1,Wait(${IF($["${SIM_DTMF_DELAY}" = ""]?3:${SIM_DTMF_DELAY})})',
        " same => n,SendDTMF(${EXTEN},250)",
        ' same => n,GotoIf($["${SIM_KEYS}" = ""]?hold)',
        ' same => n,Set(SIM_END=$[${EPOCH} + ${IF($["${SIM_HOLD}" = ""]?30:${SIM_HOLD})}])',
        ' same => n,Set(SIM_GAP=${IF($["${SIM_KEYS_DELAY}" = ""]?1:${SIM_KEYS_DELAY})})',
        " same => n,Set(SIM_PEER=${CUT(CHANNEL,\\;,1)}\\;2)",
        " same => n,Set(SIM_SEEN=)",
        " same => n,Set(SIM_I=0)",
        " same => n(watch),GotoIf($[${EPOCH} > ${SIM_END}]?end)",
        ' same => n,GotoIf($["${SIM_KEYS_ON}" = ""]?press)',
        " same => n,Wait(0.2)",
        " same => n,Set(SIM_NOW=${IMPORT(${SIM_PEER},${SIM_KEYS_ON})})",
        ' same => n,GotoIf($["${SIM_NOW}" = "" | "${SIM_NOW}" = "${SIM_SEEN}"]?watch)',
        " same => n,Set(SIM_SEEN=${SIM_NOW})",
        " same => n(press),Wait(${SIM_GAP})",
        " same => n,SendDTMF(${SIM_KEYS:${SIM_I}:1},250)",
        " same => n,Set(SIM_I=$[${SIM_I} + 1])",
        " same => n,GotoIf($[${SIM_I} < ${LEN(${SIM_KEYS})}]?watch)",
        " same => n,Wait($[${SIM_END} - ${EPOCH}])",
        " same => n(end),Hangup()",
        ' same => n(hold),Wait(${IF($["${SIM_HOLD}" = ""]?30:${SIM_HOLD})})',
        " same => n,Hangup()",
    ]


def _queues_conf(settings: Settings, config: PlatformConfig) -> str:
    parts = ["[general]\npersistentmembers = no\nautofill = yes\nshared_lastcall = yes\n"]
    for tenant in config.tenants:
        for queue in tenant.queues:
            members = [
                f"member => {agent_device(settings, a.extension)},0,{a.name}"
                for a in tenant.agents
                if queue.id in a.queues
            ]
            parts.append(
                f"[{native_queue_name(tenant, queue.id)}]\n"
                "strategy = leastrecent\n"
                f"timeout = {queue.ring_timeout_seconds}\n"
                f"wrapuptime = 0\nservicelevel = {queue.service_level_seconds}\n"
                "joinempty = yes\nleavewhenempty = no\nringinuse = no\n" + "\n".join(members) + "\n"
            )
    return "\n".join(parts)
