"""The I/M loop across real processes: the API (this process) accepts a failed inspection; a
separate `python -m workers im --burst` process, configured only by its environment, runs the
deadline sweep and the owner's webhook deliveries to an HTTP server in this process."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from alembic import command

from mobsrc import create_app
from mobsrc.cli import alembic_config
from mobsrc.config import Settings
from mobsrc.core import clock
from mobsrc.core.audit import act_as
from mobsrc.core.auth import service as accounts
from mobsrc.core.auth.principals import SYSTEM, Role
from mobsrc.core.jobs import enqueue
from mobsrc.im import webhooks
from mobsrc.im.service import outbox
from tests.conftest import PROJECT_ROOT
from tests.integration import factories
from tests.integration.im import payloads

pytestmark = pytest.mark.e2e


@pytest.fixture
def received():
    requests: list[tuple[dict, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            requests.append((dict(self.headers), self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield requests, f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()
    server.server_close()


@pytest.fixture
def app(stack):
    url = stack.database("mobsrc_e2e_im")
    command.upgrade(alembic_config(url), "head")
    redis_url = stack.redis_url.replace("/0", "/3")
    app = create_app(Settings(database_url=url, redis_url=redis_url, extra={outbox.ALLOW_PRIVATE_SETTING: "1"}))
    app.extensions["mobsrc"].redis.flushdb()
    yield app
    app.extensions["mobsrc"].db.engine.dispose()
    stack.postgres.drop_database("mobsrc_e2e_im")


def test_a_worker_process_escalates_the_ignored_case_and_tells_the_owner(app, received):
    requests, hook_url = received
    with app.extensions["mobsrc"].db.session_scope() as session:
        act_as(session, SYSTEM)
        firm = factories.make_enterprise(session)
        truck = factories.make_vehicle(session, firm)
        station = factories.make_station(session, "i")
        keys = {role: {"X-API-Key": accounts.issue_api_key(session, accounts.create_user(
            session, role.value, role, firm.id if role is Role.FLEET_OPERATOR else None,
            station.id if role is Role.I_STATION else None).id)[1]}
            for role in (Role.ADMIN, Role.POLICE, Role.I_STATION, Role.FLEET_OPERATOR)}
    client = app.test_client()
    # A deadline that has already passed when the case opens: 0 days, counted to the second.
    client.patch("/api/v1/im/parameters", headers=keys[Role.ADMIN], json={"values": {
        "deadline_days.failed_inspection": 0, "deadline_end_of_local_day": False}})
    secret = client.put(f"/api/v1/im/webhooks/{firm.id}", json={"url": hook_url},
                        headers=keys[Role.FLEET_OPERATOR]).json["secret"]
    failed = client.post("/api/v1/im/inspections", headers=keys[Role.I_STATION],
                         json=payloads.failing(truck, ended_at=clock.now() - timedelta(minutes=1)))
    assert failed.status_code == 201, failed.json
    assert enqueue(app.extensions["mobsrc"].redis, "im.sweep_case_deadlines")

    settings = app.extensions["mobsrc"].settings
    env = {**os.environ, "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
           outbox.ALLOW_PRIVATE_SETTING: "1"}
    worker = subprocess.run([sys.executable, "-m", "workers", "im", "--burst", "--no-scheduler"], cwd=PROJECT_ROOT,
                            env=env, capture_output=True, text=True, timeout=120)
    assert worker.returncode == 0, worker.stderr[-3000:]

    deadline = time.monotonic() + 10
    while len(requests) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    events = [json.loads(body)["event"] for _, body in requests]
    assert events == ["case.opened", "case.overdue", "case.escalated"]
    assert all(webhooks.is_valid_signature(secret, body, headers[webhooks.SIGNATURE_HEADER], int(time.time()))
               for headers, body in requests)
    violations = client.get("/api/v1/violations", headers=keys[Role.POLICE]).json["items"]
    assert [(v["kind"], v["source_ref"]) for v in violations] == [
        ("im_case_overdue", f"case:{failed.json['case']['case_id']}")]
