"""Real processes: gunicorn serving the API and an RQ worker, with a Redis outage in between.
A station's batch posted while Redis is down is stored (202) and waits in PostgreSQL; once Redis
is back, the reconciler (`mobsrc reconcile`, what cron runs every minute) queues it and the
worker judges it. Nothing is lost, nothing is judged twice."""
from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from alembic import command

from mobsrc import create_app
from mobsrc.cli import alembic_config
from mobsrc.config import Settings
from mobsrc.core.audit import act_as
from mobsrc.core.auth import service as accounts
from mobsrc.core.auth.principals import SYSTEM, Role
from mobsrc.devstack.servers import RedisServer, free_port
from mobsrc.registry import service as registry
from mobsrc.registry.schemas import StationCreateSchema
from mobsrc.remote_sensing import service
from mobsrc.remote_sensing.calibration import CheckKind
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.e2e


@pytest.fixture
def database(stack):
    url = stack.database("mobsrc_e2e_rs")
    command.upgrade(alembic_config(url), "head")
    yield url
    stack.postgres.drop_database("mobsrc_e2e_rs")


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path / "redis", free_port()).start()
    yield server
    server.stop()


def seed(url: str, redis_url: str) -> str:
    app = create_app(Settings(database_url=url, redis_url=redis_url))
    with app.extensions["mobsrc"].db.session_scope() as session:
        act_as(session, SYSTEM)
        station = registry.create_station(session, StationCreateSchema().load(dict(
            code="E2E-RS", kind="rs", name="端到端遥感点", location={"lon": 106.7, "lat": 26.5})))
        today = datetime.now(UTC).date()
        service.record_calibration(session, SYSTEM, station.id, dict(
            kind=CheckKind.CALIBRATION, performed_on=date(today.year - 1, 1, 1), valid_from=date(today.year - 1, 1, 1),
            valid_to=today + timedelta(days=30), passed=True))
        user = accounts.create_user(session, "E2E-RS", Role.RS_STATION, station_id=station.id)
        return accounts.issue_api_key(session, user.id)[1]


def request(port: int, method: str, path: str, key: str, body: dict | None = None) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = connection.getresponse()
    return response.status, json.loads(response.read())


def wait_for(predicate, timeout: float = 30, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_batch_posted_during_a_redis_outage_is_judged_once_redis_is_back(database, own_redis):
    key = seed(database, own_redis.url)
    env = dict(os.environ, DATABASE_URL=database, REDIS_URL=own_redis.url)
    port = free_port()
    api = subprocess.Popen([sys.executable, "-m", "gunicorn", "wsgi:app", "--bind", f"127.0.0.1:{port}",
                            "--workers", "1"], cwd=PROJECT_ROOT, env=env, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = None
    try:
        wait_for(lambda: _healthy(port), what="gunicorn")
        own_redis.stop()
        now = datetime.now(UTC)
        readings = [dict(measured_at=(now - timedelta(minutes=m)).isoformat(), lane=1, plate=f"贵A0000{m}",
                         plate_colour="yellow", speed_kmh=40, accel_ms2=0.2, opacity_pct=10, ringelmann_grade=3,
                         wind_ms=1, temp_c=20, rh_pct=50, rain=False) for m in range(1, 4)]
        status, answer = request(port, "POST", "/api/v1/remote-sensing/readings", key, {"readings": readings})
        assert status == 202 and answer["accepted"] == 3  # stored although Redis is down
        own_redis.start()
        worker = subprocess.Popen([sys.executable, "-m", "workers", "rules", "--no-scheduler"], cwd=PROJECT_ROOT,
                                  env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        batch = f"/api/v1/remote-sensing/batches/{answer['batch_id']}"
        time.sleep(2)
        assert request(port, "GET", batch, key)[1]["processed_at"] is None  # nobody knows of it yet
        subprocess.run([sys.executable, "-m", "mobsrc.cli", "reconcile"], cwd=PROJECT_ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        done = wait_for(lambda: request(port, "GET", batch, key)[1]["processed_at"], what="the judgement")
        assert done
        outcomes = request(port, "GET", batch, key)[1]["outcomes"]
        assert outcomes["black_smoke"] == 3 and outcomes["not_judged"] == 3
    finally:
        for process in (worker, api):
            if process is not None:
                process.terminate()
                process.wait(timeout=15)


def _healthy(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", "/api/v1/health")
        return connection.getresponse().status == 200
    except OSError:
        return False
