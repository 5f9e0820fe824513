"""The one wrapper around panoramisk: our link to Asterisk's AMI.

`AmiLink` connects, logs in (a refused secret raises `AmiAuthError` at once
instead of retrying forever), and keeps the link alive: it reconnects with
back-off when Asterisk restarts or the socket drops, and a watchdog pings with a
timeout so a frozen Asterisk that keeps its socket open is noticed too. After
every (re)connect it lists the live channels (`CoreShowChannels`) and emits a
`Resynced` event so the call model can repair what it missed.

Subscribers receive typed events from `cti.ami_events` only, in Asterisk's
order. Malformed input, unknown events and subscriber errors are logged and
counted in `stats`, never fatal. Nothing else in the project imports panoramisk.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from panoramisk import actions as pm_actions
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from cti.ami_events import (
    AmiEvent,
    ChannelCreated,
    LinkDown,
    LinkUp,
    OtherEvent,
    Resynced,
    normalise,
    snapshot,
)
from cti.errors import AmiActionError, AmiAuthError, AsteriskError
from cti.tasks import stop_task

log = logging.getLogger("cti.ami")

EOL = b"\r\n"
SEPARATOR = b"\r\n\r\n"
MAX_BUFFER = 1 << 20  # a message larger than 1 MiB is garbage, not AMI

Subscriber = Callable[[AmiEvent], None]


@dataclass
class AmiStats:
    """Counters of what the link saw; exposed by /health."""

    messages: int = 0
    events: int = 0
    unmodelled_events: int = 0
    malformed: int = 0
    subscriber_errors: int = 0
    connects: int = 0
    ping_failures: int = 0
    last_error: str = ""
    by_event: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AmiReply:
    """A typed answer to an action."""

    response: str
    message: str
    headers: Mapping[str, str]

    @property
    def ok(self) -> bool:
        return self.response in ("Success", "Follows", "Goodbye")


class _Protocol(AMIProtocol):
    """panoramisk's protocol with our framing: counts garbage, bounds the buffer."""

    link: AmiLink

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self.encoding = "utf-8"
        self.factory = self.link
        self._buffer = b""
        self.forgetable_actions = ()

    def data_received(self, data: bytes) -> None:
        self.link.record(data)
        self._buffer += data
        *chunks, self._buffer = self._buffer.split(SEPARATOR)
        if len(self._buffer) > MAX_BUFFER:
            self.link.count_malformed(f"{len(self._buffer)} bytes without a message end")
            self._buffer = b""
        for chunk in chunks:
            self.feed_chunk(chunk)

    def feed_chunk(self, chunk: bytes) -> None:
        raw = chunk.decode("utf-8", "replace").strip()
        if not raw:
            return
        if raw.startswith("Asterisk Call Manager/"):
            banner, _, raw = raw.partition("\r\n")
            self.version = banner.partition("/")[2]
            if not raw:
                return
        try:
            message = Message.from_line(raw)
        except Exception as exc:  # panoramisk's parser on hostile input
            self.link.count_malformed(f"unparsable message: {exc!r}")
            return
        if message is None:
            self.link.count_malformed(f"not an AMI message: {raw[:80]!r}")
            return
        self.handle_message(message)

    def handle_message(self, message: Message) -> None:
        action = self.responses.get(message.id)
        if action is None and message.action_id:
            action = self.responses.get(message.action_id)
        if (
            action is not None
            and action.as_list
            and not action.responses
            and message.response in ("Error", "Failure")
        ):
            # panoramisk would wait for a list that never comes
            self.responses.pop(action.id, None)
            action.future.set_result([message])
            return
        if action is None and "event" in message:
            self.link.dispatch(message)
            return
        super().handle_message(message)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed:
            self.closed = True
            self.link.connection_lost(exc)

    def close(self) -> None:
        for action in list(self.responses.values()):
            if not action.future.done():
                action.future.set_exception(AsteriskError("AMI connection closed"))
        self.responses.clear()
        if not self.closed:
            self.closed = True
            self.transport.close()


class AmiLink:
    """A supervised AMI connection that yields typed events."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        action_timeout: float = 5.0,
        ping_interval: float = 5.0,
        ping_timeout: float = 3.0,
        reconnect_min: float = 0.25,
        reconnect_max: float = 10.0,
        record_to: Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.host, self.port = host, port
        self._username, self._secret = username, secret
        self.action_timeout = action_timeout
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.reconnect_min, self.reconnect_max = reconnect_min, reconnect_max
        self.clock = clock
        self.stats = AmiStats()
        self._subscribers: list[Subscriber] = []
        self._protocol: _Protocol | None = None
        self._booted: asyncio.Event | None = None
        self._connected = asyncio.Event()
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False  # close() asked: the supervision ends
        self._fresh: set[str] | None = None  # while a resync's list is made: new channels
        self._fatal: BaseException | None = None
        self._record = record_to.open("ab") if record_to is not None else None

    # ---- lifecycle -------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def start(self, *, wait: float | None = None) -> None:
        """Start the supervisor; with `wait`, return once logged in or raise."""
        if self._task is None:
            self._closing = False
            self._task = asyncio.create_task(self._supervise(), name="ami-link")
        if wait is not None:
            await self.wait_connected(wait)

    async def wait_connected(self, timeout: float) -> None:
        """Wait until logged in; raises `AmiAuthError` if the secret was refused."""
        waiter = asyncio.create_task(self._connected.wait())
        assert self._task is not None, "start() first"
        await asyncio.wait(
            {waiter, self._task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        waiter.cancel()
        if self._fatal is not None:
            raise self._fatal
        if not self._connected.is_set():
            raise AsteriskError(
                f"AMI at {self.host}:{self.port} not reachable within {timeout:g}s"
                f" ({self.stats.last_error or 'no answer'})"
            )

    async def failed(self) -> BaseException:
        """Wait until the link gives up for good (a refused login); returns why."""
        assert self._task is not None, "start() first"
        await asyncio.shield(self._task)
        return self._fatal or AsteriskError("AMI link stopped")

    async def close(self) -> None:
        task, self._task = self._task, None
        self._closing = True
        await stop_task(task)  # cancelled again until it has ended (see cti.tasks)
        self._drop_connection()
        if self._record is not None:
            self._record.close()
            self._record = None

    # ---- events ----------------------------------------------------------
    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call `subscriber(event)` for every typed event; returns an unsubscribe."""
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber)

    async def events(self) -> AsyncIterator[AmiEvent]:
        """All typed events as an async stream (unbounded; consume promptly)."""
        queue: asyncio.Queue[AmiEvent] = asyncio.Queue()
        unsubscribe = self.subscribe(queue.put_nowait)
        try:
            while True:
                yield await queue.get()
        finally:
            unsubscribe()

    # ---- actions ---------------------------------------------------------
    async def action(self, name: str, timeout: float | None = None, **headers: Any) -> AmiReply:
        """Send one action; raises `AmiActionError` on an error reply or a timeout."""
        reply = await self._send(name, headers, as_list=False, timeout=timeout)
        result = _reply(reply)
        if not result.ok:
            raise AmiActionError(f"AMI {name} refused: {result.message or result.response}")
        return result

    async def action_list(
        self, name: str, timeout: float | None = None, **headers: Any
    ) -> list[Mapping[str, str]]:
        """Send an action answered by an event list; returns the list's entries."""
        replies = await self._send(name, headers, as_list=True, timeout=timeout)
        messages = replies if isinstance(replies, list) else [replies]
        head = _reply(messages[0])
        if not head.ok:
            raise AmiActionError(f"AMI {name} refused: {head.message or head.response}")
        return [_reply(m).headers for m in messages[1:] if not str(m.event).endswith("Complete")]

    async def originate(
        self,
        channel: str,
        *,
        context: str | None = None,
        exten: str | None = None,
        priority: int = 1,
        application: str | None = None,
        data: str | None = None,
        caller_id: str | None = None,
        variables: Mapping[str, str] | None = None,
        timeout_ms: int = 30000,
        channel_id: str | None = None,
    ) -> AmiReply:
        """Place a call (always `Async: true`, see LIBS.md); returns once queued."""
        headers: dict[str, Any] = {"Channel": channel, "Async": "true", "Timeout": timeout_ms}
        if application is not None:
            headers["Application"] = application
            if data is not None:
                headers["Data"] = data
        else:
            headers.update(Context=context, Exten=exten, Priority=priority)
        if caller_id is not None:
            headers["CallerID"] = caller_id
        if channel_id is not None:
            headers["ChannelId"] = channel_id
        if variables:
            headers["Variable"] = [f"{k}={v}" for k, v in variables.items()]
        return await self.action("Originate", **headers)

    async def _send(
        self, name: str, headers: Mapping[str, Any], *, as_list: bool, timeout: float | None
    ) -> Any:
        protocol = self._protocol
        if protocol is None or protocol.closed or not self.connected:
            raise AsteriskError(f"AMI {name}: not connected to {self.host}:{self.port}")
        action = pm_actions.Action({"Action": name, **headers}, as_list=as_list)
        future = protocol.send(action, as_list=as_list)
        try:
            return await asyncio.wait_for(future, timeout or self.action_timeout)
        except TimeoutError as exc:
            protocol.responses.pop(action.id, None)
            raise AmiActionError(
                f"AMI {name}: no answer within {timeout or self.action_timeout:g}s"
            ) from exc

    def replay(self, data: bytes, chunk_size: int = 4096) -> None:
        """Feed a recorded AMI byte stream through the same framing and parsing
        as a live socket (for fixtures and benchmarks); events reach subscribers."""
        protocol = _Protocol()
        protocol.link = self
        protocol.connection_made(None)
        for start in range(0, len(data), chunk_size):
            protocol.data_received(data[start : start + chunk_size])

    # ---- called by the protocol -----------------------------------------
    def record(self, data: bytes) -> None:
        if self._record is not None:
            self._record.write(data)

    def count_malformed(self, why: str) -> None:
        self.stats.malformed += 1
        log.warning("ami malformed input (%d so far): %s", self.stats.malformed, why)

    def dispatch(self, message: Message) -> None:
        """One raw event in, typed event out to subscribers; never raises."""
        self.stats.messages += 1
        try:
            event = normalise(message, self.clock())
        except ValueError as exc:
            self.count_malformed(str(exc))
            return
        if self._booted is not None and str(message.event) == "FullyBooted":
            self._booted.set()
        if event is None:
            return
        self.stats.events += 1
        if self._fresh is not None and isinstance(event, ChannelCreated):
            self._fresh.add(event.uniqueid)
        if isinstance(event, OtherEvent):
            self.stats.unmodelled_events += 1
            self.stats.by_event[event.name] = self.stats.by_event.get(event.name, 0) + 1
        self.publish(event)

    def publish(self, event: AmiEvent) -> None:
        for subscriber in list(self._subscribers):
            try:
                subscriber(event)
            except Exception:
                self.stats.subscriber_errors += 1
                log.exception("ami subscriber %r failed on %r", subscriber, event)

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost.set()

    # ---- supervision -----------------------------------------------------
    async def _supervise(self) -> None:
        delay = self.reconnect_min
        while not self._closing:
            try:
                await self._connect_once()
            except AmiAuthError as exc:
                self._fatal = exc
                log.error("%s", exc)
                return
            except (OSError, AsteriskError, TimeoutError) as exc:
                self.stats.last_error = str(exc) or type(exc).__name__
                was_up = self._connected.is_set()  # logged in, then the resync failed
                self._drop_connection()
                if was_up:
                    self.publish(LinkDown(self.clock(), f"resync: {self.stats.last_error}"))
                log.warning(
                    "ami connect to %s:%d failed: %s; retry in %.2fs",
                    self.host,
                    self.port,
                    self.stats.last_error,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.reconnect_max)
                continue
            delay = self.reconnect_min
            reason = await self._watch()
            self._drop_connection()
            self.stats.last_error = reason
            log.warning("ami link to %s:%d lost: %s", self.host, self.port, reason)
            self.publish(LinkDown(self.clock(), reason))

    async def _connect_once(self) -> None:
        loop = asyncio.get_running_loop()
        self._lost.clear()
        self._booted = asyncio.Event()

        def factory() -> _Protocol:
            protocol = _Protocol()
            protocol.link = self
            return protocol

        _, protocol = await asyncio.wait_for(
            loop.create_connection(factory, self.host, self.port), self.action_timeout
        )
        self._protocol = protocol
        login = pm_actions.Action(
            {"Action": "Login", "Username": self._username, "Secret": self._secret, "Events": "on"},
            as_list=False,
        )
        try:
            reply = _reply(
                await asyncio.wait_for(protocol.send(login, as_list=False), self.action_timeout)
            )
        except TimeoutError as exc:
            raise AsteriskError("AMI login got no answer") from exc
        if not reply.ok:
            raise AmiAuthError(
                f"AMI login refused for user {self._username!r} at {self.host}:{self.port}:"
                f" {reply.message or reply.response}; check CTI_AMI_USER / CTI_AMI_SECRET"
                " and manager.conf"
            )
        try:
            await asyncio.wait_for(self._booted.wait(), self.action_timeout * 4)
        except TimeoutError as exc:
            raise AsteriskError("Asterisk logged us in but never sent FullyBooted") from exc
        self._connected.set()
        self.stats.connects += 1
        log.info(
            "ami logged in to %s:%d (Asterisk AMI %s)",
            self.host,
            self.port,
            protocol.version or "?",
        )
        self.publish(LinkUp(self.clock(), reconnect=self.stats.connects > 1))
        await self._resync()

    async def _resync(self) -> None:
        """Emit every live channel so the call model can repair a gap."""
        self._fresh = set()  # channels created while the list is made (see Resynced)
        try:
            entries = await self.action_list(
                "CoreShowChannels", timeout=self.action_timeout * 2
            )
        finally:
            fresh, self._fresh = frozenset(self._fresh), None
        channels = []
        for entry in entries:
            try:
                channels.append(snapshot(entry))
            except ValueError as exc:
                self.count_malformed(str(exc))
        self.publish(Resynced(self.clock(), tuple(channels), fresh))

    async def _watch(self) -> str:
        """Ping until the link fails (or the link is closed); returns why it ended."""
        while not self._closing:
            lost = asyncio.create_task(self._lost.wait())
            done, _ = await asyncio.wait({lost}, timeout=self.ping_interval)
            if done:
                return "connection closed by Asterisk"
            lost.cancel()
            try:
                await self.action("Ping", timeout=self.ping_timeout)
            except AsteriskError as exc:
                self.stats.ping_failures += 1
                return f"watchdog: {exc}"
        return "closed"

    def _drop_connection(self) -> None:
        self._connected.clear()
        protocol, self._protocol = self._protocol, None
        if protocol is not None:
            protocol.close()


def parse_bare(data: bytes) -> int:
    """panoramisk's parser alone over a recorded stream: the benchmark's baseline.

    Splits on the message separator and builds panoramisk `Message`s, nothing
    else; returns how many messages it parsed.
    """
    count = 0
    for chunk in data.split(SEPARATOR):
        if Message.from_line(chunk.decode("utf-8", "replace").strip()) is not None:
            count += 1
    return count


def _reply(message: Any) -> AmiReply:
    headers = {str(k): (v[0] if isinstance(v, list) and v else str(v)) for k, v in message.items()}
    return AmiReply(
        response=str(message.get("Response", "")),
        message=str(message.get("Message", "")),
        headers=headers,
    )
