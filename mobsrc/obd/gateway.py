"""The HJ 1239 TCP gateway (`mobsrc gateway`): terminals connect, log in and report; their
records go to the ingest service the HTTP endpoints use (obd/ingest.py), in batches.

Per connection (an asyncio Protocol; no task per connection, so 10,000 idle terminals cost
little):
- bytes -> hj1239.stream.FrameStreamDecoder: several frames in one read, frames split across
  reads, resync after garbage (length + BCC, byte by byte), layout hint from the terminal's
  learnt profile;
- a login (0x01) must come first for each VIN: the VIN must be a registered vehicle, else the
  connection is closed unanswered (ingest.py explains why registration is the admission);
  a data frame for a VIN not logged in on this connection is not stored nor answered, and
  the connection is closed after MAX_UNAUTHENTICATED of them; a time-calibration request
  (0x05) is answered at once, logged in or not, with the platform's time in GMT+8;
- real-time and re-sent reports (0x02/0x03) are flattened to records and handed to the
  Batcher; their ACK (the header echoed with an empty data unit, standards-telemetry.md 1.14)
  is written only once the batch holding them is committed: an ACK means durable.  When a
  batch cannot be stored, its frames are not answered and the terminal sends them again;
- logouts (0x04) are recorded and answered; a removal alarm (0x06) is stored once and brought
  to the alarm job (a `terminal_removed` alarm), then answered; activation (0x07, meant for
  the national platform) and encrypted units are ignored;
- a connection silent for the idle period (one sweep every few seconds, not a timer per
  read), or sending only garbage, is closed.

The Batcher writes one batch at a time from its own thread (when `gateway_batch_records`
records wait or the first waited `gateway_batch_ms`, taking along whatever else waits), so
batches commit in order and the ACKs of one connection leave in the order its frames came (those
of one batch in one write).
While a batch is written the next one fills; past MAX_PENDING_RECORDS waiting records,
connections stop reading (TCP backpressure) until the writer catches up.
"""
from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from redis import Redis

from mobsrc.core import clock
from mobsrc.core.db import Database
from mobsrc.core.jobs import bind_redis
from mobsrc.obd import ingest
from mobsrc.obd.hj1239.codec import encode_reply
from mobsrc.obd.hj1239.framing import Garbage
from mobsrc.obd.hj1239.messages import (
    EncryptedDataUnit,
    Frame,
    Layout,
    LayoutSource,
    Login,
    Logout,
    RemovalAlarm,
    Report,
    TimeCalibrationRequest,
)
from mobsrc.obd.hj1239.records import flatten_frame
from mobsrc.obd.hj1239.stream import FrameStreamDecoder, UndecodableFrame
from mobsrc.obd.ingest import GatewayItem, VehicleRef
from mobsrc.obd.models import BatchSource
from mobsrc.obd.settings import ObdSettings
from mobsrc.obd.storage import Submitter

log = logging.getLogger(__name__)
READ_SIZE = 65536
MAX_UNAUTHENTICATED = 3          # data frames without login before the connection is closed
MAX_GARBAGE = 64 * 1024          # bytes of garbage without one good frame before it is closed
MAX_PENDING_RECORDS = 50_000     # records waiting for the writer before reading pauses
MAX_BATCH_RECORDS = 10_000       # the most one write takes


@dataclass
class GatewayStats:
    connections: int = 0
    open_connections: int = 0
    logins: int = 0
    refused_logins: int = 0
    frames: int = 0
    records: int = 0
    acks: int = 0
    unacknowledged: int = 0       # frames of batches that could not be stored
    unauthenticated: int = 0
    undecodable: int = 0
    garbage_bytes: int = 0
    idle_closed: int = 0
    removal_alarms: int = 0
    batches: int = 0
    batch_failures: int = 0
    ack_delay_ms_max: float = 0.0   # longest wait of a frame between arrival and its ACK (last period)

    def line(self) -> str:
        return " ".join(f"{k}={v}" for k, v in vars(self).items())


# --- batches ---------------------------------------------------------------------------------------
_STOP = object()


class Batcher:
    """Collects the records of many connections; one writer thread stores them batch by batch.

    The writer thread takes frames from a queue: it starts a write once `gateway_batch_records`
    records wait or the first waited `gateway_batch_ms`, and takes along whatever else is already
    waiting (up to MAX_BATCH_RECORDS): idle, a frame is written at once; busy, batches grow and
    each commit carries more.  Results go back to the event loop, which sends the ACKs."""

    def __init__(self, db: Database, redis: Redis | None, settings: ObdSettings, stats: GatewayStats,
                 on_room: Callable[[], None] = lambda: None):
        self.db, self.redis, self.settings, self.stats = db, redis, settings, stats
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="obd-batch-writer", daemon=True)
        self._on_room = on_room        # called when the backlog is below MAX_PENDING_RECORDS again
        self._waiting = 0              # records submitted, not yet answered (event-loop side)
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread.start()

    async def stop(self) -> None:
        """Write what is waiting, then end the writer thread."""
        self._queue.put(_STOP)
        await asyncio.get_running_loop().run_in_executor(None, self._thread.join)

    @property
    def waiting(self) -> int:
        return self._waiting

    def submit(self, vehicle: VehicleRef, records, connection: _Connection, reply: bytes) -> None:
        """Queue a frame's records; `reply` goes to `connection` once they are committed."""
        self._waiting += records.count
        self._queue.put((GatewayItem(vehicle, records), connection, reply, records.count, time.monotonic()))

    # --- the writer thread ---
    def _work(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                return
            batch, stopping = self._collect(first)
            ok = self._store([item for item, *_ in batch])
            self._loop.call_soon_threadsafe(self._answer, batch, ok)

    def _collect(self, first) -> tuple[list, bool]:
        batch, count = [first], first[3]
        trigger = self.settings.gateway_batch_records
        deadline = time.monotonic() + self.settings.gateway_batch_ms / 1000
        while count < MAX_BATCH_RECORDS:
            try:
                if count < trigger:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                else:
                    item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return batch, True
            batch.append(item)
            count += item[3]
        return batch, False

    def _answer(self, batch: list, ok: bool) -> None:
        """The ACKs of a committed batch, one write per connection (a send per frame costs a
        system call and a GIL hand-over each); nothing for a batch that was not stored."""
        delay = (time.monotonic() - batch[0][4]) * 1000
        self.stats.ack_delay_ms_max = max(self.stats.ack_delay_ms_max, round(delay, 1))
        replies: dict[_Connection, list[bytes]] = {}
        for _, connection, reply, count, _ in batch:
            self._waiting -= count
            replies.setdefault(connection, []).append(reply)
        if ok:
            for connection, frames in replies.items():
                if connection.send(b"".join(frames)):
                    self.stats.acks += len(frames)
        else:
            self.stats.unacknowledged += len(batch)
        if self._waiting < MAX_PENDING_RECORDS:
            self._on_room()

    def _store(self, items: list[GatewayItem]) -> bool:
        try:
            with self.db.session_scope() as session:
                if self.redis is not None:
                    bind_redis(session, self.redis)
                result = ingest.store_gateway_batch(session, items, self.settings)
        except Exception:   # noqa: BLE001 — the frames stay unanswered; terminals send them again
            log.exception("gateway batch of %d frames not stored; they are not acknowledged", len(items))
            self.stats.batch_failures += 1
            return False
        self.stats.batches += 1
        self.stats.records += result["accepted"]
        return True


# --- the directory of terminals ---------------------------------------------------------------------
class Directory:
    """Logins, logouts and learnt layouts, through the database in worker threads."""

    def __init__(self, db: Database, executor: ThreadPoolExecutor):
        self.db, self.executor = db, executor

    async def _run(self, function, *args):
        return await asyncio.get_running_loop().run_in_executor(self.executor, self._in_session, function, args)

    def _in_session(self, function, args):
        with self.db.session_scope() as session:
            return function(session, *args)

    async def login(self, frame: Frame) -> tuple[VehicleRef, Layout | None] | None:
        return await self._run(ingest.login_terminal, frame.header, frame.message, clock.now())

    async def logout(self, vehicle: VehicleRef) -> None:
        await self._run(ingest.record_logout, vehicle, clock.now())

    async def removal(self, vehicle: VehicleRef, removal: RemovalAlarm) -> bool:
        return await self._run(ingest.record_removal, vehicle, removal, Submitter(BatchSource.GATEWAY), clock.now())

    async def learn_layout(self, vehicle: VehicleRef, report: Report) -> None:
        await self._run(ingest.learn_layout, vehicle.id, report, None)


# --- connections -------------------------------------------------------------------------------------
class _Connection(asyncio.Protocol):
    """One terminal link (an asyncio Protocol: no task and no buffer copy per read).  Stream
    events are handled in order; while a login, logout or removal alarm is with the database,
    later events of this link wait in `backlog`."""

    def __init__(self, gateway: Gateway):
        self.gateway = gateway
        self.transport: asyncio.Transport | None = None
        self.peer = None
        self.last_read = 0.0
        self.decoder = FrameStreamDecoder()
        self.sessions: dict[str, VehicleRef] = {}       # VIN -> vehicle logged in on this link
        self.layouts: dict[str, Layout | None] = {}     # VIN -> layout known from its profile
        self.acks: dict = {}                            # frame header -> its ACK frame
        self.unauthenticated = 0
        self.garbage = 0
        self.closing = False
        self.busy = False
        self.backlog: list = []

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.peer = transport.get_extra_info("peername")
        self.last_read = asyncio.get_running_loop().time()
        self.gateway._opened(self)

    def data_received(self, data: bytes) -> None:
        self.last_read = asyncio.get_running_loop().time()
        events = self.decoder.feed(data)
        if self.busy:
            self.backlog += events
        else:
            self._process(events)
        self.gateway._throttle(self)

    def eof_received(self) -> bool:
        self.backlog += self.decoder.close()           # frames still recoverable at end of stream
        if not self.busy:
            self._process(self.backlog)
            self.backlog = []
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.gateway._closed(self)

    def _process(self, events: list) -> None:
        for index, event in enumerate(events):
            if self.closing:
                break
            waiting = self.gateway._handle(self, event)
            if waiting is not None:
                self.busy, self.backlog = True, list(events[index + 1:])
                task = asyncio.get_running_loop().create_task(waiting)
                task.add_done_callback(self._resume)
                return
        if self.closing:
            self.transport.close()

    def _resume(self, task: asyncio.Task) -> None:
        self.busy = False
        if not task.cancelled() and task.exception() is not None:
            log.error("login, logout or removal alarm of %s not stored: %s", self.peer, task.exception())
            self.closing = True
        events, self.backlog = self.backlog, []
        self._process(events)

    def send(self, data: bytes | None) -> bool:
        if data is None or self.transport is None or self.transport.is_closing():
            return False
        self.transport.write(data)
        return True


class Gateway:
    def __init__(self, db: Database, redis: Redis | None, settings: ObdSettings):
        self.settings = settings
        self.stats = GatewayStats()
        self._lookup_threads = ThreadPoolExecutor(4, thread_name_prefix="obd-login")
        self.directory = Directory(db, self._lookup_threads)
        self.batcher: Batcher | None = None
        self._db, self._redis = db, redis
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()
        self._connections: set[_Connection] = set()
        self._paused: set[_Connection] = set()

    async def start(self, host: str | None = None, port: int | None = None,
                    reuse_port: bool = False) -> asyncio.Server:
        self.batcher = Batcher(self._db, self._redis, self.settings, self.stats, self._resume_reading)
        self.batcher.start()
        self._spawn(self._close_idle())
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _Connection(self), host or self.settings.gateway_host,
            self.settings.gateway_port if port is None else port, backlog=4096, reuse_port=reuse_port or None)
        return self._server

    @property
    def port(self) -> int:
        return self._server.sockets[0].getsockname()[1]

    async def serve_forever(self, host: str | None = None, port: int | None = None,
                            reuse_port: bool = False) -> None:
        server = await self.start(host, port, reuse_port)
        log.info("HJ 1239 gateway listening on %s", ", ".join(str(s.getsockname()) for s in server.sockets))
        self._spawn(self._report_stats(self.settings.gateway_stats_s))
        try:
            await server.serve_forever()
        finally:
            await self.stop()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        if self.batcher is not None:
            await self.batcher.stop()
        for task in list(self._tasks):
            task.cancel()
        self._lookup_threads.shutdown(wait=True)

    def _spawn(self, coroutine) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _report_stats(self, every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            log.info("gateway: %s", self.stats.line())
            self.stats.ack_delay_ms_max = 0.0

    # --- connections ---
    def _opened(self, connection: _Connection) -> None:
        self._connections.add(connection)
        self.stats.connections += 1
        self.stats.open_connections += 1

    def _closed(self, connection: _Connection) -> None:
        if connection in self._connections:
            self._connections.discard(connection)
            self.stats.open_connections -= 1
        self._paused.discard(connection)

    def _throttle(self, connection: _Connection) -> None:
        """TCP backpressure: stop reading while the writer is too far behind."""
        if self.batcher.waiting >= MAX_PENDING_RECORDS and not connection.transport.is_closing():
            connection.transport.pause_reading()
            self._paused.add(connection)

    def _resume_reading(self) -> None:
        for connection in self._paused:
            if not connection.transport.is_closing():
                connection.transport.resume_reading()
        self._paused.clear()

    async def _close_idle(self) -> None:
        """One sweep every few seconds instead of a timer per read: a connection silent for the
        idle period is closed."""
        idle = self.settings.gateway_idle_s
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(5.0, idle / 4))
            cutoff = loop.time() - idle
            for connection in [c for c in self._connections if c.last_read < cutoff and not c.busy]:
                self.stats.idle_closed += 1
                self._closed(connection)
                connection.transport.abort()

    def _handle(self, connection: _Connection, event):
        """Deal with one stream event; returns what must be awaited (a login, logout or removal
        alarm, which go to the database) or None."""
        if isinstance(event, Garbage):
            self.stats.garbage_bytes += event.nbytes
            connection.garbage += event.nbytes
            connection.closing = connection.garbage > MAX_GARBAGE
            return None
        if isinstance(event, UndecodableFrame):
            self.stats.undecodable += 1
            log.info("undecodable frame from %s: %s", connection.peer, event.error)
            return None
        connection.garbage = 0
        self.stats.frames += 1
        frame, message = event.frame, event.frame.message
        if isinstance(message, Report):
            self._report(connection, frame)
        elif isinstance(message, Login):
            return self._login(connection, frame)
        elif isinstance(message, TimeCalibrationRequest):
            connection.send(encode_reply(frame, now=clock.now()))
        elif isinstance(message, Logout):
            return self._logout(connection, frame)
        elif isinstance(message, RemovalAlarm):
            return self._removal(connection, frame)
        elif isinstance(message, EncryptedDataUnit):
            log.info("encrypted data unit from %s (%s) left unread", connection.peer, frame.vin)
        return None

    def _logged_in(self, connection: _Connection, frame: Frame) -> VehicleRef | None:
        """The vehicle logged in on this link for the frame's VIN; a frame of another VIN is
        neither stored nor answered, and MAX_UNAUTHENTICATED of them close the link."""
        vehicle = connection.sessions.get(frame.vin)
        if vehicle is None:
            self.stats.unauthenticated += 1
            connection.unauthenticated += 1
            connection.closing = connection.unauthenticated >= MAX_UNAUTHENTICATED
        return vehicle

    async def _removal(self, connection: _Connection, frame: Frame) -> None:
        """0x06 terminal removal alarm (HJ 1239): answered once stored, like a report."""
        vehicle = self._logged_in(connection, frame)
        if vehicle is None:
            return
        await self.directory.removal(vehicle, frame.message)
        self.stats.removal_alarms += 1
        connection.send(encode_reply(frame, now=clock.now()))

    async def _login(self, connection: _Connection, frame: Frame) -> None:
        admitted = await self.directory.login(frame)
        if admitted is None:
            self.stats.refused_logins += 1
            log.warning("login refused for unregistered VIN %r from %s", frame.vin, connection.peer)
            connection.closing = True
            return
        vehicle, layout = admitted
        connection.sessions[frame.vin] = vehicle
        connection.layouts[frame.vin] = layout
        if layout is not None and connection.decoder.layout is None:
            connection.decoder.layout = layout
        self.stats.logins += 1
        connection.send(encode_reply(frame, now=clock.now()))

    async def _logout(self, connection: _Connection, frame: Frame) -> None:
        vehicle = connection.sessions.pop(frame.vin, None)
        if vehicle is None:
            return
        await self.directory.logout(vehicle)
        connection.send(encode_reply(frame, now=clock.now()))

    def _report(self, connection: _Connection, frame: Frame) -> None:
        vehicle = self._logged_in(connection, frame)
        if vehicle is None:
            return
        report = frame.message
        if (report.layout_source is LayoutSource.DETECTED and report.is_complete
                and connection.layouts.get(frame.vin) is not report.layout):
            connection.layouts[frame.vin] = report.layout
            self._spawn(self.directory.learn_layout(vehicle, report))
        reply = connection.acks.get(frame.header)
        if reply is None:                      # the ACK echoes the header: the same for every report
            reply = connection.acks[frame.header] = encode_reply(frame, now=clock.now())
        self.batcher.submit(vehicle, flatten_frame(frame), connection, reply)
