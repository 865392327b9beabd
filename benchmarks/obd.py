"""OBD ingestion throughput: records/s accepted, validated, deduplicated and durable through the
JSON endpoint, the raw-frame endpoint and the TCP gateway, beside the ceiling (binary COPY of the
same rows in batches of 10,000 into the same partitioned table) measured in the same run; and
the gateway holding many idle terminals while part of them report at 1 Hz.

    python -m benchmarks obd                  # everything (about 5 minutes)
    python benchmarks/obd.py --only idle --idle 10000 --reporting 5000 --seconds 60

A private PostgreSQL + Redis is started (benchmarks/_stack.py).  HTTP goes through real gunicorn
(2 sync workers, as `mobsrc up` runs it); the gateway is the `mobsrc gateway` process.  Every run
starts from empty record tables, and is checked afterwards: every record answered `accepted`,
the rows in PostgreSQL equal the records sent (nothing lost, nothing twice).  Clients run on the
same machine and are pre-encoded, so they cost little, but they do share the CPU.
"""
from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import resource
import select
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import msgspec  # noqa: E402
import psycopg  # noqa: E402

from benchmarks._stack import private_stack  # noqa: E402
from mobsrc.core import clock  # noqa: E402
from mobsrc.devstack.servers import free_port  # noqa: E402
from mobsrc.obd.hj1239.codec import encode_frame, make_frame  # noqa: E402
from mobsrc.obd.hj1239.messages import Layout, Login, RealtimeReport  # noqa: E402
from mobsrc.obd.hj1239.records import ReportKind, flatten_frame, stream_record  # noqa: E402
from mobsrc.obd.hj1239.simulate import TruckPlan, simulate_samples  # noqa: E402
from mobsrc.obd.rows import ENGINE_COLUMNS, STREAM_COLUMNS, STREAM_TYPES, stream_candidate  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


@dataclass
class Fleet:
    vins: list[str]
    ids: list[int]
    key: str


@dataclass
class Result:
    path: str
    batch: str
    records: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.records / self.seconds


# --- the stack -------------------------------------------------------------------------------------
def _env(pg_url: str, redis_url: str, **extra) -> dict:
    env = dict(os.environ, DATABASE_URL=pg_url, REDIS_URL=redis_url, PYTHONPATH=str(ROOT))
    env.update({k: str(v) for k, v in extra.items()})
    return env


def seed(pg_url: str, vehicles: int) -> Fleet:
    from mobsrc.core.audit import act_as
    from mobsrc.core.auth import service as accounts
    from mobsrc.core.auth.principals import SYSTEM, Role
    from mobsrc.core.db import Database
    from tests.integration import factories
    db = Database.from_url(pg_url)
    with db.session_scope() as session:
        act_as(session, SYSTEM)
        firm = factories.make_enterprise(session)
        trucks = [factories.make_vehicle(session, firm, vin=factories.valid_vin(5000 + i),
                                         plate=f"贵C{i:05d}") for i in range(vehicles)]
        user = accounts.create_user(session, "bench platform", Role.TERMINAL)
        _, key = accounts.issue_api_key(session, user.id)
        fleet = Fleet([t.vin for t in trucks], [t.id for t in trucks], key)
        from mobsrc.obd import service
        from mobsrc.obd.settings import ObdSettings
        service.maintain_partitions(session, ObdSettings())
    db.engine.dispose()
    return fleet


def reset(pg_url: str) -> None:
    with psycopg.connect(pg_url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("TRUNCATE obd_stream_records, obd_info_records, obd_batches, obd_vehicle_states,"
                     " obd_terminal_profiles")
        conn.execute("CHECKPOINT")


def count(pg_url: str) -> int:
    with psycopg.connect(pg_url.replace("+psycopg", "")) as conn:
        return conn.execute("SELECT count(*) FROM obd_stream_records").fetchone()[0]


class Process:
    def __init__(self, command: list[str], env: dict, log: Path):
        self.log = log
        self.popen = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                                      start_new_session=True)

    def stop(self) -> None:
        self.popen.terminate()
        try:
            self.popen.wait(20)
        except subprocess.TimeoutExpired:
            self.popen.kill()

    def cpu_s(self) -> float:
        """CPU seconds of the process and its children (gateway processes fork)."""
        pids = [self.popen.pid] + [int(p) for p in Path(f"/proc/{self.popen.pid}/task/{self.popen.pid}/children")
                                   .read_text().split()]
        total = 0.0
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.popen.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0


def wait_port(port: int, timeout: float = 60) -> None:
    import socket
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {port}")


# --- the data ----------------------------------------------------------------------------------------
def samples(fleet: Fleet, seconds: int, start) -> list[tuple[str, list]]:
    """(vin, 1 Hz engine samples) per vehicle, from the simulated truck."""
    out = []
    for i, vin in enumerate(fleet.vins):
        plan = TruckPlan(vin=vin, start=start, duration_s=seconds, cold_start=False, idle_first_s=0)
        out.append((vin, simulate_samples(plan, seed=i)))
    return out


def json_bodies(data, batch: int, limit: int) -> tuple[list[bytes], int]:
    records = []
    for vin, blocks in data:
        for block in blocks:
            record = stream_record(vin, ReportKind.REALTIME, Layout.HJ, block)
            records.append({"vin": vin, "collected_at": block.collected_at.isoformat(),
                            **{k: record.values[k] for k in ENGINE_COLUMNS},
                            "longitude": record.longitude, "latitude": record.latitude})
    records = records[:limit]
    encoder = msgspec.json.Encoder()
    return [encoder.encode({"records": records[i:i + batch]}) for i in range(0, len(records), batch)], len(records)


def report_frames(data, per_frame: int) -> list[tuple[str, bytes, int]]:
    """(vin, frame, samples) in sending order, interleaving vehicles."""
    per_vehicle = []
    for vin, blocks in data:
        frames = []
        for i in range(0, len(blocks), per_frame):
            group = tuple(blocks[i:i + per_frame])
            report = RealtimeReport(Layout.HJ, group, sent_at=group[-1].collected_at, serial=i // per_frame % 65536)
            frames.append((vin, encode_frame(make_frame(vin, report)), len(group)))
        per_vehicle.append(frames)
    return [f for column in zip(*per_vehicle) for f in column]


def frame_bodies(frames, records_per_body: int, limit: int) -> tuple[list[bytes], int]:
    bodies, current, size, total = [], [], 0, 0
    for _, frame, n in frames:
        if total + n > limit:
            break
        current.append(frame)
        size += n
        total += n
        if size >= records_per_body:
            bodies.append(b"".join(current))
            current, size = [], 0
    if current:
        bodies.append(b"".join(current))
    return bodies, total


def copy_rows(fleet: Fleet, data) -> list[tuple]:
    ids = dict(zip(fleet.vins, fleet.ids))
    frames = report_frames(data, 10)
    from mobsrc.obd.hj1239.codec import decode_frame
    now = clock.now()
    return [stream_candidate(ids[vin], r) + (now, 0) for vin, frame, _ in frames
            for r in flatten_frame(decode_frame(frame)).streams]


# --- the ceiling -----------------------------------------------------------------------------------
def ceiling(pg_url: str, rows: list[tuple]) -> Result:
    reset(pg_url)
    sql = f"COPY obd_stream_records ({', '.join(STREAM_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
    with psycopg.connect(pg_url.replace("+psycopg", "")) as conn:
        started = time.perf_counter()
        for i in range(0, len(rows), 10_000):
            with conn.cursor() as cursor, cursor.copy(sql) as copy:
                copy.set_types(STREAM_TYPES)
                for row in rows[i:i + 10_000]:
                    copy.write_row(row)
            conn.commit()
        elapsed = time.perf_counter() - started
    assert count(pg_url) == len(rows)
    return Result("ceiling: binary COPY", "10000", len(rows), elapsed)


# --- HTTP --------------------------------------------------------------------------------------------
_COUNTS = msgspec.json.Decoder(dict)


def http_run(port: int, path: str, content_type: str, key: str, bodies: list[bytes], clients: int) -> tuple[float, int]:
    """Post every body (`clients` connections at a time); returns (seconds, records accepted)."""
    accepted = [0] * clients
    failures = []

    def client(index: int) -> None:
        for body in bodies[index::clients]:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            conn.request("POST", path, body, {"Content-Type": content_type, "X-API-Key": key})
            response = conn.getresponse()
            data = response.read()
            conn.close()
            if response.status != 200:
                failures.append((response.status, data[:300]))
                return
            accepted[index] += _COUNTS.decode(data)["accepted"]

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"HTTP failures: {failures[:3]}")
    return time.perf_counter() - started, sum(accepted)


def http_path(pg_url, port, fleet, label, path, content_type, bodies, records, clients) -> Result:
    reset(pg_url)
    seconds, accepted = http_run(port, path, content_type, fleet.key, bodies, clients)
    stored = count(pg_url)
    assert accepted == records == stored, (label, accepted, records, stored)
    return Result(label, "", records, seconds)


# --- the gateway ---------------------------------------------------------------------------------------
async def _terminal(port: int, vin: str, frames: list[bytes]) -> int:
    """Log in, send every frame at once, wait for every ACK; returns the ACKs."""
    from mobsrc.obd.hj1239.framing import FrameSplitter, RawFrame
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    login = make_frame(vin, Login(clock.now(), 1, "89860000000000000001"))
    writer.write(encode_frame(login))
    splitter, answers = FrameSplitter(), 0
    while answers < 1:
        answers += sum(isinstance(e, RawFrame) for e in splitter.feed(await reader.read(4096)))
    writer.write(b"".join(frames))
    acks = 0
    while acks < len(frames):
        chunk = await reader.read(65536)
        if not chunk:
            break
        acks += sum(isinstance(e, RawFrame) for e in splitter.feed(chunk))
    writer.close()
    return acks


def gateway_run(port: int, frames) -> tuple[float, int]:
    by_vin: dict[str, list[bytes]] = {}
    for vin, frame, _ in frames:
        by_vin.setdefault(vin, []).append(frame)

    async def run():
        return await asyncio.gather(*(_terminal(port, vin, fs) for vin, fs in by_vin.items()))

    started = time.perf_counter()
    acks = asyncio.run(run())
    return time.perf_counter() - started, sum(acks)


def gateway_path(pg_url, redis_url, fleet, data, batch: int, per_frame: int, limit: int,
                 processes: int = 1) -> Result:
    reset(pg_url)
    frames = report_frames(data, per_frame)
    frames = frames[:max(1, limit // per_frame)]
    records = sum(n for _, _, n in frames)
    port = free_port()
    env = _env(pg_url, redis_url, MOBSRC_OBD_GATEWAY_PORT=port, MOBSRC_OBD_GATEWAY_BATCH_RECORDS=batch)
    server = Process([PYTHON, "-m", "mobsrc.cli", "gateway", "--processes", str(processes)], env,
                     ROOT / "var" / f"bench-gateway-{port}.log")
    try:
        wait_port(port)
        time.sleep(1 if processes > 1 else 0)
        cpu_before = server.cpu_s()
        seconds, acks = gateway_run(port, frames)
        cpu = server.cpu_s() - cpu_before
    finally:
        server.stop()
    print(f"  gateway ({processes} process(es)), batch {batch}, {per_frame}/frame: {cpu:.2f} s CPU for {records:,} "
          f"records = {cpu / records * 1e6:.1f} us/record, over {seconds:.2f} s")
    stored = count(pg_url)
    assert acks == len(frames) and stored == records, (acks, len(frames), stored, records)
    label = f"TCP gateway, {per_frame} sample(s) per frame" + (f", {processes} processes" if processes > 1 else "")
    return Result(label, f"{batch}", records, seconds)


# --- idle terminals -----------------------------------------------------------------------------------
def idle_client(port: int, vins: list[str], reporting: int, seconds: int, out) -> None:
    """Connect and log in every VIN, then let `reporting` of them send one 1-sample frame per
    second for `seconds` while the others stay silent; writes what happened to `out`."""
    from mobsrc.obd.hj1239.framing import FrameSplitter, RawFrame
    from mobsrc.obd.hj1239.messages import EngineStream
    start = clock.now().replace(microsecond=0) - timedelta(seconds=seconds + 60)

    async def connect(vin: str, gate: asyncio.Semaphore):
        async with gate:
            for attempt in range(30):
                try:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    break
                except OSError:
                    await asyncio.sleep(0.2 + attempt * 0.2)
            else:
                raise OSError(f"{vin}: cannot connect")
            splitter = FrameSplitter()
            writer.write(encode_frame(make_frame(vin, Login(clock.now(), 1, "89860000000000000001"))))
            while True:
                chunk = await asyncio.wait_for(reader.read(4096), 60)
                if not chunk:
                    raise OSError(f"{vin}: login refused")
                if any(isinstance(e, RawFrame) for e in splitter.feed(chunk)):
                    return reader, writer, splitter

    encoded: dict[str, list[bytes]] = {}

    async def report(vin: str, link, sent: list, delays: list) -> int:
        """Send a frame each second; read ACKs as they come (they come in order: the delay of
        each is measured from its frame's sending)."""
        reader, writer, splitter = link
        loop = asyncio.get_running_loop()
        sent_at: list[float] = []

        async def read_acks() -> int:
            acks = 0
            while acks < seconds:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                for event in splitter.feed(chunk):
                    if isinstance(event, RawFrame):
                        delays.append(loop.time() - sent_at[acks])
                        acks += 1
            return acks

        reading = loop.create_task(read_acks())
        began = loop.time()
        for t, frame in enumerate(encoded[vin]):
            sent_at.append(loop.time())
            writer.write(frame)
            sent[0] += 1
            await asyncio.sleep(max(0.0, began + t + 1 - loop.time()))
        try:
            return await asyncio.wait_for(reading, 120)
        except TimeoutError:
            return len(delays)

    template = [EngineStream.from_values(start + timedelta(seconds=t), None, vehicle_speed=40.0,
                                         engine_speed=1400.0, longitude=106.7, latitude=26.5) for t in range(seconds)]

    def reports(vin: str) -> list[bytes]:
        """The 1 Hz frames of one terminal, encoded before the clock starts."""
        return [encode_frame(make_frame(vin, RealtimeReport(Layout.HJ, (block,), sent_at=block.collected_at,
                                                            serial=t))) for t, block in enumerate(template)]

    async def main():
        gate = asyncio.Semaphore(500)
        links = await asyncio.gather(*(connect(vin, gate) for vin in vins), return_exceptions=True)
        held = [(vin, link) for vin, link in zip(vins, links) if not isinstance(link, BaseException)]
        out.write(f"connected {len(held)}\n")
        out.flush()
        encoded.update({vin: reports(vin) for vin, _ in held[:reporting]})
        sent, delays = [0], []
        acks = await asyncio.gather(*(report(vin, link, sent, delays) for vin, link in held[:reporting]))
        delays.sort()
        pick = [round(1000 * delays[min(len(delays) - 1, int(q * len(delays)))]) for q in (0.5, 0.99)] if delays else [0, 0]
        out.write(f"done {sent[0]} {sum(acks)} {pick[0]} {pick[1]} {round(1000 * max(delays, default=0))}\n")
        out.flush()
        for _, (_, writer, _) in held:
            writer.close()

    asyncio.run(main())


def idle_path(pg_url: str, redis_url: str, terminals: int, reporting: int, seconds: int) -> dict:
    """Register `terminals` vehicles, start the gateway, let the client hold them all."""
    from mobsrc.core.db import Database
    reset(pg_url)
    db = Database.from_url(pg_url)
    with psycopg.connect(pg_url.replace("+psycopg", ""), autocommit=True) as conn:
        existing = conn.execute("SELECT count(*) FROM vehicles").fetchone()[0]
        firm = conn.execute("SELECT id FROM enterprises LIMIT 1").fetchone()[0]
        from mobsrc.registry.identifiers import vin_check_digit
        vins = []
        with conn.cursor() as cursor, cursor.copy("COPY vehicles (vin, plate, plate_colour, fuel, emission_standard,"
                                                  " enterprise_id) FROM STDIN") as copy:
            for n in range(existing, existing + terminals):
                head, tail = "LZZ1BLSB", f"{900000 + n:08d}"
                vin = head + vin_check_digit(head + "0" + tail) + tail
                vins.append(vin)
                copy.write_row((vin, f"贵D{n:05d}", "yellow", "diesel", "china_6", firm))
    db.engine.dispose()
    port = free_port()
    env = _env(pg_url, redis_url, MOBSRC_OBD_GATEWAY_PORT=port, MOBSRC_OBD_GATEWAY_IDLE_S=seconds + 300,
               MOBSRC_OBD_GATEWAY_STATS_S=10)
    server = Process([PYTHON, "-m", "mobsrc.cli", "gateway"], env, ROOT / "var" / f"bench-gateway-{port}.log")
    peak = 0.0
    try:
        wait_port(port)
        baseline = server.rss_mb()
        read, write = os.pipe()
        child = os.fork()
        if child == 0:
            os.close(read)
            with os.fdopen(write, "w") as out:
                idle_client(port, vins, reporting, seconds, out)
            os._exit(0)
        os.close(write)
        said, began = {}, time.monotonic()
        with os.fdopen(read) as lines:
            while "done" not in said and time.monotonic() - began < seconds + 900:
                peak = max(peak, server.rss_mb())
                if select.select([lines], [], [], 1.0)[0]:
                    line = lines.readline()
                    if not line:
                        break
                    word, *numbers = line.split()
                    said[word] = [int(n) for n in numbers]
        os.waitpid(child, 0)
        connected = said.get("connected", [0])[0]
        sent, acks, p50, p99, worst = said.get("done", [0, 0, 0, 0, 0])
    finally:
        server.stop()
    stored = count(pg_url)
    return {"terminals": terminals, "reporting": reporting, "seconds": seconds, "connected": connected,
            "frames_sent": sent, "acks": acks, "stored": stored, "rss_idle_mb": baseline, "rss_peak_mb": peak,
            "ack_ms": (p50, p99, worst)}


# --- main -----------------------------------------------------------------------------------------------
def _print(results: list[Result], ceiling_rate: float) -> None:
    print(f"\n{'path':44s} {'batch':>6s} {'records':>9s} {'seconds':>8s} {'records/s':>11s} {'of ceiling':>10s}")
    for r in results:
        print(f"{r.path:44s} {r.batch:>6s} {r.records:>9,d} {r.seconds:>8.2f} {r.rate:>11,.0f} "
              f"{r.rate / ceiling_rate:>9.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000, help="records per large-batch run")
    parser.add_argument("--vehicles", type=int, default=100)
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP connections")
    parser.add_argument("--only", choices=["throughput", "idle"], default=None)
    parser.add_argument("--paths", default="json,frames,gateway", type=lambda v: v.split(","),
                        help="throughput paths to measure")
    parser.add_argument("--gateway-processes", type=int, default=2,
                        help="also measure the gateway with this many processes (SO_REUSEPORT)")
    parser.add_argument("--idle", type=int, default=10_000, help="terminals held by the gateway")
    parser.add_argument("--reporting", type=int, default=5_000, help="of them, reporting at 1 Hz")
    parser.add_argument("--seconds", type=int, default=60, help="how long they report")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print(f"open files: soft {soft} -> {hard}; {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.1f}")
    with private_stack() as (postgres, redis):
        pg_url, redis_url = postgres.url, redis.url
        fleet = seed(pg_url, args.vehicles)
        if args.only in (None, "throughput"):
            throughput(pg_url, redis_url, fleet, args)
        if args.only in (None, "idle"):
            result = idle_path(pg_url, redis_url, args.idle, args.reporting, args.seconds)
            print(f"\ngateway holding {result['connected']} terminals, {result['reporting']} reporting at 1 Hz "
                  f"for {result['seconds']} s: {result['frames_sent']} frames sent, {result['acks']} acknowledged, "
                  f"{result['stored']} records stored; ACK delay p50 {result['ack_ms'][0]} ms, p99 "
                  f"{result['ack_ms'][1]} ms, max {result['ack_ms'][2]} ms; gateway RSS {result['rss_idle_mb']:.0f} MiB "
                  f"before the terminals, {result['rss_peak_mb']:.0f} MiB peak")


def throughput(pg_url: str, redis_url: str, fleet: Fleet, args) -> None:
    seconds = -(-args.records // len(fleet.vins))
    data = samples(fleet, seconds, clock.now().replace(microsecond=0) - timedelta(days=1, seconds=seconds))
    total = min(args.records, seconds * len(fleet.vins))
    rows = copy_rows(fleet, data)[:total]
    first = ceiling(pg_url, rows)
    results: list[Result] = []
    if {"json", "frames"} & set(args.paths):
        results += http_paths(pg_url, redis_url, fleet, data, total, args)
    if "gateway" in args.paths:
        for batch, limit in ((1000, total), (100, total // 2), (1, min(20_000, total))):
            results.append(gateway_path(pg_url, redis_url, fleet, data, batch, 10, limit))
        results.append(gateway_path(pg_url, redis_url, fleet, data, 1000, 1, total // 4))
        if args.gateway_processes > 1:
            results.append(gateway_path(pg_url, redis_url, fleet, data, 1000, 10, total, args.gateway_processes))
    last = ceiling(pg_url, rows)
    rate = (first.rate + last.rate) / 2
    print(f"\nceiling (binary COPY of the same rows, batches of 10,000, {len(rows):,} rows): "
          f"{first.rate:,.0f} records/s at the start, {last.rate:,.0f} at the end; ratios use the mean {rate:,.0f}")
    _print(results, rate)


def http_paths(pg_url, redis_url, fleet, data, total, args) -> list[Result]:
    results = []
    port = free_port()
    api = Process([PYTHON, "-m", "gunicorn", "wsgi:app", "--bind", f"127.0.0.1:{port}", "--workers", "2",
                   "--timeout", "300"], _env(pg_url, redis_url), ROOT / "var" / f"bench-gunicorn-{port}.log")
    try:
        wait_port(port)
        if "json" in args.paths:
            for batch, limit in ((1000, total), (100, total // 2), (1, min(4000, total))):
                bodies, n = json_bodies(data, batch, limit)
                results.append(http_path(pg_url, port, fleet, "HTTP JSON (gunicorn, 2 sync workers)",
                                         "/api/v1/obd/records", "application/json", bodies, n, args.clients))
                results[-1].batch = str(batch)
        if "frames" in args.paths:
            frames10 = report_frames(data, 10)
            for batch, limit in ((1000, total), (100, total // 2)):
                bodies, n = frame_bodies(frames10, batch, limit)
                results.append(http_path(pg_url, port, fleet, "HTTP raw frames (10 samples/frame)",
                                         "/api/v1/obd/frames", "application/octet-stream", bodies, n, args.clients))
                results[-1].batch = str(batch)
            frames1 = report_frames([(vin, blocks[:40]) for vin, blocks in data], 1)
            bodies, n = frame_bodies(frames1, 1, min(4000, total))
            results.append(http_path(pg_url, port, fleet, "HTTP raw frames (1 sample/frame)", "/api/v1/obd/frames",
                                     "application/octet-stream", bodies, n, args.clients))
            results[-1].batch = "1"
    finally:
        api.stop()
    return results


if __name__ == "__main__":
    main()
