"""A real Asterisk for the integration tests, started from generated config.

Each stack lives in its own temporary directory on free ports. `asterisk` is
shared by a whole session (boot costs ~1 s); tests that restart or freeze
Asterisk take their own from `asterisk_factory`.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cti.asterisk_conf import write_asterisk_config
from cti.asterisk_proc import AsteriskProcess, free_port, free_udp_port
from cti.config import PlatformConfig
from cti.settings import Settings

ASTERISK_BIN = "/usr/sbin/asterisk"


@dataclass
class AsteriskStack:
    settings: Settings
    process: AsteriskProcess
    conf_dir: Path


def make_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "ami_port": free_port(),
        "agi_port": free_port(),
        "sip_port": free_udp_port(),
        "http_port": free_port(),
        "agent_device": "Local/{extension}@cti-sim-agent/n",
        "outbound_device": "Local/{number}@cti-sim-agent/n",
        "ami_ping_interval": 1.0,
        "ami_ping_timeout": 1.0,
        # the machine's broker is shared by parallel tests: each service its own id
        "mqtt_client_id": f"cti-test-{uuid.uuid4().hex[:12]}",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def _require_asterisk() -> None:
    if shutil.which(ASTERISK_BIN) is None:
        pytest.fail(f"{ASTERISK_BIN} missing: run `make setup` (the suite never skips it)")


@pytest.fixture(scope="session")
def asterisk_factory(
    tmp_path_factory: pytest.TempPathFactory,
    example_config: PlatformConfig,
    _require_asterisk: None,
) -> Iterator[Callable[..., AsteriskStack]]:
    started: list[AsteriskProcess] = []

    def start(config: PlatformConfig | None = None, **overrides: object) -> AsteriskStack:
        settings = make_settings(**overrides)
        conf_dir = tmp_path_factory.mktemp("asterisk")
        write_asterisk_config(conf_dir, settings, config or example_config, simulation=True)
        process = AsteriskProcess(conf_dir, ASTERISK_BIN)
        started.append(process)
        process.start()
        return AsteriskStack(settings, process, conf_dir)

    yield start
    for process in started:
        process.stop()


@pytest.fixture(scope="session")
def asterisk(asterisk_factory: Callable[..., AsteriskStack]) -> AsteriskStack:
    return asterisk_factory()


class Mosquitto:
    """A real Mosquitto broker on a free loopback port."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.process = subprocess.Popen(
            [binary, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(5)
            self.process = None


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    broker = Mosquitto(tmp_path)
    broker.start()
    yield broker
    broker.stop()


async def until(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    """Poll `predicate` until true; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s{'; ' + what if what else ''}")
        await asyncio.sleep(0.05)


from tests.integration.center import center, center_factory  # noqa: E402,F401  (fixtures)
