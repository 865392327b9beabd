"""Police queries on 5,000,000 violations, through the HTTP API: p50 / p99 latency.

    python -m benchmarks violations        # 5 M rows, ~10 minutes, leaves nothing behind
    python -m benchmarks.violations --rows 1000000 --requests 300 --concurrency 1 4

A private PostgreSQL + PostGIS and Redis (benchmarks/_stack.py, removed afterwards) are migrated,
seeded in SQL (benchmarks/_violations_seed.py: Guiyang hotspots, 1 M plates with repeat
offenders, 50 k machines, two years), then served by real gunicorn (gthread workers, so the
client's connections stay open) and queried by keep-alive HTTP clients (one per thread) as a
police officer. Every request does what production does: authenticate the key, run the query,
write the access-log entry, commit, serialise the page.

Scenarios (goal: p99 < 50 ms each on a 2-core machine):
- plate lookup: GET /violations?plate=… (half repeat offenders with ~90 violations);
- time range + kind: GET /violations?kind=…&occurred_from=…&occurred_to=… (7 days anywhere in
  two years);
- area + time: POST /violations/search, a district polygon as GeoJSON in GCJ-02 (as a web map
  draws it) + a 30-day window anywhere in two years;
and, for information: a small bbox (0.5-10 km) + 30 days (the hardest area case), the
district-code filter (the precomputed district), the subject-status lookup, dashboard
statistics of 30 and 366 days (from the daily counts; and one enterprise's year, which reads the
register), and a CSV export of one day. The plans of two area queries are printed
with EXPLAIN (ANALYZE, BUFFERS). `--area-designs` also times the area query in PostgreSQL alone
under three designs (see compare_area_designs).

The `load` column is the machine's 1-minute load average after each scenario (this benchmark
itself adds about 1-2): latencies measured while other work shares the two cores are not the
figures of an idle server.

`--database-url` measures an existing, already seeded database instead (nothing is seeded or
removed); the API is still started on a free port.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from shapely.geometry import box, mapping
from sqlalchemy import create_engine, text

from benchmarks._violations_seed import MACHINES, PLATES, REPEAT_OFFENDERS, seed_violations
from mobsrc.core.clock import LOCAL_TZ as LOCAL
from mobsrc.core.geo.crs import Crs, from_wgs84
from mobsrc.core.geo.districts import load_district_boundaries
from mobsrc.devstack.servers import free_port, port_open

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 29, tzinfo=UTC)
KINDS = ["black_smoke", "rs_high_emitter", "obd_alarm_unresolved", "failed_inspection_driving", "im_case_overdue",
         "spot_check_failure", "nrmm_in_no_use_zone"]


# --- request makers ---------------------------------------------------------------------------------

def plate_of(v: int) -> str:
    return "贵" + "ABCDEFGHJK"[v // 100_000] + f"{v % 100_000:05d}"


def _window(rng: random.Random, days: int) -> dict:
    end = NOW - timedelta(days=rng.uniform(0, 730 - days))
    return {"occurred_from": (end - timedelta(days=days)).isoformat(), "occurred_to": end.isoformat()}


def _get(path: str, query: dict) -> tuple[str, str, bytes | None]:
    return "GET", f"/api/v1{path}?{urllib.parse.urlencode(query, doseq=True)}", None


def plate_lookup(rng):
    v = rng.randrange(REPEAT_OFFENDERS) if rng.random() < 0.5 else rng.randrange(PLATES)
    return _get("/violations", {"plate": plate_of(v)})


def subject_status(rng):
    if rng.random() < 0.1:
        return _get("/subject-status", {"machine_code": f"520115EX{rng.randrange(MACHINES):06d}C"})
    v = rng.randrange(REPEAT_OFFENDERS) if rng.random() < 0.5 else rng.randrange(PLATES)
    return _get("/subject-status", {"plate": plate_of(v)})


def kind_page(rng):
    return _get("/violations", {"kind": rng.choice(KINDS), **_window(rng, 7)})


def _gcj02_feature(geometry) -> dict:
    def convert(coords):
        lons, lats = from_wgs84([c[0] for c in coords], [c[1] for c in coords], Crs.GCJ02)
        return [[round(float(x), 7), round(float(y), 7)] for x, y in zip(lons, lats)]
    polygons = mapping(geometry)["coordinates"]
    return {"type": "Feature", "properties": {},
            "geometry": {"type": "MultiPolygon", "coordinates": [[convert(ring) for ring in p] for p in polygons]}}


DISTRICT_FEATURES = [_gcj02_feature(d.geometry) for d in load_district_boundaries()]
DISTRICT_CODES = [d.code for d in load_district_boundaries()]


def district_area(rng):
    body = {"area": {"geojson": rng.choice(DISTRICT_FEATURES)}, "crs": "gcj02", **_window(rng, 30)}
    return "POST", "/api/v1/violations/search", json.dumps(body).encode()


def district_code(rng):
    return _get("/violations", {"district_code": rng.choice(DISTRICT_CODES), **_window(rng, 30)})


def small_bbox(rng):
    lon, lat = rng.uniform(106.55, 106.85), rng.uniform(26.45, 26.75)
    size = rng.choice([0.005, 0.01, 0.02, 0.05, 0.1])
    return _get("/violations", {"bbox": f"{lon},{lat},{lon + size},{lat + size}", **_window(rng, 30)})


def _whole_days(rng, days: int) -> dict:
    end = (NOW - timedelta(days=rng.randrange(0, 730 - days))).astimezone(LOCAL).replace(hour=0, minute=0, second=0)
    return {"occurred_from": (end - timedelta(days=days)).isoformat(), "occurred_to": end.isoformat()}


def statistics_30_days(rng):
    return _get("/violations/statistics", _whole_days(rng, 30))


def statistics_year(rng):
    return _get("/violations/statistics", _whole_days(rng, 366))


def statistics_year_enterprise(rng):
    return _get("/violations/statistics", {"enterprise_id": rng.randrange(1, 3001), **_whole_days(rng, 366)})


def export_one_day(rng):
    return _get("/violations/export.csv", _window(rng, 1))


SCENARIOS = [  # (name, request maker, counts toward the goal, share of --requests)
    ("plate lookup", plate_lookup, True, 1),
    ("time range + kind (7 days)", kind_page, True, 1),
    ("area (district polygon, GCJ-02) + 30 days", district_area, True, 1),
    ("area (bbox 0.5-10 km) + 30 days", small_bbox, False, 1),
    ("district code + 30 days", district_code, False, 1),
    ("subject status (plate / machine)", subject_status, False, 1),
    ("statistics, 30 days (daily counts)", statistics_30_days, False, 0.1),
    ("statistics, 366 days (daily counts)", statistics_year, False, 0.1),
    ("statistics, 366 days, one enterprise (register)", statistics_year_enterprise, False, 0.05),
    ("CSV export, one day (~6,800 rows)", export_one_day, False, 0.05),
]


# --- the HTTP client ----------------------------------------------------------------------------------

class Client:
    """One keep-alive connection."""

    def __init__(self, port: int, key: str):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {"X-API-Key": key, "Content-Type": "application/json"}

    def call(self, method: str, url: str, body: bytes | None) -> tuple[float, int, int]:
        started = time.perf_counter()
        self.connection.request(method, url, body=body, headers=self.headers)
        response = self.connection.getresponse()
        data = response.read()
        elapsed = time.perf_counter() - started
        if response.status != 200:
            raise RuntimeError(f"{method} {url[:120]} -> {response.status}: {data[:300]!r}")
        return elapsed, response.status, len(data)


def run_scenario(port: int, key: str, maker, requests: int, concurrency: int, seed: int) -> dict:
    latencies: list[float] = []
    sizes: list[int] = []
    errors: list[Exception] = []
    per_thread = max(1, requests // concurrency)

    def work(index: int):
        rng, client = random.Random(seed * 100 + index), Client(port, key)
        try:
            for _ in range(per_thread):
                elapsed, _, size = client.call(*maker(rng))
                latencies.append(elapsed)
                sizes.append(size)
        except Exception as exc:  # reported after the run
            errors.append(exc)

    started = time.perf_counter()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if errors:
        raise errors[0]
    ms = np.array(latencies) * 1000
    return dict(n=len(ms), p50=np.percentile(ms, 50), p90=np.percentile(ms, 90), p99=np.percentile(ms, 99),
                max=ms.max(), rps=len(ms) / wall, kb=np.mean(sizes) / 1024)


# --- the server ----------------------------------------------------------------------------------------

@contextmanager
def gunicorn(database_url: str, redis_url: str, workers: int, threads: int):
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False)
    env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_url)
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "wsgi:app", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--worker-class", "gthread", "--threads", str(threads), "--keep-alive", "60", "--timeout", "300",
         "--log-level", "warning"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not port_open(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start: {Path(log.name).read_text()[-2000:]}")
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        os.unlink(log.name)


def police_key(database_url: str, redis_url: str) -> str:
    from mobsrc import create_app
    from mobsrc.config import Settings
    from mobsrc.core.audit import act_as
    from mobsrc.core.auth import service as accounts
    from mobsrc.core.auth.principals import SYSTEM, Role
    app = create_app(Settings(database_url=database_url, redis_url=redis_url))
    with app.extensions["mobsrc"].db.session_scope() as session:
        act_as(session, SYSTEM)
        user = accounts.create_user(session, "benchmark officer", Role.POLICE)
        _, key = accounts.issue_api_key(session, user.id)
    app.extensions["mobsrc"].db.engine.dispose()
    return key


# --- the plan -------------------------------------------------------------------------------------------

def explain_area_query(database_url: str, area) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the search the API runs for `area` + 30 days."""
    from mobsrc.core.auth.principals import Principal, Role
    from mobsrc.core.db import Database
    from mobsrc.enforcement.queries import ViolationFilters, plan_interactively
    from mobsrc.enforcement.service import ORDER, visible_violations
    filters = ViolationFilters(area=area, occurred_from=NOW - timedelta(days=200),
                               occurred_to=NOW - timedelta(days=170))
    stmt = visible_violations(Principal(1, Role.POLICE, "bench"), filters).order_by(*(c.desc() for c in ORDER))
    database = Database.from_url(database_url)
    with database.sessionmaker() as session:
        plan_interactively(session)
        compiled = stmt.limit(51).compile(dialect=session.bind.dialect)
        processors = compiled._bind_processors
        params = {k: processors[k](v) if k in processors else v for k, v in compiled.construct_params().items()}
        explain = f"EXPLAIN (ANALYZE, BUFFERS) {compiled}"
        # Twice: the first run of a new connection fills its catalog caches (~10 ms of planning);
        # the second is what the API's pooled connections see.
        session.connection().exec_driver_sql(explain, params)
        rows = session.connection().exec_driver_sql(explain, params).scalars().all()
    database.engine.dispose()
    return "\n".join("    " + (r if len(r) < 160 else r[:157] + "...") for r in rows)


# --- the area query in PostgreSQL alone: three designs ---------------------------------------------

AREA_SQL = ("SELECT * FROM violations WHERE ST_Intersects(location, ST_GeomFromWKB(%s, 4326)) "
            "AND occurred_at >= %s AND occurred_at < %s ORDER BY occurred_at DESC, id DESC LIMIT 51")


def _area_cases(count: int) -> list[tuple[str, bytes, datetime, datetime]]:
    rng, districts = random.Random(5), load_district_boundaries()
    cases = []
    for i in range(count):
        end = NOW - timedelta(days=rng.uniform(0, 700))
        if i % 2:
            lon, lat = rng.uniform(106.55, 106.85), rng.uniform(26.45, 26.75)
            size = rng.choice([0.005, 0.01, 0.02, 0.05, 0.1])
            cases.append(("bbox 0.5-10 km", box(lon, lat, lon + size, lat + size).wkb, end - timedelta(days=30), end))
        else:
            cases.append(("district polygon", rng.choice(districts).geometry.wkb, end - timedelta(days=30), end))
    return cases


def _time_cases(conn, cases, generic: bool) -> dict[str, list[float]]:
    conn.execute("SET jit = off")
    conn.execute("SET max_parallel_workers_per_gather = 0")
    conn.execute(f"SET plan_cache_mode = {'force_generic_plan' if generic else 'force_custom_plan'}")
    times: dict[str, list[float]] = {}
    for _ in range(2):  # the first pass warms the caches
        times = {}
        for label, wkb, start, end in cases:
            started = time.perf_counter()
            conn.execute(AREA_SQL, (wkb, start, end), prepare=generic).fetchall()  # prepared: one plan for all
            times.setdefault(label, []).append((time.perf_counter() - started) * 1000)
    return times


def compare_area_designs(database_url: str, count: int = 400) -> None:
    """p50 / p99 of the area page in PostgreSQL alone: the migrated design, the same with a
    cached generic plan, and GiST(location) + B-tree(time) (built for the run, then rolled back)."""
    import psycopg
    cases = _area_cases(count)
    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    designs = [("GiST(location, occurred_at) + B-tree(occurred_at, id), custom plans", [], False),
               ("the same, one cached generic plan", [], True),
               ("GiST(location) + B-tree(occurred_at, id), custom plans",
                ["SET maintenance_work_mem = '512MB'",
                 "CREATE INDEX bench_location ON violations USING gist (location)", "DROP INDEX ix_violations_location_time", "ANALYZE violations"], False)]
    print(f"\narea page (51 rows, 30-day window) in PostgreSQL alone, {count} queries:")
    for name, setup, generic in designs:
        with psycopg.connect(url, prepare_threshold=None) as conn:  # one transaction, rolled back
            for statement in setup:
                conn.execute(statement)
            times = _time_cases(conn, cases, generic)
            conn.rollback()
        summary = "; ".join(f"{label} p50 {np.percentile(t, 50):.1f} / p99 {np.percentile(t, 99):.1f} ms"
                            for label, t in sorted(times.items(), reverse=True))
        print(f"  {name}: {summary}", flush=True)


# --- main -----------------------------------------------------------------------------------------------

def _table_sizes(database_url: str) -> str:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        count, heap, indexes = conn.execute(text(
            "SELECT (SELECT count(*) FROM violations), pg_size_pretty(pg_relation_size('violations')), "
            "pg_size_pretty(pg_indexes_size('violations'))")).one()
    engine.dispose()
    return f"violations: {count:,} rows, heap {heap}, indexes {indexes}"


def measure(database_url: str, redis_url: str, args) -> None:
    global SCENARIOS
    SCENARIOS = [s for s in SCENARIOS if not args.only or any(word in s[0] for word in args.only)]
    print(_table_sizes(database_url), flush=True)
    if args.area_designs:
        compare_area_designs(database_url)
    key = police_key(database_url, redis_url)
    with gunicorn(database_url, redis_url, args.workers, args.threads) as port:
        print(f"gunicorn: {args.workers} workers x {args.threads} threads (gthread), keep-alive clients", flush=True)
        for _name, maker, _, share in SCENARIOS:  # warm the caches as a running service has them warm
            run_scenario(port, key, maker, max(4, int(args.warmup * share)), 2, seed=99)
        for concurrency in args.concurrency:
            print(f"\nconcurrent clients: {concurrency}")
            print(f"  {'scenario':<48} {'n':>5} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} "
                  f"{'req/s':>7} {'KiB':>6} {'load':>5}")
            for index, (name, maker, goal, share) in enumerate(SCENARIOS):
                r = run_scenario(port, key, maker, max(20, int(args.requests * share)), concurrency, seed=index)
                verdict = ("ok" if r["p99"] < 50 else "OVER 50 ms") if goal else ""
                print(f"  {name:<48} {r['n']:>5} {r['p50']:>8.1f} {r['p90']:>8.1f} {r['p99']:>8.1f} {r['max']:>8.1f} "
                      f"{r['rps']:>7.0f} {r['kb']:>6.1f} {os.getloadavg()[0]:>5.1f}  {verdict}", flush=True)
    district = next(d for d in load_district_boundaries() if d.code == "520103")
    for label, area in (("district 520103 Yunyan", district.geometry),
                        ("bbox 0.5 km in the urban core", box(106.70, 26.57, 106.705, 26.575))):
        print(f"\nplan of the area query ({label} + 30 days), as the API runs it:")
        print(explain_area_query(database_url, area))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--requests", type=int, default=1000, help="per scenario and concurrency")
    parser.add_argument("--warmup", type=int, default=200, help="requests per scenario before measuring")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--workers", type=int, default=4, help="gunicorn processes (4 beat 2x4 threads: the GIL)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--database-url", help="measure this seeded database (nothing is seeded or removed)")
    parser.add_argument("--only", nargs="+", default=[], help="run only scenarios whose name contains one of these")
    parser.add_argument("--area-designs", action="store_true",
                        help="also time the area query in PostgreSQL alone under three index designs")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:1/0")
    args = parser.parse_args()
    if args.database_url:
        measure(args.database_url, args.redis_url, args)
        return
    from benchmarks._stack import private_stack
    with private_stack() as (postgres, redis):
        print(f"seeding {args.rows:,} violations ...", flush=True)
        engine = create_engine(postgres.url, pool_size=4)
        seed_violations(engine, args.rows, NOW, say=lambda line: print(line, flush=True))
        engine.dispose()
        measure(postgres.url, redis.url, args)


if __name__ == "__main__":
    main()
