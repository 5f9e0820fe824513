"""A loopback TCP proxy for fault injection between our AMI link and Asterisk.

It can inject bytes towards the client, cut every connection, and refuse new
ones for a while: the network faults a real deployment meets.
"""

from __future__ import annotations

import asyncio
import contextlib

from cti.asterisk_proc import free_port


class FaultyProxy:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.refusing = False
        self._server: asyncio.Server | None = None
        self._client_writers: list[asyncio.StreamWriter] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def inject(self, data: bytes) -> None:
        """Send bytes to every connected client as if Asterisk had sent them."""
        for writer in self._client_writers:
            writer.write(data)

    def cut(self) -> None:
        for writer in self._client_writers:
            writer.transport.abort()
        self._client_writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            writer.transport.abort()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._client_writers.append(writer)
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(src, dst))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            dst.transport.abort()
