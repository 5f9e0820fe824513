"""The FastAGI server closing with a session in progress: the session ends, quietly."""

from __future__ import annotations

import asyncio
import logging

import pytest

from cti.agi import AgiServer, AgiSession
from cti.asterisk_proc import free_port


async def test_closing_ends_the_sessions_in_progress_without_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    server = AgiServer("127.0.0.1", free_port())
    started = asyncio.Event()

    async def hold(session: AgiSession) -> None:
        started.set()
        await session.command("ANSWER")  # Asterisk (here: nobody) never answers

    server.route("hold", hold)
    await server.start()
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(b"agi_network_script: hold\nagi_uniqueid: 1.1\n\n")
    await writer.drain()
    await asyncio.wait_for(started.wait(), 5)
    await asyncio.wait_for(server.close(), 10)
    assert not server.listening
    assert server.stats.handler_errors == 0
    assert "ended, the server is closing" in caplog.text
    assert await asyncio.wait_for(reader.read(), 5) == b"ANSWER\n"  # then the line closed
    writer.close()
