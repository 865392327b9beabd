"""Cases: opened by triggers (idempotent on (source, source_ref)), moved through the pure
transition table (im/cases.py) with compare-and-set on the version, their effects carried out
(owner notices through the outbox, referral to the police's violation register), read with each
role's scope. Services never commit; the boundary (request, job) does."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, false, or_, select, true
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from mobsrc.core import clock, errors
from mobsrc.core.audit import record_access
from mobsrc.core.auth.principals import SYSTEM, Principal, Role
from mobsrc.core.errors import Conflict, FieldError, Forbidden, NotInScope, Unprocessable
from mobsrc.core.pagination import Page, paginate
from mobsrc.enforcement import service as enforcement
from mobsrc.enforcement.register import Evidence, SubjectType, ViolationDraft, ViolationKind
from mobsrc.im import cases as machine
from mobsrc.im import deadlines
from mobsrc.im.cases import (
    TERMINAL_STATES,
    Actor,
    CaseEvent,
    CaseEventKind,
    CaseSnapshot,
    CaseState,
    CaseSubject,
    EffectKind,
    HistoryEntry,
    Transition,
    TriggerKind,
)
from mobsrc.im.cases import Role as ImRole
from mobsrc.im.models import Case, CaseHistory, CaseStation, CaseTrigger
from mobsrc.im.parameters import ImConfig
from mobsrc.im.service import outbox
from mobsrc.im.service.configuration import load_config
from mobsrc.im.service.subjects import ResolvedSubject, Subject, resolve_subject

# The pure policy names its escalation basis; the register's legal_bases table names the same
# article by its own code (enforcement/legal_bases.py).
LEGAL_BASIS_CODES: Mapping[str, str] = {"AIR_LAW_ART113_CODE6063": "APPCL-113"}
IM_ROLES = {Role.ADMIN: ImRole.ADMIN, Role.POLICE: ImRole.POLICE, Role.I_STATION: ImRole.I_STATION,
            Role.M_STATION: ImRole.M_STATION, Role.FLEET_OPERATOR: ImRole.FLEET_OPERATOR}
NOTICE_EVENTS = {
    None: "case.opened", CaseEventKind.NOTIFY: "case.notified",
    CaseEventKind.REINSPECT_FAIL: "case.retest_failed", CaseEventKind.CLOSE: "case.closed",
    CaseEventKind.DEADLINE_PASSED: "case.overdue", CaseEventKind.EXTEND_DEADLINE: "case.deadline_extended",
    CaseEventKind.CANCEL: "case.cancelled", CaseEventKind.ESCALATE: "case.escalated",
}
# Events the bureau and the police send through the events endpoint; stations move cases by
# posting their inspection or repair records, and the deadline job marks overdue cases.
API_EVENTS = frozenset({CaseEventKind.NOTIFY, CaseEventKind.CLOSE, CaseEventKind.ESCALATE,
                        CaseEventKind.CANCEL, CaseEventKind.EXTEND_DEADLINE})
# Times a station or an officer posts may run ahead of ours by this much (unsynchronised clocks).
CLOCK_SKEW = timedelta(minutes=5)
ESCALABLE = frozenset(state for state, event in machine.TRANSITIONS if event is CaseEventKind.ESCALATE)


@dataclass(frozen=True)
class Who:
    """Who causes a change: the pure machine's actor, and the user behind it (None for jobs)."""

    actor: Actor
    user_id: int | None = None


def who(principal: Principal) -> Who:
    if principal == SYSTEM:
        return system("system")
    role = IM_ROLES.get(principal.role)
    if role is None:
        raise Forbidden(f"Role {principal.role.value} takes no part in the I/M loop.")
    return Who(Actor(role, principal.station_code or f"user:{principal.user_id}"), principal.user_id)


def system(job: str) -> Who:
    return Who(Actor(ImRole.SYSTEM, job))


def snapshot_of(case: Case) -> CaseSnapshot:
    return CaseSnapshot(str(case.id), case.state, case.trigger,
                        CaseSubject(case.vin or "", case.plate or "", case.plate_colour or ""),
                        case.opened_at, case.deadline, case.repair_round, case.overdue_at,
                        case.escalated_at, case.referred_at, case.version)


# --- opening -------------------------------------------------------------------------------------

def find_trigger(session: Session, source: str, source_ref: str) -> CaseTrigger | None:
    return session.scalar(select(CaseTrigger).where(CaseTrigger.source == source,
                                                    CaseTrigger.source_ref == source_ref))


def open_case(session: Session, trigger_kind: TriggerKind | str, subject: Subject | ResolvedSubject,
              evidence: Sequence[str], at: datetime, source: str, source_ref: str, *,
              details: Mapping[str, Any] | None = None, by: Who | None = None,
              config: ImConfig | None = None) -> tuple[Case, bool]:
    """Open an I/M case for a vehicle, or add the trigger to the vehicle's active case.

    Returns (case, created): created is True only when a new case was opened. Idempotent on
    (source, source_ref): the same trigger again returns its case, unchanged. A vehicle has at
    most one active case; a further trigger is recorded on it (history "trigger_added") and
    keeps its deadline. `evidence` names what proves the trigger ("rs_reading:123"). `by`
    defaults to the system acting for `source`. Raises Unprocessable for bad input and
    Forbidden when `by` may not open this kind of case.
    """
    kind = _trigger_kind(trigger_kind)
    found = find_trigger(session, source, source_ref)
    if found is not None:
        return session.get(Case, found.case_id), False
    config = config or load_config(session)
    resolved = subject if isinstance(subject, ResolvedSubject) else resolve_subject(session, subject)
    trigger = _pure_trigger(kind, by or system(source), evidence)
    at = _aware(at)
    try:
        with session.begin_nested():
            return _open_or_attach(session, trigger, resolved, at, (source, source_ref),
                                   dict(details or {}), by or system(source), config)
    except IntegrityError:  # the same trigger, or a case for this vehicle, committed meanwhile
        found = find_trigger(session, source, source_ref)
        if found is not None:
            return session.get(Case, found.case_id), False
        return _open_or_attach(session, trigger, resolved, at, (source, source_ref),
                               dict(details or {}), by or system(source), config)


def _trigger_kind(value) -> TriggerKind:
    try:
        return TriggerKind(value)
    except ValueError as exc:
        raise errors.invalid("trigger", f"one of {', '.join(k.value for k in TriggerKind)}") from exc


def _pure_trigger(kind: TriggerKind, by: Who, evidence: Sequence[str]) -> deadlines.Trigger:
    try:
        return deadlines.Trigger(kind, by.actor, tuple(evidence))
    except machine.InvalidCaseInput as exc:
        raise errors.invalid("evidence", str(exc)) from exc


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise errors.invalid("at", "must be timezone-aware")
    return at


def _open_or_attach(session, trigger, resolved: ResolvedSubject, at, source_key, details, by,
                    config) -> tuple[Case, bool]:
    active = active_case(session, resolved.key, lock=True)
    if active is not None:
        _attach(session, active, trigger, source_key, details, at, by)
        return active, False
    try:
        new = deadlines.open_case(trigger, CaseSubject(resolved.vin or "", resolved.plate or "",
                                                       resolved.plate_colour or ""), at, config.deadlines)
    except machine.ActorNotAllowed as exc:
        raise Forbidden(f"{exc.role} may not open a {trigger.kind.value} case; allowed: "
                        f"{', '.join(exc.allowed_roles)}.", allowed_roles=list(exc.allowed_roles)) from exc
    case = Case(state=new.state, trigger=trigger.kind, subject_key=resolved.key, vin=resolved.vin,
                plate=resolved.plate, plate_colour=resolved.plate_colour, vehicle_id=resolved.vehicle_id,
                enterprise_id=resolved.enterprise_id, opened_at=at, deadline=new.deadline,
                referred_at=new.referred_at, repair_round=0, version=0)
    session.add(case)
    session.flush()
    _add_trigger(session, case, trigger, source_key, details, at, opened=True)
    history = _history(session, case, new.entry, by)
    if any(e.kind is EffectKind.NOTIFY_OWNER for e in new.effects):
        outbox.notify_owner(session, case, history, NOTICE_EVENTS[None])
    if case.state is CaseState.OPEN and case.enterprise_id is not None:
        advance_case(session, case, CaseEvent(CaseEventKind.NOTIFY, reason="notice to the registered owner"),
                     system("im.notice"), at=at, config=config)
    return case, True


def _add_trigger(session, case, trigger, source_key, details, at, opened: bool) -> CaseTrigger:
    source, source_ref = source_key
    row = CaseTrigger(case_id=case.id, kind=trigger.kind, source=source, source_ref=source_ref,
                      evidence=list(trigger.evidence), details=details, occurred_at=at,
                      reported_by=f"{trigger.reported_by.role.value}:{trigger.reported_by.actor_id}",
                      opened_case=opened)
    session.add(row)
    session.flush()
    return row


def _attach(session, case: Case, trigger, source_key, details, at, by: Who) -> None:
    """A further trigger on the active case: recorded, shown in the history, told to the owner.
    A trigger that refers to police at opening (remote sensing) refers the case too."""
    if deadlines.DEFAULT_TRIGGER_RULES[trigger.kind].refer_at_open and case.referred_at is None:
        case.referred_at, case.version = at, case.version + 1
        _flush_case(session, case)
    _add_trigger(session, case, trigger, source_key, details, at, opened=False)
    entry = HistoryEntry(max(at, case.opened_at), by.actor, None, case.state, case.state,
                         reason=trigger.kind.value, reference=",".join(trigger.evidence))
    history = _history(session, case, entry, by, event="trigger_added")
    outbox.notify_owner(session, case, history, "case.trigger_added")


# --- moving -------------------------------------------------------------------------------------

def advance_case(session: Session, case: Case, event: CaseEvent, by: Who, *,
                 at: datetime | None = None, config: ImConfig | None = None) -> Transition:
    """Apply one event through the pure table; persist with compare-and-set; carry out effects.
    Illegal in this state: 409 naming the allowed events. Not this actor's: 403."""
    config = config or load_config(session)
    at = at or clock.now()
    try:
        transition = machine.advance(snapshot_of(case), event, at, by.actor, config.policy)
    except machine.IllegalTransition as exc:
        raise errors.IllegalTransition(
            f"Case {case.id} is {exc.state}: {exc.event} is not allowed now; allowed: "
            f"{', '.join(exc.allowed_events) or 'none'}.", allowed_events=list(exc.allowed_events)) from exc
    except machine.ActorNotAllowed as exc:
        raise Forbidden(str(exc), allowed_roles=list(exc.allowed_roles)) from exc
    except machine.InvalidCaseInput as exc:
        raise Unprocessable(str(exc), [FieldError(_field_of(str(exc)), str(exc))]) from exc
    apply_transition(session, case, transition, by, config)
    if event.kind is CaseEventKind.REINSPECT_PASS and config.auto_close_on_pass:
        advance_case(session, case, CaseEvent(CaseEventKind.CLOSE, reason="re-test passed"),
                     system("im.auto_close"), at=at, config=config)
    return transition


def _field_of(message: str) -> str:
    if "deadline later" in message:
        return "new_deadline"
    return next((name for name in ("new_deadline", "reason", "reference") if name in message), "event")


def apply_transition(session: Session, case: Case, transition: Transition, by: Who,
                     config: ImConfig) -> CaseHistory:
    """Persist a computed transition (compare-and-set on the version) and carry out its effects."""
    after, entry = transition.case, transition.entry
    case.state, case.deadline, case.repair_round = after.state, after.deadline, after.repair_round
    case.overdue_at, case.escalated_at, case.referred_at = after.overdue_at, after.escalated_at, after.referred_at
    case.version = after.version
    if after.state in TERMINAL_STATES:
        case.closed_at = entry.at
    if any(e.kind is EffectKind.REVIEW_REPEATED_FAILURE for e in transition.effects):
        case.needs_review = True
        case.review_reason = f"{after.repair_round} failed re-tests: review for Air Law Art. 60 measures"
    _flush_case(session, case)
    history = _history(session, case, entry, by)
    _carry_out(session, case, transition, history)
    return history


def _flush_case(session: Session, case: Case) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict(f"Case {case.id} was changed by someone else meanwhile; reload it and try again.") from exc


def _carry_out(session: Session, case: Case, transition: Transition, history: CaseHistory) -> None:
    entry = transition.entry
    for effect in transition.effects:
        if effect.kind is EffectKind.NOTIFY_OWNER:
            outbox.notify_owner(session, case, history, NOTICE_EVENTS[entry.event])
        elif effect.kind is EffectKind.REFER_TO_POLICE:
            _refer_to_police(session, case, effect.legal_basis, entry.at)
            outbox.notify_owner(session, case, history, NOTICE_EVENTS[entry.event])
        elif effect.kind is EffectKind.WITHDRAW_REFERRAL:
            _end_referral(session, case, entry.at, "case cancelled: " + entry.reason)
    if entry.event is CaseEventKind.CLOSE:
        _end_referral(session, case, entry.at, "repaired and passed a re-test")


def _refer_to_police(session: Session, case: Case, legal_basis: str, at: datetime) -> None:
    """The overdue case becomes a violation in the one register, for the police (idempotent)."""
    triggers = session.scalars(select(CaseTrigger).where(CaseTrigger.case_id == case.id)
                               .order_by(CaseTrigger.id)).all()
    evidence = (Evidence("im_case", str(case.id), note=f"{case.trigger.value} case, deadline "
                         f"{clock.as_local(case.deadline).isoformat()}"),
                *(Evidence(t.kind.value, ref) for t in triggers for ref in t.evidence))
    violation, _ = enforcement.record_violation(session, ViolationDraft(
        kind=ViolationKind.IM_CASE_OVERDUE, occurred_at=case.overdue_at or at, source="im",
        source_ref=f"case:{case.id}", subject_type=SubjectType.VEHICLE, vehicle_id=case.vehicle_id,
        plate=case.plate, plate_colour=case.plate_colour, vin=case.vin, enterprise_id=case.enterprise_id,
        evidence=evidence, legal_basis_code=LEGAL_BASIS_CODES[legal_basis],
        details={"case_id": case.id, "trigger": case.trigger.value, "opened_at": case.opened_at.isoformat(),
                 "deadline": case.deadline.isoformat(), "repair_round": case.repair_round,
                 "escalated_at": at.isoformat()}))
    case.violation_id = violation.id
    _flush_case(session, case)


def _end_referral(session: Session, case: Case, at: datetime, why: str) -> None:
    if case.violation_id is not None:
        enforcement.end_violation(session, "im", f"case:{case.id}", at,
                                  {"case_state": case.state.value, "ended_because": why})


def _history(session: Session, case: Case, entry: HistoryEntry, by: Who, event: str | None = None) -> CaseHistory:
    row = CaseHistory(case_id=case.id, at=entry.at, actor_role=entry.actor.role.value,
                      actor_id=entry.actor.actor_id, actor_user_id=by.user_id,
                      event=event or (entry.event.value if entry.event else "opened"),
                      from_state=entry.from_state.value if entry.from_state else None,
                      to_state=entry.to_state.value, reason=entry.reason[:500], reference=entry.reference[:500])
    session.add(row)
    session.flush()
    return row


def link_station(session: Session, case: Case, station_id: int) -> None:
    """The station worked on the case: from now on it is in the station's scope."""
    session.execute(pg_insert(CaseStation).values(case_id=case.id, station_id=station_id)
                    .on_conflict_do_nothing())


# --- reading ------------------------------------------------------------------------------------

def active_case(session: Session, subject_key: str, lock: bool = False) -> Case | None:
    stmt = select(Case).where(Case.subject_key == subject_key, Case.state.notin_(TERMINAL_STATES))
    return session.scalar(stmt.with_for_update() if lock else stmt)


def visible_to(principal: Principal):
    """What each role sees: the bureau all; the police the escalated (or referred) ones and those
    they opened themselves; owners their vehicles' cases; stations the cases they worked on."""
    if principal.role is Role.ADMIN:
        return true()
    if principal.role is Role.POLICE:
        entered = select(CaseTrigger.case_id).where(CaseTrigger.reported_by.startswith(f"{ImRole.POLICE.value}:"))
        return or_(Case.escalated_at.isnot(None), Case.referred_at.isnot(None), Case.id.in_(entered))
    if principal.role is Role.FLEET_OPERATOR and principal.enterprise_id is not None:
        return Case.enterprise_id == principal.enterprise_id
    if principal.role in (Role.I_STATION, Role.M_STATION) and principal.station_id is not None:
        return Case.id.in_(select(CaseStation.case_id).where(CaseStation.station_id == principal.station_id))
    return false()


def get_case(session: Session, principal: Principal, case_id: int, lock: bool = False) -> Case:
    stmt = select(Case).where(Case.id == case_id, visible_to(principal))
    case = session.scalar(stmt.with_for_update() if lock else stmt)
    if case is None:
        raise NotInScope("No such case.")
    return case


def list_cases(session: Session, principal: Principal, filters: dict, cursor: str | None, limit: int) -> Page:
    stmt = select(Case).where(visible_to(principal))
    for name in ("state", "trigger", "vin", "plate_colour", "enterprise_id", "vehicle_id", "needs_review"):
        if filters.get(name) is not None:
            stmt = stmt.where(getattr(Case, name) == filters[name])
    if filters.get("plate"):
        stmt = stmt.where(Case.plate == filters["plate"])
    for name, column in (("overdue", Case.overdue_at), ("escalated", Case.escalated_at)):
        if filters.get(name) is not None:
            stmt = stmt.where(column.isnot(None) if filters[name] else column.is_(None))
    if filters.get("opened_from") is not None:
        stmt = stmt.where(Case.opened_at >= filters["opened_from"])
    if filters.get("opened_to") is not None:
        stmt = stmt.where(Case.opened_at < filters["opened_to"])
    if principal.role is Role.POLICE and (filters.get("plate") or filters.get("vin")):
        record_access(session, principal, "im.cases.lookup", "im_cases", None,
                      {k: filters.get(k) for k in ("plate", "vin")})
    return paginate(session, stmt, [Case.opened_at, Case.id], cursor, limit)


def case_history(session: Session, principal: Principal, case_id: int) -> list[CaseHistory]:
    get_case(session, principal, case_id)
    return list(session.scalars(select(CaseHistory).where(CaseHistory.case_id == case_id)
                                .order_by(CaseHistory.id)))


def case_triggers(session: Session, case_id: int) -> list[CaseTrigger]:
    return list(session.scalars(select(CaseTrigger).where(CaseTrigger.case_id == case_id)
                                .order_by(CaseTrigger.id)))


@dataclass(frozen=True)
class CaseView:
    """A case with what its detail shows: triggers, allowed events, failed inspections."""

    case: Case
    triggers: list[CaseTrigger]
    allowed_events: list[str]
    failures: list[dict] = ()

    def __getattr__(self, name: str):
        return getattr(self.case, name)


def case_detail(session: Session, principal: Principal, case_id: int) -> CaseView:
    case = get_case(session, principal, case_id)
    return CaseView(case, case_triggers(session, case.id), allowed_events(case, load_config(session)))


def allowed_events(case: Case, config: ImConfig) -> list[str]:
    return list(machine.allowed_events(snapshot_of(case), config.policy))


def find_active_case(session: Session, principal: Principal, subject: Subject) -> Case:
    """The active case of the vehicle at a station's counter (the I -> M exchange, doc 4.2).
    The lookup is logged; a station reads only what the loop needs from it."""
    resolved = resolve_subject(session, subject)
    record_access(session, principal, "im.cases.active_lookup", "im_cases", None,
                  {"vin": resolved.vin, "plate": resolved.plate})
    case = active_case(session, resolved.key)
    if case is None:
        raise errors.NotFound("This vehicle has no open I/M case.")
    return case


# --- the bureau's and the police's own entries ---------------------------------------------------

MANUAL_SOURCE = "im.manual"


def open_case_by_hand(session: Session, principal: Principal, data: dict) -> tuple[Case, bool]:
    """A case entered by the bureau or the police (roadside spot check, reviewed capture),
    idempotent on the entering authority's document reference."""
    if data["occurred_at"] > clock.now() + CLOCK_SKEW:
        raise errors.invalid("occurred_at", "lies in the future")
    source_ref = f"{principal.role.value}:{data['reference']}"
    subject = Subject(data.get("vin"), data.get("plate"), data.get("plate_colour"), data.get("vehicle_id"))
    found = find_trigger(session, MANUAL_SOURCE, source_ref)
    if found is not None:
        _ensure_same_vehicle(session.get(Case, found.case_id), subject, data["reference"])
    details = {"reference": data["reference"], "note": data.get("note", ""), "entered_by": principal.user_id,
               "findings": data.get("findings") or {}, "location": data.get("location")}
    evidence = [f"document:{data['reference']}", *data.get("evidence", [])]
    return open_case(session, data["trigger"], subject, evidence, data["occurred_at"], MANUAL_SOURCE,
                     source_ref, details=details, by=who(principal))


def _ensure_same_vehicle(case: Case, subject: Subject, reference: str) -> None:
    vin_differs = subject.vin and case.vin and subject.vin.upper() != case.vin
    plate_differs = subject.plate and case.plate and subject.plate.replace(" ", "").upper() != case.plate
    if vin_differs or plate_differs:
        raise Conflict(f"Reference {reference} was already entered for another vehicle (case {case.id}).")


def post_event(session: Session, principal: Principal, case_id: int, data: dict) -> Case:
    """An event sent by the bureau or the police; the pure table decides who may send what."""
    case = get_case(session, principal, case_id, lock=True)
    kind = CaseEventKind(data["event"])
    if kind not in API_EVENTS:
        raise errors.invalid("event", _not_an_api_event(kind))
    if data.get("version") is not None and data["version"] != case.version:
        raise Conflict(f"Case {case.id} is at version {case.version}, not {data['version']}; reload it.",
                       current_version=case.version)
    event = CaseEvent(kind, data.get("reason", ""), data.get("reference", ""), data.get("new_deadline"))
    advance_case(session, case, event, who(principal))
    return case


def _not_an_api_event(kind: CaseEventKind) -> str:
    if kind is CaseEventKind.DEADLINE_PASSED:
        return "set by the deadline job, never by hand"
    if kind in (CaseEventKind.START_REPAIR, CaseEventKind.RECORD_REPAIR):
        return "an M station posts its repair order (POST /api/v1/im/repairs)"
    return "an I station posts its inspection result (POST /api/v1/im/inspections)"


def due_clause(now: datetime, config: ImConfig):
    """Cases the deadline sweep has work on: deadline reached and not marked; overdue long
    enough and not yet escalated."""
    escalate_before = now - timedelta(days=config.deadlines.escalate_after_days)
    return or_(
        and_(Case.state.in_(machine.DEADLINE_BOUND), Case.overdue_at.is_(None), Case.deadline <= now),
        and_(Case.state.in_(ESCALABLE), Case.overdue_at.isnot(None), Case.escalated_at.is_(None),
             Case.overdue_at <= escalate_before))
