"""Geofencing through HTTP, Redis and a real RQ worker, against the real Guiyang district data:
an entry-dwell-exit track of a China II excavator opens and closes exactly one violation, the
same track of a China IV loader opens none, a track jittering along the boundary opens nothing,
and re-delivered or re-processed batches change nothing."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from mobsrc.core.jobs import JOBS
from mobsrc.core.reconcile import reconcile
from mobsrc.enforcement.models import Violation
from mobsrc.zones.models import PositionBatch, ZoneVersion, ZoneVisit, ZoneVisitState
from tests.integration.zones.helpers import (
    T0,
    YUNYAN,
    MovableClock,
    boundary_crossing,
    entry_dwell_exit,
    feature,
    item,
)

# 200 m either side of Yunyan's boundary: walking pace between them, no implausible jump.
INSIDE, OUTSIDE = boundary_crossing(YUNYAN, 0.002)


@pytest.fixture
def clock(monkeypatch):
    return MovableClock(monkeypatch, T0 - timedelta(minutes=30))


@pytest.fixture
def client(committed_app):
    return committed_app.test_client()


@pytest.fixture
def yunyan_zone(client, committed_world, clock):
    """Yunyan district as a no-use zone, drawn in GCJ-02 as map providers publish it."""
    answer = client.post("/api/v1/zones", json={"name": "云岩区高排放非道路移动机械禁用区", "district_code": YUNYAN,
                                                "area": feature(YUNYAN), "crs": "gcj02"},
                         headers=committed_world.admin)
    assert answer.status_code == 201, answer.json
    return answer.json


def drive(client, clock, headers, items, per_batch: int = 5) -> list[int]:
    """Post the fixes in batches as they would arrive live (each a few seconds after its last fix)."""
    batch_ids = []
    for start in range(0, len(items), per_batch):
        chunk = items[start:start + per_batch]
        clock.set(max(_time(i) for i in chunk) + timedelta(seconds=5))
        answer = client.post("/api/v1/positions", json={"positions": chunk}, headers=headers)
        assert answer.status_code == 202, answer.json
        assert all(r["status"] == "accepted" for r in answer.json["results"]), answer.json
        batch_ids.append(answer.json["id"])
    return batch_ids


def _time(data):
    from datetime import datetime
    return datetime.fromisoformat(data["fix_time"])


def violations(session):
    session.expire_all()
    return session.scalars(select(Violation).order_by(Violation.id)).all()


def visits(session):
    session.expire_all()
    return session.scalars(select(ZoneVisit).order_by(ZoneVisit.id)).all()


def snapshot(session) -> tuple:
    session.expire_all()
    rows = [tuple(r) for r in session.execute(text(
        "SELECT id, occurred_at, ended_at, source_ref, evidence::text, details::text FROM violations ORDER BY id"))]
    visit_rows = [tuple(r) for r in session.execute(text(
        "SELECT id, machine_id, zone_id, entry_time, exit_time, violation_id FROM zone_visits ORDER BY id"))]
    states = [tuple(r) for r in session.execute(text(
        "SELECT machine_id, zone_id, status, last_fix_time, run::text, visit_id, violating FROM zone_visit_states "
        "ORDER BY 1, 2"))]
    events = session.execute(text("SELECT count(*) FROM violation_events")).scalar()
    return rows, visit_rows, states, events


def test_entry_dwell_exit_opens_and_closes_exactly_one_violation_and_china_iv_opens_none(
        client, committed_session, committed_world, clock, yunyan_zone, run_jobs):
    w = committed_world
    old_track = entry_dwell_exit(w.old, T0, OUTSIDE, INSIDE, minutes_inside=20)
    new_track = entry_dwell_exit(w.new, T0, OUTSIDE, INSIDE, minutes_inside=20, crs="gcj02")
    drive(client, clock, w.terminal, old_track[:15] + new_track[:15], per_batch=10)  # 5 out, 10 in
    run_jobs()
    inside = client.get("/api/v1/zones/inside", headers=w.admin).json
    assert sorted(o["machine_id"] for o in inside) == sorted([w.old.id, w.new.id])
    assert {o["zone_id"] for o in inside} == {yunyan_zone["id"]}
    assert all(o["last_position"]["fix_time"] == "2026-03-02T09:14:00+08:00" for o in inside)
    assert client.get("/api/v1/zones/inside", headers=w.other_operator).json == []  # not theirs
    assert len(client.get("/api/v1/zones/inside", headers=w.operator).json) == 2
    drive(client, clock, w.terminal, old_track[15:] + new_track[15:], per_batch=10)
    run_jobs()

    found = violations(committed_session)
    assert len(found) == 1
    violation = found[0]
    entry, exit_ = T0 + timedelta(minutes=5), T0 + timedelta(minutes=25)
    assert (violation.kind.value, violation.machine_id, violation.source) == ("nrmm_in_no_use_zone", w.old.id, "zones")
    assert violation.occurred_at == entry and violation.ended_at == exit_
    assert violation.district_code == YUNYAN and violation.enterprise_id == w.firm.id
    details = violation.details
    assert (details["zone_id"], details["zone_version"]) == (yunyan_zone["id"], 1)
    assert details["dwell_seconds"] == 20 * 60 and details["ended_by"] == "left_zone"
    assert "stage_prohibited" in details["reasons"]
    assert {e["type"] for e in violation.evidence} == {"position_fix"} and len(violation.evidence) >= 3
    assert violation.evidence[0]["ref"] == f"machine_positions/{w.old.id}/{entry.isoformat()}"
    by_machine = {v.machine_id: v for v in visits(committed_session)}
    assert set(by_machine) == {w.old.id, w.new.id}
    assert by_machine[w.old.id].violation_id == violation.id and by_machine[w.old.id].machine_barred
    assert by_machine[w.new.id].violation_id is None and not by_machine[w.new.id].machine_barred
    assert by_machine[w.new.id].entry_time == entry and by_machine[w.new.id].exit_time == exit_  # gcj02 = wgs84
    assert client.get("/api/v1/zones/inside", headers=w.admin).json == []
    listed = client.get("/api/v1/violations?kind=nrmm_in_no_use_zone", headers=w.operator).json["items"]
    assert [v["id"] for v in listed] == [violation.id]
    assert client.get("/api/v1/violations", headers=w.other_operator).json["items"] == []
    history = client.get(f"/api/v1/violations/{violation.id}/history", headers=w.police).json
    assert [h["action"] for h in history] == ["recorded", "ended"]
    zone_visits = client.get("/api/v1/zone-visits?violating=true", headers=w.police).json["items"]
    assert [v["violation_id"] for v in zone_visits] == [violation.id]
    assert client.get("/api/v1/zone-visits", headers=w.other_operator).json["items"] == []


def test_a_track_jittering_along_the_boundary_opens_nothing(client, committed_session, committed_world, clock,
                                                             yunyan_zone, run_jobs):
    inside, outside = boundary_crossing(YUNYAN)
    pattern = "ioiioiioioiiooiioiioiiooiioiio"  # never three inside in a row
    track = [item(committed_world.old, T0 + timedelta(seconds=20 * k), *(inside if c == "i" else outside))
             for k, c in enumerate(pattern)]
    drive(client, clock, committed_world.terminal, track, per_batch=6)
    run_jobs()
    assert visits(committed_session) == [] and violations(committed_session) == []
    state = committed_session.scalars(select(ZoneVisitState)).one()
    assert state.status == "outside" and state.visit_id is None


def test_redelivered_and_reprocessed_batches_change_nothing(client, committed_app, committed_session,
                                                             committed_world, clock, yunyan_zone, run_jobs, redis):
    w = committed_world
    track = entry_dwell_exit(w.old, T0, OUTSIDE, INSIDE, minutes_inside=10)
    batches = drive(client, clock, w.terminal, track, per_batch=4)
    run_jobs()
    before = snapshot(committed_session)
    assert len(before[0]) == 1 and before[0][0][2] is not None  # one violation, ended

    for start in range(0, len(track), 4):  # the terminal sends everything again
        answer = client.post("/api/v1/positions", json={"positions": track[start:start + 4]}, headers=w.terminal)
        assert {r["status"] for r in answer.json["results"]} == {"duplicate"}
    assert run_jobs() == 0

    committed_session.execute(update(PositionBatch).where(PositionBatch.id.in_(batches)).values(processed=False))
    committed_session.commit()
    clock.set(clock.now + timedelta(minutes=5))
    assert reconcile(committed_app.extensions["mobsrc"].db, redis) == len(batches)
    assert run_jobs() == len(batches)
    assert snapshot(committed_session) == before


def test_a_violation_names_the_zone_version_in_force_when_it_happened(client, committed_session, committed_world,
                                                                      clock, yunyan_zone, run_jobs):
    w = committed_world
    first = entry_dwell_exit(w.old, T0, OUTSIDE, INSIDE, minutes_inside=10)
    drive(client, clock, w.terminal, first)
    run_jobs()
    clock.set(T0 + timedelta(hours=1))
    exempt = client.patch(f"/api/v1/zones/{yunyan_zone['id']}", json={"exempt_machine_types": ["excavator"]},
                          headers=w.admin)
    assert exempt.json["version"] == 2
    second = entry_dwell_exit(w.old, T0 + timedelta(hours=2), OUTSIDE, INSIDE, minutes_inside=10)
    drive(client, clock, w.terminal, second)
    run_jobs()
    found = violations(committed_session)
    assert len(found) == 1 and found[0].details["zone_version"] == 1
    versions = dict(committed_session.execute(select(ZoneVersion.version, ZoneVersion.id)).all())
    assert [(v.zone_version_id, v.violation_id is not None, v.reasons) for v in visits(committed_session)] == [
        (versions[1], True, ["stage_prohibited"]), (versions[2], False, ["exempt_machine_type"])]


def test_late_fixes_are_judged_by_the_version_in_force_when_they_were_taken(client, committed_session,
                                                                            committed_world, clock, yunyan_zone,
                                                                            run_jobs):
    """Fixes taken under version 1 but received after version 2 (which exempts excavators) was
    made still open a violation naming version 1."""
    w = committed_world
    clock.set(T0 + timedelta(minutes=40))
    assert client.patch(f"/api/v1/zones/{yunyan_zone['id']}", json={"exempt_machine_types": ["excavator"]},
                        headers=w.admin).json["version"] == 2
    clock.set(T0 + timedelta(hours=2))
    track = entry_dwell_exit(w.old, T0, OUTSIDE, INSIDE, minutes_inside=10)
    answer = client.post("/api/v1/positions", json={"positions": track}, headers=w.terminal)
    assert {tuple(r["flags"]) for r in answer.json["results"]} == {("late",)}
    run_jobs()
    found = violations(committed_session)
    assert len(found) == 1 and found[0].details["zone_version"] == 1


def test_a_zone_out_of_its_daily_window_opens_nothing(client, committed_session, committed_world, clock,
                                                      yunyan_zone, run_jobs):
    clock.set(T0 - timedelta(minutes=20))
    night = client.patch(f"/api/v1/zones/{yunyan_zone['id']}",
                         json={"daily_windows": [{"start": "22:00", "end": "06:00"}]}, headers=committed_world.admin)
    assert night.json["version"] == 2
    clock.set(T0)
    drive(client, clock, committed_world.terminal,
          entry_dwell_exit(committed_world.old, T0 + timedelta(minutes=1), OUTSIDE, INSIDE, minutes_inside=10))
    run_jobs()
    assert visits(committed_session) == [] and violations(committed_session) == []


def test_an_alert_days_only_zone_applies_on_declared_alert_days(client, committed_session, committed_world, clock,
                                                                yunyan_zone, run_jobs):
    w = committed_world
    clock.set(T0 - timedelta(minutes=20))
    assert client.patch(f"/api/v1/zones/{yunyan_zone['id']}", json={"alert_days_only": True},
                        headers=w.admin).json["version"] == 2
    clock.set(T0)
    drive(client, clock, w.terminal, entry_dwell_exit(w.old, T0 + timedelta(minutes=1), OUTSIDE, INSIDE, 10))
    run_jobs()
    assert violations(committed_session) == []
    assert client.put("/api/v1/alert-days/2026-03-03", json={"level": "orange"}, headers=w.admin).status_code == 200
    next_day = T0 + timedelta(days=1)
    drive(client, clock, w.terminal, entry_dwell_exit(w.old, next_day, OUTSIDE, INSIDE, 10))
    run_jobs()
    found = violations(committed_session)
    assert len(found) == 1 and found[0].occurred_at == next_day + timedelta(minutes=5)


def test_a_machine_parked_with_its_engine_off_opens_nothing(client, committed_session, committed_world, clock,
                                                            yunyan_zone, run_jobs):
    track = [{**fix, "engine_on": False, "engine_rpm": 0.0}
             for fix in entry_dwell_exit(committed_world.old, T0, OUTSIDE, INSIDE, minutes_inside=10)]
    drive(client, clock, committed_world.terminal, track)
    run_jobs()
    assert violations(committed_session) == []
    [visit] = visits(committed_session)
    assert visit.machine_barred and visit.reasons == ["engine_off"] and visit.exit_time is not None


def test_a_machine_that_falls_silent_inside_has_its_visit_ended(client, committed_session, committed_world, clock,
                                                               yunyan_zone, run_jobs, redis):
    track = entry_dwell_exit(committed_world.old, T0, OUTSIDE, INSIDE, minutes_inside=10)[:15]  # never leaves
    drive(client, clock, committed_world.terminal, track)
    run_jobs()
    [violation] = violations(committed_session)
    assert violation.ended_at is None
    clock.set(T0 + timedelta(minutes=14 + 31))
    from rq import Queue
    Queue(JOBS["zones.close_silent_visits"].queue, connection=redis).enqueue(JOBS["zones.close_silent_visits"].path)
    run_jobs()
    [violation] = violations(committed_session)
    assert violation.ended_at == T0 + timedelta(minutes=14) and violation.details["ended_by"] == "signal_lost"
    assert visits(committed_session)[0].ended_by == "signal_lost"
