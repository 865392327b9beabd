"""Work done by other connections: the judgement job through a real worker and Redis, the
reconciler after a lost job, two batches of one vehicle judged at the same time, and the day
partitions made by the maintenance job."""
from __future__ import annotations

import threading
from datetime import date

from sqlalchemy import select, text

from mobsrc.core import partitions, reconcile
from mobsrc.core.auth import service as accounts
from mobsrc.core.auth.principals import SYSTEM, Role
from mobsrc.remote_sensing import judging, service
from mobsrc.remote_sensing.calibration import CheckKind
from mobsrc.remote_sensing.models import RsBatch, RsConfirmation
from tests.integration import factories
from tests.integration.remote_sensing.conftest import DAY, days, reading

URL = "/api/v1/remote-sensing/readings"


def committed_station(session) -> tuple[object, dict]:
    station = factories.make_station(session, "rs")
    service.record_calibration(session, SYSTEM, station.id, dict(
        kind=CheckKind.CALIBRATION, performed_on=date(2025, 1, 1), valid_from=date(2025, 1, 1),
        valid_to=date(2026, 12, 31), passed=True))
    user = accounts.create_user(session, station.code, Role.RS_STATION, station_id=station.id)
    _, key = accounts.issue_api_key(session, user.id)
    firm = factories.make_enterprise(session)
    factories.make_vehicle(session, firm, plate="贵A12345", plate_colour="yellow", fuel="diesel")
    session.commit()
    return station, {"X-API-Key": key}


def batch(session, batch_id) -> RsBatch:
    session.expire_all()
    return session.get(RsBatch, batch_id)


def test_a_posted_batch_is_judged_by_the_worker(committed_app, committed_session, run_jobs):
    station, headers = committed_station(committed_session)
    posted = committed_app.test_client().post(URL, json={"readings": [reading(), reading(lane=2, opacity_pct=45.0)]},
                                              headers=headers)
    assert posted.status_code == 202
    assert run_jobs() == 1
    done = batch(committed_session, posted.json["batch_id"])
    assert done.processed_at is not None and (done.outcomes["pass"], done.outcomes["exceed"]) == (1, 1)


def test_the_reconciler_requeues_a_batch_whose_job_was_lost(committed_app, committed_session, run_jobs, redis):
    station, headers = committed_station(committed_session)
    posted = committed_app.test_client().post(URL, json={"readings": [reading()]}, headers=headers)
    redis.flushdb()  # Redis lost the job (down at enqueue, or its data)
    assert run_jobs() == 0 and batch(committed_session, posted.json["batch_id"]).processed_at is None
    state = committed_app.extensions["mobsrc"]
    assert reconcile.reconcile(state.db, state.redis) == 1
    assert reconcile.reconcile(state.db, state.redis) == 1  # still waiting: found, not queued twice
    assert run_jobs() == 1
    assert batch(committed_session, posted.json["batch_id"]).processed_at is not None
    assert reconcile.reconcile(state.db, state.redis) == 0


def test_two_batches_of_one_vehicle_judged_at_once_still_confirm(committed_app, committed_session):
    station, headers = committed_station(committed_session)
    client = committed_app.test_client()
    first = client.post(URL, json={"readings": [reading(opacity_pct=45.0)]}, headers=headers).json["batch_id"]
    second = client.post(URL, json={"readings": [reading(DAY + days(1), opacity_pct=45.0)]},
                         headers=headers).json["batch_id"]
    db = committed_app.extensions["mobsrc"].db
    one, other = db.sessionmaker(), db.sessionmaker()
    judging.judge_batch(one, first)  # holds the vehicle's confirmation lock until it commits
    done = threading.Event()
    thread = threading.Thread(target=lambda: (judging.judge_batch(other, second), other.commit(), done.set()))
    thread.start()
    try:
        assert not done.wait(0.5), "the second job should wait for the first's lock"
    finally:
        one.commit()
        thread.join(10)
        one.close(), other.close()
    assert done.is_set()
    (confirmation,) = committed_session.scalars(select(RsConfirmation)).all()
    assert len(confirmation.reading_ids) == 2


def test_the_maintenance_job_makes_day_partitions_and_moves_waiting_rows(committed_app, committed_session):
    station, headers = committed_station(committed_session)
    client = committed_app.test_client()
    answer = client.post(URL, json={"readings": [reading(), reading(DAY + days(1))]}, headers=headers).json
    committed_session.execute(text("SELECT 1"))
    from workers.jobs import remote_sensing as jobs
    with committed_app.app_context():
        created = jobs.maintain_partitions()
    assert created == 11 + 9  # readings: yesterday .. a week ahead + 2 days with rows; verdicts: none judged yet
    committed_session.commit()
    homes = dict(committed_session.execute(text(
        "SELECT id, tableoid::regclass::text FROM rs_readings")).all())
    assert homes[answer["items"][0]["reading_id"]] == "rs_readings_p20260520"
    assert homes[answer["items"][1]["reading_id"]] == "rs_readings_p20260521"
    assert committed_session.scalar(text("SELECT count(*) FROM rs_readings_default")) == 0
    assert date(2026, 6, 8) in partitions.existing_partitions(committed_session.connection(), "rs_verdicts")
    again = client.post(URL, json={"readings": [reading()]}, headers=headers).json
    assert again["items"][0]["status"] == "duplicate"  # the unique index holds across the move
    with committed_app.app_context():
        assert jobs.maintain_partitions() == 0
