"""The I/M loop against a private PostgreSQL + PostGIS and Redis:

    python -m benchmarks im_loop

1. inspection intake over HTTP (Flask test client, the full request path: auth, schema, checks,
   curve of 195 s x 3 channels, audit, case logic): results/s, passing and failing (a failure
   opens a case and writes an owner notice);
2. the deadline sweep over N overdue cases (mark overdue + escalate + violation + notices,
   committed in batches): cases/s;
3. station supervision over the stored inspections (load from PostgreSQL + all detectors);
4. webhook deliveries to a local http.server receiver: deliveries/s.
"""
from __future__ import annotations

import argparse
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from benchmarks._stack import private_stack
from mobsrc import create_app
from mobsrc.config import Settings
from mobsrc.core import clock
from mobsrc.core.audit import act_as
from mobsrc.core.auth import service as accounts
from mobsrc.core.auth.principals import SYSTEM, Role
from mobsrc.im.service import outbox, supervision, sweeps
from mobsrc.registry import service as registry
from mobsrc.registry.identifiers import uscc_check_character, vin_check_digit
from mobsrc.registry.schemas import StationCreateSchema, VehicleCreateSchema


def vin(n: int) -> str:
    head, tail = "LZZ1BLSB", f"{n:08d}"
    return head + vin_check_digit(head + "0" + tail) + tail


def body(n: int, station: int, fail: bool, ended) -> dict:
    k = 1.6 if fail else 0.4 + (n % 50) / 100
    channels = {name: [round(0.3 + ((t * (n + i + 3)) % 17) / 20, 3) for t in range(195)]
                for i, name in enumerate(("co_pct", "hc_ppm", "no_ppm"))}
    return dict(report_number=f"B-{station}-{n:07d}", vin=vin(n), plate=f"贵A{n % 100000:05d}", plate_colour="yellow",
                kind="periodic", method="free_acceleration", overall="fail" if fail else "pass", inspector="bench",
                items=[{"quantity": "k_m1", "measured": k, "upper_limit": 1.2, "outcome": "fail" if fail else "pass"}],
                started_at=(ended - timedelta(seconds=300)).isoformat(), ended_at=ended.isoformat(),
                curve={"period_s": 1.0, "channels": channels})


class Sink(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def setup(app, stations: int):
    with app.extensions["mobsrc"].db.session_scope() as session:
        act_as(session, SYSTEM)
        firm = registry.create_enterprise(session, {"name": "基准运输公司", "uscc": _uscc(), "district_code": "520115"})
        keys = []
        for s in range(stations):
            station = registry.create_station(session, StationCreateSchema().load(
                {"code": f"BENCH-I-{s}", "kind": "i", "name": f"基准检测站{s}"}))
            user = accounts.create_user(session, station.code, Role.I_STATION, station_id=station.id)
            keys.append({"X-API-Key": accounts.issue_api_key(session, user.id)[1]})
        owner = accounts.create_user(session, "owner", Role.FLEET_OPERATOR, firm.id)
        owner_key = {"X-API-Key": accounts.issue_api_key(session, owner.id)[1]}
        return firm.id, keys, owner_key


def _uscc() -> str:
    body17 = "91520115MA6DKQ0X0"
    return body17 + uscc_check_character(body17)


def register_vehicles(app, firm_id: int, numbers) -> None:
    with app.extensions["mobsrc"].db.session_scope() as session:
        act_as(session, SYSTEM)
        for n in numbers:
            registry.register_vehicle(session, SYSTEM, VehicleCreateSchema().load(dict(
                vin=vin(n), plate=f"贵A{n % 100000:05d}", plate_colour="yellow", fuel="diesel",
                emission_standard="china_5", enterprise_id=firm_id)))


def timed(label: str, count: int, started: float) -> None:
    elapsed = time.perf_counter() - started
    print(f"{label:<66} {count:>6,} in {elapsed:7.2f} s = {count / elapsed:>8,.0f} /s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inspections", type=int, default=2000)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--deliveries", type=int, default=500)
    args = parser.parse_args()
    with private_stack() as (postgres, redis_server):
        app = create_app(Settings(database_url=postgres.url, redis_url=redis_server.url,
                                  extra={outbox.ALLOW_PRIVATE_SETTING: "1"}))
        database = app.extensions["mobsrc"].db
        firm_id, keys, owner_key = setup(app, stations=8)
        client = app.test_client()
        ended = clock.now() - timedelta(days=1)

        started = time.perf_counter()
        for n in range(args.inspections):
            response = client.post("/api/v1/im/inspections", json=body(n, n % 8, False, ended), headers=keys[n % 8])
            assert response.status_code == 201, response.json
        timed("intake, passing results (HTTP, 195 s x 3-channel curve)", args.inspections, started)

        failing = range(100_000, 100_000 + args.cases)
        register_vehicles(app, firm_id, failing)  # so the cases have an owner to notify
        started = time.perf_counter()
        for n in failing:
            response = client.post("/api/v1/im/inspections", json=body(n, n % 8, True, ended), headers=keys[n % 8])
            assert response.status_code == 201 and response.json["case"]["action"] == "opened", response.json
        timed("intake, failing results (each opens a case + owner notice)", args.cases, started)

        receiver = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
        threading.Thread(target=receiver.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{receiver.server_port}/hook"
        assert client.put(f"/api/v1/im/webhooks/{firm_id}", json={"url": url}, headers=owner_key).status_code == 201

        real_now = clock.now
        clock.now = lambda: real_now() + timedelta(days=40)  # every case is past its deadline
        try:
            started = time.perf_counter()
            made = sweeps.run_sweep(database)
            timed("deadline sweep: overdue + escalate + violation + 2 notices", args.cases, started)
            assert made == 2 * args.cases, made
            started = time.perf_counter()
            sent = outbox.deliver_all(database, allow_private=True)
            timed("webhook deliveries (signed, to a local http.server)", sent, started)
        finally:
            clock.now = real_now
        receiver.shutdown()

        total = args.inspections + args.cases
        started = time.perf_counter()
        run = supervision.run_detection(database)
        timed("supervision: load stored inspections + every detector", run.inspections, started)
        assert run.inspections == total, run


if __name__ == "__main__":
    main()
