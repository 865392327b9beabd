"""Opening I/M cases with a deadline per trigger; the overdue and escalation sweep.

Source: standards-enforcement.md 4.3 (deadlines configurable per trigger), 4.4 (triggers and how
each enters the loop), 5.2 (Guizhou/Guiyang practice), 7 (parameter registry).

The sweep is pure and idempotent: a case whose deadline was already marked (`overdue_at` set)
is never marked again, and a case already escalated (`escalated_at` set) is never escalated
again, whatever state it has moved on to. Running the same sweep over the persisted results
yields no transition. Two sweeps over the *same stale snapshots* would both produce one; the
service persists with compare-and-set on `CaseSnapshot.version` so only one wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

from mobsrc.im.cases import (
    DEADLINE_BOUND,
    DEFAULT_POLICY,
    Actor,
    ActorNotAllowed,
    CaseEvent,
    CaseEventKind,
    CasePolicy,
    CaseSnapshot,
    CaseState,
    CaseSubject,
    Effect,
    EffectKind,
    HistoryEntry,
    InvalidCaseInput,
    Role,
    Transition,
    TriggerKind,
    advance,
    find_rule,
    require_aware,
)

SYSTEM_ACTOR = Actor(Role.SYSTEM, "im.deadline_sweep")


@dataclass(frozen=True)
class TriggerRule:
    """How one kind of trigger enters the loop (doc 4.4)."""

    key: str  # parameter registry key for the deadline
    deadline_days: int  # calendar days
    tag: str  # CONFIRMED / SECONDARY / UNCONFIRMED
    source: str
    reporters: frozenset[Role]  # who may open a case of this kind
    notified_at_open: bool = False  # owner served at the moment of opening
    refer_at_open: bool = False  # traffic police referral at opening
    referral_legal_basis: str = ""

    def __post_init__(self) -> None:
        if self.deadline_days < 0:
            raise InvalidCaseInput(f"{self.key}: deadline_days must be >= 0")


_R = Role
DEFAULT_TRIGGER_RULES: Mapping[TriggerKind, TriggerRule] = MappingProxyType({
    TriggerKind.FAILED_INSPECTION: TriggerRule(
        "im.deadline_days.failed_inspection", 30, "UNCONFIRMED",
        "no Chinese national default found (doc 4.1, 4.3); CARB NST 30 days as comparator "
        "(doc 4.7). The owner holds the failing report at the station, hence notified at open.",
        frozenset({_R.I_STATION, _R.SYSTEM}), notified_at_open=True),
    TriggerKind.REMOTE_SENSING_HIGH_EMITTER: TriggerRule(
        "im.deadline_days.remote_sensing", 15, "UNCONFIRMED",
        "aligned with the Guizhou black-smoke deadline (doc 5.2); referral to traffic police "
        "at opening, code 6063 (doc 4.4, 1.6 Chuzhou practice, SECONDARY)",
        frozenset({_R.SYSTEM, _R.ADMIN}), refer_at_open=True,
        referral_legal_basis="AIR_LAW_ART113_CODE6063"),
    TriggerKind.OBD_ALARM: TriggerRule(
        "im.deadline_days.obd_alarm", 15, "UNCONFIRMED",
        "doc 4.4: opened only after the alarm is confirmed by investigation; deadline aligned "
        "with the Guizhou black-smoke practice",
        frozenset({_R.SYSTEM, _R.ADMIN})),
    TriggerKind.SPOT_CHECK: TriggerRule(
        "im.deadline_days.spot_check", 15, "UNCONFIRMED",
        "doc 4.4 / 6.3: rectification order with a deadline served on the spot (Air Law "
        "Art. 53 para 2, CONFIRMED); 15 days aligned with Guizhou practice",
        frozenset({_R.ADMIN, _R.POLICE}), notified_at_open=True),
    TriggerKind.BLACK_SMOKE: TriggerRule(
        "blacksmoke.repair_deadline_days", 15, "SECONDARY",
        "doc 1.8 / 5.2 / 7: Guizhou vendor page, repair and re-test within 15 days, "
        "otherwise the case goes to traffic police",
        frozenset({_R.SYSTEM, _R.ADMIN})),
})


@dataclass(frozen=True)
class DeadlineConfig:
    triggers: Mapping[TriggerKind, TriggerRule] = field(
        default_factory=lambda: DEFAULT_TRIGGER_RULES)
    # Days after the missed deadline before the sweep escalates. 0 = at once: Guizhou black
    # smoke "within 15 days, otherwise the case goes to traffic police" (doc 5.2, SECONDARY).
    escalate_after_days: int = 0
    # Deadline counted in local calendar days: the day of opening not counted, the period
    # ending at 24:00 local of the last day. Civil Code Arts. 201/203 as recalled —
    # UNCONFIRMED (not in the doc). The holiday extension of Art. 203 is not implemented.
    # False: deadline = opened_at + deadline_days exactly.
    end_of_local_day: bool = True
    local_timezone: str = "Asia/Shanghai"

    def with_deadline_days(self, kind: TriggerKind, days: int) -> DeadlineConfig:
        triggers = dict(self.triggers)
        triggers[kind] = replace(triggers[kind], deadline_days=days)
        return replace(self, triggers=MappingProxyType(triggers))


DEFAULT_DEADLINE_CONFIG = DeadlineConfig()


@dataclass(frozen=True)
class Trigger:
    kind: TriggerKind
    reported_by: Actor
    evidence: tuple[str, ...]  # report numbers, reading ids, capture ids, alarm ids

    def __post_init__(self) -> None:
        if not self.evidence or not all(ref.strip() for ref in self.evidence):
            raise InvalidCaseInput("a trigger must name its evidence")


@dataclass(frozen=True)
class NewCase:
    state: CaseState
    trigger: TriggerKind
    subject: CaseSubject
    opened_at: datetime
    deadline: datetime
    referred_at: datetime | None
    entry: HistoryEntry
    effects: tuple[Effect, ...]

    def snapshot(self, case_id: str) -> CaseSnapshot:
        return CaseSnapshot(case_id, self.state, self.trigger, self.subject, self.opened_at,
                            self.deadline, referred_at=self.referred_at)


def compute_deadline(opened_at: datetime, days: int,
                     config: DeadlineConfig = DEFAULT_DEADLINE_CONFIG) -> datetime:
    require_aware(opened_at, "opened_at")
    if not config.end_of_local_day:
        return opened_at + timedelta(days=days)
    zone = ZoneInfo(config.local_timezone)
    last_day = opened_at.astimezone(zone).date() + timedelta(days=days)
    end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=zone)
    return end.astimezone(opened_at.tzinfo)


def open_case(trigger: Trigger, subject: CaseSubject, at: datetime,
              config: DeadlineConfig = DEFAULT_DEADLINE_CONFIG) -> NewCase:
    """A new case for this trigger: initial state, deadline and the effects to carry out."""
    require_aware(at)
    rule = config.triggers[trigger.kind]
    if trigger.reported_by.role not in rule.reporters:
        raise ActorNotAllowed(f"open {trigger.kind}", trigger.reported_by.role, rule.reporters)
    deadline = compute_deadline(at, rule.deadline_days, config)
    state = CaseState.NOTIFIED if rule.notified_at_open else CaseState.OPEN
    effects = [Effect(EffectKind.SET_DEADLINE, deadline=deadline)]
    if rule.notified_at_open:
        effects.append(Effect(EffectKind.NOTIFY_OWNER))
    if rule.refer_at_open:
        effects.append(Effect(EffectKind.REFER_TO_POLICE, legal_basis=rule.referral_legal_basis))
    entry = HistoryEntry(at, trigger.reported_by, None, None, state, reason=trigger.kind.value,
                         reference=",".join(trigger.evidence))
    return NewCase(state, trigger.kind, subject, at, deadline,
                   at if rule.refer_at_open else None, entry, tuple(effects))


def is_overdue(case: CaseSnapshot, now: datetime) -> bool:
    """Deadline reached and not yet marked; only states still bound by the deadline."""
    return (case.state in DEADLINE_BOUND and case.overdue_at is None
            and now >= case.deadline)


def is_due_for_escalation(case: CaseSnapshot, now: datetime, config: DeadlineConfig,
                          policy: CasePolicy = DEFAULT_POLICY) -> bool:
    if case.overdue_at is None or case.escalated_at is not None:
        return False
    if find_rule(case, CaseEventKind.ESCALATE, policy) is None:
        return False
    return now >= case.overdue_at + timedelta(days=config.escalate_after_days)


def find_overdue(cases: Iterable[CaseSnapshot], now: datetime) -> list[Transition]:
    """DEADLINE_PASSED transitions for the cases whose deadline has been reached."""
    require_aware(now, "now")
    event = CaseEvent(CaseEventKind.DEADLINE_PASSED)
    return [advance(case, event, now, SYSTEM_ACTOR) for case in cases if is_overdue(case, now)]


def find_escalations(cases: Iterable[CaseSnapshot], now: datetime,
                     config: DeadlineConfig = DEFAULT_DEADLINE_CONFIG,
                     policy: CasePolicy = DEFAULT_POLICY) -> list[Transition]:
    """ESCALATE transitions for cases overdue for at least `escalate_after_days`."""
    require_aware(now, "now")
    event = CaseEvent(CaseEventKind.ESCALATE, reason="overdue: escalation policy")
    return [advance(case, event, now, SYSTEM_ACTOR, policy) for case in cases
            if is_due_for_escalation(case, now, config, policy)]


def sweep_deadlines(cases: Iterable[CaseSnapshot], now: datetime,
                    config: DeadlineConfig = DEFAULT_DEADLINE_CONFIG,
                    policy: CasePolicy = DEFAULT_POLICY) -> list[Transition]:
    """Overdue marking then escalation, per case in order; at most two transitions a case."""
    transitions: list[Transition] = []
    for case in cases:
        marked = find_overdue([case], now)
        transitions += marked
        current = marked[0].case if marked else case
        transitions += find_escalations([current], now, config, policy)
    return transitions
