"""The register's core: producers record idempotently; police, bureau and owners read with scope."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mobsrc.enforcement import service
from mobsrc.enforcement.register import Evidence, SubjectType, ViolationDraft, ViolationKind
from tests.integration import factories

T0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)


def machine_draft(machine, ref="visit:1", **overrides) -> ViolationDraft:
    fields = dict(kind=ViolationKind.NRMM_IN_NO_USE_ZONE, occurred_at=T0, source="zones", source_ref=ref,
                  subject_type=SubjectType.MACHINE, machine_id=machine.id, machine_code=machine.code,
                  enterprise_id=machine.enterprise_id, lon=106.71, lat=26.57, district_code="520102",
                  evidence=(Evidence("position_fix", "fix:1"),), details={"zone_version": 3})
    return ViolationDraft(**(fields | overrides))


def test_recording_twice_gives_one_violation(session, enterprise):
    machine = factories.make_machine(session, enterprise)
    first, created = service.record_violation(session, machine_draft(machine))
    again, created_again = service.record_violation(session, machine_draft(machine))
    assert created and not created_again and first.id == again.id
    assert first.legal_basis_code == "APPCL-114-2"


def test_ending_an_episode_is_idempotent(session, enterprise):
    machine = factories.make_machine(session, enterprise)
    service.record_violation(session, machine_draft(machine))
    ended = service.end_violation(session, "zones", "visit:1", T0 + timedelta(minutes=30), {"dwell_s": 1800})
    later = service.end_violation(session, "zones", "visit:1", T0 + timedelta(hours=5), {"dwell_s": 99})
    assert ended.ended_at == later.ended_at == T0 + timedelta(minutes=30)
    assert later.details == {"zone_version": 3, "dwell_s": 1800}


def test_drafts_refuse_incomplete_subjects():
    with pytest.raises(ValueError):
        ViolationDraft(kind=ViolationKind.BLACK_SMOKE, occurred_at=T0, source="remote_sensing", source_ref="r:1",
                       subject_type=SubjectType.VEHICLE)
    with pytest.raises(ValueError):
        ViolationDraft(kind=ViolationKind.BLACK_SMOKE, occurred_at=T0.replace(tzinfo=None), source="rs",
                       source_ref="r:1", subject_type=SubjectType.VEHICLE, plate="贵A12345")


def test_police_filter_by_plate_kind_and_time(client, session, as_police, enterprise):
    vehicle = factories.make_vehicle(session, enterprise, plate="贵A77777")
    for i, kind in enumerate([ViolationKind.BLACK_SMOKE, ViolationKind.RS_HIGH_EMITTER, ViolationKind.BLACK_SMOKE]):
        service.record_violation(session, ViolationDraft(
            kind=kind, occurred_at=T0 + timedelta(days=i), source="remote_sensing", source_ref=f"reading:{i}",
            subject_type=SubjectType.VEHICLE, vehicle_id=vehicle.id, plate="贵a 77777", plate_colour="yellow",
            vin=vehicle.vin, enterprise_id=enterprise.id))
    session.flush()
    page = client.get("/api/v1/violations?plate=贵A77777&kind=black_smoke", headers=as_police).json
    assert [v["source_ref"] for v in page["items"]] == ["reading:2", "reading:0"]
    window = client.get("/api/v1/violations", headers=as_police, query_string={
        "occurred_from": (T0 + timedelta(hours=1)).isoformat(), "occurred_to": (T0 + timedelta(days=2)).isoformat()})
    assert [v["source_ref"] for v in window.json["items"]] == ["reading:1"]


def test_operator_sees_only_its_own_violations(client, session, as_operator, enterprise, other_enterprise):
    mine, theirs = factories.make_machine(session, enterprise), factories.make_machine(session, other_enterprise)
    own, _ = service.record_violation(session, machine_draft(mine, "visit:mine"))
    other, _ = service.record_violation(session, machine_draft(theirs, "visit:theirs"))
    session.flush()
    listed = client.get("/api/v1/violations", headers=as_operator).json["items"]
    assert [v["id"] for v in listed] == [own.id]
    assert client.get(f"/api/v1/violations/{other.id}", headers=as_operator).status_code == 404
    history = client.get(f"/api/v1/violations/{own.id}/history", headers=as_operator).json
    assert [h["action"] for h in history] == ["recorded"]


def test_legal_bases_are_seeded_with_their_confidence(client, as_police):
    bases = {b["code"]: b for b in client.get("/api/v1/legal-bases", headers=as_police).json}
    assert bases["APPCL-113"]["fine_max"] == 200 and bases["APPCL-113"]["confidence"] == "SECONDARY"
    assert bases["APPCL-112-1"]["confidence"] == "CONFIRMED"


def test_a_bad_reference_is_an_error_not_a_silent_duplicate(session, enterprise):
    from sqlalchemy.exc import IntegrityError
    machine = factories.make_machine(session, enterprise)
    with pytest.raises(IntegrityError):
        service.record_violation(session, machine_draft(machine, "visit:bad", legal_basis_code="NO-SUCH-ARTICLE"))
