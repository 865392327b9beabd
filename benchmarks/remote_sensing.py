"""Roadside readings stored and judged through HTTP (real gunicorn) and an RQ worker: readings/s.

    python -m benchmarks remote_sensing [--batches 40] [--batch-size 1000] [--clients 2]

Against a private PostgreSQL + PostGIS and Redis: one remote-sensing station (4 lanes, calibrated),
1,000 registered diesel trucks among 5,000 plates on the road (20 % of passes match), readings
with ~10 % exceedances, ~1 % black smoke, ~5 % invalid (rain, wind). Three measurements:

1. ingest: batches POSTed by `--clients` threads to gunicorn (2 workers), no RQ worker running:
   readings/s stored (202 = durable in PostgreSQL, COPY + batch row + job queued);
2. judge: then one RQ worker (`python -m workers rules --burst`) judges every queued batch:
   readings/s judged (match, calibration, limits, verdict COPY, black-smoke violations,
   confirmations);
3. end to end: another set of batches posted while two RQ workers run, timed from the first
   POST until the last batch is processed.
Then the latency of the statistics and of one vehicle's history over everything stored.
"""
from __future__ import annotations

import argparse
import http.client
import os
import random
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from sqlalchemy import func, select

from benchmarks._stack import private_stack
from mobsrc import create_app
from mobsrc.config import Settings
from mobsrc.core import clock
from mobsrc.core.audit import act_as
from mobsrc.core.auth import service as accounts
from mobsrc.core.auth.principals import SYSTEM, Role
from mobsrc.devstack.servers import free_port
from mobsrc.registry import service as registry
from mobsrc.registry.identifiers import vin_check_digit
from mobsrc.registry.schemas import StationCreateSchema, VehicleCreateSchema
from mobsrc.remote_sensing import partitions, service
from mobsrc.remote_sensing.calibration import CheckKind
from mobsrc.remote_sensing.models import RsBatch, RsConfirmation, RsVerdict

ROOT = Path(__file__).resolve().parent.parent
PLATES = 5_000
REGISTERED = 1_000


def plate(n: int) -> str:
    return f"贵A{n:05d}"


def seed(app) -> tuple[dict, int]:
    """Station, calibration, trucks and keys; returns (station headers, admin key)."""
    with app.extensions["mobsrc"].db.session_scope() as session:
        act_as(session, SYSTEM)
        station = registry.create_station(session, StationCreateSchema().load(dict(
            code="BENCH-RS-1", kind="rs", name="基准遥感点", district_code="520111",
            location={"lon": 106.676, "lat": 26.499})))
        service.set_station_details(session, SYSTEM, station.id, dict(
            road="花溪大道", direction="northbound", lanes=4, mounting="vertical", device_make="bench",
            device_model="B-1", device_serial="B-1-1", slope_deg=0.5))
        today = datetime.now(UTC).date()
        service.record_calibration(session, SYSTEM, station.id, dict(
            kind=CheckKind.CALIBRATION, performed_on=today - timedelta(days=30), valid_from=today - timedelta(days=30),
            valid_to=today + timedelta(days=300), passed=True))
        firm = registry.create_enterprise(session, {"name": "基准运输公司", "uscc": "91520115MA6DKQ0X0T",
                                                    "district_code": "520115"})
        for n in range(REGISTERED):
            head, tail = "LZZ1BLSB", f"{n:08d}"
            registry.register_vehicle(session, SYSTEM, VehicleCreateSchema().load(dict(
                vin=head + vin_check_digit(head + "0" + tail) + tail, plate=plate(n * (PLATES // REGISTERED)),
                plate_colour="yellow", fuel="diesel", emission_standard="china_5", enterprise_id=firm.id)))
        user = accounts.create_user(session, "BENCH-RS-1", Role.RS_STATION, station_id=station.id)
        _, key = accounts.issue_api_key(session, user.id)
        today_local = clock.as_local(clock.now()).date()
        for table in partitions.TABLES:
            for day in partitions.days_wanted(session, table, today_local):
                partitions.ensure_day_partition(session, table, day)
    return {"X-API-Key": key, "Content-Type": "application/json"}, station.id


def make_batches(count: int, size: int, start: datetime, rng: random.Random) -> list[bytes]:
    step = timedelta(milliseconds=7)
    bodies = []
    for b in range(count):
        readings = []
        for i in range(size):
            n = b * size + i
            roll = rng.random()
            readings.append({
                "measured_at": (start + n * step).isoformat(), "lane": 1 + n % 4,
                "plate": plate(rng.randrange(PLATES)), "plate_colour": "yellow", "record_id": f"B{n}",
                "speed_kmh": rng.uniform(15, 80), "accel_ms2": rng.uniform(-0.3, 0.8),
                "opacity_pct": rng.uniform(31, 60) if roll < 0.10 else rng.uniform(0, 25),
                "ringelmann_grade": rng.choice([2, 3]) if roll > 0.99 else rng.choice([0, 0, 1]),
                "no_ppm": rng.uniform(100, 1400), "co2_pct": rng.uniform(2, 5), "wind_ms": rng.uniform(0, 4),
                "temp_c": 18.0, "rh_pct": 60.0, "rain": 0.05 < roll < 0.10,
                "evidence": [{"type": "image", "id": f"IMG-{n}", "sha256": f"{n:064x}", "role": "plate"}],
            })
        bodies.append(orjson.dumps({"readings": readings}))
    return bodies


def post_all(port: int, headers: dict, bodies: list[bytes], clients: int) -> list[int]:
    """POST every body from `clients` threads over keep-alive connections; returns accepted counts."""
    accepted: list[int] = []
    lock = threading.Lock()
    queue = list(enumerate(bodies))

    def run() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                if not queue:
                    break
                _, body = queue.pop()
            connection.request("POST", "/api/v1/remote-sensing/readings", body=body, headers=headers)
            response = connection.getresponse()
            answer = orjson.loads(response.read())
            assert response.status == 202, answer
            with lock:
                accepted.append(answer["accepted"])
        connection.close()

    threads = [threading.Thread(target=run) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return accepted


def start(command: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def wait_healthy(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/api/v1/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not become healthy")


def unprocessed(app) -> int:
    with app.extensions["mobsrc"].db.session_scope() as session:
        return session.scalar(select(func.count()).select_from(RsBatch).where(RsBatch.processed_at.is_(None)))


def timed_get(port: int, path: str, headers: dict, repeat: int = 20) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        assert response.status == 200, response.status
        times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks remote_sensing")
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=2)
    args = parser.parse_args(sys.argv[1:])
    rng = random.Random(7)
    with private_stack() as (postgres, redis_server):
        env = dict(os.environ, DATABASE_URL=postgres.url, REDIS_URL=redis_server.url)
        app = create_app(Settings(database_url=postgres.url, redis_url=redis_server.url))
        headers, station_id = seed(app)
        with app.extensions["mobsrc"].db.session_scope() as session:
            admin = accounts.create_user(session, "bench admin", Role.ADMIN)
            admin_key = accounts.issue_api_key(session, admin.id)[1]
        port = free_port()
        python = sys.executable
        api = start([python, "-m", "gunicorn", "wsgi:app", "--bind", f"127.0.0.1:{port}", "--workers", "2",
                     "--timeout", "120"], env)
        workers: list[subprocess.Popen] = []
        try:
            wait_healthy(port)
            total = args.batches * args.batch_size
            start_at = datetime.now(UTC) - timedelta(hours=4)
            first = make_batches(args.batches, args.batch_size, start_at, rng)
            started = time.perf_counter()
            accepted = sum(post_all(port, headers, first, args.clients))
            ingest_s = time.perf_counter() - started
            assert accepted == total, accepted
            print(f"ingest (HTTP 202, stored): {total:,} readings in {args.batches} batches of {args.batch_size}, "
                  f"{args.clients} clients, gunicorn 2 workers: {ingest_s:.1f} s = {total / ingest_s:,.0f} readings/s")

            started = time.perf_counter()
            subprocess.run([python, "-m", "workers", "rules", "--burst", "--no-scheduler"], cwd=ROOT, env=env,
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            judge_s = time.perf_counter() - started
            assert unprocessed(app) == 0
            print(f"judge (1 RQ worker, burst, process start included): {judge_s:.1f} s = "
                  f"{total / judge_s:,.0f} readings/s")

            second = make_batches(args.batches, args.batch_size, start_at + timedelta(hours=2), rng)
            workers = [start([python, "-m", "workers", "rules", "--no-scheduler"], env) for _ in range(2)]
            time.sleep(3)  # let the workers start before the clock runs
            started = time.perf_counter()
            post_all(port, headers, second, args.clients)
            while unprocessed(app):
                time.sleep(0.05)
            both_s = time.perf_counter() - started
            print(f"end to end (post + judge, 2 RQ workers running): {total:,} readings in {both_s:.1f} s = "
                  f"{total / both_s:,.0f} readings/s")
            report(app, port, admin_key, station_id)
        finally:
            for process in [*workers, api]:
                process.terminate()
            for process in [*workers, api]:
                process.wait(timeout=30)


def report(app, port: int, admin_key: str, station_id: int) -> None:
    with app.extensions["mobsrc"].db.session_scope() as session:
        outcomes = dict(session.execute(select(RsVerdict.outcome, func.count()).group_by(RsVerdict.outcome)).all())
        confirmations = session.scalar(select(func.count()).select_from(RsConfirmation))
        vehicle_id = session.scalar(select(RsVerdict.vehicle_id).where(RsVerdict.vehicle_id.is_not(None)).limit(1))
    print("verdicts:", {k.value: v for k, v in outcomes.items()}, f"confirmed high emitters: {confirmations}")
    headers = {"X-API-Key": admin_key}
    today = clock.as_local(clock.now()).date()
    window = f"day_from={today - timedelta(days=1)}&day_to={today}&station_id={station_id}"
    stats_ms = timed_get(port, f"/api/v1/remote-sensing/statistics/station-days?{window}", headers)
    history_ms = timed_get(port, f"/api/v1/remote-sensing/vehicles/{vehicle_id}/readings?limit=50", headers)
    print(f"station-day statistics over everything stored: p50 {stats_ms:.0f} ms; "
          f"one vehicle's history (newest 50): p50 {history_ms:.1f} ms")


if __name__ == "__main__":
    main()
