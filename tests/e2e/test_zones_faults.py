"""Faults with real processes: the API under gunicorn, workers as `python -m workers`, a Redis
server of its own that we kill. Positions stay durable and answered 2xx while Redis is down and
the reconciler catches up when it returns; a worker killed (SIGKILL) in the middle of a batch
leaves it to be redone. Either way: one violation, opened and closed, nothing lost, nothing
counted twice."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta
from types import SimpleNamespace

import pytest
from alembic import command
from redis import Redis
from rq.job import Job, JobStatus
from sqlalchemy import text

from mobsrc import create_app
from mobsrc.cli import alembic_config
from mobsrc.config import Settings
from mobsrc.core import clock
from mobsrc.core.audit import act_as
from mobsrc.core.auth import service as accounts
from mobsrc.core.auth.principals import SYSTEM, Role
from mobsrc.core.reconcile import reconcile
from mobsrc.devstack.servers import RedisServer, free_port, port_open
from mobsrc.zones import service as zones
from mobsrc.zones.schemas import ZoneCreateSchema
from tests.conftest import PROJECT_ROOT
from tests.integration import factories
from tests.integration.zones.helpers import YUNYAN, boundary_crossing, entry_dwell_exit, feature

pytestmark = pytest.mark.e2e
INSIDE, OUTSIDE = boundary_crossing(YUNYAN, 0.002)
DEADLINE_S = 60


@pytest.fixture
def system(stack, tmp_path, monkeypatch):
    """A migrated database, a killable Redis, the API under gunicorn; workers on demand."""
    database_url = stack.database("mobsrc_e2e_zones")
    command.upgrade(alembic_config(database_url), "head")
    redis_server = RedisServer(tmp_path / "redis", free_port()).start()
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_server.url, "PYTHONUNBUFFERED": "1"}
    port = free_port()
    api = subprocess.Popen([sys.executable, "-m", "gunicorn", "wsgi:app", "--bind", f"127.0.0.1:{port}",
                            "--workers", "2", "--timeout", "60"], cwd=PROJECT_ROOT, env=env,
                           stdout=(tmp_path / "api.log").open("wb"), stderr=subprocess.STDOUT)
    app = create_app(Settings(database_url=database_url, redis_url=redis_server.url))
    state = app.extensions["mobsrc"]
    workers: list[subprocess.Popen] = []

    def start_worker() -> subprocess.Popen:
        log = (tmp_path / f"worker-{len(workers)}.log").open("wb")
        worker = subprocess.Popen([sys.executable, "-m", "workers", "--no-scheduler"], cwd=PROJECT_ROOT, env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
        workers.append(worker)
        return worker

    try:
        _wait(lambda: port_open(port), "the API")
        yield SimpleNamespace(url=f"http://127.0.0.1:{port}", db=state.db, redis_server=redis_server,
                              start_worker=start_worker, world=_world(state.db, monkeypatch), logs=tmp_path)
    finally:
        for process in [api, *workers]:  # gunicorn: INT is its quick shutdown; RQ: warm shutdown
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in [api, *workers]:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        redis_server.stop()
        state.db.engine.dispose()
        stack.postgres.drop_database("mobsrc_e2e_zones")
        shutil.rmtree(tmp_path / "redis", ignore_errors=True)


def _world(db, monkeypatch) -> SimpleNamespace:
    """A China II excavator, its terminal's key, and Yunyan as a no-use zone since an hour ago."""
    now = clock.now()
    with db.session_scope() as session:
        act_as(session, SYSTEM)
        firm = factories.make_enterprise(session)
        machine = factories.make_machine(session, firm, emission_stage="china_2")
        user = accounts.create_user(session, "terminal platform", Role.TERMINAL)
        _, key = accounts.issue_api_key(session, user.id)
        draft = ZoneCreateSchema().load({"name": "云岩区禁用区", "district_code": YUNYAN, "area": feature(YUNYAN),
                                         "crs": "gcj02"})
        with monkeypatch.context() as patch:
            patch.setattr(clock, "now", lambda: now - timedelta(hours=1))  # the zone exists since then
            zone = zones.create_zone(session, SYSTEM, draft)
        return SimpleNamespace(machine=SimpleNamespace(id=machine.id, code=machine.code), key=key, zone_id=zone.id)


def _wait(predicate, what: str, timeout: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


def post_positions(system, items) -> tuple[int, dict]:
    request = urllib.request.Request(f"{system.url}/api/v1/positions", method="POST",
                                     data=json.dumps({"positions": items}).encode(),
                                     headers={"X-API-Key": system.world.key, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def track(system) -> list[dict]:
    """40 minutes ago: 5 min outside, 15 min in Yunyan working, 5 min outside (fixes each minute)."""
    start = clock.now().replace(microsecond=0) - timedelta(minutes=40)
    return entry_dwell_exit(system.world.machine, start, OUTSIDE, INSIDE, minutes_inside=15)


def counts(system) -> dict:
    with system.db.engine.connect() as conn:
        return dict(conn.execute(text(
            "SELECT (SELECT count(*) FROM position_batches) AS batches, "
            "(SELECT count(*) FROM position_batches WHERE processed) AS processed, "
            "(SELECT count(*) FROM machine_positions) AS positions, "
            "(SELECT count(*) FROM zone_visits) AS visits, "
            "(SELECT count(*) FROM violations) AS violations, "
            "(SELECT count(*) FROM violations WHERE ended_at IS NOT NULL) AS ended, "
            "(SELECT count(*) FROM violation_events) AS events")).mappings().one())


def catch_up(system, monkeypatch) -> None:
    """Run the reconciler (as cron does every minute, here as if a minute had passed) until
    every batch is processed."""
    later = clock.now() + timedelta(minutes=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    redis = Redis.from_url(system.redis_server.url)

    def done() -> bool:
        reconcile(system.db, redis)
        state = counts(system)
        return state["batches"] == state["processed"]

    _wait(done, "reconciled batches processed")


def test_with_redis_down_positions_are_accepted_durably_and_processed_when_it_returns(system, monkeypatch):
    fixes = track(system)
    batches = [fixes[k:k + 5] for k in range(0, len(fixes), 5)]
    answers = [post_positions(system, b) for b in batches[:2]]  # queued (no worker runs yet)
    system.redis_server.kill()  # an outage in the middle of the stream
    answers += [post_positions(system, b) for b in batches[2:]]
    assert [status for status, _ in answers] == [202] * 5, answers
    assert sum(body["accepted"] for _, body in answers) == len(fixes)
    assert counts(system) == {"batches": 5, "processed": 0, "positions": len(fixes), "visits": 0, "violations": 0,
                              "ended": 0, "events": 0}

    system.redis_server.start()  # back; the jobs of the last three batches were never queued
    system.start_worker()
    catch_up(system, monkeypatch)
    after = counts(system)
    assert after == {"batches": 5, "processed": 5, "positions": len(fixes), "visits": 1, "violations": 1,
                     "ended": 1, "events": 2}

    again = [post_positions(system, b) for b in batches]  # the terminal re-sends everything
    assert all(status == 202 and body["duplicates"] == 5 for status, body in again)
    catch_up(system, monkeypatch)
    assert counts(system) == after | {"batches": 10, "processed": 10}


def test_a_worker_killed_in_the_middle_of_a_batch_leaves_it_to_be_redone(system, monkeypatch):
    worker = system.start_worker()
    with system.db.engine.connect() as blocker:
        blocker.execute(text("LOCK TABLE violations IN SHARE ROW EXCLUSIVE MODE"))  # inserts wait
        status, body = post_positions(system, track(system))  # one batch: enter, dwell, leave
        assert status == 202 and body["accepted"] == 25

        def worker_waits_on_the_violation_insert() -> bool:
            with system.db.engine.connect() as conn:
                return conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                         "AND query LIKE 'INSERT INTO violations%'")).scalar() == 1

        _wait(worker_waits_on_the_violation_insert, "the worker reaching the violation insert")
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
        blocker.rollback()
    # Its transaction dies with it: the visit it had written is gone, the batch still unprocessed.
    _wait(lambda: not _backend_waiting(system), "the dead worker's backend to end")
    assert counts(system) == {"batches": 1, "processed": 0, "positions": 25, "visits": 0, "violations": 0, "ended": 0,
                              "events": 0}

    redis = Redis.from_url(system.redis_server.url)
    assert Job.fetch("zones-evaluate-positions-1", connection=redis).get_status() == JobStatus.STARTED  # RQ's view

    system.start_worker()
    catch_up(system, monkeypatch)
    assert counts(system) == {"batches": 1, "processed": 1, "positions": 25, "visits": 1, "violations": 1,
                              "ended": 1, "events": 2}
    redone = Job.fetch("zones-evaluate-positions-1-redo1", connection=redis)  # queued again at once
    assert redone.get_status() == JobStatus.FINISHED and redone.return_value() is True
    with system.db.engine.connect() as conn:
        violation = conn.execute(text("SELECT occurred_at, ended_at, details FROM violations")).one()
    assert violation.ended_at - violation.occurred_at == timedelta(minutes=15)
    assert violation.details["zone_id"] == system.world.zone_id and violation.details["zone_version"] == 1


def _backend_waiting(system) -> bool:
    with system.db.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'INSERT INTO violations%' "
                                 "AND state <> 'idle'")).scalar() > 0
