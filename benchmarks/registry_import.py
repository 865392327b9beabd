"""CSV import of 10,000 machines through the API and a worker: rows/s.

    python -m benchmarks registry_import

Upload over HTTP (Flask test client, the full request path), then the job as the worker runs it
(SimpleWorker, in process), against a private PostgreSQL + PostGIS and Redis.
"""
from __future__ import annotations

import argparse
import time

from rq import Queue, SimpleWorker

from benchmarks._stack import private_stack
from mobsrc import create_app
from mobsrc.config import Settings
from mobsrc.core.audit import act_as
from mobsrc.core.auth import service as accounts
from mobsrc.core.auth.principals import SYSTEM, Role
from mobsrc.core.jobs import QUEUES
from mobsrc.registry import service

ROWS = 10_000
TYPES = ["excavator", "loader", "roller", "crane", "forklift", "bulldozer"]


def make_csv(rows: int) -> bytes:
    lines = ["machine_type,brand,model,engine_manufacturer,engine_model,engine_serial,rated_power_kw,fuel,"
             "emission_stage,district_code"]
    for i in range(rows):
        lines.append(f"{TYPES[i % len(TYPES)]},三一,SY{i % 500},玉柴,YC6J,BENCH-{i:07d},{40 + i % 200},diesel,"
                     f"china_{2 + i % 2},52011{i % 2 + 1}")
    return ("\n".join(lines) + "\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS)
    rows = parser.parse_args().rows
    with private_stack() as (postgres, redis_server):
        app = create_app(Settings(database_url=postgres.url, redis_url=redis_server.url))
        state = app.extensions["mobsrc"]
        with state.db.session_scope() as session:
            act_as(session, SYSTEM)
            firm = service.create_enterprise(session, {"name": "基准测试公司", "uscc": "91520115MA6DKQ0X0J",
                                                        "district_code": "520115"})
            user = accounts.create_user(session, "bench", Role.FLEET_OPERATOR, firm.id)
            _, key = accounts.issue_api_key(session, user.id)
        content = make_csv(rows)
        started = time.perf_counter()
        response = app.test_client().post("/api/v1/machine-imports", data=content,
                                          headers={"X-API-Key": key, "Content-Type": "text/csv"})
        upload_s = time.perf_counter() - started
        assert response.status_code == 202, response.json
        started = time.perf_counter()
        with app.app_context():
            SimpleWorker([Queue(q, connection=state.redis) for q in QUEUES], connection=state.redis).work(burst=True)
        job_s = time.perf_counter() - started
        done = app.test_client().get(response.headers["Location"], headers={"X-API-Key": key}).json
        assert done["registered"] == rows, done
        print(f"rows: {rows:,} ({len(content) / 1e6:.1f} MB CSV)")
        print(f"upload (HTTP 202, stored + counted): {upload_s * 1000:.0f} ms")
        print(f"registration job: {job_s:.1f} s = {rows / job_s:,.0f} rows/s (validated, coded, audited)")
        print(f"end to end: {rows / (upload_s + job_s):,.0f} rows/s")


if __name__ == "__main__":
    main()
