"""The roadside lookup: everything open against a plate or a machine, its record, and what other
features know about it through STATUS_PROVIDERS (tested with providers defined here, as the I/M
feature will register its own)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from mobsrc.core.audit import AuditEntry
from mobsrc.enforcement import subject_status
from mobsrc.enforcement.register import ViolationStatus
from tests.integration import factories
from tests.integration.enforcement.conftest import T0, machine_draft, vehicle_draft

CALLS: list = []


def im_status(session, subject):
    """A stand-in for the I/M feature's provider: it reads the database through the session."""
    CALLS.append(subject)
    if subject.plate != "贵A12345":
        return None
    today = session.scalar(text("SELECT CAST(:t AS date)"), {"t": "2026-11-15"})
    return {"case": "open", "stage": "awaiting_repair", "deadline": today.isoformat()}


def broken_provider(session, subject):
    session.execute(text("SELECT 1 / 0"))  # fails inside the database: the transaction must survive


@pytest.fixture
def providers(monkeypatch):
    CALLS.clear()
    monkeypatch.setitem(subject_status.STATUS_PROVIDERS, "im", f"{__name__}:im_status")
    return subject_status.STATUS_PROVIDERS


@pytest.fixture
def truck(session, enterprise, record):
    vehicle = factories.make_vehicle(session, enterprise, plate="贵A12345", obd_terminal_id="TERM-0001")
    made = [
        record(vehicle_draft(occurred_at=T0, plate="贵A12345", vin=vehicle.vin)),
        record(vehicle_draft(occurred_at=T0 + timedelta(days=1), plate=None, vin=vehicle.vin, source="obd")),
        record(vehicle_draft(occurred_at=T0 + timedelta(days=2), plate=None, vin=None, vehicle_id=vehicle.id,
                             source="im")),
        record(vehicle_draft(occurred_at=T0 + timedelta(days=3), plate="贵A12345", plate_colour="blue")),  # another car
        record(vehicle_draft(occurred_at=T0 + timedelta(days=4), plate="贵A12345")),
    ]
    made[4].status = ViolationStatus.PENALISED
    session.flush()
    return vehicle, made


def test_a_plate_shows_what_is_open_however_it_was_recorded(client, as_police, truck, providers):
    vehicle, made = truck
    status = client.get("/api/v1/subject-status", query_string={"plate": "贵a12345", "plate_colour": "yellow"},
                        headers=as_police).json
    assert status["subject_type"] == "vehicle" and status["plate"] == "贵A12345" and status["vin"] == vehicle.vin
    assert [v["id"] for v in status["open_violations"]] == [made[2].id, made[1].id, made[0].id]
    assert status["counts"] == {"open": 3, "under_review": 0, "penalised": 1, "dismissed": 0}
    assert status["last_violation_at"] == "2026-11-05T10:00:00+08:00"
    assert status["providers"] == {"im": {"available": True, "status": {
        "case": "open", "stage": "awaiting_repair", "deadline": "2026-11-15"}}}
    assert CALLS[-1].vehicle_ids == (vehicle.id,)


def test_police_see_the_subject_not_the_owners_registry_internals(client, as_police, truck, providers):
    vehicle, _ = truck
    (registered,) = client.get("/api/v1/subject-status", query_string={"plate": "贵A12345", "plate_colour": "yellow"},
                               headers=as_police).json["registered"]
    assert registered == {"id": vehicle.id, "plate": "贵A12345", "plate_colour": "yellow", "vin": vehicle.vin,
                          "fuel": "diesel", "emission_standard": "china_6"}
    assert "TERM-0001" not in str(registered)


def test_a_plate_without_colour_covers_every_colour(client, as_police, truck, providers):
    status = client.get("/api/v1/subject-status", query_string={"plate": "贵A12345"}, headers=as_police).json
    assert status["counts"]["open"] == 4


def test_a_machine_by_code(client, session, enterprise, record, as_police, providers):
    machine = factories.make_machine(session, enterprise)
    record(machine_draft(machine_code=machine.code, machine_id=machine.id))
    record(machine_draft(machine_code=None, machine_id=machine.id, occurred_at=T0 + timedelta(hours=1)))
    dashed = f"{machine.code[:6]}-{machine.code[6:8]}-{machine.code[8:14]}-{machine.code[14:]}"
    status = client.get("/api/v1/subject-status", query_string={"machine_code": dashed}, headers=as_police).json
    assert status["subject_type"] == "machine" and status["machine_code"] == machine.code
    assert len(status["open_violations"]) == 2
    assert status["registered"] == [{"id": machine.id, "code": machine.code, "machine_type": "excavator",
                                     "emission_stage": "china_3", "status": "registered"}]
    assert status["providers"]["im"] == {"available": True, "status": None}


def test_an_unknown_plate_is_an_empty_answer(client, as_police, providers):
    status = client.get("/api/v1/subject-status", query_string={"plate": "贵Z00000"}, headers=as_police).json
    assert status["open_violations"] == [] and status["registered"] == [] and status["last_violation_at"] is None


def test_a_failing_provider_is_reported_and_the_rest_stands(client, session, as_police, truck, providers,
                                                             monkeypatch):
    monkeypatch.setitem(providers, "broken", f"{__name__}:broken_provider")
    response = client.get("/api/v1/subject-status", query_string={"plate": "贵A12345"}, headers=as_police)
    assert response.status_code == 200
    assert response.json["providers"]["broken"]["available"] is False
    assert response.json["providers"]["im"]["available"] is True
    assert len(response.json["open_violations"]) == 4
    assert session.scalars(select(AuditEntry).where(AuditEntry.action == "violations.subject_status")).all()


def test_every_registered_provider_resolves():
    """Features register by dotted path; a typo must fail here, not at the roadside."""
    registered = {**subject_status.STATUS_PROVIDERS, "probe": f"{__name__}:im_status"}
    for name, path in registered.items():
        assert callable(subject_status.resolve_provider(path)), name
    with pytest.raises(AttributeError):
        subject_status.resolve_provider(f"{__name__}:no_such_provider")


def test_lookups_are_logged_with_the_plate(client, session, as_police, truck, providers):
    client.get("/api/v1/subject-status", query_string={"plate": "贵A12345"}, headers=as_police)
    (entry,) = session.scalars(select(AuditEntry).where(AuditEntry.action == "violations.subject_status")).all()
    assert entry.entity_id == "贵A12345" and entry.role == "police" and entry.after == {"subject_type": "vehicle"}


@pytest.mark.parametrize("query", [{}, {"plate": "贵A12345", "vin": "LZZ1BLSB0RA000001"}, {"plate_colour": "blue"}])
def test_exactly_one_subject_must_be_named(client, as_police, query):
    response = client.get("/api/v1/subject-status", query_string=query, headers=as_police)
    assert response.status_code == 422 and response.json["errors"][0]["field"] == "plate"
