"""Pages are built by `violation_document` (fast) while one violation is dumped by marshmallow's
ViolationSchema (documented): the two must produce the same document for every kind of row."""
from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import orjson

from mobsrc.enforcement import service
from mobsrc.enforcement.actions import AppealStatus
from mobsrc.enforcement.register import Evidence, ViolationStatus
from mobsrc.enforcement.schemas import ViolationSchema, violation_document
from tests.integration.enforcement.conftest import T0, machine_draft, point_in, vehicle_draft


def test_fast_and_schema_documents_agree(session, record, enterprise):
    lon, lat = point_in("520102")
    plain = record(vehicle_draft())
    located = record(vehicle_draft(lon=lon, lat=lat, vin="LZZ1BLSB0RA000001", enterprise_id=enterprise.id,
                                   evidence=(Evidence("image", "x.jpg", sha256="ab" * 32, note="前方"),),
                                   details={"ringelmann": 3, "标签": ["黑烟"]}))
    machine = record(machine_draft(lon=lon, lat=lat))
    service.end_violation(session, machine.source, machine.source_ref, T0 + timedelta(minutes=42), {"dwell_s": 2520})
    decided = record(vehicle_draft(plate="贵A99999"))
    decided.status, decided.appeal_status = ViolationStatus.PENALISED, AppealStatus.PENDING
    decided.decision_number, decided.penalty_amount, decided.officer = "D-1", Decimal("200.5"), "王"
    decided.decided_on, decided.status_changed_at, decided.status_reason = date(2026, 11, 3), T0, "ok"
    session.flush()
    session.expire_all()  # compare what the database gives back, as a request sees it
    for violation in (plain, located, machine, decided):
        fast = json.loads(orjson.dumps(violation_document(violation)))
        documented = json.loads(json.dumps(ViolationSchema().dump(violation), ensure_ascii=False))
        assert fast == documented
        assert list(fast) == list(documented)  # same member order too
    assert fast["penalty_amount"] == "200.50" and fast["allowed_actions"] == ["decide_appeal", "note"]
