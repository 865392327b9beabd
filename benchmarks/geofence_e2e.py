"""End-to-end positions/s: HTTP (gunicorn) -> PostgreSQL -> Redis -> geofence worker(s).

    .venv/bin/python -m benchmarks geofence_e2e
    .venv/bin/python -m benchmarks.geofence_e2e --machines 2000 --rounds 40 --batch 500 --clients 4 --workers 2 \
        [--rate 2000]

A private PostgreSQL + PostGIS and Redis; the API under gunicorn and `python -m workers geofence`
as separate processes, as deployed (everything shares this machine's cores, the load generator
included). The ten Guiyang districts (real boundaries, GCJ-02) are the zones, so every fix lies
in some zone and every machine carries a visit state: the heavy case. Machines random-walk at
<= 25 km/h from random starts in Guiyang; half are China II (barred), half China IV. Each
round every machine reports one fix (30 s apart in fix time); batches of `--batch` fixes are
posted by `--clients` threads while the worker(s) geofence them.

A warm-up (`--warmup` rounds, every machine entering a zone at once: the burst of visits and
violations) is posted and drained first; then the measured rounds, unpaced (the most the
clients can push) or at `--rate` offered positions/s. Reported: accepted positions/s over
HTTP; positions/s geofenced; the lag from a batch's arrival to its geofencing (p50/p95/max);
the queue depth while loading; and the drain time after the last POST (the worker keeps up
when it is near zero).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import numpy as np
from rq import Queue
from sqlalchemy import text

from benchmarks._stack import private_stack
from mobsrc import create_app
from mobsrc.config import Settings
from mobsrc.core import clock
from mobsrc.core.audit import act_as
from mobsrc.core.auth import service as accounts
from mobsrc.core.auth.principals import SYSTEM, Role
from mobsrc.core.geo.districts import GUIYANG_DISTRICTS
from mobsrc.devstack.servers import free_port, port_open
from mobsrc.registry import service as registry
from mobsrc.registry.schemas import MachineCreateSchema
from mobsrc.zones import service as zones

ROOT = Path(__file__).resolve().parent.parent
DISTRICTS = GUIYANG_DISTRICTS
AREA = (106.45, 26.40, 106.95, 26.85)  # central Guiyang, WGS-84
STEP_DEG = 0.0018  # <= ~200 m per 30 s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machines", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=6, help="rounds posted and drained before measuring")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--api-workers", type=int, default=2)
    parser.add_argument("--rate", type=float, default=0,
                        help="offered positions/s in the measured rounds (0: as fast as the clients can post)")
    args = parser.parse_args()
    with private_stack() as (postgres, redis_server):
        settings = Settings(database_url=postgres.url, redis_url=redis_server.url)
        app = create_app(settings)
        state = app.extensions["mobsrc"]
        print(f"setup: {args.machines} machines, 10 district zones ...", flush=True)
        key, codes = _setup(state.db, args.machines)
        env = {**os.environ, "DATABASE_URL": postgres.url, "REDIS_URL": redis_server.url}
        processes = _start(env, args)
        try:
            _run(args, state, key, codes, processes["url"])
        finally:
            for process in processes["all"]:
                process.send_signal(2)
            for process in processes["all"]:
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()


def _setup(db, machines: int) -> tuple[str, list[str]]:
    start = clock.now() - timedelta(days=2)
    with db.session_scope() as session:
        act_as(session, SYSTEM)
        firm = registry.create_enterprise(session, {"name": "基准测试机械有限公司", "uscc": "91520115MA6DKQ0X0T",
                                                    "district_code": "520115"})
        codes = []
        for i in range(machines):
            stage = "china_2" if i % 2 else "china_4"
            draft = MachineCreateSchema().load(dict(
                machine_type="excavator", brand="三一", model="SY215C", engine_manufacturer="五十铃",
                engine_model="4HK1", engine_serial=f"BENCH-{i:07d}", rated_power_kw="128.5", fuel="diesel",
                emission_stage=stage, manufactured_on="2016-05-01", enterprise_id=firm.id,
                terminal_id=f"TB{i:07d}" if stage == "china_4" else None))
            codes.append(registry.register_machine(session, SYSTEM, draft, "520100").code)
        user = accounts.create_user(session, "bench terminal platform", Role.TERMINAL)
        _, key = accounts.issue_api_key(session, user.id)
        original = clock.now
        clock.now = lambda: start  # the zones exist since before the simulated fixes
        try:
            zones.import_zones(session, SYSTEM, {"area": json.loads(DISTRICTS.read_text("utf-8")), "crs": "gcj02",
                                                 "name_property": "name", "district_property": "adcode"})
        finally:
            clock.now = original
    return key, codes


def _start(env: dict, args) -> dict:
    port = free_port()
    api = subprocess.Popen([sys.executable, "-m", "gunicorn", "wsgi:app", "--bind", f"127.0.0.1:{port}",
                            "--workers", str(args.api_workers), "--timeout", "120", "--log-level", "warning"],
                           cwd=ROOT, env=env)
    workers = [subprocess.Popen([sys.executable, "-m", "workers", "geofence", "--no-scheduler"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for _ in range(args.workers)]
    deadline = time.monotonic() + 30
    while not port_open(port):
        if time.monotonic() > deadline:
            raise RuntimeError("the API did not start")
        time.sleep(0.2)
    time.sleep(2)  # workers import the app
    return {"url": f"http://127.0.0.1:{port}", "all": [api, *workers]}


def _bodies(args, codes: list[str]):
    """Batches of fixes, round by round, in fix-time order."""
    rng = np.random.default_rng(20261129)
    lons = rng.uniform(AREA[0], AREA[2], len(codes))
    lats = rng.uniform(AREA[1], AREA[3], len(codes))
    t0 = clock.now() - timedelta(days=1)
    for r in range(args.warmup + args.rounds):
        lons = np.clip(lons + rng.uniform(-STEP_DEG, STEP_DEG, len(codes)) * 0.7, AREA[0], AREA[2])
        lats = np.clip(lats + rng.uniform(-STEP_DEG, STEP_DEG, len(codes)) * 0.7, AREA[1], AREA[3])
        at = (t0 + timedelta(seconds=30 * r)).isoformat()
        items = [{"machine_code": c, "fix_time": at, "lon": round(x, 6), "lat": round(y, 6), "hdop": 0.9,
                  "satellites": 11, "speed_kmh": 12.0, "engine_on": True, "engine_rpm": 1500.0}
                 for c, x, y in zip(codes, lons.tolist(), lats.tolist())]
        for start in range(0, len(items), args.batch):
            yield json.dumps({"positions": items[start:start + args.batch]}).encode()


def _post(url: str, key: str, body: bytes) -> int:
    request = urllib.request.Request(f"{url}/api/v1/positions", data=body, method="POST",
                                     headers={"X-API-Key": key, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        answer = json.loads(response.read())
    assert response.status == 202, answer
    return answer["accepted"]


def _run(args, state, key: str, codes: list[str], url: str) -> None:
    bodies = list(_bodies(args, codes))
    per_round = -(-args.machines // args.batch)
    warm, measured = bodies[:args.warmup * per_round], bodies[args.warmup * per_round:]
    started = time.perf_counter()
    _post_all(args, url, key, warm)
    _wait_processed(state.db, len(warm))
    warm_s = time.perf_counter() - started
    with state.db.engine.connect() as conn:
        visits, violations = conn.execute(text("SELECT (SELECT count(*) FROM zone_visits), "
                                               "(SELECT count(*) FROM violations)")).one()
        first_measured = conn.execute(text("SELECT max(id) FROM position_batches")).scalar() + 1
    print(f"warm-up: {args.warmup} rounds ({len(warm)} batches) posted and geofenced in {warm_s:.1f} s, opening "
          f"{visits:,} visits and {violations:,} violations (every machine enters a zone at once: the burst case)")
    queue = Queue("geofence", connection=state.redis)
    depths, loading = [], threading.Event()

    def sample_depth():
        while not loading.is_set():
            depths.append(queue.count)
            time.sleep(0.25)

    threading.Thread(target=sample_depth, daemon=True).start()
    started = time.perf_counter()
    accepted = _post_all(args, url, key, measured, args.rate)
    posted = time.perf_counter() - started
    loading.set()
    total = args.machines * args.rounds
    assert accepted == total, (accepted, total)
    drained = _wait_processed(state.db, len(bodies))
    _report(args, state.db, total, len(measured), posted, drained, depths, first_measured)


def _post_all(args, url: str, key: str, bodies: list[bytes], rate: float = 0) -> int:
    """Post every body; with `rate`, body i is sent no earlier than i * batch / rate seconds in."""
    start = time.perf_counter()

    def send(numbered):
        i, body = numbered
        if rate:
            time.sleep(max(0.0, start + i * args.batch / rate - time.perf_counter()))
        return _post(url, key, body)

    with ThreadPoolExecutor(args.clients) as pool:
        return sum(pool.map(send, enumerate(bodies)))


def _wait_processed(db, batches: int) -> float:
    started = time.perf_counter()
    while True:
        with db.engine.connect() as conn:
            done = conn.execute(text("SELECT count(*) FROM position_batches WHERE processed")).scalar()
        if done >= batches:
            return time.perf_counter() - started
        time.sleep(0.2)


def _report(args, db, total, batches, posted, drained, depths, first_measured) -> None:
    window = {"first": first_measured}
    with db.engine.connect() as conn:
        lag = conn.execute(text(
            "SELECT percentile_cont(ARRAY[0.5, 0.95, 1.0]) WITHIN GROUP (ORDER BY extract(epoch FROM "
            "processed_at - received_at)) FROM position_batches WHERE id >= :first"), window).scalar()
        span = conn.execute(text("SELECT extract(epoch FROM max(processed_at) - min(received_at)) "
                                 "FROM position_batches WHERE id >= :first"), window).scalar()
        visits, violations = conn.execute(text("SELECT (SELECT count(*) FROM zone_visits), "
                                               "(SELECT count(*) FROM violations)")).one()
    print(f"measured: machines {args.machines}, rounds {args.rounds}, batch {args.batch} fixes, {args.clients} HTTP "
          f"clients, {args.api_workers} gunicorn workers, {args.workers} geofence worker(s), {os.cpu_count()} cores "
          f"shared by all (PostgreSQL and the load generator too)")
    offered = f"offered {args.rate:,.0f}/s, " if args.rate else "unpaced, "
    print(f"ingest over HTTP     {total / posted:>10,.0f} positions/s  ({offered}{batches} batches in {posted:.1f} s, "
          f"{batches / posted:.1f} batches/s; durable before each 202)")
    print(f"geofenced end to end {total / float(span):>10,.0f} positions/s  (first arrival to last batch processed, "
          f"{float(span):.1f} s)")
    print(f"lag arrival->geofenced p50 {lag[0] * 1000:.0f} ms, p95 {lag[1] * 1000:.0f} ms, max {lag[2] * 1000:.0f} ms; "
          f"queue depth while loading max {max(depths, default=0)}, mean {np.mean(depths or [0]):.1f}")
    print(f"drain after the last POST: {drained:.2f} s  -> "
          f"{'the worker keeps up' if drained < 2 else 'the worker falls behind at this rate'}")
    print(f"outcome so far: {visits:,} visits, {violations:,} violations")


if __name__ == "__main__":
    main()
