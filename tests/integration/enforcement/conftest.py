"""Helpers for the register's tests: drafts with defaults, points inside known districts."""
from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from mobsrc.core.geo.districts import load_district_boundaries
from mobsrc.enforcement import service
from mobsrc.enforcement.register import SubjectType, ViolationDraft, ViolationKind

T0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
_refs = itertools.count(1)
# A WGS-84 point inside each district (computed from the same boundaries the database holds).
INSIDE = {d.code: d.geometry.representative_point() for d in load_district_boundaries()}


def point_in(code: str) -> tuple[float, float]:
    p = INSIDE[code]
    return round(p.x, 6), round(p.y, 6)


def vehicle_draft(**overrides) -> ViolationDraft:
    n = next(_refs)
    fields = dict(kind=ViolationKind.BLACK_SMOKE, occurred_at=T0, source="remote_sensing", source_ref=f"reading:{n}",
                  subject_type=SubjectType.VEHICLE, plate="贵A10001", plate_colour="yellow")
    return ViolationDraft(**(fields | overrides))


def machine_draft(**overrides) -> ViolationDraft:
    n = next(_refs)
    fields = dict(kind=ViolationKind.NRMM_IN_NO_USE_ZONE, occurred_at=T0, source="zones", source_ref=f"visit:{n}",
                  subject_type=SubjectType.MACHINE, machine_code="520115EX000001C")
    return ViolationDraft(**(fields | overrides))


@pytest.fixture
def record(session):
    """`record(draft)` -> the flushed violation (visible to the test's requests)."""
    def make(draft: ViolationDraft):
        violation, _ = service.record_violation(session, draft)
        session.flush()
        return violation
    return make
