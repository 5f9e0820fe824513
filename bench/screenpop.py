"""Screen-pop benchmark: from the AMI event read to the pop on the agent's console.

    python bench/screenpop.py [--quick] [--json] [--consoles N] [--rate R] [--seconds S]

The real service stack runs in this process (`cti.service.Service`: AMI link,
ACD runner, journal on SQLite in a temp dir, live figures, the HTTP/websocket
app on a free port) for a generated tenant of N agents over two queues. A
second process plays the outside world:

- a small AMI server of our own (`FakeAsterisk`): banner, Login, FullyBooted,
  `Response: Success` to every action, `CoreShowChannels` as a list, `DBGet`
  as "not found"; it makes calls at a steady rate (`Newchannel` of the caller,
  then the `CtiWaiting` UserEvent of the `cti-wait` context) and, when the
  runner redirects a caller to `cti-connect`, answers (`DialEnd ANSWER`) and
  later ends the call (`CtiOfferResult ANSWER`, `Hangup`), so that agents come
  back (wrap-up 0 s) and the load is steady;
- N agent consoles: websocket clients on `/ws?token=` with real session
  tokens, each logged in and made ready with the console's own `agent.login`
  and `agent.ready` actions, recording `time.perf_counter()` when a
  `screen_pop` arrives.

Both processes read the same clock (`perf_counter` is CLOCK_MONOTONIC on
Linux). The time origin is the moment our `AmiLink` reads the bytes that carry
the `CtiWaiting` event: the bench wraps the link's `record` hook (called first
thing in `data_received`) to stamp the read, and a subscriber registered before
the ACD runners' notes which call each stamp belongs to. The pop's `call_id` is
the caller channel's linkedid, equal to its uniqueid here. Calls that could
not be offered at once (no agent free) are counted as `waited` and left out of
the latency figures, which would otherwise measure queueing, not the pop path.

Besides the headline (read -> console), the bench stamps, without changing
production behaviour, the offer being journaled (`CALL_OFFERED`) and the pop
being handed to the websocket hub, which splits the time into: AMI read to
offer (framing, parsing, call model, runner, router, journal fold), offer to
hub (the customer look-up the pop waits for), hub to console (outbox, websocket
send, client read). Diagnostics beside them: the look-up's own span, the offer
to its `Redirect` reaching Asterisk (the runner's command backlog), the event
loop's lag (a 5 ms sleeper), the live-figures flush (one loop callback), gen-2
GC pauses, and the CPU of both processes. `--py-spy FILE` samples the service
process during the load (raw collapsed stacks; py-spy installed in the venv);
The pop goes out at once with what the call says (caller, queue, IVR path, wait);
when the customer look-up is still running it follows in a second, complete pop:
`p50_ms`/`p99_ms` time the first, `complete` the one with the record.

`--quick`: 50 consoles, 20 offers/s for 5 s (CI); full: 500 consoles, 50
offers/s for 40 s. `--json` prints one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
sys.path.insert(0, str(ROOT))

TENANT = "bench"
QUEUES = ("sales", "support")
DNIS = "7000"
AMI_USER, AMI_SECRET = "bench", "bench-secret"
RING_SECONDS = 0.2  # from the redirect to the agent answering


# --------------------------------------------------------------------------------------
# The AMI server


def _frame(fields: dict[str, Any]) -> bytes:
    return ("".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n").encode()


@dataclass
class _Channel:
    uniqueid: str
    linkedid: str
    name: str
    caller: str
    context: str
    exten: str
    created: float = field(default_factory=time.monotonic)


@dataclass
class FakeStats:
    actions: dict[str, int] = field(default_factory=dict)
    calls: int = 0
    answered: int = 0
    ended: int = 0


class FakeAsterisk:
    """An asyncio TCP server speaking enough AMI for `cti.ami.AmiLink` and the ACD runner."""

    def __init__(
        self,
        *,
        username: str = AMI_USER,
        secret: str = AMI_SECRET,
        tenant: str = TENANT,
        talk_seconds: float = 1.0,
    ) -> None:
        self.username, self.secret = username, secret
        self.tenant = tenant
        self.talk_seconds = talk_seconds
        self.channels: dict[str, _Channel] = {}  # by channel name
        self.stats = FakeStats()
        self.sent_at: dict[str, float] = {}  # caller uniqueid -> perf_counter at write
        self.redirected_at: dict[str, float] = {}  # caller uniqueid -> first offer's Redirect
        self._writers: set[asyncio.StreamWriter] = set()  # logged-in clients
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._seq = 0
        self.port = 0

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._server = await asyncio.start_server(self._client, host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for writer in list(self._writers):
            writer.close()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def settle(self, timeout: float) -> None:
        """Wait until every call in progress has ended (or `timeout`)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    # -- the protocol ------------------------------------------------------------------

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"Asterisk Call Manager/5.0.2\r\n")
        logged_in = False
        try:
            while True:
                try:
                    raw = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                action: dict[str, str] = {}
                for line in raw.decode("utf-8", "replace").split("\r\n"):
                    key, sep, value = line.partition(":")
                    if sep:
                        action.setdefault(key.strip().lower(), value.strip())
                name = action.get("action", "").lower()
                self.stats.actions[name] = self.stats.actions.get(name, 0) + 1
                if name == "login":
                    if (
                        action.get("username") == self.username
                        and action.get("secret") == self.secret
                    ):
                        self._reply(writer, action, "Success", "Authentication accepted")
                        writer.write(
                            _frame(
                                {
                                    "Event": "FullyBooted",
                                    "Privilege": "system,all",
                                    "Uptime": 1,
                                    "LastReload": 1,
                                    "Status": "Fully Booted",
                                }
                            )
                        )
                        logged_in = True
                        self._writers.add(writer)
                    else:
                        self._reply(writer, action, "Error", "Authentication failed")
                elif not logged_in:
                    self._reply(writer, action, "Error", "Permission denied")
                else:
                    self._action(writer, name, action)
                await writer.drain()
        finally:
            self._writers.discard(writer)
            writer.close()

    def _reply(
        self, writer: asyncio.StreamWriter, action: dict[str, str], response: str, message: str
    ) -> None:
        fields: dict[str, Any] = {"Response": response}
        if "actionid" in action:
            fields["ActionID"] = action["actionid"]
        fields["Message"] = message
        writer.write(_frame(fields))

    def _action(self, writer: asyncio.StreamWriter, name: str, action: dict[str, str]) -> None:
        if name == "coreshowchannels":
            self._reply(writer, action, "Success", "Channels will follow")
            for chan in self.channels.values():
                seconds = int(time.monotonic() - chan.created)
                writer.write(
                    _frame(
                        {
                            "Event": "CoreShowChannel",
                            "ActionID": action.get("actionid", ""),
                            "Channel": chan.name,
                            "ChannelState": 6,
                            "ChannelStateDesc": "Up",
                            "CallerIDNum": chan.caller,
                            "CallerIDName": "<unknown>",
                            "Context": chan.context,
                            "Exten": chan.exten,
                            "Priority": 1,
                            "Uniqueid": chan.uniqueid,
                            "Linkedid": chan.linkedid,
                            "Application": "MusicOnHold",
                            "Duration": f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:"
                            f"{seconds % 60:02d}",
                        }
                    )
                )
            writer.write(
                _frame(
                    {
                        "Event": "CoreShowChannelsComplete",
                        "ActionID": action.get("actionid", ""),
                        "EventList": "Complete",
                        "ListItems": len(self.channels),
                    }
                )
            )
        elif name == "dbget":
            self._reply(writer, action, "Error", "Database entry not found")
        elif name == "ping":
            fields = {"Response": "Success", "ActionID": action.get("actionid", "")}
            writer.write(_frame({**fields, "Ping": "Pong", "Timestamp": f"{time.time():.6f}"}))
        elif name == "redirect":
            target = self.channels.get(action.get("channel", ""))
            if target is None:
                self._reply(writer, action, "Error", "Channel specified does not exist")
                return
            self._reply(writer, action, "Success", "Redirect successful")
            if action.get("context") == "cti-connect":
                self.redirected_at.setdefault(target.uniqueid, time.perf_counter())
            target.context, target.exten = action.get("context", ""), action.get("exten", "")
            if target.context == "cti-connect":
                self._spawn(self._connect(target, target.exten))
        else:
            self._reply(writer, action, "Success", f"{name} done")

    # -- calls ---------------------------------------------------------------------------

    def _event(self, fields: dict[str, Any]) -> None:
        data = _frame(fields)
        for writer in self._writers:
            writer.write(data)

    def _channel_fields(self, chan: _Channel, context: str, exten: str) -> dict[str, Any]:
        return {
            "Channel": chan.name,
            "ChannelState": 6,
            "ChannelStateDesc": "Up",
            "CallerIDNum": chan.caller,
            "CallerIDName": "Bench caller",
            "ConnectedLineNum": "<unknown>",
            "ConnectedLineName": "<unknown>",
            "Language": "en",
            "AccountCode": "",
            "Context": context,
            "Exten": exten,
            "Priority": 1,
            "Uniqueid": chan.uniqueid,
            "Linkedid": chan.linkedid,
        }

    def _next_id(self) -> str:
        self._seq += 1
        return f"{int(time.time())}.{self._seq}"

    def new_call(self, queue: str, caller: str) -> str:
        """A caller enters and waits in `queue` (its native name); returns its uniqueid."""
        uniqueid = self._next_id()
        chan = _Channel(uniqueid, uniqueid, f"PJSIP/trunk-{self._seq:08x}", caller, "cti-wait", "")
        chan.exten = queue
        self.channels[chan.name] = chan
        self.stats.calls += 1
        self._event(
            {"Event": "Newchannel", "Privilege": "call,all"}
            | self._channel_fields(chan, "cti-inbound", DNIS)
        )
        self._event(
            {"Event": "UserEvent", "Privilege": "user,all"}
            | self._channel_fields(chan, "cti-wait", queue)
            | {
                "UserEvent": "CtiWaiting",
                "CtiCallId": uniqueid,
                "CtiQueue": queue,
                "CtiTenant": self.tenant,
                "CtiTier": 0,
                "CtiCustomer": "",
                "CtiCallback": "",
                "CtiPath": "welcome,menu",
                "CtiLanguage": "en",
            }
        )
        self.sent_at[uniqueid] = time.perf_counter()
        return uniqueid

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect(self, caller: _Channel, extension: str) -> None:
        """`cti-connect`: dial the agent, who answers, talks, then hangs up."""
        agent = _Channel(
            self._next_id(),
            caller.linkedid,
            f"PJSIP/{extension}-{self._seq:08x}",
            extension,
            "",
            "",
        )
        self.channels[agent.name] = agent
        self._event(
            {"Event": "Newchannel", "Privilege": "call,all"}
            | self._channel_fields(agent, "cti-agents", extension)
        )
        self._event(
            {"Event": "DialBegin", "Privilege": "call,all"}
            | self._channel_fields(caller, "cti-connect", extension)
            | {"DestUniqueid": agent.uniqueid, "DestChannel": agent.name, "DialString": extension}
        )
        await asyncio.sleep(RING_SECONDS)
        self.stats.answered += 1
        self._event(
            {"Event": "DialEnd", "Privilege": "call,all"}
            | self._channel_fields(caller, "cti-connect", extension)
            | {"DestUniqueid": agent.uniqueid, "DestChannel": agent.name, "DialStatus": "ANSWER"}
        )
        await asyncio.sleep(self.talk_seconds)
        self.stats.ended += 1
        self._event(
            {"Event": "UserEvent", "Privilege": "user,all"}
            | self._channel_fields(caller, "cti-connect", extension)
            | {
                "UserEvent": "CtiOfferResult",
                "CtiCallId": caller.uniqueid,
                "CtiAgent": extension,
                "CtiOfferId": "",
                "CtiDialStatus": "ANSWER",
            }
        )
        for chan in (agent, caller):
            self.channels.pop(chan.name, None)
            self._event(
                {"Event": "Hangup", "Privilege": "call,all"}
                | self._channel_fields(chan, "cti-connect", extension)
                | {"Cause": 16, "Cause-txt": "Normal Clearing"}
            )


# --------------------------------------------------------------------------------------
# The outside world (second process): the AMI server and the consoles


class Consoles:
    """N agent consoles on the service's websocket."""

    def __init__(self, url: str, tokens: list[str]) -> None:
        self.url, self.tokens = url, tokens
        self.pops: dict[str, float] = {}  # call id -> perf_counter at receipt (first pop)
        self.complete: dict[str, float] = {}  # call id -> receipt of the pop with the record
        self.duplicates = 0
        self.received = 0
        self.errors: list[str] = []
        self._sockets: list[Any] = []
        self._readers: list[asyncio.Task[None]] = []

    async def open(self, concurrency: int = 25) -> None:
        gate = asyncio.Semaphore(concurrency)

        async def one(token: str) -> None:
            async with gate:
                try:
                    await self._open_one(token)
                except Exception as exc:
                    self.errors.append(f"{type(exc).__name__}: {exc}")

        await asyncio.gather(*(one(t) for t in self.tokens))

    async def _open_one(self, token: str) -> None:
        from websockets.asyncio.client import connect

        ws = await connect(f"{self.url}?token={token}", max_size=1 << 22, open_timeout=30)
        self._sockets.append(ws)
        acks: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._readers.append(asyncio.get_running_loop().create_task(self._read(ws, acks)))
        for ref, action in enumerate(("agent.login", "agent.ready"), 1):
            acks[ref] = asyncio.get_running_loop().create_future()
            await ws.send(json.dumps({"type": action, "version": 1, "id": ref}))
            reply = await asyncio.wait_for(acks[ref], 30)
            if reply.get("type") != "ack":
                raise RuntimeError(f"{action}: {reply}")

    async def _read(self, ws: Any, acks: dict[int, asyncio.Future[dict[str, Any]]]) -> None:
        with contextlib.suppress(Exception):
            async for text in ws:
                now = time.perf_counter()
                self.received += 1
                if text.startswith('{"type": "screen_pop"'):
                    pop = json.loads(text)
                    call_id = pop["call_id"]
                    if pop.get("complete") and call_id in self.complete:
                        self.duplicates += 1
                    elif pop.get("complete"):
                        self.complete[call_id] = now
                    self.pops.setdefault(call_id, now)
                elif acks and text.startswith(('{"type": "ack"', '{"type": "error"')):
                    data = json.loads(text)
                    future = acks.pop(data.get("id"), None)
                    if future is not None and not future.done():
                        future.set_result(data)

    async def close(self) -> None:
        for ws in self._sockets:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 2)
        for task in self._readers:
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)


async def _line(reader: asyncio.StreamReader) -> dict[str, Any]:
    raw = await reader.readline()
    if not raw:
        raise SystemExit("bench: the controller went away")
    data: dict[str, Any] = json.loads(raw)
    return data


def _say(**fields: Any) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


async def world() -> None:
    """The second process: reads its orders as JSON lines on stdin, reports on stdout."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 26)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    orders = await _line(reader)
    asterisk = FakeAsterisk(talk_seconds=orders["talk_seconds"])
    await asterisk.start(port=orders["ami_port"])
    _say(stage="ami-ready")
    orders |= await _line(reader)
    consoles = Consoles(f"ws://127.0.0.1:{orders['http_port']}/ws", orders["tokens"])
    began = time.perf_counter()
    await consoles.open()
    deadline = time.monotonic() + 30
    while asterisk.stats.actions.get("dbget", 0) < len(orders["tokens"]):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)  # the runner's restore after the first connect
    _say(
        stage="consoles-ready",
        connected=len(consoles.tokens) - len(consoles.errors),
        errors=consoles.errors[:5],
        seconds=round(time.perf_counter() - began, 2),
    )
    await _line(reader)  # go
    cpu_before, wall_before = time.process_time(), time.perf_counter()
    rate, seconds, queues = orders["rate"], orders["seconds"], orders["queues"]
    total = round(rate * seconds)
    start = loop.time() + 0.05
    for i in range(total):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        asterisk.new_call(queues[i % len(queues)], f"+33612{i % 100000:05d}{i // 100000}")
    # let the last calls pop and end
    await asyncio.sleep(0.5)
    await asterisk.settle(orders["talk_seconds"] + RING_SECONDS + 3.0)
    await asyncio.sleep(0.5)
    cpu = (time.process_time() - cpu_before) / (time.perf_counter() - wall_before)
    _say(
        stage="done",
        cpu_percent=round(cpu * 100, 1),
        pops=consoles.pops,
        complete=consoles.complete,
        sent=asterisk.sent_at,
        redirected=asterisk.redirected_at,
        duplicates=consoles.duplicates,
        received=consoles.received,
        actions=asterisk.stats.actions,
        answered=asterisk.stats.answered,
        ended=asterisk.stats.ended,
    )
    await _line(reader)  # bye
    await consoles.close()
    await asterisk.close()


# --------------------------------------------------------------------------------------
# The service side (this process)


def tenant_config(agents: int) -> Any:
    from cti.config import PlatformConfig, TenantConfig

    queues = [
        {
            "id": q,
            "name": q.title(),
            "skills": {q: 1},
            "ring_timeout_seconds": 20,
            "wrapup_max_seconds": 0,
            "announce_every_seconds": None,
        }
        for q in QUEUES
    ]
    tenant = TenantConfig.model_validate(
        {
            "tenant": {"id": TENANT, "name": "Bench", "numbers": [DNIS]},
            "skills": [{"id": q, "name": q.title()} for q in QUEUES],
            "queues": queues,
            "agents": [
                {
                    "id": f"agent{i:04d}",
                    "name": f"Agent {i}",
                    "extension": str(20000 + i),
                    "skills": {q: 1 + (i + j) % 5 for j, q in enumerate(QUEUES)},
                    "queues": list(QUEUES),
                }
                for i in range(agents)
            ],
        }
    )
    return PlatformConfig(tenants=(tenant,))


class Probe:
    """Time stamps taken beside the production code, without changing what it does."""

    def __init__(self, service: Any) -> None:
        from cti.ami_events import UserEvent
        from reports import events as ev

        self.read_at = 0.0
        self.origin: dict[str, float] = {}  # call id -> AMI read of its CtiWaiting
        self.offered: dict[str, float] = {}  # call id -> CALL_OFFERED journaled
        self.direct: set[str] = set()  # offered while its CtiWaiting was dispatched
        self.to_hub: dict[str, float] = {}  # call id -> pop handed to the hub
        self._current = ""
        link, hub = service.ami, service.hub
        original_record = link.record

        def record(data: bytes) -> None:
            self.read_at = time.perf_counter()
            original_record(data)

        link.record = record  # first thing `data_received` calls

        def on_ami(event: Any) -> None:
            if isinstance(event, UserEvent) and event.name == "CtiWaiting":
                self._current = event.uniqueid
                self.origin.setdefault(event.uniqueid, self.read_at)
            else:
                self._current = ""

        link.subscribe(on_ami)  # before the runners, which subscribe in start()

        def on_journal(event: Any, folded: Any) -> None:
            if event.kind == ev.CALL_OFFERED and event.call_id:
                self.offered.setdefault(event.call_id, time.perf_counter())
                if event.call_id == self._current:
                    self.direct.add(event.call_id)

        service.journal.subscribe(on_journal)
        original_to_agent = hub.to_agent

        def to_agent(tenant: str, agent_id: str, payload: dict[str, Any]) -> int:
            if payload.get("type") == "screen_pop":
                self.to_hub.setdefault(payload["call_id"], time.perf_counter())
            sent: int = original_to_agent(tenant, agent_id, payload)
            return sent

        hub.to_agent = to_agent
        self.lookup: dict[str, tuple[float, float]] = {}  # call id -> customer look-up span
        console = service.console
        original_lookup = console._lookup

        async def lookup(tenant: str, call_id: str) -> Any:
            began = time.perf_counter()
            try:
                return await original_lookup(tenant, call_id)
            finally:
                self.lookup.setdefault(call_id, (began, time.perf_counter()))

        console._lookup = lookup  # the screen-pop's customer prefetch
        self.live_flushes: list[float] = []  # LivePublisher.flush durations (one loop callback)
        live = service.live
        original_flush = live.flush

        def flush() -> int:
            began = time.perf_counter()
            try:
                count: int = original_flush()
                return count
            finally:
                self.live_flushes.append(time.perf_counter() - began)

        live.flush = flush


class LoopLag:
    """How late the service's event loop wakes a 5 ms sleeper: its stalls, as callers see them."""

    def __init__(self, period: float = 0.005) -> None:
        self.period = period
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            began = time.perf_counter()
            await asyncio.sleep(self.period)
            self.lags.append(time.perf_counter() - began - self.period)


class GcPauses:
    """The collector's pauses in the service process (gen 2 ones stop the loop longest)."""

    def __init__(self) -> None:
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._began = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.pauses[info["generation"]].append(time.perf_counter() - self._began)

    def start(self) -> None:
        gc.callbacks.append(self._callback)

    def stop(self) -> dict[str, Any]:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._callback)
        return {
            f"gen{g}": {"count": len(p), "max_ms": round(max(p, default=0) * 1000, 1)}
            for g, p in self.pauses.items()
        }


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return dict.fromkeys(("p50_ms", "p90_ms", "p99_ms", "max_ms", "mean_ms"))
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {
        "p50_ms": round(at(0.50), 2),
        "p90_ms": round(at(0.90), 2),
        "p99_ms": round(at(0.99), 2),
        "max_ms": round(ordered[-1] * 1000, 2),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2),
    }


async def run(
    consoles: int,
    rate: float,
    seconds: float,
    talk: float,
    profile: Path | None = None,
    py_spy: Path | None = None,
) -> dict[str, Any]:
    from agent_console.auth import Principal
    from cti.asterisk_conf import native_queue_name
    from cti.asterisk_proc import free_port
    from cti.service import Service
    from cti.settings import Settings

    config = tenant_config(consoles)
    tenant = config.tenants[0]
    with tempfile.TemporaryDirectory(prefix="screenpop-") as tmp:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            config_dir=Path(tmp),
            ami_port=free_port(),
            ami_user=AMI_USER,
            ami_secret=AMI_SECRET,
            agi_port=free_port(),
            http_port=free_port(),
            database_url=f"sqlite+aiosqlite:///{tmp}/cti.db",
            mqtt_url=f"mqtt://127.0.0.1:{free_port()}",  # no broker: the bus keeps retrying
            queue_log_path=Path(tmp) / "queue_log",
            prompts_dir=Path(tmp) / "prompts",
            session_secret="screenpop-bench-" + os.urandom(16).hex(),
        )
        service = Service(settings, config)
        probe = Probe(service)
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            str(SCRIPT),
            "--world",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=1 << 26,
        )
        assert child.stdin is not None and child.stdout is not None

        def tell(**fields: Any) -> None:
            assert child.stdin is not None
            child.stdin.write((json.dumps(fields) + "\n").encode())

        async def hear(stage: str, timeout: float) -> dict[str, Any]:
            assert child.stdout is not None
            raw = await asyncio.wait_for(child.stdout.readline(), timeout)
            if not raw:
                raise RuntimeError(f"the world process died before {stage!r}")
            data: dict[str, Any] = json.loads(raw)
            if data.get("stage") != stage:
                raise RuntimeError(f"expected {stage!r} from the world process, got {data}")
            return data

        profiler: Any = None
        spy: Any = None
        lag = LoopLag()
        pauses = GcPauses()
        try:
            tell(ami_port=settings.ami_port, talk_seconds=talk)
            await hear("ami-ready", 30)
            await service.start()
            await service.ami.wait_connected(10)
            sessions = service.app.state.sessions
            tokens = [
                sessions.issue(Principal(TENANT, f"user-{a.id}", "agent", a.id))[0]
                for a in tenant.agents
            ]
            tell(
                http_port=settings.http_port,
                tokens=tokens,
                rate=rate,
                seconds=seconds,
                queues=[native_queue_name(tenant, q) for q in QUEUES],
            )
            ready = await hear("consoles-ready", 120)
            states = service.acd[TENANT].agent_states
            ready_agents = sum(1 for s in states.values() if s == "ready")
            if ready["connected"] != consoles or ready_agents != consoles:
                raise RuntimeError(
                    f"{ready['connected']}/{consoles} consoles connected, {ready_agents} agents"
                    f" ready: {ready['errors']}"
                )
            await asyncio.sleep(0.5)
            if profile is not None:
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            if py_spy is not None:
                spy = await asyncio.create_subprocess_exec(
                    str(Path(sys.executable).parent / "py-spy"),
                    "record",
                    "--pid",
                    str(os.getpid()),
                    "--rate",
                    "200",
                    "--nonblocking",
                    "--threads",
                    "--format",
                    "raw",
                    "--duration",
                    str(round(seconds)),
                    "--output",
                    str(py_spy),
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                )
            cpu_before, wall_before = time.process_time(), time.perf_counter()
            lag.start()
            pauses.start()
            tell(go=True)
            done = await hear("done", seconds + talk + 60)
            await lag.stop()
            gc_pauses = pauses.stop()
            cpu = (time.process_time() - cpu_before) / (time.perf_counter() - wall_before)
            if profiler is not None:
                profiler.disable()
            if spy is not None:
                await asyncio.wait_for(spy.wait(), 30)
            tell(bye=True)
            await asyncio.wait_for(child.wait(), 15)
        finally:
            if child.returncode is None:
                child.kill()
                await child.wait()
            await service.stop()
        if profiler is not None and profile is not None:
            profiler.dump_stats(str(profile))

    pops: dict[str, float] = done["pops"]
    sent: dict[str, float] = done["sent"]
    direct = [c for c in sent if c in probe.direct]
    waited = sum(1 for c in sent if c in probe.offered and c not in probe.direct)
    never = sum(1 for c in sent if c not in probe.offered)
    lost = sum(1 for c in direct if c not in pops)
    latency = [pops[c] - probe.origin[c] for c in direct if c in pops]
    complete: dict[str, float] = done["complete"]
    complete_latency = [complete[c] - probe.origin[c] for c in direct if c in complete]
    from_send = [pops[c] - sent[c] for c in direct if c in pops]
    stage_read_offer = [probe.offered[c] - probe.origin[c] for c in direct]
    stage_offer_hub = [probe.to_hub[c] - probe.offered[c] for c in direct if c in probe.to_hub]
    stage_hub_console = [
        pops[c] - probe.to_hub[c] for c in direct if c in pops and c in probe.to_hub
    ]
    redirected: dict[str, float] = done["redirected"]
    offer_to_redirect = [redirected[c] - probe.offered[c] for c in direct if c in redirected]
    spans = [(c, probe.lookup[c]) for c in direct if c in probe.lookup and c in probe.to_hub]
    lookup_span = [end - began for _, (began, end) in spans]
    lookup_to_hub = [probe.to_hub[c] - end for c, (_, end) in spans]
    figures: dict[str, Any] = {
        "consoles": consoles,
        "offers_per_second": rate,
        "seconds": seconds,
        "calls": len(sent),
        "offers": len(direct),
        **{k: v for k, v in percentiles(latency).items()},
        "complete": {**percentiles(complete_latency), "count": len(complete_latency)},
        "lost": lost,
        "waited": waited,
        "not_offered": never,
        "duplicates": done["duplicates"],
        "from_send_p99_ms": percentiles(from_send)["p99_ms"],
        "stages": {
            "read_to_offer": percentiles(stage_read_offer),
            "offer_to_hub": percentiles(stage_offer_hub),
            "hub_to_console": percentiles(stage_hub_console),
            "lookup_task": percentiles(lookup_span),
            "lookup_end_to_hub": percentiles(lookup_to_hub),
            "offer_to_redirect": percentiles(offer_to_redirect),
        },
        "messages_received": done["received"],
        "ami_actions": sum(done["actions"].values()),
        "service_cpu_percent": round(cpu * 100, 1),
        "loop_lag": percentiles(lag.lags),
        "gc_pauses": gc_pauses,
        "live_flush": {**percentiles(probe.live_flushes), "count": len(probe.live_flushes)},
        "world_cpu_percent": done["cpu_percent"],
    }
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run (CI)")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.add_argument("--consoles", type=int, help="agent consoles (default 500; quick 50)")
    parser.add_argument("--rate", type=float, help="offers per second (default 50; quick 20)")
    parser.add_argument("--seconds", type=float, help="load duration (default 40; quick 5)")
    parser.add_argument(
        "--talk", type=float, help="talk seconds per call (default: half the agents busy)"
    )
    parser.add_argument("--profile", type=Path, help="cProfile the service during the load")
    parser.add_argument(
        "--py-spy", type=Path, help="sample the service with py-spy during the load (raw stacks)"
    )
    parser.add_argument("--world", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.world:
        asyncio.run(world())
        return 0
    logging.basicConfig(level=logging.ERROR)
    consoles = args.consoles or (50 if args.quick else 500)
    rate = args.rate or (20.0 if args.quick else 50.0)
    seconds = args.seconds or (5.0 if args.quick else 40.0)
    talk = args.talk if args.talk is not None else max(0.5, 0.5 * consoles / rate - RING_SECONDS)
    began = time.perf_counter()
    figures = asyncio.run(run(consoles, rate, seconds, talk, args.profile, args.py_spy))
    figures["wall_seconds"] = round(time.perf_counter() - began, 1)
    _report(figures)
    if args.json:
        print(json.dumps(figures))
    return 0


def _report(f: dict[str, Any]) -> None:
    print(
        f"{f['consoles']} consoles, {f['offers_per_second']:g} offers/s for {f['seconds']:g} s:"
        f" {f['calls']} calls, {f['offers']} offered at once, {f['waited']} waited for an"
        f" agent, {f['not_offered']} never offered, {f['lost']} pops lost"
    )
    print(
        f"AMI read -> console screen_pop: p50 {f['p50_ms']} ms, p90 {f['p90_ms']} ms,"
        f" p99 {f['p99_ms']} ms, max {f['max_ms']} ms"
        f" (from the AMI server's write: p99 {f['from_send_p99_ms']} ms)"
    )
    full = f["complete"]
    print(
        f"  with the customer's record ({full['count']} pops): p50 {full['p50_ms']} ms,"
        f" p99 {full['p99_ms']} ms"
    )
    for name, s in f["stages"].items():
        print(
            f"  {name:<17} p50 {s['p50_ms']!s:>7} ms  p99 {s['p99_ms']!s:>7} ms"
            f"  max {s['max_ms']!s:>7} ms"
        )
    lag = f["loop_lag"]
    print(
        f"service event-loop lag (5 ms sleeper woken late): p50 {lag['p50_ms']} ms,"
        f" p99 {lag['p99_ms']} ms, max {lag['max_ms']} ms"
    )
    flush = f["live_flush"]
    print(
        f"live figures flush (one callback on the loop): {flush['count']} flushes,"
        f" p50 {flush['p50_ms']} ms, p99 {flush['p99_ms']} ms, max {flush['max_ms']} ms"
    )
    gen2 = f["gc_pauses"]["gen2"]
    print(f"gen-2 garbage collections: {gen2['count']}, longest {gen2['max_ms']} ms")
    print(
        f"CPU during the load: service process {f['service_cpu_percent']}% of a core,"
        f" AMI server + consoles process {f['world_cpu_percent']}%"
    )
    verdict = "meets" if f["p99_ms"] is not None and f["p99_ms"] < 50 else "MISSES"
    print(f"p99 {verdict} the 50 ms target")


if __name__ == "__main__":
    sys.exit(main())
