"""Deadlines and escalation with a controllable clock: overdue exactly at the deadline, escalated
after the configured days into a police-visible violation, idempotent however often the sweep
runs, and parallel sweeps never take the same case."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, text

from mobsrc.core import clock
from mobsrc.core.jobs import enqueue
from mobsrc.enforcement.models import Violation
from mobsrc.im.cases import TriggerKind
from mobsrc.im.models import Case, CaseHistory, Notification
from mobsrc.im.service import Subject, open_case, sweeps
from tests.integration import factories
from tests.integration.im import payloads

INSPECTIONS = "/api/v1/im/inspections"


def failed_case(client, session, headers, vehicle) -> Case:
    posted = client.post(INSPECTIONS, json=payloads.failing(vehicle), headers=headers).json
    return session.get(Case, posted["case"]["case_id"])


def sweep(session) -> int:
    made_total = 0
    while True:
        seen, made = sweeps.sweep_case_deadlines(session)
        made_total += made
        if not (seen and made):
            session.expire_all()
            return made_total


def notices(session, case) -> list[str]:
    return session.scalars(select(Notification.event).where(Notification.case_id == case.id)
                           .order_by(Notification.id)).all()


def test_a_case_becomes_overdue_at_its_deadline_not_before(client, session, as_i_station, vehicle, frozen_clock,
                                                          as_admin):
    client.patch("/api/v1/im/parameters", json={"values": {"escalate_after_days": 3}}, headers=as_admin)
    case = failed_case(client, session, as_i_station, vehicle)
    frozen_clock.set(case.deadline - timedelta(seconds=1))
    assert sweep(session) == 0 and session.get(Case, case.id).state.value == "notified"
    frozen_clock.set(case.deadline)
    assert sweep(session) == 1
    case = session.get(Case, case.id)
    assert (case.state.value, case.overdue_at) == ("overdue", case.deadline)
    assert notices(session, case) == ["case.opened", "case.overdue"]
    last = session.scalars(select(CaseHistory).where(CaseHistory.case_id == case.id)
                           .order_by(CaseHistory.id.desc())).first()
    assert (last.event, last.actor_role, last.actor_id, last.at) == (
        "deadline_passed", "system", "im.deadline_sweep", case.deadline)


def test_an_overdue_case_is_escalated_after_the_configured_days(client, session, as_i_station, as_admin, vehicle,
                                                                frozen_clock):
    client.patch("/api/v1/im/parameters", json={"values": {"escalate_after_days": 3}}, headers=as_admin)
    case = failed_case(client, session, as_i_station, vehicle)
    frozen_clock.set(case.deadline + timedelta(days=3) - timedelta(minutes=1))
    sweep(session)
    assert session.get(Case, case.id).state.value == "overdue"
    assert session.scalar(select(func.count()).select_from(Violation)) == 0
    frozen_clock.advance(minutes=1)
    assert sweep(session) == 1
    case = session.get(Case, case.id)
    assert case.state.value == "escalated" and case.violation_id is not None


def test_escalation_records_one_violation_for_the_police(client, session, as_i_station, as_police, as_operator,
                                                         vehicle, frozen_clock):
    case = failed_case(client, session, as_i_station, vehicle)
    frozen_clock.set(case.deadline + timedelta(minutes=5))
    assert sweep(session) == 2  # deadline_passed, then (escalate_after_days = 0) escalate
    for _ in range(3):
        frozen_clock.advance(hours=1)
        assert sweep(session) == 0
    (violation,) = session.scalars(select(Violation)).all()
    assert (violation.kind.value, violation.source, violation.source_ref) == ("im_case_overdue", "im", f"case:{case.id}")
    assert (violation.vin, violation.plate, violation.legal_basis_code) == (vehicle.vin, vehicle.plate, "APPCL-113")
    assert violation.occurred_at == case.deadline
    assert {e["type"] for e in violation.evidence} == {"im_case", "failed_inspection"}
    listed = client.get("/api/v1/violations", query_string={"kind": "im_case_overdue"}, headers=as_police).json
    assert [v["source_ref"] for v in listed["items"]] == [f"case:{case.id}"]
    assert client.get(f"/api/v1/im/cases/{case.id}", headers=as_police).json["violation_id"] == violation.id
    assert client.get("/api/v1/violations", headers=as_operator).json["items"][0]["id"] == violation.id
    assert notices(session, session.get(Case, case.id)) == ["case.opened", "case.overdue", "case.escalated"]
    history = session.scalars(select(CaseHistory.event).where(CaseHistory.case_id == case.id)
                              .order_by(CaseHistory.id)).all()
    assert history == ["opened", "deadline_passed", "escalate"]


def test_configured_deadline_days_apply_to_new_cases(client, session, as_admin, as_i_station, vehicle, frozen_clock):
    response = client.patch("/api/v1/im/parameters", json={"values": {"deadline_days.failed_inspection": 7}},
                            headers=as_admin)
    assert response.status_code == 200
    case = failed_case(client, session, as_i_station, vehicle)
    assert clock.as_local(case.deadline).isoformat() == "2026-11-18T00:00:00+08:00"  # 10 Nov + 7 days, 24:00


def test_a_repair_in_time_is_never_overdue(client, session, as_i_station, as_m_station, vehicle, frozen_clock):
    case = failed_case(client, session, as_i_station, vehicle)
    client.post("/api/v1/im/repairs", json=payloads.repair_order(vehicle, completed=True), headers=as_m_station)
    client.post(INSPECTIONS, json=payloads.passing(vehicle), headers=as_i_station)
    frozen_clock.set(case.deadline + timedelta(days=40))
    assert sweep(session) == 0
    assert session.get(Case, case.id).state.value == "closed"


def test_a_late_repair_and_pass_close_the_case_and_end_the_violation(client, session, as_i_station, as_m_station,
                                                                    as_admin, vehicle, frozen_clock):
    case = failed_case(client, session, as_i_station, vehicle)
    frozen_clock.set(case.deadline + timedelta(days=2))
    sweep(session)
    assert session.get(Case, case.id).state.value == "escalated"
    frozen_clock.advance(days=1)
    done = client.post("/api/v1/im/repairs", json=payloads.repair_order(vehicle, completed=True),
                       headers=as_m_station)
    assert done.status_code == 201, done.json
    passed = client.post(INSPECTIONS, json=payloads.passing(vehicle, kind="retest"), headers=as_i_station).json
    assert passed["case"]["action"] == "closed"
    violation = session.scalars(select(Violation)).one()
    session.refresh(violation)
    assert violation.ended_at == frozen_clock.value
    assert violation.details["ended_because"] == "repaired and passed a re-test"
    frozen_clock.advance(days=5)
    assert sweep(session) == 0


def test_parallel_sweeps_never_take_the_same_case(committed_app, committed_session, frozen_clock):
    firm = factories.make_enterprise(committed_session)
    vehicles = [factories.make_vehicle(committed_session, firm) for _ in range(2)]
    opened = [open_case(committed_session, TriggerKind.BLACK_SMOKE, Subject(vin=v.vin), [f"capture:{i}"],
                        clock.now(), "blacksmoke", f"capture:{i}")[0] for i, v in enumerate(vehicles)]
    committed_session.commit()
    frozen_clock.set(opened[0].deadline + timedelta(hours=1))
    database = committed_app.extensions["mobsrc"].db
    with database.engine.connect() as other:  # another sweep holds the first case
        other.execute(text("SELECT id FROM im_cases WHERE id = :id FOR UPDATE"), {"id": opened[0].id})
        with database.session_scope() as session:
            assert sweeps.sweep_case_deadlines(session) == (1, 2)
        other.rollback()
    with database.session_scope() as session:
        assert sweeps.sweep_case_deadlines(session) == (1, 2)
        assert sweeps.sweep_case_deadlines(session) == (0, 0)
        states = session.scalars(select(Case.state).order_by(Case.id)).all()
        assert [s.value for s in states] == ["escalated", "escalated"]
        assert session.scalar(select(func.count()).select_from(Violation)) == 2


def test_the_sweep_runs_as_a_job_through_redis(committed_app, committed_session, frozen_clock, run_jobs):
    firm = factories.make_enterprise(committed_session)
    vehicle = factories.make_vehicle(committed_session, firm)
    case, _ = open_case(committed_session, TriggerKind.BLACK_SMOKE, Subject(vin=vehicle.vin), ["capture:9"],
                        clock.now(), "blacksmoke", "capture:9")
    committed_session.commit()
    frozen_clock.set(case.deadline)
    assert enqueue(committed_app.extensions["mobsrc"].redis, "im.sweep_case_deadlines")
    assert enqueue(committed_app.extensions["mobsrc"].redis, "im.sweep_case_deadlines")  # still waiting: once
    assert run_jobs() == 1
    committed_session.expire_all()
    assert committed_session.get(Case, case.id).state.value == "escalated"
    assert enqueue(committed_app.extensions["mobsrc"].redis, "im.sweep_case_deadlines")
    assert run_jobs() == 1  # running again changes nothing
    assert committed_session.scalar(select(func.count()).select_from(Violation)) == 1


def test_cancelling_an_escalated_case_ends_its_violation(client, session, as_i_station, as_admin, vehicle,
                                                         frozen_clock):
    case = failed_case(client, session, as_i_station, vehicle)
    frozen_clock.set(case.deadline + timedelta(hours=1))
    sweep(session)
    response = client.post(f"/api/v1/im/cases/{case.id}/events",
                           json={"event": "cancel", "reason": "the vehicle was scrapped before the deadline"},
                           headers=as_admin)
    assert response.status_code == 200 and response.json["state"] == "cancelled"
    violation = session.scalars(select(Violation)).one()
    session.refresh(violation)
    assert violation.ended_at == frozen_clock.value
    assert violation.details["ended_because"].startswith("case cancelled: the vehicle was scrapped")


def test_the_sweep_can_be_run_by_hand(committed_app, committed_session, frozen_clock):
    vehicle = factories.make_vehicle(committed_session, factories.make_enterprise(committed_session))
    case, _ = open_case(committed_session, TriggerKind.OBD_ALARM, Subject(vin=vehicle.vin), ["obd_alarm:5"],
                        clock.now(), "obd", "alarm:5")
    committed_session.commit()
    frozen_clock.set(case.deadline)
    runner = committed_app.test_cli_runner()
    assert runner.invoke(args=["im", "sweep"]).output.strip() == "2 transition(s) made"
    assert runner.invoke(args=["im", "sweep"]).output.strip() == "0 transition(s) made"
    assert "0 sign(s)" in runner.invoke(args=["im", "detect-fraud"]).output
