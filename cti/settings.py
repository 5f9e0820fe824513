"""Connection settings, from `CTI_*` environment variables or a `.env` file.

What lives here is how to reach things (Asterisk, database, broker, ports);
what the call center *is* (queues, agents, menus) lives in `cti.config`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting can be given as `CTI_<NAME>` (e.g. `CTI_AMI_PORT=5039`)."""

    model_config = SettingsConfigDict(env_prefix="CTI_", env_file=".env", extra="ignore")

    config_dir: Path = Path("config")

    ami_host: str = "127.0.0.1"
    ami_port: int = 5038
    ami_user: str = "cti"
    ami_secret: str = "cti-secret"
    ami_action_timeout: float = 5.0
    ami_ping_interval: float = 5.0
    ami_ping_timeout: float = 3.0

    agi_host: str = "127.0.0.1"
    agi_port: int = 4573

    sip_host: str = "127.0.0.1"
    sip_port: int = 5060
    sip_password: str = "change-me"
    agent_device: str = "PJSIP/{extension}"
    outbound_device: str = "PJSIP/{number}@trunk"
    campaign_poll_seconds: float = 1.0  # how often running campaigns place their calls
    callback_poll_seconds: float = 15.0  # how often stored callbacks that fell due are taken

    http_host: str = "127.0.0.1"
    http_port: int = 8080
    # signs the web sessions; empty: one is generated once and kept in var/session_secret
    session_secret: str = ""
    session_hours: float = 12.0

    database_url: str = "sqlite+aiosqlite:///var/cti.db"
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    # one per service on a broker (a second connection with the same id takes the first's
    # place); also names its retained status topic cti/system/<id>/status
    mqtt_client_id: str = "cti-service"
    # Asterisk-format queue_log of our ACD's calls ("{tenant}" in the path: one per tenant)
    queue_log_path: Path = Path("var/queue_log")
    live_interval_minutes: Literal[15, 30, 60] = 15  # the "current interval" of live figures

    asterisk_bin: str = "/usr/sbin/asterisk"
    prompts_dir: Path = Path("var/prompts")
    # call recordings (MixMonitor writes them: Asterisk must reach the same path)
    recordings_dir: Path = Path("var/recordings")
