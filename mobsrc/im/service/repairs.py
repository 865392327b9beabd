"""M station repair orders for a case (doc 4.2, M -> I): opened when the vehicle is taken in
(START_REPAIR), completed with the faults found, the work done, parts, cost, technician and a
passing post-repair self-check (RECORD_REPAIR). Posting a completed order at once records the
repair in one step. Idempotent per (station, repair order), like inspections."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import false, select
from sqlalchemy.orm import Session

from mobsrc.core import clock
from mobsrc.core.auth.principals import Principal, Role
from mobsrc.core.errors import Conflict, FieldError, Forbidden, NotInScope, Unprocessable, invalid
from mobsrc.core.pagination import Page, paginate
from mobsrc.im.cases import CaseEvent, CaseEventKind
from mobsrc.im.models import Case, Repair
from mobsrc.im.service import cases
from mobsrc.im.service.inspections import payload_digest
from mobsrc.im.service.subjects import ResolvedSubject, Subject, resolve_subject
from mobsrc.registry import service as registry

COMPLETION_FIELDS = ("completed_at", "faults", "work_done", "parts", "cost_yuan", "technician", "self_check")


def post_repair(session: Session, principal: Principal, data: dict) -> tuple[Repair, bool]:
    """Open (or open and complete) a repair order for the vehicle's case. (repair, created)."""
    station = registry.own_station(session, principal)
    if data.get("station_code") not in (None, station.code):
        raise Forbidden(f"A station posts only as itself ({station.code}).")
    data = {k: v for k, v in data.items() if k != "station_code"}
    digest = payload_digest(data)
    existing = session.scalar(select(Repair).where(Repair.station_id == station.id,
                                                   Repair.repair_order == data["repair_order"]))
    if existing is not None:
        if existing.opened_sha256 != digest:
            raise Conflict(f"Repair order {data['repair_order']} was already posted with other content.")
        return existing, False
    _check_time(data["started_at"], "started_at")
    resolved = resolve_subject(session, Subject(data.get("vin"), data.get("plate"), data.get("plate_colour")))
    case = _case_for(session, data.get("case_id"), resolved)
    completing = data.get("completed_at") is not None
    if completing:
        _check_completion(data, data["started_at"])
    event = (CaseEvent(CaseEventKind.RECORD_REPAIR, reason="repair completed", reference=data["repair_order"])
             if completing else CaseEvent(CaseEventKind.START_REPAIR, reason="taken in for repair",
                                          reference=data["repair_order"]))
    cases.advance_case(session, case, event, _by(principal, station))
    repair = Repair(station_id=station.id, repair_order=data["repair_order"], case_id=case.id,
                    vehicle_id=resolved.vehicle_id, vin=resolved.vin, plate=resolved.plate,
                    plate_colour=resolved.plate_colour, started_at=data["started_at"], opened_sha256=digest,
                    posted_by=principal.user_id, faults=data.get("faults", []), work_done=[], parts=[])
    if completing:
        _complete(repair, data, digest)
    session.add(repair)
    cases.link_station(session, case, station.id)
    session.flush()
    return repair, True


def complete_repair(session: Session, principal: Principal, repair_id: int, data: dict) -> tuple[Repair, bool]:
    """Complete an open order: the case becomes REPAIRED. (repair, changed)."""
    repair = session.scalar(select(Repair).where(Repair.id == repair_id, Repair.station_id == principal.station_id))
    if repair is None:
        raise NotInScope("No such repair order.")
    digest = payload_digest(data)
    if repair.completed_at is not None:
        if repair.completed_sha256 != digest:
            raise Conflict(f"Repair order {repair.repair_order} is already completed with other content.")
        return repair, False
    _check_completion(data, repair.started_at)
    station = registry.own_station(session, principal)
    case = session.get(Case, repair.case_id, with_for_update=True)
    cases.advance_case(session, case, CaseEvent(CaseEventKind.RECORD_REPAIR, reason="repair completed",
                                                reference=repair.repair_order), _by(principal, station))
    _complete(repair, data, digest)
    session.flush()
    return repair, True


def _by(principal: Principal, station) -> cases.Who:
    return cases.Who(cases.Actor(cases.ImRole.M_STATION, station.code), principal.user_id)


def _case_for(session: Session, case_id: int | None, resolved: ResolvedSubject) -> Case:
    if case_id is None:
        case = cases.active_case(session, resolved.key, lock=True)
        if case is None:
            raise invalid("vin", "this vehicle has no open I/M case to repair for")
        return case
    case = session.get(Case, case_id, with_for_update=True)
    if case is None or case.subject_key != resolved.key:
        raise invalid("case_id", "not a case of this vehicle")
    return case


def _check_time(moment: datetime, field: str) -> None:
    if moment > clock.now() + cases.CLOCK_SKEW:
        raise invalid(field, "lies in the future")


def _check_completion(data: dict, started_at: datetime) -> None:
    _check_time(data["completed_at"], "completed_at")
    problems = []
    if data["completed_at"] < started_at:
        problems.append(FieldError("completed_at", "precedes the start of the repair"))
    check = data["self_check"]
    if not check["passed"]:
        problems.append(FieldError("self_check.passed", "a repair is recorded once its self-check passes; "
                                                        "keep the order open while it fails"))
    for index, item in enumerate(check["items"]):
        if check["passed"] and item["measured"] > item["limit"]:
            problems.append(FieldError(f"self_check.items.{index}.measured",
                                       f"{item['measured']} exceeds the limit {item['limit']} of a passed self-check"))
    if not started_at <= check["checked_at"] <= data["completed_at"] + cases.CLOCK_SKEW:
        problems.append(FieldError("self_check.checked_at", "must lie within the repair (start to completion)"))
    if problems:
        raise Unprocessable("The repair record contradicts itself; see errors.", problems)


def _complete(repair: Repair, data: dict, digest: str) -> None:
    repair.completed_at, repair.completed_sha256 = data["completed_at"], digest
    repair.faults = data["faults"]
    repair.work_done, repair.parts = data["work_done"], data.get("parts", [])
    repair.cost_yuan, repair.technician = data["cost_yuan"], data["technician"]
    check = data["self_check"]
    repair.self_check = {**check, "checked_at": check["checked_at"].isoformat()}


def _visible(principal: Principal):
    stmt = select(Repair)
    if principal.role is Role.ADMIN:
        return stmt
    if principal.role is Role.M_STATION:
        return stmt.where(Repair.station_id == principal.station_id)
    if principal.role is Role.FLEET_OPERATOR:
        return stmt.where(Repair.case_id.in_(select(Case.id).where(Case.enterprise_id == principal.enterprise_id)))
    return stmt.where(false())


def get_repair(session: Session, principal: Principal, repair_id: int) -> Repair:
    repair = session.scalar(_visible(principal).where(Repair.id == repair_id))
    if repair is None:
        raise NotInScope("No such repair order.")
    return repair


def list_repairs(session: Session, principal: Principal, filters: dict, cursor: str | None, limit: int) -> Page:
    stmt = _visible(principal)
    for name in ("case_id", "vin", "repair_order", "station_id"):
        if filters.get(name) is not None:
            stmt = stmt.where(getattr(Repair, name) == filters[name])
    return paginate(session, stmt, [Repair.id], cursor, limit)
