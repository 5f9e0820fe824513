"""The `cti` command as a user runs it: config generation, serve, demo."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cti.asterisk_proc import AsteriskProcess, free_port, free_udp_port
from tests.integration.conftest import ASTERISK_BIN, AsteriskStack

pytestmark = pytest.mark.asterisk
ROOT = Path(__file__).resolve().parents[2]
CTI = [sys.executable, "-m", "cti.cli"]


def env(**values: object) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CTI_")}
    base.update({f"CTI_{k.upper()}": str(v) for k, v in values.items()})
    return base


def test_generated_config_alone_starts_asterisk_and_our_ami_user_logs_in(tmp_path: Path) -> None:
    ports = {"ami_port": free_port(), "sip_port": free_udp_port()}
    out = tmp_path / "ast"
    done = subprocess.run(
        [*CTI, "asterisk-config", "--out", str(out)],
        cwd=ROOT,
        env=env(**ports),
        capture_output=True,
        text=True,
        check=True,
    )
    assert "wrote" in done.stdout and (out / "asterisk.conf").exists()
    process = AsteriskProcess(out, ASTERISK_BIN)
    process.start()
    try:
        assert "cti-inbound" in process.cli("dialplan show cti-inbound")
        assert "1001" in process.cli("pjsip show endpoints")
        login = subprocess.run(
            [
                sys.executable,
                "-c",
                "import asyncio; from cti.ami import AmiLink\n"
                f"async def m():\n l=AmiLink('127.0.0.1',{ports['ami_port']},'cti','cti-secret')\n"
                " await l.start(wait=10); print(await l.action('Ping')); await l.close()\n"
                "asyncio.run(m())",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        assert "response='Success'" in login.stdout
    finally:
        process.stop()


def test_broken_config_stops_start_up_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "tenants").mkdir()
    bad = (
        (ROOT / "config/tenants/acme.yaml")
        .read_text()
        .replace('extension: "1003"', 'extension: "x1003"')
    )
    (tmp_path / "tenants/acme.yaml").write_text(bad)
    done = subprocess.run(
        [*CTI, "--config-dir", str(tmp_path), "serve"],
        cwd=ROOT,
        env=env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    line = next(i for i, t in enumerate(bad.splitlines(), 1) if "x1003" in t)
    assert f"acme.yaml:{line}: agents.2.extension: String should match pattern" in done.stderr


def test_serve_with_a_wrong_secret_exits_with_a_clear_error(
    asterisk: AsteriskStack, tmp_path: Path
) -> None:
    s = asterisk.settings
    done = subprocess.run(
        [*CTI, "serve"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        env=env(
            ami_port=s.ami_port,
            ami_secret="wrong",
            agi_port=free_port(),
            http_port=free_port(),
            database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db",
            mqtt_client_id=f"cti-test-{tmp_path.name}",
        ),
    )
    assert done.returncode == 3, done.stdout + done.stderr
    assert "AMI login refused for user 'cti'" in done.stderr


def test_serve_answers_health_and_stops_on_sigterm(asterisk: AsteriskStack, tmp_path) -> None:
    s = asterisk.settings
    http_port = free_port()
    process = subprocess.Popen(
        [*CTI, "serve"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env(
            ami_port=s.ami_port,
            agi_port=free_port(),
            http_port=http_port,
            database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db",
            mqtt_client_id=f"cti-test-{tmp_path.name}",
        ),
    )
    try:
        deadline = time.monotonic() + 20
        body: dict[str, object] = {}
        while time.monotonic() < deadline and body.get("ami") != "ok":
            try:
                body = httpx.get(f"http://127.0.0.1:{http_port}/health").json()
            except httpx.HTTPError:
                time.sleep(0.2)
        assert body.get("ami") == "ok" and body.get("database") == "ok"
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output


def test_demo_places_calls_and_leaves_no_process_behind(tmp_path: Path) -> None:
    ports = {
        "ami_port": free_port(),
        "agi_port": free_port(),
        "http_port": free_port(),
        "sip_port": free_udp_port(),
        "demo_seconds": 30,
    }
    done = subprocess.run(
        [*CTI, "--config-dir", str(ROOT / "config"), "demo", "--calls", "3"],
        cwd=tmp_path,
        env=env(**ports),
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for n in (1, 2, 3):
        assert f"demo: call {n}: " in out
    assert "call 4:" not in out
    port = ports["http_port"]
    assert f"demo: wallboard http://127.0.0.1:{port}/login  tenant acme, user supervisor" in out
    assert f"demo: console   http://127.0.0.1:{port}/login  tenant acme, user dave" in out
    assert "agent Dave" not in out  # the visitor's seat is left free
    assert "ACD outcomes: ['answered'" in out  # the simulated agents took calls
    assert "stopped Asterisk and the service" in out
    assert "demo: campaign demo-renewals (progressive, queue sales): 3 contacts, a draft" in out
    with sqlite3.connect(tmp_path / "var" / "cti.db") as db:  # the store saw the IVR
        paths = [r[0] for r in db.execute("SELECT ivr_path FROM calls WHERE ivr_path IS NOT NULL")]
    assert len(paths) == 3 and all(p.startswith("welcome/") for p in paths)
    conf = str(tmp_path / "var/demo/asterisk/asterisk.conf")
    leftovers = subprocess.run(["pgrep", "-f", conf], capture_output=True, text=True)
    assert leftovers.stdout == ""
