"""Run a real Asterisk from a generated configuration directory.

Used by the tests and the demo: start it in the foreground as a child process,
wait until it is fully booted, talk to it through its CLI socket, freeze or
restart it, and stop it leaving nothing behind.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from cti.errors import AsteriskError


def free_port() -> int:
    """A TCP port that is free on loopback right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class AsteriskProcess:
    """One Asterisk daemon whose every file lives under `conf_dir`."""

    def __init__(self, conf_dir: Path, binary: str = "/usr/sbin/asterisk") -> None:
        self.conf_dir = Path(conf_dir)
        self.conf = self.conf_dir / "asterisk.conf"
        self.binary = binary
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.conf_dir / "log" / "console.log"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise AsteriskError("Asterisk is not running")
        return self.process.pid

    def start(self, timeout: float = 30.0) -> None:
        if not Path(self.binary).exists():
            raise AsteriskError(
                f"{self.binary} not found: run `make setup` (scripts/install-system.sh)"
            )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                [self.binary, "-C", str(self.conf), "-f", "-n"],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AsteriskError(
                    f"Asterisk exited with {self.process.returncode} at start; see {self.log_path}"
                )
            result = self._rx("core waitfullybooted", timeout=max(1.0, deadline - time.monotonic()))
            if result.returncode == 0 and "fully booted" in result.stdout.lower():
                return
            time.sleep(0.1)
        self.stop()
        raise AsteriskError(f"Asterisk did not boot within {timeout:g}s; see {self.log_path}")

    def cli(self, command: str, timeout: float = 10.0) -> str:
        """Run one CLI command (`asterisk -rx`) and return its output."""
        result = self._rx(command, timeout)
        if result.returncode != 0:
            raise AsteriskError(f"asterisk -rx {command!r} failed: {result.stderr.strip()}")
        return result.stdout

    def _rx(self, command: str, timeout: float) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                [self.binary, "-C", str(self.conf), "-rx", command],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess([], 1, "", "timeout")

    def freeze(self) -> None:
        """Stop the process (SIGSTOP) and return once it is stopped: the signal is
        delivered asynchronously, and meanwhile it could still answer a request."""
        os.kill(self.pid, signal.SIGSTOP)
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and not self._all_threads_stopped():
            time.sleep(0.001)

    def _all_threads_stopped(self) -> bool:
        try:
            threads = os.listdir(f"/proc/{self.pid}/task")
            for thread in threads:
                with open(f"/proc/{self.pid}/task/{thread}/stat") as stat:
                    if stat.read().rsplit(")", 1)[1].split()[0] not in ("T", "t"):
                        return False  # the state field follows "(comm) "
        except OSError:
            return True  # a thread ended meanwhile, or no /proc here: as before
        return True

    def thaw(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def stop(self, timeout: float = 10.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, signal.SIGCONT)
        self.process = process
        self._rx("core stop now", timeout=3.0)
        self.process = None
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    def restart(self, timeout: float = 30.0) -> None:
        self.stop()
        self.start(timeout)
