"""OBD jobs through Redis and a real worker, on committed data: the alarm job after ingestion,
the reconciler, escalation into the violation register, offline terminals, online rates,
day partitions."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from mobsrc.core import clock, reconcile
from mobsrc.core.audit import act_as
from mobsrc.core.auth.principals import SYSTEM
from mobsrc.core.jobs import bind_redis, enqueue
from mobsrc.enforcement.models import Violation
from mobsrc.obd import ingest, online, service
from mobsrc.obd.models import Alarm, AlarmStatus
from mobsrc.obd.online_rate import daily_online_rates
from mobsrc.obd.partition_plan import day_bounds, local_day
from mobsrc.obd.settings import ObdSettings
from tests.integration import factories
from tests.integration.obd.tracks import PLATFORM, body, driving


@pytest.fixture
def db(committed_app):
    return committed_app.extensions["mobsrc"].db


@pytest.fixture
def trucks(db):
    with db.session_scope() as session:
        act_as(session, SYSTEM)
        firm = factories.make_enterprise(session)
        return [factories.make_vehicle(session, firm) for _ in range(2)]


def feed(db, redis, records, obd_info=()) -> dict:
    """Ingest and commit, as a request does (the job is queued after the commit)."""
    with db.session_scope() as session:
        bind_redis(session, redis)
        return ingest.ingest_json(session, PLATFORM, body(records, obd_info), ObdSettings())


def scalar(db, sql, **params):
    with db.session_scope() as session:
        return session.execute(text(sql), params).scalar()


def open_alarms(db, vehicle) -> list[Alarm]:
    with db.session_scope() as session:
        return list(session.scalars(select(Alarm).where(Alarm.vehicle_id == vehicle.id,
                                                        Alarm.status == AlarmStatus.OPEN)))


def test_ingestion_queues_the_alarm_job_and_the_worker_processes_every_batch(db, redis, run_jobs, trucks):
    start = clock.now().replace(microsecond=0) - timedelta(minutes=20)
    feed(db, redis, driving(trucks[0].vin, start, 600, reagent_level=0.0))
    feed(db, redis, driving(trucks[1].vin, start, 600))
    assert run_jobs() >= 1
    assert scalar(db, "SELECT count(*) FROM obd_batches WHERE processed_at IS NULL") == 0
    assert [a.kind.value for a in open_alarms(db, trucks[0])] == ["reagent_low"]
    assert open_alarms(db, trucks[1]) == []
    run_jobs()                                                  # nothing new: nothing changes
    assert scalar(db, "SELECT count(*) FROM obd_alarms") == 1


def test_batches_accepted_while_redis_was_away_are_found_by_the_reconciler(db, redis, run_jobs, trucks,
                                                                           monkeypatch):
    start = clock.now().replace(microsecond=0) - timedelta(minutes=20)
    with db.session_scope() as session:                        # no Redis bound: nothing is queued
        ingest.ingest_json(session, PLATFORM, body(driving(trucks[0].vin, start, 600, reagent_level=0.0)),
                           ObdSettings())
    assert run_jobs() == 0
    assert scalar(db, "SELECT count(*) FROM obd_batches WHERE processed_at IS NULL") == 1
    assert reconcile.reconcile(db, redis) == 1
    run_jobs()
    assert scalar(db, "SELECT count(*) FROM obd_batches WHERE processed_at IS NULL") == 0
    assert len(open_alarms(db, trucks[0])) == 1


def test_an_alarm_left_open_becomes_a_violation_and_its_end_ends_it(db, redis, run_jobs, trucks, monkeypatch):
    start = clock.now().replace(microsecond=0) - timedelta(minutes=20)
    feed(db, redis, driving(trucks[0].vin, start, 600, reagent_level=0.0))
    run_jobs()
    [alarm] = open_alarms(db, trucks[0])
    enqueue(redis, "obd.escalate_open_alarms")
    run_jobs()
    assert scalar(db, "SELECT count(*) FROM violations") == 0    # 72 h have not passed
    later = clock.now() + timedelta(hours=73)
    monkeypatch.setattr(clock, "now", lambda: later)
    for _ in range(2):                                         # twice: still one violation
        enqueue(redis, "obd.escalate_open_alarms")
        run_jobs()
    with db.session_scope() as session:
        [violation] = session.scalars(select(Violation)).all()
        assert violation.kind.value == "obd_alarm_unresolved" and violation.vin == trucks[0].vin
        assert violation.source_ref == f"obd_alarm:{alarm.id}" and violation.plate == trucks[0].plate
        assert violation.occurred_at == alarm.opened_at + timedelta(hours=72)
        assert violation.evidence == [{"type": "obd_alarm", "ref": str(alarm.id), "note": "reagent_low"}]
    monkeypatch.setattr(clock, "now", lambda: later + timedelta(minutes=1))
    feed(db, redis, driving(trucks[0].vin, later - timedelta(minutes=10), 600, reagent_level=50.0))
    run_jobs()
    assert open_alarms(db, trucks[0]) == []
    assert scalar(db, "SELECT ended_at IS NOT NULL FROM violations") is True


def test_a_silent_terminal_gets_an_offline_alarm_until_it_reports_again(db, redis, run_jobs, trucks, monkeypatch):
    start = clock.now().replace(microsecond=0) - timedelta(minutes=5)
    feed(db, redis, driving(trucks[0].vin, start, 60))
    run_jobs()
    later = clock.now() + timedelta(hours=25)
    monkeypatch.setattr(clock, "now", lambda: later)
    enqueue(redis, "obd.detect_offline_terminals")
    run_jobs()
    [alarm] = open_alarms(db, trucks[0])
    assert alarm.kind.value == "terminal_offline" and alarm.handover_status.value == "none"
    assert alarm.evidence["silent_s"] > 86400
    feed(db, redis, driving(trucks[0].vin, later - timedelta(minutes=2), 60))
    run_jobs()
    assert open_alarms(db, trucks[0]) == []


def test_online_rates_counted_by_the_database_match_the_definition(db, redis, run_jobs, trucks, as_admin):
    day = local_day(clock.now()) - timedelta(days=1)
    midnight = day_bounds(day)[0]
    times = [midnight + timedelta(hours=8, seconds=s) for s in range(0, 3600, 7)]
    times += [midnight + timedelta(hours=13, seconds=s) for s in range(0, 1800, 3)]
    with db.session_scope() as session:
        intake_records = [{"vin": trucks[0].vin, "collected_at": t.isoformat(), "vehicle_speed": 30.0} for t in times]
        ingest.ingest_json(session, PLATFORM, body(intake_records), ObdSettings())
    enqueue(redis, "obd.compute_online_rates")
    run_jobs()
    expected = daily_online_rates(times)[day]
    with db.session_scope() as session:
        row = session.execute(text("SELECT slots_with_data, span_slots, slots_in_day, rate, coverage"
                                   " FROM obd_online_days WHERE vehicle_id = :v AND day = :d"),
                              {"v": trucks[0].id, "d": day}).one()
    assert tuple(row) == (expected.slots_with_data, expected.span_slots, expected.slots_in_day,
                          pytest.approx(expected.rate), pytest.approx(expected.coverage))


def test_fleet_online_rate(committed_app, db, trucks):
    day = date(2026, 1, 5)
    with db.session_scope() as session:
        session.execute(text("INSERT INTO obd_online_days VALUES (:v, :d, 60, 30, 40, 1440, 0.75, 0.02, now(),"
                             " now(), now())"), {"v": trucks[0].id, "d": day})
        for truck in trucks:                                   # both have reported once
            session.execute(text("INSERT INTO obd_vehicle_states (vehicle_id, last_seen_at) VALUES (:v, now())"),
                            {"v": truck.id})
        figure = online.fleet_online(session, SYSTEM, {"day": day})
    assert (figure["monitored"], figure["online"], figure["fleet_online_rate"], figure["mean_rate"]) == (2, 1, 0.5, 0.75)


def test_partitions_are_made_ahead_and_dropped_after_the_retention(db, redis, run_jobs, trucks, monkeypatch):
    now = clock.now()
    enqueue(redis, "obd.maintain_partitions")
    run_jobs()
    names = lambda: {r for (r,) in _partitions(db)}  # noqa: E731
    today = local_day(now)
    assert {f"obd_stream_records_p{today + timedelta(days=3):%Y%m%d}",
            f"obd_info_records_p{today - timedelta(days=7):%Y%m%d}"} <= names()
    feed(db, redis, driving(trucks[0].vin, now.replace(microsecond=0) - timedelta(minutes=5), 10))
    settings = ObdSettings(retention_days=30)
    with db.session_scope() as session:
        result = service.maintain_partitions(session, settings, now + timedelta(days=31))
    assert f"obd_stream_records_p{today:%Y%m%d}" in result["dropped"]
    assert f"obd_stream_records_p{today:%Y%m%d}" not in names() and result["batches_deleted"] == 0
    assert scalar(db, "SELECT count(*) FROM obd_stream_records") == 0


def _partitions(db):
    with db.session_scope() as session:
        return session.execute(text("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                                    " JOIN pg_class p ON p.oid = i.inhparent"
                                    " WHERE p.relname IN ('obd_stream_records', 'obd_info_records')")).all()

