"""The FastAGI server, over panoramisk's FastAGI request (the one wrapper).

`AgiServer` listens for `AGI(agi://host:port/<script>)` from the dialplan and
hands each request to the handler registered for `<script>` as an
`AgiSession`, with typed commands. A caller who hangs up raises `AgiHangup` at
the next command, so no more commands go to a dead channel. Requests are read
with a size bound and a timeout: a peer that sends garbage or goes silent is
dropped and counted, never left spinning.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from panoramisk.fast_agi import Request

from cti.errors import AsteriskError
from cti.tasks import stop_task

log = logging.getLogger("cti.agi")

MAX_HEADER_BYTES = 16 * 1024


class AgiHangup(AsteriskError):
    """The channel hung up: stop sending commands."""


class AgiCommandError(AsteriskError):
    """Asterisk rejected an AGI command."""


@dataclass
class AgiStats:
    requests: int = 0
    rejected: int = 0
    handler_errors: int = 0
    hangups: int = 0


class AgiSession:
    """One FastAGI request: the channel's `agi_*` variables and typed commands."""

    def __init__(self, request: Request) -> None:
        self._request = request
        self.headers: Mapping[str, str] = request.headers

    @property
    def uniqueid(self) -> str:
        return self.headers.get("agi_uniqueid", "")

    @property
    def caller_num(self) -> str:
        num = self.headers.get("agi_callerid", "")
        return "" if num == "unknown" else num

    @property
    def dnis(self) -> str:
        return (
            self.headers.get("agi_dnid", "")
            if self.headers.get("agi_dnid", "unknown") != "unknown"
            else self.headers.get("agi_extension", "")
        )

    @property
    def script(self) -> str:
        return self.headers.get("agi_network_script", "")

    async def command(self, line: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._request.send_command(line)
        error = result.get("error")
        if error == "AGIResultHangup":
            raise AgiHangup(f"channel {self.uniqueid} hung up during {line.split()[0]}")
        if error == "AGIAppError" and line.upper().startswith(("STREAM", "GET", "EXEC", "SAY")):
            raise AgiHangup(f"channel {self.uniqueid} gone during {line.split()[0]}")
        if error is not None:
            raise AgiCommandError(f"AGI {line!r}: {error} {result.get('msg', '')}".strip())
        return result

    async def get_variable(self, name: str) -> str:
        result = await self.command(f"GET VARIABLE {name}")
        value, data = result.get("result", ("0", ""))
        return str(data) if value == "1" else ""

    async def set_variable(self, name: str, value: str) -> None:
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        await self.command(f'SET VARIABLE {name} "{escaped}"')

    async def answer(self) -> None:
        await self.command("ANSWER")

    async def stream_file(self, prompt: str, escape_digits: str = "") -> str:
        """Play a prompt; returns the digit that interrupted it, or ''."""
        result = await self.command(f'STREAM FILE {prompt} "{escape_digits}"')
        code = int(result.get("result", ("0", ""))[0] or 0)
        return chr(code) if code > 0 else ""

    async def get_data(self, prompt: str, timeout_ms: int, max_digits: int) -> str:
        result = await self.command(f"GET DATA {prompt} {timeout_ms} {max_digits}")
        value = str(result.get("result", ("", ""))[0])
        return value if value.lstrip("-").isdigit() or value == "" else ""

    async def verbose(self, message: str) -> None:
        await self.command(f'VERBOSE "{message}" 1')


Handler = Callable[[AgiSession], Awaitable[None]]


class AgiServer:
    """A FastAGI listener dispatching requests by script name."""

    def __init__(self, host: str, port: int, *, header_timeout: float = 5.0) -> None:
        self.host, self.port = host, port
        self.header_timeout = header_timeout
        self.routes: dict[str, Handler] = {}
        self.stats = AgiStats()
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[Any]] = set()  # the requests being served

    def route(self, script: str, handler: Handler) -> None:
        self.routes[script] = handler

    @property
    def listening(self) -> bool:
        return self._server is not None and self._server.is_serving()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)

    async def close(self) -> None:
        """Stop listening and end the sessions in progress (their calls carry on in
        Asterisk's dialplan, which falls back when the script goes away)."""
        if self._server is not None:
            self._server.close()
            ending = (stop_task(task, grace=5.0) for task in list(self._sessions))
            await asyncio.gather(*ending, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            headers = await asyncio.wait_for(_read_headers(reader), self.header_timeout)
        except (
            TimeoutError,
            ValueError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ConnectionError,
        ) as exc:
            self.stats.rejected += 1
            log.warning("agi request rejected: %s", exc or type(exc).__name__)
            writer.close()
            return
        self.stats.requests += 1
        script = headers.get("agi_network_script", "").split("?")[0]
        handler = self.routes.get(script)
        try:
            if handler is None:
                self.stats.rejected += 1
                log.error("agi: no handler for script %r", script)
                return
            session = asyncio.current_task()
            if session is not None:
                self._sessions.add(session)
            try:
                await handler(AgiSession(Request(None, headers, reader, writer)))
            except asyncio.CancelledError:
                if self._server is not None and self._server.is_serving():
                    raise  # not ours: let it be
                log.info("agi %s: ended, the server is closing", script)  # done, not failed
            finally:
                if session is not None:
                    self._sessions.discard(session)
        except AgiHangup as exc:
            self.stats.hangups += 1
            log.info("agi %s: %s", script, exc)
        except Exception:
            self.stats.handler_errors += 1
            log.exception("agi handler %r failed", script)
        finally:
            writer.close()


async def _read_headers(reader: asyncio.StreamReader) -> dict[str, str]:
    """The `agi_*: value` block up to the blank line; ValueError if it is not one."""
    headers: dict[str, str] = {}
    size = 0
    while True:
        line = await reader.readuntil(b"\n")
        size += len(line)
        if size > MAX_HEADER_BYTES:
            raise ValueError("AGI header block too large")
        text = line.decode("utf-8", "replace").rstrip("\r\n")
        if not text:
            break
        key, sep, value = text.partition(": ")
        if not sep or not key.startswith("agi_"):
            raise ValueError(f"not an AGI header: {text[:60]!r}")
        headers[key] = value
    if "agi_network_script" not in headers:
        raise ValueError("AGI request without agi_network_script")
    return headers
