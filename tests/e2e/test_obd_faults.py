"""OBD fault tests with real processes: Redis stopped while terminals keep posting (gunicorn
answers 2xx, the data is durable, the reconciler catches up once Redis is back), and a worker
SIGKILLed in the middle of an alarm batch (the batch is redone).  Either way nothing is lost
and nothing is counted twice."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest
from alembic import command
from sqlalchemy import create_engine, text

from mobsrc.cli import alembic_config
from mobsrc.core import clock
from mobsrc.core.audit import act_as
from mobsrc.core.auth import service as accounts
from mobsrc.core.auth.principals import SYSTEM, Role
from mobsrc.core.db import Database
from mobsrc.core.jobs import bind_redis
from mobsrc.devstack.servers import RedisServer, free_port
from mobsrc.obd import ingest
from mobsrc.obd.settings import ObdSettings
from tests.integration import factories
from tests.integration.obd.tracks import PLATFORM, body, driving

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path / "redis", free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def database(stack):
    url = stack.database("mobsrc_e2e_obd")
    command.upgrade(alembic_config(url), "head")
    yield url
    stack.postgres.drop_database("mobsrc_e2e_obd")


@pytest.fixture
def trucks(database):
    db = Database.from_url(database)
    with db.session_scope() as session:
        act_as(session, SYSTEM)
        firm = factories.make_enterprise(session)
        vins = [factories.make_vehicle(session, firm).vin for _ in range(4)]
        user = accounts.create_user(session, "platform", Role.TERMINAL)
        _, key = accounts.issue_api_key(session, user.id)
    db.engine.dispose()
    return vins, key


def env(database: str, redis_url: str) -> dict:
    return dict(os.environ, DATABASE_URL=database, REDIS_URL=redis_url, PYTHONPATH=str(ROOT))


def spawn(args: list[str], environment: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=environment, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def query(database: str, sql: str):
    engine = create_engine(database, poolclass=None)
    with engine.connect() as conn:
        value = conn.execute(text(sql)).scalar()
    engine.dispose()
    return value


def post(port: int, key: str, payload: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/obd/records", data=payload, method="POST",
                                     headers={"Content-Type": "application/json", "X-API-Key": key})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, msgspec.json.decode(response.read())


def listening(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=1)
        return True
    except urllib.error.HTTPError:
        return True                      # 503: up, but Redis or PostgreSQL away
    except OSError:
        return False


def test_redis_outage_loses_nothing_and_the_reconciler_catches_up(database, redis_server, trucks, tmp_path):
    vins, key = trucks
    environment = env(database, redis_server.url)
    port = free_port()
    api = spawn(["-m", "gunicorn", "wsgi:app", "--bind", f"127.0.0.1:{port}", "--workers", "2"], environment,
                tmp_path / "api.log")
    start = clock.now().replace(microsecond=0) - timedelta(minutes=40)
    try:
        wait_for(lambda: listening(port), 30, "gunicorn")
        sent = 0
        for minute in range(10):                          # Redis up, then down from minute 3
            if minute == 3:
                redis_server.kill()
            for i, vin in enumerate(vins):
                track = driving(vin, start + timedelta(minutes=minute), 60, reagent_level=0.0 if i == 0 else 50.0)
                status, answer = post(port, key, body(track))
                assert status == 200 and answer["accepted"] == 60
                sent += 60
        assert query(database, "SELECT count(*) FROM obd_stream_records") == sent
        unprocessed = query(database, "SELECT count(*) FROM obd_batches WHERE processed_at IS NULL")
        assert unprocessed == 40                          # no worker yet: every batch waits in PostgreSQL
        redis = RedisServer(redis_server.root, redis_server.port).start()
        try:
            subprocess.run([sys.executable, "-m", "mobsrc.cli", "reconcile"], cwd=ROOT, env=environment, check=True)
            worker = spawn(["-m", "workers", "--burst", "--no-scheduler"], environment, tmp_path / "worker.log")
            assert worker.wait(120) == 0
        finally:
            redis.stop()
    finally:
        api.terminate()
        api.wait(20)
    assert query(database, "SELECT count(*) FROM obd_batches WHERE processed_at IS NULL") == 0
    assert query(database, "SELECT count(*) FROM obd_stream_records") == sent
    assert query(database, "SELECT sum(accepted) FROM obd_batches") == sent
    assert query(database, "SELECT count(*) FROM obd_alarms") == 1
    assert query(database, "SELECT kind FROM obd_alarms") == "reagent_low"


def test_a_worker_killed_mid_batch_leaves_the_batch_to_be_redone(database, redis_server, trucks, tmp_path):
    vins, _ = trucks
    environment = env(database, redis_server.url)
    db = Database.from_url(database)
    from redis import Redis
    redis = Redis.from_url(redis_server.url)
    start = clock.now().replace(microsecond=0) - timedelta(minutes=20)
    for vin in vins:
        with db.session_scope() as session:
            bind_redis(session, redis)
            ingest.ingest_json(session, PLATFORM, body(driving(vin, start, 600, reagent_level=0.0)), ObdSettings())
    last_vehicle = query(database, "SELECT max(vehicle_id) FROM obd_vehicle_states")
    blocker = create_engine(database).connect()
    transaction = blocker.begin()
    blocker.execute(text("SELECT 1 FROM obd_vehicle_states WHERE vehicle_id = :v FOR UPDATE"), {"v": last_vehicle})
    worker = spawn(["-m", "workers", "--burst", "--no-scheduler"], environment, tmp_path / "worker1.log")
    try:
        wait_for(lambda: query(database, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                                         " AND query LIKE 'UPDATE obd_vehicle_states%'") == 1, 60,
                 "the job to block mid-batch")
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)
    finally:
        transaction.rollback()
        blocker.close()
    wait_for(lambda: query(database, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE"
                                     " 'UPDATE obd_vehicle_states%' AND state <> 'idle'") == 0, 30,
             "the dead worker's transaction to end")
    assert query(database, "SELECT count(*) FROM obd_alarms") == 0        # its work was rolled back
    assert query(database, "SELECT count(*) FROM obd_batches WHERE processed_at IS NULL") == len(vins)
    subprocess.run([sys.executable, "-m", "mobsrc.cli", "reconcile"], cwd=ROOT, env=environment, check=True)
    worker = spawn(["-m", "workers", "--burst", "--no-scheduler"], environment, tmp_path / "worker2.log")
    assert worker.wait(120) == 0
    assert query(database, "SELECT count(*) FROM obd_batches WHERE processed_at IS NULL") == 0
    assert query(database, "SELECT count(*) FROM obd_alarms") == len(vins)
    assert query(database, "SELECT count(DISTINCT vehicle_id) FROM obd_alarms WHERE kind = 'reagent_low'") == len(vins)
    db.engine.dispose()
