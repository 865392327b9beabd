"""The I/M state of a vehicle for the police "status of this plate" lookup (registered in
enforcement.subject_status.STATUS_PROVIDERS): its active case, its case record, its last
inspection."""
from __future__ import annotations

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from mobsrc.core import clock
from mobsrc.im.cases import TERMINAL_STATES
from mobsrc.im.models import Case, Inspection


def _matching(model, subject):
    conditions = []
    if subject.vehicle_ids:
        conditions.append(model.vehicle_id.in_(subject.vehicle_ids))
    if subject.vin:
        conditions.append(model.vin == subject.vin)
    if subject.plate:
        plate = model.plate == subject.plate
        conditions.append(and_(plate, model.plate_colour == subject.plate_colour) if subject.plate_colour else plate)
    return or_(*conditions) if conditions else None


def _case(case: Case | None) -> dict | None:
    if case is None:
        return None
    return {"case_id": case.id, "state": case.state.value, "trigger": case.trigger.value,
            "opened_at": clock.as_local(case.opened_at).isoformat(),
            "deadline": clock.as_local(case.deadline).isoformat(), "overdue": case.overdue_at is not None,
            "escalated": case.escalated_at is not None}


def subject_im_status(session: Session, subject) -> dict | None:
    """None for machines (the I/M loop is for road vehicles) or a vehicle it has never seen."""
    if subject.subject_type.value != "vehicle":
        return None
    case_match, inspection_match = _matching(Case, subject), _matching(Inspection, subject)
    if case_match is None:
        return None
    active = session.scalar(select(Case).where(case_match, Case.state.notin_(TERMINAL_STATES))
                            .order_by(Case.opened_at.desc()).limit(1))
    total = session.scalar(select(func.count()).select_from(Case).where(case_match))
    last = session.scalar(select(Inspection).where(inspection_match).order_by(Inspection.ended_at.desc()).limit(1))
    if active is None and not total and last is None:
        return None
    return {"active_case": _case(active), "cases_total": total,
            "last_inspection": None if last is None else {
                "report_number": last.report_number, "overall": last.overall.value,
                "ended_at": clock.as_local(last.ended_at).isoformat(), "kind": last.kind.value}}
