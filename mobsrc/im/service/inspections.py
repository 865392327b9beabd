"""I station results: checked against their own values and the reference limits, stored with the
process curve, and fed into the loop (a failure opens or re-fails a case; a pass re-inspects it).

Idempotent: the same report posted again by its station is answered with the stored result; the
same report number with different content is a conflict. A result that contradicts itself is
refused with every reason (422), and nothing of it is stored.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import false, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mobsrc.core import clock
from mobsrc.core.auth.principals import Principal, Role
from mobsrc.core.errors import Conflict, FieldError, Forbidden, NotInScope, Unprocessable, invalid
from mobsrc.core.pagination import Page, paginate
from mobsrc.im import inspection as pure
from mobsrc.im.cases import CaseEvent, CaseEventKind, CaseState, TriggerKind
from mobsrc.im.fraud import fingerprint_curve
from mobsrc.im.limits import REFERENCE_LIMITS, InspectionMethod, LimitTier
from mobsrc.im.models import Case, Inspection, InspectionCurve
from mobsrc.im.parameters import ImConfig
from mobsrc.im.service import cases
from mobsrc.im.service.configuration import load_config
from mobsrc.im.service.subjects import ResolvedSubject, Subject, resolve_subject, vehicles_of
from mobsrc.registry import service as registry

SOURCE = "im.inspection"
# Methods whose result must come with the second-by-second process curve (HJ 1238 process data;
# Air Law Art. 54: the inspection process is networked with the ecology department).
CURVE_REQUIRED = frozenset(InspectionMethod) - {InspectionMethod.OBD_CHECK, InspectionMethod.RINGELMANN}


@dataclass(frozen=True)
class CaseOutcome:
    """What the result did to the vehicle's case."""

    action: str  # opened, attached, retest_failed, passed, closed, not_linked, none
    case: Case | None
    note: str = ""


def payload_digest(data: Mapping[str, Any]) -> str:
    def plain(value):
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, Enum):
            return value.value
        if isinstance(value, Decimal):
            return str(value)
        raise TypeError(type(value))
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=plain).encode()).hexdigest()


def pure_inspection(station_code: str, record: Mapping[str, Any], tier: LimitTier,
                    curve: Mapping[str, Any] | None) -> pure.Inspection:
    """The pure module's Inspection from a posted payload or a stored row (same keys)."""
    items = tuple(pure.ItemResult(i["quantity"], i["measured"], i.get("upper_limit"), pure.Outcome(i["outcome"]),
                                  i.get("phase", ""), i.get("lower_limit"), i.get("unit", ""))
                  for i in record["items"])
    obd = record.get("obd")
    return pure.Inspection(
        record["report_number"], station_code, record["vin"], record["plate"],
        pure.InspectionKind(record["kind"]), InspectionMethod(record["method"]), tier, items,
        pure.Outcome(record["overall"]), record["started_at"], record["ended_at"], record["inspector"],
        obd=pure.ObdCheck(**{**obd, "outcome": pure.Outcome(obd["outcome"]), "dtcs": tuple(obd.get("dtcs", ()))})
        if obd else None,
        appearance_passed=record.get("appearance_passed", True),
        curve=pure_curve(curve) if curve else None,
        vehicle_class=record.get("vehicle_class") or "", repair_order=record.get("repair_order") or "")


def pure_curve(curve: Mapping[str, Any]) -> pure.ProcessCurve:
    return pure.ProcessCurve(curve["period_s"], tuple(
        pure.CurveChannel(name, tuple(values)) for name, values in curve["channels"].items()))


def post_inspection(session: Session, principal: Principal, data: dict) -> tuple[Inspection, CaseOutcome, bool]:
    """Store one result and apply it to the loop. Returns (inspection, outcome, created);
    created is False when this exact result was already stored (a retry)."""
    station = registry.own_station(session, principal)
    if data.get("station_code") not in (None, station.code):
        raise Forbidden(f"A station posts only as itself ({station.code}).")
    data = {k: v for k, v in data.items() if k != "station_code"}
    digest = payload_digest(data)
    existing = session.scalar(select(Inspection).where(Inspection.station_id == station.id,
                                                       Inspection.report_number == data["report_number"]))
    if existing is not None:
        _repeat(existing, digest)
        case = session.get(Case, existing.case_id) if existing.case_id is not None else None
        return existing, CaseOutcome(existing.case_action, case, "already stored"), False
    config = load_config(session)
    tier = LimitTier(data.get("limit_tier") or config.limit_tier)
    result = pure_inspection(station.code, data, tier, data.get("curve"))
    _check(data, result, config)
    resolved = resolve_subject(session, Subject(data["vin"], data["plate"], data["plate_colour"]))
    row = _new_row(principal, station.id, data, digest, tier, result, resolved.vehicle_id)
    outcome = _apply_to_case(session, row, station, resolved, config)
    row.case_id, row.case_action = (outcome.case.id if outcome.case else None), outcome.action
    _store(session, row, result, data)
    return row, outcome, True


def _repeat(existing: Inspection, digest: str) -> None:
    if existing.payload_sha256 != digest:
        raise Conflict(f"Report {existing.report_number} was already posted by this station with other "
                       f"content; a corrected result needs a new report number.")


def _check(data: dict, result: pure.Inspection, config: ImConfig) -> None:
    now = clock.now()
    if data["ended_at"] > now + cases.CLOCK_SKEW:
        raise invalid("ended_at", "lies in the future")
    if result.method in CURVE_REQUIRED and result.curve is None:
        raise invalid("curve", f"a {result.method.value} result comes with its per-second process curve")
    problems = pure.check_inspection_consistency(result, REFERENCE_LIMITS, config.limit_tier)
    if problems:
        errors = [FieldError(_field_of(problem, data), problem.detail, problem.code.value) for problem in problems]
        raise Unprocessable("The result contradicts its own values or the reference limits "
                            f"({REFERENCE_LIMITS.version}); see errors.", errors)


def _field_of(problem: pure.Problem, data: dict) -> str:
    code = pure.ProblemCode
    if problem.item:
        labels = [f"{i.get('phase')}:{i['quantity']}" if i.get("phase") else i["quantity"] for i in data["items"]]
        index = labels.index(problem.item) if problem.item in labels else None
        suffix = ".upper_limit" if problem.code is code.LIMIT_LOOSER_THAN_STANDARD else ".outcome"
        return f"items.{index}{suffix}" if index is not None else "items"
    return {code.END_BEFORE_START: "ended_at", code.NO_MEASUREMENTS: "items",
            code.OBD_PASS_WITH_FAULT: "obd.outcome",
            code.OVERALL_PASS_WITH_FAILED_APPEARANCE: "overall"}.get(problem.code, "overall")


def _new_row(principal, station_id, data, digest, tier, result, vehicle_id) -> Inspection:
    summary = result.curve_summary
    return Inspection(
        station_id=station_id, report_number=data["report_number"], payload_sha256=digest, vehicle_id=vehicle_id,
        vin=result.vin, plate=result.plate, plate_colour=data["plate_colour"], kind=result.kind,
        method=result.method, limit_tier=tier, limits_version=REFERENCE_LIMITS.version,
        vehicle_class=result.vehicle_class, overall=result.overall, items=_jsonable(data["items"]),
        obd=data.get("obd"), appearance_passed=result.appearance_passed, started_at=result.started_at,
        ended_at=result.ended_at, inspector=result.inspector, test_line=data.get("test_line", ""),
        repair_order=result.repair_order, posted_by=principal.user_id,
        curve_summary=None if summary is None else {
            "samples": summary.samples, "duration_s": summary.duration_s,
            "channels": dict(zip(summary.channel_names, summary.peaks)), "period_s": result.curve.period_s})


def _store(session: Session, row: Inspection, result: pure.Inspection, data: dict) -> None:
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:  # the same report, posted concurrently: this request is undone
        raise Conflict(f"Report {row.report_number} is being posted by another request.") from exc
    if result.curve is not None:
        fingerprint = fingerprint_curve(result)
        session.add(InspectionCurve(inspection_id=row.id, period_s=result.curve.period_s,
                                    channels=data["curve"]["channels"],
                                    digest=fingerprint.digest if fingerprint else None))
        session.flush()


def _jsonable(items: list[dict]) -> list[dict]:
    return [{k: v for k, v in item.items() if v is not None and v != ""} for item in items]


# --- the loop ---------------------------------------------------------------------------------------

def _apply_to_case(session, row: Inspection, station, resolved: ResolvedSubject, config: ImConfig) -> CaseOutcome:
    """The result's effect on the vehicle's case (the row is not stored yet: no id is needed)."""
    case = cases.active_case(session, resolved.key, lock=True)
    by = cases.Who(cases.Actor(cases.ImRole.I_STATION, station.code), row.posted_by)
    if row.overall is pure.Outcome.FAIL:
        return _failed(session, row, station, case, resolved, by, config)
    if case is None:
        return CaseOutcome("none", None)
    return _passed(session, row, station, case, by, config)


def _evidence(station, row: Inspection) -> list[str]:
    return [f"inspection:{station.code}/{row.report_number}"]


def _failed(session, row, station, case, subject, by, config) -> CaseOutcome:
    if case is not None and _is_allowed(case, CaseEventKind.REINSPECT_FAIL, config):
        cases.advance_case(session, case, CaseEvent(CaseEventKind.REINSPECT_FAIL, reason="re-test failed",
                                                    reference=row.report_number), by, config=config)
        cases.link_station(session, case, station.id)
        return CaseOutcome("retest_failed", case)
    opened, created = cases.open_case(session, TriggerKind.FAILED_INSPECTION, subject, _evidence(station, row),
                                      min(row.ended_at, clock.now()), SOURCE, _evidence(station, row)[0],
                                      details={"report_number": row.report_number, "station": station.code},
                                      by=by, config=config)
    cases.link_station(session, opened, station.id)
    return CaseOutcome("opened" if created else "attached", opened,
                       "" if created else "another failure while the case awaits repair; added as evidence")


def _passed(session, row, station, case, by, config) -> CaseOutcome:
    if not _is_allowed(case, CaseEventKind.REINSPECT_PASS, config):
        allowed = ", ".join(cases.allowed_events(case, config))
        return CaseOutcome("not_linked", case, f"case {case.id} is {case.state.value}: a pass counts as the "
                                               f"re-inspection only after a repair record (allowed: {allowed})")
    cases.advance_case(session, case, CaseEvent(CaseEventKind.REINSPECT_PASS, reason="re-test passed",
                                                reference=row.report_number), by, config=config)
    cases.link_station(session, case, station.id)
    return CaseOutcome("closed" if case.state is CaseState.CLOSED else "passed", case)


def _is_allowed(case: Case, event: CaseEventKind, config: ImConfig) -> bool:
    return event.value in cases.allowed_events(case, config)


# --- reading ------------------------------------------------------------------------------------------

def _visible(principal: Principal):
    stmt = select(Inspection)
    if principal.role in (Role.ADMIN, Role.POLICE):
        return stmt
    if principal.role is Role.I_STATION:
        return stmt.where(Inspection.station_id == principal.station_id)
    if principal.role is Role.FLEET_OPERATOR:
        return stmt.where(Inspection.vehicle_id.in_(vehicles_of(principal.enterprise_id)))
    return stmt.where(false())


def get_inspection(session: Session, principal: Principal, inspection_id: int) -> Inspection:
    row = session.scalar(_visible(principal).where(Inspection.id == inspection_id))
    if row is None:
        raise NotInScope("No such inspection.")
    return row


def inspection_curve(session: Session, principal: Principal, inspection_id: int) -> InspectionCurve:
    get_inspection(session, principal, inspection_id)
    curve = session.get(InspectionCurve, inspection_id)
    if curve is None:
        raise NotInScope("This inspection has no process curve.")
    return curve


def list_inspections(session: Session, principal: Principal, filters: dict, cursor: str | None,
                     limit: int) -> Page:
    stmt = _visible(principal)
    for name in ("vin", "plate", "overall", "method", "kind", "station_id", "case_id"):
        if filters.get(name) is not None:
            stmt = stmt.where(getattr(Inspection, name) == filters[name])
    if filters.get("started_from") is not None:
        stmt = stmt.where(Inspection.started_at >= filters["started_from"])
    if filters.get("started_to") is not None:
        stmt = stmt.where(Inspection.started_at < filters["started_to"])
    return paginate(session, stmt, [Inspection.started_at, Inspection.id], cursor, limit)


def describe_failures(session: Session, case_id: int) -> list[dict]:
    """The failed inspections of a case, newest first: what an M station needs to repair."""
    rows = session.scalars(select(Inspection).where(Inspection.case_id == case_id,
                                                    Inspection.overall == pure.Outcome.FAIL)
                           .order_by(Inspection.ended_at.desc()).limit(10))
    return [{"report_number": r.report_number, "station_id": r.station_id, "method": r.method.value,
             "ended_at": r.ended_at, "failed_items": [i for i in r.items if i["outcome"] == "fail"],
             "obd": r.obd, "appearance_passed": r.appearance_passed} for r in rows]

