"""The HJ 1239 TCP gateway (`mobsrc gateway`): terminals connect, log in and report; their
records go to the ingest service the HTTP endpoints use (obd/ingest.py), in batches.

Per connection (asyncio streams, one task each):
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
- a connection silent for the idle period, or sending only garbage, is closed.

The Batcher writes one batch at a time from a worker thread (a batch when it holds
`gateway_batch_records` records or its oldest waited `gateway_batch_ms`), so batches commit in
order and the ACKs of one connection leave in the order its frames came.  While a batch is
being written the next one fills; past MAX_PENDING_RECORDS waiting records, connections stop
reading (TCP backpressure) until the writer catches up.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

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
    Report,
    TimeCalibrationRequest,
)
from mobsrc.obd.hj1239.records import flatten_frame
from mobsrc.obd.hj1239.stream import DecodedFrame, FrameStreamDecoder, UndecodableFrame
from mobsrc.obd.ingest import GatewayItem, VehicleRef
from mobsrc.obd.settings import ObdSettings

log = logging.getLogger(__name__)
READ_SIZE = 65536
MAX_UNAUTHENTICATED = 3          # data frames without login before the connection is closed
MAX_GARBAGE = 64 * 1024          # bytes of garbage without one good frame before it is closed
MAX_PENDING_RECORDS = 50_000     # records waiting for the writer before reading pauses


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
    batches: int = 0
    batch_failures: int = 0

    def line(self) -> str:
        return " ".join(f"{k}={v}" for k, v in vars(self).items())


# --- batches ---------------------------------------------------------------------------------------
@dataclass
class _Pending:
    items: list[GatewayItem] = field(default_factory=list)
    callbacks: list[Callable[[bool], None]] = field(default_factory=list)
    records: int = 0
    since: float = 0.0


class Batcher:
    """Collects the records of many connections; one writer thread stores them batch by batch."""

    def __init__(self, db: Database, redis: Redis | None, settings: ObdSettings, stats: GatewayStats,
                 executor: ThreadPoolExecutor):
        self.db, self.redis, self.settings, self.stats = db, redis, settings, stats
        self.executor = executor
        self._pending = _Pending()
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._timer: asyncio.TimerHandle | None = None
        self._in_flight = 0

    @property
    def waiting(self) -> int:
        return self._pending.records + self._in_flight

    def submit(self, vehicle: VehicleRef, records, on_durable: Callable[[bool], None]) -> None:
        pending = self._pending
        if not pending.items:
            pending.since = time.monotonic()
            delay = self.settings.gateway_batch_ms / 1000
            self._timer = asyncio.get_running_loop().call_later(delay, self._wake.set)
        pending.items.append(GatewayItem(vehicle, records))
        pending.callbacks.append(on_durable)
        pending.records += records.count
        if pending.records >= self.settings.gateway_batch_records:
            self._wake.set()
        if self.waiting >= MAX_PENDING_RECORDS:
            self._room.clear()

    async def room(self) -> None:
        """Wait while too many records wait for the writer (TCP backpressure)."""
        if not self._room.is_set():
            await self._room.wait()

    async def run(self) -> None:
        """The writer loop: store each batch in the worker thread, then answer its frames."""
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch = self._take()
            if not batch.items:
                continue
            self._in_flight = batch.records
            ok = await loop.run_in_executor(self.executor, self._store, batch.items)
            self._in_flight = 0
            for callback in batch.callbacks:
                callback(ok)
            if self.waiting < MAX_PENDING_RECORDS:
                self._room.set()
            if self._pending.records >= self.settings.gateway_batch_records:
                self._wake.set()

    def _take(self) -> _Pending:
        """The oldest frames up to `gateway_batch_records` records; the rest waits its turn."""
        pending, limit = self._pending, self.settings.gateway_batch_records
        if pending.records <= limit:
            if self._timer is not None:
                self._timer.cancel()
            self._pending = _Pending()
            return pending
        taken, count = 0, 0
        while taken < len(pending.items) and count < limit:
            count += pending.items[taken].records.count
            taken += 1
        batch = _Pending(pending.items[:taken], pending.callbacks[:taken], count, pending.since)
        del pending.items[:taken], pending.callbacks[:taken]
        pending.records -= count
        self._wake.set()
        return batch

    async def flush(self) -> None:
        """Store what is waiting now (at shutdown)."""
        if self._pending.items:
            batch, self._pending = self._pending, _Pending()
            ok = await asyncio.get_running_loop().run_in_executor(self.executor, self._store, batch.items)
            for callback in batch.callbacks:
                callback(ok)

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

    async def learn_layout(self, vehicle: VehicleRef, report: Report) -> None:
        await self._run(ingest.learn_layout, vehicle.id, report, None)


# --- connections -------------------------------------------------------------------------------------
class _Connection:
    __slots__ = ("peer", "writer", "decoder", "sessions", "layouts", "acks", "unauthenticated", "garbage",
                 "closing")

    def __init__(self, writer: asyncio.StreamWriter):
        self.peer = writer.get_extra_info("peername")
        self.writer = writer
        self.decoder = FrameStreamDecoder()
        self.sessions: dict[str, VehicleRef] = {}       # VIN -> vehicle logged in on this link
        self.layouts: dict[str, Layout | None] = {}     # VIN -> layout known from its profile
        self.acks: dict = {}                            # frame header -> its ACK frame
        self.unauthenticated = 0
        self.garbage = 0
        self.closing = False

    def send(self, data: bytes | None) -> bool:
        if data is None or self.writer.is_closing():
            return False
        self.writer.write(data)
        return True


class Gateway:
    def __init__(self, db: Database, redis: Redis | None, settings: ObdSettings):
        self.settings = settings
        self.stats = GatewayStats()
        self._writer_thread = ThreadPoolExecutor(1, thread_name_prefix="obd-batch")
        self._lookup_threads = ThreadPoolExecutor(4, thread_name_prefix="obd-login")
        self.directory = Directory(db, self._lookup_threads)
        self.batcher: Batcher | None = None
        self._db, self._redis = db, redis
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    async def start(self, host: str | None = None, port: int | None = None,
                    reuse_port: bool = False) -> asyncio.Server:
        self.batcher = Batcher(self._db, self._redis, self.settings, self.stats, self._writer_thread)
        self._spawn(self.batcher.run())
        self._server = await asyncio.start_server(
            self._serve, host or self.settings.gateway_host,
            self.settings.gateway_port if port is None else port, backlog=4096, reuse_port=reuse_port or None)
        return self._server

    @property
    def port(self) -> int:
        return self._server.sockets[0].getsockname()[1]

    async def serve_forever(self, host: str | None = None, port: int | None = None,
                            stats_every_s: float = 60.0, reuse_port: bool = False) -> None:
        server = await self.start(host, port, reuse_port)
        log.info("HJ 1239 gateway listening on %s", ", ".join(str(s.getsockname()) for s in server.sockets))
        self._spawn(self._report_stats(stats_every_s))
        try:
            await server.serve_forever()
        finally:
            await self.stop()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        if self.batcher is not None:
            await self.batcher.flush()
        for task in list(self._tasks):
            task.cancel()
        self._writer_thread.shutdown(wait=True)
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

    # --- one connection ---
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = _Connection(writer)
        self.stats.connections += 1
        self.stats.open_connections += 1
        try:
            await self._read_loop(reader, connection)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.stats.open_connections -= 1
            writer.close()

    async def _read_loop(self, reader: asyncio.StreamReader, connection: _Connection) -> None:
        idle = self.settings.gateway_idle_s
        while not connection.closing:
            try:
                async with asyncio.timeout(idle):
                    chunk = await reader.read(READ_SIZE)
            except TimeoutError:
                self.stats.idle_closed += 1
                return
            if not chunk:
                break
            for event in connection.decoder.feed(chunk):
                await self._handle(connection, event)
                if connection.closing:
                    return
            await self.batcher.room()
        for event in connection.decoder.close():     # frames still recoverable at end of stream
            await self._handle(connection, event)

    async def _handle(self, connection: _Connection, event) -> None:
        if isinstance(event, Garbage):
            self.stats.garbage_bytes += event.nbytes
            connection.garbage += event.nbytes
            connection.closing = connection.garbage > MAX_GARBAGE
            return
        if isinstance(event, UndecodableFrame):
            self.stats.undecodable += 1
            log.info("undecodable frame from %s: %s", connection.peer, event.error)
            return
        connection.garbage = 0
        self.stats.frames += 1
        await self._frame(connection, event)

    async def _frame(self, connection: _Connection, event: DecodedFrame) -> None:
        frame, message = event.frame, event.frame.message
        if isinstance(message, Report):
            self._report(connection, frame)
        elif isinstance(message, Login):
            await self._login(connection, frame)
        elif isinstance(message, TimeCalibrationRequest):
            connection.send(encode_reply(frame, now=clock.now()))
        elif isinstance(message, Logout):
            await self._logout(connection, frame)
        elif isinstance(message, EncryptedDataUnit):
            log.info("encrypted data unit from %s (%s) left unread", connection.peer, frame.vin)

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
        vehicle = connection.sessions.get(frame.vin)
        if vehicle is None:
            self.stats.unauthenticated += 1
            connection.unauthenticated += 1
            connection.closing = connection.unauthenticated >= MAX_UNAUTHENTICATED
            return
        report = frame.message
        if (report.layout_source is LayoutSource.DETECTED and report.is_complete
                and connection.layouts.get(frame.vin) is not report.layout):
            connection.layouts[frame.vin] = report.layout
            self._spawn(self.directory.learn_layout(vehicle, report))
        reply = connection.acks.get(frame.header)
        if reply is None:                      # the ACK echoes the header: the same for every report
            reply = connection.acks[frame.header] = encode_reply(frame, now=clock.now())

        def on_durable(ok: bool) -> None:
            if ok and connection.send(reply):
                self.stats.acks += 1
            elif not ok:
                self.stats.unacknowledged += 1

        self.batcher.submit(vehicle, flatten_frame(frame), on_durable)
