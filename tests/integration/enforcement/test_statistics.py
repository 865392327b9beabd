"""Dashboard statistics: counts by kind, status, district and Beijing day; repeat offenders."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from mobsrc.core import clock
from mobsrc.enforcement.register import ViolationKind, ViolationStatus
from tests.integration.enforcement.conftest import machine_draft, point_in, vehicle_draft

K = ViolationKind
# 2026-11-10 23:30 UTC is 2026-11-11 07:30 in Beijing: it counts on the 11th.
LATE_UTC = datetime(2026, 11, 10, 23, 30, tzinfo=UTC)
WINDOW = {"occurred_from": "2026-11-09T00:00:00+08:00", "occurred_to": "2026-11-13T00:00:00+08:00"}


@pytest.fixture
def week(record, session):
    lon, lat = point_in("520102")
    made = [
        record(vehicle_draft(occurred_at=datetime(2026, 11, 9, 2, tzinfo=UTC), plate="贵A00001", lon=lon, lat=lat)),
        record(vehicle_draft(occurred_at=LATE_UTC, plate="贵A00001", kind=K.RS_HIGH_EMITTER, district_code="520103")),
        record(vehicle_draft(occurred_at=LATE_UTC + timedelta(hours=1), plate="贵A00001", district_code="520103")),
        record(vehicle_draft(occurred_at=LATE_UTC + timedelta(hours=2), plate="贵A00002")),  # no place
        record(machine_draft(occurred_at=LATE_UTC, machine_code="520115EX000001C", district_code="520115")),
        record(machine_draft(occurred_at=LATE_UTC + timedelta(hours=3), machine_code="520115EX000001C",
                             district_code="520115")),
        record(vehicle_draft(occurred_at=datetime(2026, 11, 20, tzinfo=UTC), plate="贵A00001")),  # outside
    ]
    made[1].status = ViolationStatus.PENALISED
    session.flush()
    return made


def test_counts_by_kind_status_district_and_beijing_day(client, as_police, week):
    stats = client.get("/api/v1/violations/statistics", query_string=WINDOW, headers=as_police).json
    assert stats["total"] == 6
    assert stats["by_kind"] == [{"kind": "black_smoke", "count": 3}, {"kind": "nrmm_in_no_use_zone", "count": 2},
                                {"kind": "rs_high_emitter", "count": 1}]
    assert stats["by_status"] == [{"status": "open", "count": 5}, {"status": "under_review", "count": 0},
                                  {"status": "penalised", "count": 1}, {"status": "dismissed", "count": 0}]
    assert stats["by_district"] == [
        {"district_code": "520103", "district_name": "云岩区", "count": 2},
        {"district_code": "520115", "district_name": "观山湖区", "count": 2},
        {"district_code": "520102", "district_name": "南明区", "count": 1},
        {"district_code": None, "district_name": None, "count": 1}]
    assert stats["by_day"] == [{"day": "2026-11-09", "count": 1}, {"day": "2026-11-10", "count": 0},
                               {"day": "2026-11-11", "count": 5}, {"day": "2026-11-12", "count": 0}]
    assert stats["occurred_from"] == "2026-11-09T00:00:00+08:00"


def test_statistics_take_the_same_filters(client, as_police, week):
    stats = client.get("/api/v1/violations/statistics", query_string=WINDOW | {"subject_type": "machine"},
                       headers=as_police).json
    assert stats["total"] == 2 and stats["by_district"][0]["district_code"] == "520115"


def test_the_default_window_is_the_last_30_beijing_days(client, as_police, week, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 11, 30, 20, tzinfo=UTC))  # 1 Dec, 04:00 Beijing
    stats = client.get("/api/v1/violations/statistics", headers=as_police).json
    assert stats["occurred_to"] == "2026-12-02T00:00:00+08:00" and len(stats["by_day"]) == 30
    assert stats["by_day"][0]["day"] == "2026-11-02" and stats["total"] == 7


@pytest.mark.parametrize("window", [
    {"occurred_from": "2025-01-01T00:00:00+08:00", "occurred_to": "2026-11-01T00:00:00+08:00"},
    {"occurred_from": "2026-11-02T00:00:00+08:00", "occurred_to": "2026-11-01T00:00:00+08:00"},
])
def test_windows_must_be_ordered_and_at_most_a_year(client, as_police, window):
    response = client.get("/api/v1/violations/statistics", query_string=window, headers=as_police)
    assert response.status_code == 422 and response.json["errors"][0]["field"] == "occurred_from"


def test_repeat_offenders_most_first(client, as_police, week):
    top = client.get("/api/v1/violations/repeat-offenders", query_string=WINDOW, headers=as_police).json
    assert [(o["plate"] or o["machine_code"], o["count"], o["open_count"]) for o in top] == [
        ("贵A00001", 3, 2), ("520115EX000001C", 2, 2)]
    first = top[0]
    assert first["subject_type"] == "vehicle" and first["kinds"] == ["black_smoke", "rs_high_emitter"]
    assert first["first_at"] == "2026-11-09T10:00:00+08:00" and first["last_at"] == "2026-11-11T08:30:00+08:00"
    once = client.get("/api/v1/violations/repeat-offenders", query_string=WINDOW | {"min_count": 1, "limit": 5},
                      headers=as_police).json
    assert [o["plate"] for o in once if o["subject_type"] == "vehicle"] == ["贵A00001", "贵A00002"]
    machines = client.get("/api/v1/violations/repeat-offenders", query_string=WINDOW | {"subject_type": "machine"},
                          headers=as_police).json
    assert [o["machine_code"] for o in machines] == ["520115EX000001C"]


# --- the daily counts ---------------------------------------------------------------------------

def _both_ways(session, filters):
    from mobsrc.core.auth.principals import SYSTEM
    from mobsrc.enforcement import statistics
    filters = statistics.bounded_window(filters)
    return statistics._totals_from_day_counts(session, filters), statistics._totals_from_register(session, SYSTEM,
                                                                                                    filters)


def _all_time():
    from mobsrc.enforcement.queries import ViolationFilters
    return ViolationFilters(occurred_from=datetime(2026, 11, 1, tzinfo=clock.LOCAL_TZ),
                            occurred_to=datetime(2026, 12, 1, tzinfo=clock.LOCAL_TZ))


def test_the_triggers_keep_the_daily_counts_exact(client, session, record, as_police, week):
    from sqlalchemy import delete, func, select, update

    from mobsrc.enforcement import service, statistics
    from mobsrc.enforcement.models import Violation, ViolationDayCountChange, ViolationEvent
    first, second = week[0], week[3]
    assert client.post(f"/api/v1/violations/{first.id}/review", json={}, headers=as_police).status_code == 200
    assert client.post(f"/api/v1/violations/{second.id}/dismissal", json={"reason": "重复"},
                       headers=as_police).status_code == 200
    service.end_violation(session, week[4].source, week[4].source_ref, LATE_UTC + timedelta(hours=1))
    session.execute(update(Violation).where(Violation.id == week[2].id).values(district_code="520111"))
    session.execute(update(Violation).where(Violation.id == week[5].id)
                    .values(occurred_at=datetime(2026, 11, 14, 16, 30, tzinfo=UTC)))  # moves to the 15th
    session.execute(delete(ViolationEvent).where(ViolationEvent.violation_id == week[6].id))
    session.execute(delete(Violation).where(Violation.id == week[6].id).execution_options(synchronize_session=False))
    record(vehicle_draft(occurred_at=LATE_UTC, plate="贵A00009"))
    from_counts, from_register = _both_ways(session, _all_time())  # counts + changes not yet folded
    assert from_counts == from_register and sum(from_register[0].values()) == 7
    assert statistics.fold_day_count_changes(session) > 0
    assert statistics.fold_day_count_changes(session) == 0
    assert session.scalar(select(func.count()).select_from(ViolationDayCountChange)) == 0
    assert _both_ways(session, _all_time()) == (from_counts, from_register)


def test_an_aligned_window_reads_the_daily_counts_and_anything_else_the_register(client, session, as_police, week):
    from sqlalchemy import update

    from mobsrc.enforcement.models import ViolationDayCount
    from mobsrc.enforcement.statistics import fold_day_count_changes
    fold_day_count_changes(session)
    # Mark the counts so that the answer shows where it came from.
    session.execute(update(ViolationDayCount).where(ViolationDayCount.day == date(2026, 11, 9))
                    .values(violations=ViolationDayCount.violations + 100))
    aligned = client.get("/api/v1/violations/statistics", query_string=WINDOW, headers=as_police).json
    assert aligned["by_day"][0] == {"day": "2026-11-09", "count": 101}
    narrowed = client.get("/api/v1/violations/statistics", query_string=WINDOW | {"plate": "贵A00001"},
                          headers=as_police).json
    assert narrowed["by_day"][0] == {"day": "2026-11-09", "count": 1}
    unaligned = client.get("/api/v1/violations/statistics", query_string=WINDOW | {
        "occurred_from": "2026-11-09T06:00:00+08:00"}, headers=as_police).json
    assert unaligned["by_day"][0] == {"day": "2026-11-09", "count": 1}


def test_truncating_the_register_empties_the_counts_and_a_rebuild_restores_them(session, week):
    from sqlalchemy import func, select, text

    from mobsrc.enforcement.models import ViolationDayCount, ViolationDayCountChange
    from mobsrc.enforcement.statistics import fold_day_count_changes, rebuild_day_counts
    fold_day_count_changes(session)
    counted = session.execute(select(ViolationDayCount.day, ViolationDayCount.kind, ViolationDayCount.status,
                                     ViolationDayCount.subject_type, ViolationDayCount.district_code,
                                     ViolationDayCount.violations).where(ViolationDayCount.violations > 0)
                              .order_by(*ViolationDayCount.__table__.primary_key.columns)).all()
    rebuild_day_counts(session)
    rebuilt = session.execute(select(ViolationDayCount.day, ViolationDayCount.kind, ViolationDayCount.status,
                                     ViolationDayCount.subject_type, ViolationDayCount.district_code,
                                     ViolationDayCount.violations)
                              .order_by(*ViolationDayCount.__table__.primary_key.columns)).all()
    assert rebuilt == counted and sum(r.violations for r in rebuilt) == 7
    session.execute(text("TRUNCATE violations, violation_events CASCADE"))  # other features refer to it
    assert session.scalar(select(func.count()).select_from(ViolationDayCount)) == 0
    assert session.scalar(select(func.count()).select_from(ViolationDayCountChange)) == 0


def test_the_fold_runs_as_a_periodic_job_through_a_worker(committed_session, redis, run_jobs):
    from sqlalchemy import func, select

    from mobsrc.core.jobs import enqueue
    from mobsrc.enforcement import service
    from mobsrc.enforcement.models import ViolationDayCount, ViolationDayCountChange
    from workers.cron import PERIODIC
    assert ("enforcement.fold_day_count_changes", 60) in PERIODIC
    for hour in range(3):
        service.record_violation(committed_session, vehicle_draft(occurred_at=LATE_UTC + timedelta(hours=hour)))
    committed_session.commit()
    assert enqueue(redis, "enforcement.fold_day_count_changes")
    assert run_jobs() == 1
    committed_session.expire_all()
    assert committed_session.scalar(select(func.count()).select_from(ViolationDayCountChange)) == 0
    assert committed_session.scalar(select(func.sum(ViolationDayCount.violations))) == 3
