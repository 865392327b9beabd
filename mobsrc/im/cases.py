"""The I/M closed loop as a table-driven state machine.

Source: standards-enforcement.md 4.3 (closed loop), 4.4 (triggers), 5.1 (legal bases).
Doc 4.3 draws OPEN -> REPAIRED -> CLOSED_PASS, REPAIRED -(re-test FAIL)-> OPEN (loop counter
+1) and OPEN -(deadline passed)-> OVERDUE -> referral. This module refines it:

- OPEN is split into OPEN (case created, owner not yet served) and NOTIFIED (notice or
  rectification order served). IN_REPAIR records that an M station has taken the vehicle.
- The doc's "re-test FAIL -> OPEN (loop counter +1)" lands in RETEST_FAILED, which behaves like
  NOTIFIED (awaiting repair) but keeps the failure visible; `repair_round` is the loop counter.
- CLOSED_PASS is split into PASSED (I station re-test passed) and CLOSED (loop closed by the
  system or an admin after checking the links), so a pass can be reviewed before closing.
- OVERDUE and ESCALATED (referred to traffic police) are not dead ends: the vehicle still has
  to be repaired and pass a re-test (Air Law Art. 53 para 1: only passed vehicles may be
  driven, CONFIRMED). `overdue_at` / `escalated_at` on the snapshot remember that the
  deadline was missed, so a late repair never makes the case "overdue" a second time.
- CANCELLED (admin, with a reason) and CLOSED are terminal.

`TRANSITIONS` is the one table: (state, event) -> Rule(target, roles, effects, conditions).
`advance()` applies it; everything else in this module is the data it needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType


class CaseState(StrEnum):
    OPEN = "open"
    NOTIFIED = "notified"
    IN_REPAIR = "in_repair"
    REPAIRED = "repaired"
    RETEST_FAILED = "retest_failed"
    PASSED = "passed"
    CLOSED = "closed"
    OVERDUE = "overdue"
    ESCALATED = "escalated"
    CANCELLED = "cancelled"


class CaseEventKind(StrEnum):
    NOTIFY = "notify"
    START_REPAIR = "start_repair"
    RECORD_REPAIR = "record_repair"
    REINSPECT_PASS = "reinspect_pass"
    REINSPECT_FAIL = "reinspect_fail"
    CLOSE = "close"
    DEADLINE_PASSED = "deadline_passed"
    ESCALATE = "escalate"
    CANCEL = "cancel"
    EXTEND_DEADLINE = "extend_deadline"


class Role(StrEnum):
    ADMIN = "admin"
    POLICE = "police"
    I_STATION = "i_station"
    M_STATION = "m_station"
    SYSTEM = "system"
    FLEET_OPERATOR = "fleet_operator"


class TriggerKind(StrEnum):
    """What opened the case (doc 4.4)."""

    FAILED_INSPECTION = "failed_inspection"
    REMOTE_SENSING_HIGH_EMITTER = "remote_sensing_high_emitter"
    OBD_ALARM = "obd_alarm"
    SPOT_CHECK = "spot_check"
    BLACK_SMOKE = "black_smoke"


class EffectKind(StrEnum):
    """Work the service does after persisting a transition."""

    SET_DEADLINE = "set_deadline"
    NOTIFY_OWNER = "notify_owner"
    REFER_TO_POLICE = "refer_to_police"
    WITHDRAW_REFERRAL = "withdraw_referral"
    REVIEW_REPEATED_FAILURE = "review_repeated_failure"


class Condition(StrEnum):
    """Extra requirement on a rule beyond (state, event)."""

    RETEST_WITHOUT_REPAIR_ALLOWED = "retest_without_repair_allowed"
    WAS_OVERDUE = "was_overdue"


TERMINAL_STATES = frozenset({CaseState.CLOSED, CaseState.CANCELLED})
AWAITING_REPAIR = (CaseState.OPEN, CaseState.NOTIFIED, CaseState.RETEST_FAILED)
LATE = (CaseState.OVERDUE, CaseState.ESCALATED)
DEADLINE_BOUND = frozenset(
    {CaseState.OPEN, CaseState.NOTIFIED, CaseState.IN_REPAIR, CaseState.REPAIRED,
     CaseState.RETEST_FAILED}
)

# Events whose payload must carry a field; a missing one is malformed input.
REQUIRED_FIELDS: Mapping[CaseEventKind, tuple[str, ...]] = MappingProxyType({
    CaseEventKind.CANCEL: ("reason",),
    CaseEventKind.EXTEND_DEADLINE: ("reason", "new_deadline"),
    CaseEventKind.RECORD_REPAIR: ("reference",),  # M station repair order number (doc 4.2)
    CaseEventKind.REINSPECT_PASS: ("reference",),  # I station report number (doc 4.2)
    CaseEventKind.REINSPECT_FAIL: ("reference",),
})


@dataclass(frozen=True)
class Rule:
    target: CaseState
    roles: frozenset[Role]
    effects: tuple[EffectKind, ...] = ()
    conditions: tuple[Condition, ...] = ()


def _rule(target, roles, effects=(), conditions=()) -> Rule:
    return Rule(target, frozenset(roles), tuple(effects), tuple(conditions))


def _build_transitions() -> dict[tuple[CaseState, CaseEventKind], Rule]:
    S, E, R, F, C = CaseState, CaseEventKind, Role, EffectKind, Condition
    waiver = (C.RETEST_WITHOUT_REPAIR_ALLOWED,)
    table = {
        (S.OPEN, E.NOTIFY): _rule(S.NOTIFIED, {R.SYSTEM, R.ADMIN, R.POLICE}, [F.NOTIFY_OWNER]),
        (S.REPAIRED, E.REINSPECT_PASS): _rule(S.PASSED, {R.I_STATION}),
        (S.REPAIRED, E.REINSPECT_FAIL): _rule(S.RETEST_FAILED, {R.I_STATION}, [F.NOTIFY_OWNER]),
        (S.PASSED, E.CLOSE): _rule(S.CLOSED, {R.SYSTEM, R.ADMIN}, [F.NOTIFY_OWNER]),
        (S.OVERDUE, E.ESCALATE): _rule(S.ESCALATED, {R.SYSTEM, R.ADMIN}, [F.REFER_TO_POLICE]),
    }
    for state in (*AWAITING_REPAIR, *LATE):
        table[state, E.START_REPAIR] = _rule(S.IN_REPAIR, {R.M_STATION})
    for state in (*AWAITING_REPAIR, S.IN_REPAIR, *LATE):
        table[state, E.RECORD_REPAIR] = _rule(S.REPAIRED, {R.M_STATION})
        table[state, E.REINSPECT_PASS] = _rule(S.PASSED, {R.I_STATION}, (), waiver)
        table[state, E.REINSPECT_FAIL] = _rule(
            S.RETEST_FAILED, {R.I_STATION}, [F.NOTIFY_OWNER], waiver)
    for state in DEADLINE_BOUND:
        table[state, E.DEADLINE_PASSED] = _rule(S.OVERDUE, {R.SYSTEM}, [F.NOTIFY_OWNER])
        table[state, E.EXTEND_DEADLINE] = _rule(state, {R.ADMIN}, [F.SET_DEADLINE, F.NOTIFY_OWNER])
    for state in (S.IN_REPAIR, S.REPAIRED, S.RETEST_FAILED):
        table[state, E.ESCALATE] = _rule(
            S.ESCALATED, {R.SYSTEM, R.ADMIN}, [F.REFER_TO_POLICE], [C.WAS_OVERDUE])
    for state in CaseState:
        if state not in TERMINAL_STATES and state is not S.PASSED:
            table[state, E.CANCEL] = _rule(S.CANCELLED, {R.ADMIN}, [F.NOTIFY_OWNER])
    return table


TRANSITIONS: Mapping[tuple[CaseState, CaseEventKind], Rule] = MappingProxyType(
    _build_transitions())


@dataclass(frozen=True)
class CasePolicy:
    """Switches of the loop that vary locally (doc 4.3 rules)."""

    # Doc 4.3: whether a re-test must reference an M station repair record varies locally —
    # UNCONFIRMED. Default follows the doc's diagram (re-test only after REPAIRED).
    retest_without_repair_record: bool = False
    # Air Law Art. 60 (UNCONFIRMED wording): still exceeding after repair -> compulsory
    # scrapping. After this many failed re-tests the case is flagged for admin review.
    # 3 is a design default, UNCONFIRMED; None disables the flag.
    repeated_failure_review_after: int | None = 3
    # Legal basis code for escalation of an overdue case (enforcement's legal_basis table):
    # Air Law Art. 113 / Road Traffic Safety Law, violation code 6063, 200 yuan, 0 points.
    # Article number UNCONFIRMED, practice SECONDARY (doc 5.1, 5.2: Guiyang black smoke).
    escalation_legal_basis: str = "AIR_LAW_ART113_CODE6063"


DEFAULT_POLICY = CasePolicy()


@dataclass(frozen=True)
class Actor:
    role: Role
    actor_id: str  # user id, station code, or job name for SYSTEM


@dataclass(frozen=True)
class CaseSubject:
    """The vehicle a case is about; at least a VIN or a plate."""

    vin: str = ""
    plate: str = ""
    plate_colour: str = ""

    def __post_init__(self) -> None:
        if not (self.vin or self.plate):
            raise InvalidCaseInput("a case subject needs a VIN or a plate")


@dataclass(frozen=True)
class CaseSnapshot:
    """What advance() needs to know about a stored case."""

    case_id: str
    state: CaseState
    trigger: TriggerKind
    subject: CaseSubject
    opened_at: datetime
    deadline: datetime
    repair_round: int = 0  # failed re-tests so far: doc 4.3 "loop counter"
    overdue_at: datetime | None = None  # the deadline that was missed, once marked
    escalated_at: datetime | None = None
    referred_at: datetime | None = None  # referral to police at opening (RS, doc 4.4)
    version: int = 0  # for compare-and-set persistence


@dataclass(frozen=True)
class CaseEvent:
    kind: CaseEventKind
    reason: str = ""
    reference: str = ""  # repair order number or inspection report number
    new_deadline: datetime | None = None


@dataclass(frozen=True)
class Effect:
    kind: EffectKind
    deadline: datetime | None = None
    legal_basis: str = ""


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    actor: Actor
    event: CaseEventKind | None  # None: the case was opened
    from_state: CaseState | None
    to_state: CaseState
    reason: str = ""
    reference: str = ""


@dataclass(frozen=True)
class Transition:
    case: CaseSnapshot  # the snapshot after the event; version incremented
    entry: HistoryEntry
    effects: tuple[Effect, ...] = field(default=())

    @property
    def new_state(self) -> CaseState:
        return self.case.state


class CaseError(ValueError):
    """Base of the errors raised by the case machine."""


class InvalidCaseInput(CaseError):
    """Malformed input: naive timestamps, missing subject, missing event fields."""


class IllegalTransition(CaseError):
    def __init__(self, state: CaseState, event: CaseEventKind, allowed_events):
        self.state, self.event = state, event
        self.allowed_events = tuple(sorted(allowed_events))
        allowed = ", ".join(self.allowed_events) or "none"
        super().__init__(f"{event} is not allowed in state {state}; allowed: {allowed}")


class ActorNotAllowed(CaseError):
    def __init__(self, event, role: Role, allowed_roles):
        self.event, self.role = event, role
        self.allowed_roles = tuple(sorted(allowed_roles))
        super().__init__(f"{role} may not cause {event}; allowed roles: "
                         f"{', '.join(self.allowed_roles)}")


def require_aware(at: datetime, name: str = "at") -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidCaseInput(f"{name} must be timezone-aware, got {at!r}")


def is_condition_met(condition: Condition, case: CaseSnapshot, policy: CasePolicy) -> bool:
    if condition is Condition.RETEST_WITHOUT_REPAIR_ALLOWED:
        return policy.retest_without_repair_record
    if condition is Condition.WAS_OVERDUE:
        return case.overdue_at is not None
    raise AssertionError(condition)


def find_rule(case: CaseSnapshot, event: CaseEventKind,
              policy: CasePolicy = DEFAULT_POLICY) -> Rule | None:
    """The rule for this event in this case, or None when the event is not allowed now."""
    rule = TRANSITIONS.get((case.state, event))
    if rule is None or not all(is_condition_met(c, case, policy) for c in rule.conditions):
        return None
    return rule


def allowed_events(case: CaseSnapshot, policy: CasePolicy = DEFAULT_POLICY) -> tuple[str, ...]:
    return tuple(sorted(e.value for e in CaseEventKind if find_rule(case, e, policy)))


def advance(case: CaseSnapshot, event: CaseEvent, at: datetime, actor: Actor,
            policy: CasePolicy = DEFAULT_POLICY) -> Transition:
    """Apply one event; raise IllegalTransition / ActorNotAllowed / InvalidCaseInput."""
    require_aware(at)
    if at < case.opened_at:
        raise InvalidCaseInput(f"event at {at} precedes the case opening {case.opened_at}")
    rule = find_rule(case, event.kind, policy)
    if rule is None:
        raise IllegalTransition(case.state, event.kind, allowed_events(case, policy))
    if actor.role not in rule.roles:
        raise ActorNotAllowed(event.kind, actor.role, rule.roles)
    check_event_fields(case, event)
    after = _next_snapshot(case, rule.target, event, at)
    entry = HistoryEntry(at, actor, event.kind, case.state, rule.target,
                         event.reason, event.reference)
    return Transition(after, entry, _effects(rule, case, after, event, policy))


def check_event_fields(case: CaseSnapshot, event: CaseEvent) -> None:
    for name in REQUIRED_FIELDS.get(event.kind, ()):
        value = getattr(event, name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise InvalidCaseInput(f"{event.kind} requires a non-empty {name}")
    if event.kind is CaseEventKind.EXTEND_DEADLINE:
        require_aware(event.new_deadline, "new_deadline")
        if event.new_deadline <= case.deadline:
            raise InvalidCaseInput("an extension must move the deadline later")


def _next_snapshot(case: CaseSnapshot, target: CaseState, event: CaseEvent,
                   at: datetime) -> CaseSnapshot:
    changes: dict = {"state": target, "version": case.version + 1}
    kind = event.kind
    if kind is CaseEventKind.REINSPECT_FAIL:
        changes["repair_round"] = case.repair_round + 1
    elif kind is CaseEventKind.DEADLINE_PASSED:
        changes["overdue_at"] = case.deadline
    elif kind is CaseEventKind.ESCALATE:
        changes["escalated_at"] = at
    elif kind is CaseEventKind.EXTEND_DEADLINE:
        changes["deadline"] = event.new_deadline
    return replace(case, **changes)


def _effects(rule: Rule, before: CaseSnapshot, after: CaseSnapshot, event: CaseEvent,
             policy: CasePolicy) -> tuple[Effect, ...]:
    effects = [_effect(kind, after, policy) for kind in rule.effects]
    was_referred = before.referred_at is not None or before.escalated_at is not None
    if event.kind is CaseEventKind.CANCEL and was_referred:
        effects.append(Effect(EffectKind.WITHDRAW_REFERRAL))
    threshold = policy.repeated_failure_review_after
    if event.kind is CaseEventKind.REINSPECT_FAIL and threshold is not None \
            and after.repair_round >= threshold:
        effects.append(Effect(EffectKind.REVIEW_REPEATED_FAILURE))
    return tuple(effects)


def _effect(kind: EffectKind, after: CaseSnapshot, policy: CasePolicy) -> Effect:
    if kind is EffectKind.SET_DEADLINE:
        return Effect(kind, deadline=after.deadline)
    if kind is EffectKind.REFER_TO_POLICE:
        return Effect(kind, legal_basis=policy.escalation_legal_basis)
    return Effect(kind)
