"""The violation register's use cases. Producers call `record_violation` (idempotent) and
`end_violation`; police and the bureau read through `list_violations` / `get_violation` and act
through `act_on_violation` (enforcement actions, mobsrc/enforcement/actions.py).

Privacy: every read by police or the bureau (roles that see everyone's violations) is written to
the access log with the filters used and the subject looked up (`log_query`); operators reading
their own violations are not logged.
"""
from __future__ import annotations

from datetime import datetime

from geoalchemy2.elements import WKTElement
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mobsrc.core.audit import record_access
from mobsrc.core.auth.principals import SYSTEM, Principal, Role
from mobsrc.core.auth.scope import ensure_visible, scoped
from mobsrc.core.pagination import Page, paginate
from mobsrc.enforcement.models import DistrictBoundary, LegalBasis, Violation, ViolationEvent
from mobsrc.enforcement.queries import ViolationFilters, filtered, plan_interactively
from mobsrc.enforcement.register import DEFAULT_LEGAL_BASIS, ViolationDraft
from mobsrc.registry.coding import canonical
from mobsrc.registry.identifiers import normalize_plate, normalize_vin

ORDER = (Violation.occurred_at, Violation.id)  # the register's one stable order (newest first)


def find_violation(session: Session, source: str, source_ref: str) -> Violation | None:
    return session.scalar(select(Violation).where(Violation.source == source, Violation.source_ref == source_ref))


def add_event(session: Session, violation: Violation, principal: Principal, action: str, **fields) -> None:
    session.execute(insert(ViolationEvent).values(violation_id=violation.id, actor_user_id=principal.user_id,
                                                  actor_role=principal.role.value, action=action, **fields))


def _location(draft: ViolationDraft) -> WKTElement | None:
    return None if draft.lon is None else WKTElement(f"POINT({draft.lon} {draft.lat})", srid=4326)


def district_at(session: Session, lon: float, lat: float) -> str | None:
    """The district whose boundary covers the WGS-84 point, or None outside every district."""
    point = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
    return session.scalar(select(DistrictBoundary.code).where(func.ST_Intersects(DistrictBoundary.geom, point))
                          .order_by(DistrictBoundary.code).limit(1))


def _district(session: Session, draft: ViolationDraft) -> str | None:
    if draft.district_code or draft.lon is None:
        return draft.district_code
    return district_at(session, draft.lon, draft.lat)


def record_violation(session: Session, draft: ViolationDraft) -> tuple[Violation, bool]:
    """Record one violation; (violation, created). The same (source, source_ref) again returns
    the violation already recorded, unchanged: producers may call this any number of times.
    Plate, VIN and machine code are stored normalised; without a district code, the district is
    derived from the location (district_boundaries)."""
    existing = find_violation(session, draft.source, draft.source_ref)
    if existing is not None:
        return existing, False
    violation = Violation(
        kind=draft.kind, occurred_at=draft.occurred_at, subject_type=draft.subject_type,
        vehicle_id=draft.vehicle_id, machine_id=draft.machine_id,
        vin=normalize_vin(draft.vin) if draft.vin else None,
        machine_code=canonical(draft.machine_code) if draft.machine_code else None,
        plate=normalize_plate(draft.plate) if draft.plate else None, plate_colour=draft.plate_colour,
        enterprise_id=draft.enterprise_id, location=_location(draft), district_code=_district(session, draft),
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
    add_event(session, violation, SYSTEM, "recorded", to_status=violation.status.value, reason=draft.source)
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
    add_event(session, violation, SYSTEM, "ended", reason=f"ended at {ended_at.isoformat()}")
    return violation


# --- reads ----------------------------------------------------------------------------------------


def is_logged_reader(principal: Principal) -> bool:
    """Police and the bureau read everyone's violations: their reads go to the access log."""
    return principal.role in (Role.POLICE, Role.ADMIN) and principal.user_id != SYSTEM.user_id


def log_query(session: Session, principal: Principal, action: str, filters: ViolationFilters | None = None,
              subject: str | None = None, **details) -> None:
    """Who looked up what (which plate, VIN or code), when, with which filters."""
    if not is_logged_reader(principal):
        return
    described = filters.describe() if filters is not None else {}
    record_access(session, principal, action, "violations", subject or (filters.subject_key() if filters else None),
                  {**described, **details})


def get_violation(session: Session, principal: Principal, violation_id: int, log: bool = True) -> Violation:
    violation = session.get(Violation, violation_id)
    ensure_visible(principal, violation, "violation", enterprise_id=violation.enterprise_id if violation else None)
    if log:
        log_query(session, principal, "violations.read", subject=str(violation_id))
    return violation


def violation_history(session: Session, principal: Principal, violation_id: int) -> list[ViolationEvent]:
    get_violation(session, principal, violation_id, log=False)
    log_query(session, principal, "violations.read_history", subject=str(violation_id))
    return list(session.scalars(select(ViolationEvent).where(ViolationEvent.violation_id == violation_id)
                                .order_by(ViolationEvent.id)))


def visible_violations(principal: Principal, filters: ViolationFilters, columns=None):
    """The select of what `principal` may see under `filters` (operators: their enterprise's)."""
    stmt = select(*(columns or [Violation]))
    return filtered(scoped(stmt, principal, enterprise_col=Violation.enterprise_id), filters)


def list_violations(session: Session, principal: Principal, filters: ViolationFilters | dict,
                    cursor: str | None, limit: int) -> Page:
    """Newest first, stable order (occurred_at, id); the cursor continues after the last row."""
    if isinstance(filters, dict):
        filters = ViolationFilters.from_args(filters)
    plan_interactively(session)
    page = paginate(session, visible_violations(principal, filters), list(ORDER), cursor, limit)
    log_query(session, principal, "violations.query", filters, returned=len(page.items), cursor=bool(cursor))
    return page


def list_legal_bases(session: Session) -> list[LegalBasis]:
    return list(session.scalars(select(LegalBasis).order_by(LegalBasis.code)))


VISIBLE_TO = (Role.ADMIN, Role.POLICE, Role.FLEET_OPERATOR)
