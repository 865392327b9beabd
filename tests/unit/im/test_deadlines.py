"""Opening cases, deadlines per trigger, and the idempotent overdue / escalation sweep."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mobsrc.im.cases import (
    Actor,
    ActorNotAllowed,
    CaseEvent,
    CaseEventKind,
    CaseSnapshot,
    CaseState,
    CaseSubject,
    EffectKind,
    IllegalTransition,
    InvalidCaseInput,
    Role,
    TriggerKind,
    advance,
)
from mobsrc.im.deadlines import (
    DEFAULT_DEADLINE_CONFIG,
    DEFAULT_TRIGGER_RULES,
    DeadlineConfig,
    Trigger,
    compute_deadline,
    find_escalations,
    find_overdue,
    open_case,
    sweep_deadlines,
)

UTC = UTC
SUBJECT = CaseSubject(vin="LVIN0000000000001", plate="贵A12345", plate_colour="yellow")
ADMIN = Actor(Role.ADMIN, "admin-1")
SYSTEM = Actor(Role.SYSTEM, "job")


def trigger(kind=TriggerKind.BLACK_SMOKE, role=Role.SYSTEM, evidence=("CAP-1",)) -> Trigger:
    return Trigger(kind, Actor(role, "reporter"), evidence)


def opened(at: datetime, kind=TriggerKind.BLACK_SMOKE, role=Role.SYSTEM,
           config=DEFAULT_DEADLINE_CONFIG) -> CaseSnapshot:
    return open_case(trigger(kind, role), SUBJECT, at, config).snapshot("C1")


@pytest.mark.parametrize("opened_at,days,deadline", [
    # opened 10:00 Beijing: day not counted, 15 days, ends 24:00 local of 17 Mar
    (datetime(2025, 3, 1, 2, 0, tzinfo=UTC), 15, datetime(2025, 3, 16, 16, 0, tzinfo=UTC)),
    # opened 23:30 Beijing on 1 Mar: same local day, same deadline
    (datetime(2025, 3, 1, 15, 30, tzinfo=UTC), 15, datetime(2025, 3, 16, 16, 0, tzinfo=UTC)),
    # opened 00:10 Beijing on 2 Mar (still 1 Mar in UTC): one local day later
    (datetime(2025, 3, 1, 16, 10, tzinfo=UTC), 15, datetime(2025, 3, 17, 16, 0, tzinfo=UTC)),
    # 30 days across a month end
    (datetime(2025, 1, 20, 4, 0, tzinfo=UTC), 30, datetime(2025, 2, 19, 16, 0, tzinfo=UTC)),
    # 0 days: end of the opening day
    (datetime(2025, 3, 1, 2, 0, tzinfo=UTC), 0, datetime(2025, 3, 1, 16, 0, tzinfo=UTC)),
])
def test_deadline_ends_at_local_midnight_after_the_last_day(opened_at, days, deadline):
    assert compute_deadline(opened_at, days) == deadline


def test_exact_deadline_mode_adds_whole_days():
    config = DeadlineConfig(end_of_local_day=False)
    at = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)
    assert compute_deadline(at, 15, config) == at + timedelta(days=15)


@pytest.mark.parametrize("kind,days,tag", [
    (TriggerKind.BLACK_SMOKE, 15, "SECONDARY"),
    (TriggerKind.FAILED_INSPECTION, 30, "UNCONFIRMED"),
    (TriggerKind.REMOTE_SENSING_HIGH_EMITTER, 15, "UNCONFIRMED"),
    (TriggerKind.OBD_ALARM, 15, "UNCONFIRMED"),
    (TriggerKind.SPOT_CHECK, 15, "UNCONFIRMED"),
])
def test_default_deadline_per_trigger_carries_its_source_tag(kind, days, tag):
    rule = DEFAULT_TRIGGER_RULES[kind]
    assert (rule.deadline_days, rule.tag) == (days, tag)
    assert rule.source


def test_black_smoke_deadline_has_the_registry_key():
    assert DEFAULT_TRIGGER_RULES[TriggerKind.BLACK_SMOKE].key == "blacksmoke.repair_deadline_days"


@pytest.mark.parametrize("kind,role,state,effects", [
    (TriggerKind.FAILED_INSPECTION, Role.I_STATION, CaseState.NOTIFIED,
     [EffectKind.SET_DEADLINE, EffectKind.NOTIFY_OWNER]),
    (TriggerKind.REMOTE_SENSING_HIGH_EMITTER, Role.SYSTEM, CaseState.OPEN,
     [EffectKind.SET_DEADLINE, EffectKind.REFER_TO_POLICE]),
    (TriggerKind.OBD_ALARM, Role.ADMIN, CaseState.OPEN, [EffectKind.SET_DEADLINE]),
    (TriggerKind.SPOT_CHECK, Role.POLICE, CaseState.NOTIFIED,
     [EffectKind.SET_DEADLINE, EffectKind.NOTIFY_OWNER]),
    (TriggerKind.BLACK_SMOKE, Role.SYSTEM, CaseState.OPEN, [EffectKind.SET_DEADLINE]),
])
def test_each_trigger_enters_the_loop_as_doc_4_4_says(kind, role, state, effects):
    at = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)
    new = open_case(trigger(kind, role), SUBJECT, at)
    assert new.state is state
    assert [e.kind for e in new.effects] == effects
    assert new.entry.actor.role is role and new.entry.to_state is state
    assert new.deadline == compute_deadline(at, DEFAULT_TRIGGER_RULES[kind].deadline_days)


def test_remote_sensing_case_is_referred_at_opening_with_code_6063():
    at = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)
    new = open_case(trigger(TriggerKind.REMOTE_SENSING_HIGH_EMITTER), SUBJECT, at)
    assert new.referred_at == at
    assert new.effects[-1].legal_basis == "AIR_LAW_ART113_CODE6063"


@pytest.mark.parametrize("kind,role", [
    (TriggerKind.SPOT_CHECK, Role.FLEET_OPERATOR),
    (TriggerKind.SPOT_CHECK, Role.I_STATION),
    (TriggerKind.FAILED_INSPECTION, Role.M_STATION),
    (TriggerKind.BLACK_SMOKE, Role.POLICE),
])
def test_only_the_trigger_reporters_may_open_a_case(kind, role):
    with pytest.raises(ActorNotAllowed):
        open_case(trigger(kind, role), SUBJECT, datetime(2025, 3, 1, tzinfo=UTC))


@pytest.mark.parametrize("evidence", [(), ("",), ("  ",)])
def test_trigger_must_name_its_evidence(evidence):
    with pytest.raises(InvalidCaseInput):
        trigger(evidence=evidence)


def test_configured_deadline_days_override_the_default():
    config = DEFAULT_DEADLINE_CONFIG.with_deadline_days(TriggerKind.BLACK_SMOKE, 10)
    at = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)
    assert opened(at, config=config).deadline == compute_deadline(at, 10)
    assert DEFAULT_TRIGGER_RULES[TriggerKind.BLACK_SMOKE].deadline_days == 15


def test_naive_opening_time_is_malformed():
    with pytest.raises(InvalidCaseInput):
        open_case(trigger(), SUBJECT, datetime(2025, 3, 1))


def apply(cases: dict[str, CaseSnapshot], transitions) -> None:
    for t in transitions:
        cases[t.case.case_id] = t.case


OPENED_AT = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize("offset,marked", [
    (timedelta(days=-1), False),
    (-timedelta(microseconds=1), False),
    (timedelta(0), True),
    (timedelta(days=40), True),
])
def test_case_is_overdue_from_the_deadline_instant(offset, marked):
    case = opened(OPENED_AT)
    transitions = find_overdue([case], case.deadline + offset)
    assert (len(transitions) == 1) is marked


def test_overdue_pass_is_idempotent():
    case = opened(OPENED_AT)
    now = case.deadline + timedelta(hours=1)
    cases = {"C1": case}
    first = find_overdue(cases.values(), now)
    apply(cases, first)
    assert [t.new_state for t in first] == [CaseState.OVERDUE]
    assert find_overdue(cases.values(), now) == []
    assert find_overdue(cases.values(), now + timedelta(days=30)) == []


def test_late_repair_does_not_make_the_case_overdue_again():
    case = opened(OPENED_AT)
    now = case.deadline + timedelta(hours=1)
    overdue = find_overdue([case], now)[0].case
    in_repair = advance(overdue, CaseEvent(CaseEventKind.START_REPAIR), now,
                        Actor(Role.M_STATION, "M1")).case
    assert in_repair.state is CaseState.IN_REPAIR and in_repair.overdue_at == case.deadline
    assert find_overdue([in_repair], now + timedelta(days=5)) == []


@pytest.mark.parametrize("state", [CaseState.PASSED, CaseState.CLOSED, CaseState.CANCELLED,
                                   CaseState.OVERDUE, CaseState.ESCALATED])
def test_cases_outside_the_deadline_are_never_marked(state):
    case = replace(opened(OPENED_AT), state=state)
    assert find_overdue([case], case.deadline + timedelta(days=3)) == []


def test_escalation_waits_the_configured_days_after_the_deadline():
    config = DeadlineConfig(escalate_after_days=3)
    cases = {"C1": opened(OPENED_AT)}
    deadline = cases["C1"].deadline
    apply(cases, sweep_deadlines(cases.values(), deadline, config))
    assert cases["C1"].state is CaseState.OVERDUE
    almost = deadline + timedelta(days=3) - timedelta(seconds=1)
    assert sweep_deadlines(cases.values(), almost, config) == []
    due = sweep_deadlines(cases.values(), deadline + timedelta(days=3), config)
    assert [t.new_state for t in due] == [CaseState.ESCALATED]
    assert due[0].effects[0].kind is EffectKind.REFER_TO_POLICE
    apply(cases, due)
    assert sweep_deadlines(cases.values(), deadline + timedelta(days=9), config) == []


def test_default_sweep_marks_and_escalates_in_one_pass_then_nothing():
    cases = {"C1": opened(OPENED_AT), "C2": opened(OPENED_AT + timedelta(days=20))}
    now = cases["C1"].deadline + timedelta(minutes=5)
    first = sweep_deadlines(cases.values(), now)
    assert [(t.case.case_id, t.new_state) for t in first] == [
        ("C1", CaseState.OVERDUE), ("C1", CaseState.ESCALATED)]
    assert first[1].case.version == first[0].case.version + 1
    apply(cases, first)
    assert sweep_deadlines(cases.values(), now) == []


def test_escalation_reaches_a_late_case_that_stalls_in_repair():
    config = DeadlineConfig(escalate_after_days=5)
    case = opened(OPENED_AT)
    deadline = case.deadline
    case = find_overdue([case], deadline)[0].case
    case = advance(case, CaseEvent(CaseEventKind.START_REPAIR), deadline,
                   Actor(Role.M_STATION, "M1")).case
    escalated = find_escalations([case], deadline + timedelta(days=5), config)
    assert [t.new_state for t in escalated] == [CaseState.ESCALATED]


def test_passed_case_is_never_escalated():
    case = replace(opened(OPENED_AT), state=CaseState.PASSED, overdue_at=OPENED_AT)
    assert find_escalations([case], OPENED_AT + timedelta(days=60)) == []


EVENT_ROLES = [
    (CaseEventKind.NOTIFY, Role.SYSTEM), (CaseEventKind.START_REPAIR, Role.M_STATION),
    (CaseEventKind.RECORD_REPAIR, Role.M_STATION), (CaseEventKind.REINSPECT_PASS, Role.I_STATION),
    (CaseEventKind.REINSPECT_FAIL, Role.I_STATION), (CaseEventKind.CLOSE, Role.SYSTEM),
    (CaseEventKind.CANCEL, Role.ADMIN), (CaseEventKind.EXTEND_DEADLINE, Role.ADMIN),
]


@settings(max_examples=200, deadline=None)
@given(steps=st.lists(st.tuples(st.sampled_from(EVENT_ROLES + [None]),
                                st.integers(min_value=0, max_value=6 * 24)), max_size=25))
def test_any_history_then_a_repeated_sweep_yields_no_second_transition(steps):
    """Random events and clock advances; a sweep over persisted results never repeats."""
    case, now = opened(OPENED_AT), OPENED_AT
    config = DeadlineConfig(escalate_after_days=2)
    for step, hours in steps:
        now += timedelta(hours=hours)
        if step is None:
            transitions = sweep_deadlines([case], now, config)
            for t in transitions:
                case = t.case
            assert sweep_deadlines([case], now, config) == []
            continue
        kind, role = step
        event = CaseEvent(kind, reason="r", reference="REF",
                          new_deadline=case.deadline + timedelta(days=3))
        try:
            case = advance(case, event, now, Actor(role, "x")).case
        except IllegalTransition as refused:
            assert kind.value not in refused.allowed_events
    assert case.overdue_at is None or case.overdue_at <= now
