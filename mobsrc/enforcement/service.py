"""The violation register's use cases. Producers call `record_violation` (idempotent) and
`end_violation`; police and the bureau read through `list_violations` / `get_violation`."""
from __future__ import annotations

from datetime import datetime

from geoalchemy2.elements import WKTElement
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mobsrc.core.auth.principals import SYSTEM, Principal, Role
from mobsrc.core.auth.scope import ensure_visible, scoped
from mobsrc.core.pagination import Page, paginate
from mobsrc.enforcement.models import LegalBasis, Violation, ViolationEvent
from mobsrc.enforcement.register import DEFAULT_LEGAL_BASIS, ViolationDraft
from mobsrc.registry.identifiers import normalize_plate


def find_violation(session: Session, source: str, source_ref: str) -> Violation | None:
    return session.scalar(select(Violation).where(Violation.source == source, Violation.source_ref == source_ref))


def _event(session: Session, violation: Violation, principal: Principal, action: str, **fields) -> None:
    session.execute(insert(ViolationEvent).values(violation_id=violation.id, actor_user_id=principal.user_id,
                                                  actor_role=principal.role.value, action=action, **fields))


def _location(draft: ViolationDraft) -> WKTElement | None:
    return None if draft.lon is None else WKTElement(f"POINT({draft.lon} {draft.lat})", srid=4326)


def record_violation(session: Session, draft: ViolationDraft) -> tuple[Violation, bool]:
    """Record one violation; (violation, created). The same (source, source_ref) again returns
    the violation already recorded, unchanged: producers may call this any number of times."""
    existing = find_violation(session, draft.source, draft.source_ref)
    if existing is not None:
        return existing, False
    violation = Violation(
        kind=draft.kind, occurred_at=draft.occurred_at, subject_type=draft.subject_type,
        vehicle_id=draft.vehicle_id, machine_id=draft.machine_id, vin=draft.vin, machine_code=draft.machine_code,
        plate=normalize_plate(draft.plate) if draft.plate else None, plate_colour=draft.plate_colour,
        enterprise_id=draft.enterprise_id, location=_location(draft), district_code=draft.district_code,
        source=draft.source, source_ref=draft.source_ref, evidence=[e.as_dict() for e in draft.evidence],
        details=dict(draft.details), legal_basis_code=draft.legal_basis_code or DEFAULT_LEGAL_BASIS[draft.kind])
    try:
        with session.begin_nested():
            session.add(violation)
            session.flush()
    except IntegrityError as exc:
        if getattr(exc.orig.diag, "constraint_name", None) != "uq_violations_source_ref":
            raise  # a bad reference (unknown machine, legal basis...) is the producer's bug: surface it
        return find_violation(session, draft.source, draft.source_ref), False  # a concurrent job was first
    _event(session, violation, SYSTEM, "recorded", to_status=violation.status.value, reason=draft.source)
    return violation, True


def end_violation(session: Session, source: str, source_ref: str, ended_at: datetime,
                  details: dict | None = None) -> Violation | None:
    """Close the episode of a lasting violation (a machine left the zone). Idempotent."""
    violation = find_violation(session, source, source_ref)
    if violation is None or violation.ended_at is not None:
        return violation
    violation.ended_at = ended_at
    violation.details = {**violation.details, **(details or {})}
    session.flush()
    _event(session, violation, SYSTEM, "ended", reason=f"ended at {ended_at.isoformat()}")
    return violation


def get_violation(session: Session, principal: Principal, violation_id: int) -> Violation:
    violation = session.get(Violation, violation_id)
    return ensure_visible(principal, violation, "violation",
                          enterprise_id=violation.enterprise_id if violation else None)


def violation_history(session: Session, principal: Principal, violation_id: int) -> list[ViolationEvent]:
    get_violation(session, principal, violation_id)
    return list(session.scalars(select(ViolationEvent).where(ViolationEvent.violation_id == violation_id)
                                .order_by(ViolationEvent.id)))


def list_violations(session: Session, principal: Principal, filters: dict, cursor: str | None, limit: int) -> Page:
    """Newest first, stable order (occurred_at, id). Operators see their own enterprise's only."""
    stmt = scoped(select(Violation), principal, enterprise_col=Violation.enterprise_id)
    if filters.get("plate"):
        stmt = stmt.where(Violation.plate == normalize_plate(filters["plate"]))
    for name in ("kind", "status", "vin", "machine_code", "enterprise_id", "district_code", "plate_colour"):
        if filters.get(name) is not None:
            stmt = stmt.where(getattr(Violation, name) == filters[name])
    if filters.get("occurred_from") is not None:
        stmt = stmt.where(Violation.occurred_at >= filters["occurred_from"])
    if filters.get("occurred_to") is not None:
        stmt = stmt.where(Violation.occurred_at < filters["occurred_to"])
    return paginate(session, stmt, [Violation.occurred_at, Violation.id], cursor, limit)


def list_legal_bases(session: Session) -> list[LegalBasis]:
    return list(session.scalars(select(LegalBasis).order_by(LegalBasis.code)))


VISIBLE_TO = (Role.ADMIN, Role.POLICE, Role.FLEET_OPERATOR)
