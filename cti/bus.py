"""The MQTT bus (aiomqtt): publishes without ever blocking the service.

`Bus.publish()` only queues. A background task keeps a connection (aiomqtt
does not reconnect by itself), drains the queue, and after every reconnect
re-publishes the retained state it holds, so subscribers see the truth again.
While the broker is down the service carries on, `connected` is False and
messages beyond the queue bound are dropped and counted.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from typing import Any
from urllib.parse import urlparse

import aiomqtt

from cti.tasks import stop_task

log = logging.getLogger("cti.bus")


class Bus:
    def __init__(self, url: str, *, client_id: str = "cti", max_pending: int = 10_000) -> None:
        parsed = urlparse(url)
        if parsed.scheme not in ("mqtt", "tcp"):
            raise ValueError(f"MQTT URL must start with mqtt://, got {url!r}")
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or 1883
        self.username, self.password = parsed.username, parsed.password
        self.client_id = client_id
        self.connected = False
        self.last_error = ""
        self.dropped = 0
        self._retained: dict[str, bytes] = {}
        self._pending: deque[tuple[str, bytes, bool]] = deque(maxlen=max_pending)
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def publish(self, topic: str, payload: Any, *, retain: bool = False) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        if retain:
            self._retained[topic] = data
        if len(self._pending) == self._pending.maxlen:
            self.dropped += 1
        self._pending.append((topic, data, retain))
        self._wakeup.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="mqtt-bus")

    async def close(self) -> None:
        if self._task is not None:
            await stop_task(self._task)
            self._task = None

    async def _run(self) -> None:
        delay = 0.5
        status_topic = f"cti/system/{self.client_id}/status"
        while True:
            try:
                async with aiomqtt.Client(
                    self.host,
                    self.port,
                    username=self.username,
                    password=self.password,
                    identifier=self.client_id,
                    will=aiomqtt.Will(status_topic, b"offline", qos=1, retain=True),
                ) as client:
                    self.connected, delay = True, 0.5
                    log.info("mqtt connected to %s:%d", self.host, self.port)
                    await client.publish(status_topic, b"online", qos=1, retain=True)
                    # the retained state as it is now supersedes retained messages still
                    # queued from before (older versions of the same topics)
                    self._drop_pending_retained()
                    for topic, data in list(self._retained.items()):
                        await client.publish(topic, data, retain=True)
                    await self._session(client, status_topic)
            except aiomqtt.MqttError as exc:
                if self.connected or not self.last_error:
                    log.warning("mqtt broker %s:%d unavailable: %s", self.host, self.port, exc)
                self.last_error = str(exc)
            self.connected = False
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    def _drop_pending_retained(self) -> None:
        kept = [item for item in self._pending if not item[2]]
        self._pending.clear()
        self._pending.extend(kept)

    async def _session(self, client: aiomqtt.Client, status_topic: str) -> None:
        """Publish until the connection fails; listening is how a loss is noticed."""
        await client.subscribe(status_topic)
        tasks = {asyncio.create_task(self._drain(client)), asyncio.create_task(_listen(client))}
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _drain(self, client: aiomqtt.Client) -> None:
        while True:
            while self._pending:
                topic, data, retain = self._pending[0]
                await client.publish(topic, data, retain=retain)
                self._pending.popleft()
            self._wakeup.clear()
            await self._wakeup.wait()


async def _listen(client: aiomqtt.Client) -> None:
    async for _message in client.messages:
        pass
