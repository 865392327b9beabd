"""The case state machine: every (state, event) pair against an independent expected table."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from mobsrc.im.cases import (
    TRANSITIONS,
    Actor,
    ActorNotAllowed,
    CaseEvent,
    CaseEventKind,
    CasePolicy,
    CaseSnapshot,
    CaseState,
    CaseSubject,
    EffectKind,
    IllegalTransition,
    InvalidCaseInput,
    Role,
    TriggerKind,
    advance,
    allowed_events,
)

OPENED = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)
DEADLINE = datetime(2025, 3, 16, 16, 0, tzinfo=UTC)
AT = OPENED + timedelta(days=2)

# Written by hand from doc 4.3 and the refinement in cases.py's docstring — not derived from
# TRANSITIONS. "-" = illegal; "?w" = only with retest_without_repair_record; "?o" = only when
# the case has missed its deadline before (overdue_at set).
EVENTS = ["notify", "start_repair", "record_repair", "reinspect_pass", "reinspect_fail",
          "close", "deadline_passed", "escalate", "cancel", "extend_deadline"]
EXPECTED = """
open          notified in_repair repaired passed?w retest_failed?w -      overdue -           cancelled open
notified      -        in_repair repaired passed?w retest_failed?w -      overdue -           cancelled notified
in_repair     -        -         repaired passed?w retest_failed?w -      overdue escalated?o cancelled in_repair
repaired      -        -         -        passed   retest_failed   -      overdue escalated?o cancelled repaired
retest_failed -        in_repair repaired passed?w retest_failed?w -      overdue escalated?o cancelled retest_failed
passed        -        -         -        -        -               closed -       -           -         -
closed        -        -         -        -        -               -      -       -           -         -
overdue       -        in_repair repaired passed?w retest_failed?w -      -       escalated   cancelled -
escalated     -        in_repair repaired passed?w retest_failed?w -      -       -           cancelled -
cancelled     -        -         -        -        -               -      -       -           -         -
"""
EXPECTED_ROLES = {
    "notify": {"system", "admin", "police"},
    "start_repair": {"m_station"},
    "record_repair": {"m_station"},
    "reinspect_pass": {"i_station"},
    "reinspect_fail": {"i_station"},
    "close": {"system", "admin"},
    "deadline_passed": {"system"},
    "escalate": {"system", "admin"},
    "cancel": {"admin"},
    "extend_deadline": {"admin"},
}


def _expected_table() -> dict[tuple[str, str], str]:
    table = {}
    for line in EXPECTED.strip().splitlines():
        state, *cells = line.split()
        assert len(cells) == len(EVENTS), state
        table.update({(state, event): cell for event, cell in zip(EVENTS, cells)})
    return table


EXPECTED_TABLE = _expected_table()


def expected_target(state: str, event: str, waiver: bool, was_overdue: bool) -> str | None:
    cell = EXPECTED_TABLE[state, event]
    if cell == "-":
        return None
    target, _, condition = cell.partition("?")
    if (condition == "w" and not waiver) or (condition == "o" and not was_overdue):
        return None
    return target


def make_case(state: CaseState, **changes) -> CaseSnapshot:
    case = CaseSnapshot("C1", state, TriggerKind.BLACK_SMOKE, CaseSubject(vin="LVIN0000000000001",
                        plate="贵A12345", plate_colour="blue"), OPENED, DEADLINE)
    return replace(case, **changes)


def full_event(kind: CaseEventKind) -> CaseEvent:
    return CaseEvent(kind, reason="reason given", reference="REF-1",
                     new_deadline=DEADLINE + timedelta(days=5))


def actor_for(event: str) -> Actor:
    return Actor(Role(sorted(EXPECTED_ROLES[event])[0]), "actor-1")


CONTEXTS = [(w, o) for w in (False, True) for o in (False, True)]
PAIRS = [(s, e) for s in CaseState for e in CaseEventKind]


def test_expected_table_covers_every_state_and_event():
    assert {s for s, _ in EXPECTED_TABLE} == {s.value for s in CaseState}
    assert set(EVENTS) == {e.value for e in CaseEventKind}


def test_transition_table_has_exactly_the_expected_pairs():
    legal = {(s.value, e.value) for s, e in TRANSITIONS}
    assert legal == {pair for pair, cell in EXPECTED_TABLE.items() if cell != "-"}


@pytest.mark.parametrize("waiver,was_overdue", CONTEXTS)
@pytest.mark.parametrize("state,event", PAIRS, ids=[f"{s}-{e}" for s, e in PAIRS])
def test_every_pair_moves_to_the_expected_state_or_names_allowed_events(
        state, event, waiver, was_overdue):
    policy = CasePolicy(retest_without_repair_record=waiver)
    case = make_case(state, overdue_at=DEADLINE if was_overdue else None)
    target = expected_target(state, event, waiver, was_overdue)
    if target is not None:
        result = advance(case, full_event(event), AT, actor_for(event), policy)
        assert result.new_state == CaseState(target)
        return
    allowed = sorted(e for e in EVENTS if expected_target(state, e, waiver, was_overdue))
    with pytest.raises(IllegalTransition) as raised:
        advance(case, full_event(event), AT, actor_for(event), policy)
    assert list(raised.value.allowed_events) == allowed
    assert all(name in str(raised.value) for name in allowed)


@pytest.mark.parametrize("state,event", [p for p in PAIRS if p in TRANSITIONS],
                         ids=[f"{s}-{e}" for s, e in PAIRS if (s, e) in TRANSITIONS])
def test_only_the_expected_roles_may_cause_each_event(state, event):
    policy = CasePolicy(retest_without_repair_record=True)
    case = make_case(state, overdue_at=DEADLINE)
    for role in Role:
        actor = Actor(role, "someone")
        if role.value in EXPECTED_ROLES[event]:
            assert advance(case, full_event(event), AT, actor, policy).new_state
        else:
            with pytest.raises(ActorNotAllowed) as raised:
                advance(case, full_event(event), AT, actor, policy)
            assert set(raised.value.allowed_roles) == EXPECTED_ROLES[event]


def test_fleet_operator_causes_no_transition():
    assert all(Role.FLEET_OPERATOR not in rule.roles for rule in TRANSITIONS.values())


@pytest.mark.parametrize("reason", ["", "   "])
def test_cancel_needs_a_reason(reason):
    with pytest.raises(InvalidCaseInput, match="reason"):
        advance(make_case(CaseState.NOTIFIED), CaseEvent(CaseEventKind.CANCEL, reason=reason),
                AT, Actor(Role.ADMIN, "admin-1"))


def test_cancel_records_the_reason_and_the_admin_in_history():
    result = advance(make_case(CaseState.NOTIFIED),
                     CaseEvent(CaseEventKind.CANCEL, reason="duplicate of C0"),
                     AT, Actor(Role.ADMIN, "admin-1"))
    entry = result.entry
    assert (entry.at, entry.actor, entry.reason) == (AT, Actor(Role.ADMIN, "admin-1"),
                                                     "duplicate of C0")
    assert (entry.from_state, entry.to_state) == (CaseState.NOTIFIED, CaseState.CANCELLED)


@pytest.mark.parametrize("kind", [CaseEventKind.RECORD_REPAIR, CaseEventKind.REINSPECT_PASS,
                                  CaseEventKind.REINSPECT_FAIL])
def test_repair_and_reinspection_must_reference_their_record(kind):
    actor = actor_for(kind.value)
    with pytest.raises(InvalidCaseInput, match="reference"):
        advance(make_case(CaseState.REPAIRED if kind != CaseEventKind.RECORD_REPAIR
                          else CaseState.IN_REPAIR), CaseEvent(kind), AT, actor)


def test_retest_fail_counts_the_loop_and_notifies_owner():
    result = advance(make_case(CaseState.REPAIRED, repair_round=0),
                     full_event(CaseEventKind.REINSPECT_FAIL), AT, Actor(Role.I_STATION, "I1"))
    assert result.case.repair_round == 1
    assert [e.kind for e in result.effects] == [EffectKind.NOTIFY_OWNER]


@pytest.mark.parametrize("rounds_before,expects_review", [(0, False), (1, False), (2, True),
                                                          (5, True)])
def test_repeated_retest_failure_asks_for_review_from_the_third(rounds_before, expects_review):
    result = advance(make_case(CaseState.REPAIRED, repair_round=rounds_before),
                     full_event(CaseEventKind.REINSPECT_FAIL), AT, Actor(Role.I_STATION, "I1"))
    kinds = [e.kind for e in result.effects]
    assert (EffectKind.REVIEW_REPEATED_FAILURE in kinds) is expects_review


def test_deadline_passed_marks_the_missed_deadline():
    result = advance(make_case(CaseState.NOTIFIED), CaseEvent(CaseEventKind.DEADLINE_PASSED),
                     DEADLINE + timedelta(hours=3), Actor(Role.SYSTEM, "sweep"))
    assert result.case.overdue_at == DEADLINE
    assert result.case.state is CaseState.OVERDUE


def test_escalation_refers_to_police_with_the_legal_basis():
    result = advance(make_case(CaseState.OVERDUE, overdue_at=DEADLINE),
                     CaseEvent(CaseEventKind.ESCALATE), AT, Actor(Role.SYSTEM, "sweep"))
    (effect,) = result.effects
    assert effect.kind is EffectKind.REFER_TO_POLICE
    assert effect.legal_basis == "AIR_LAW_ART113_CODE6063"
    assert result.case.escalated_at == AT


@pytest.mark.parametrize("changes,withdraws", [
    ({}, False),
    ({"escalated_at": AT}, True),
    ({"referred_at": OPENED}, True),
])
def test_cancelling_a_referred_case_withdraws_the_referral(changes, withdraws):
    result = advance(make_case(CaseState.ESCALATED, **changes), full_event(CaseEventKind.CANCEL),
                     AT, Actor(Role.ADMIN, "admin-1"))
    assert (EffectKind.WITHDRAW_REFERRAL in [e.kind for e in result.effects]) is withdraws


def test_extension_moves_the_deadline_and_announces_it():
    later = DEADLINE + timedelta(days=7)
    result = advance(make_case(CaseState.NOTIFIED),
                     CaseEvent(CaseEventKind.EXTEND_DEADLINE, reason="vehicle impounded",
                               new_deadline=later), AT, Actor(Role.ADMIN, "admin-1"))
    assert result.case.deadline == later and result.new_state is CaseState.NOTIFIED
    assert result.effects[0].kind is EffectKind.SET_DEADLINE
    assert result.effects[0].deadline == later


@pytest.mark.parametrize("new_deadline", [DEADLINE, DEADLINE - timedelta(days=1)])
def test_extension_must_move_the_deadline_later(new_deadline):
    with pytest.raises(InvalidCaseInput, match="later"):
        advance(make_case(CaseState.NOTIFIED),
                CaseEvent(CaseEventKind.EXTEND_DEADLINE, reason="r", new_deadline=new_deadline),
                AT, Actor(Role.ADMIN, "admin-1"))


def test_every_transition_increments_the_version():
    result = advance(make_case(CaseState.OPEN, version=4), full_event(CaseEventKind.NOTIFY),
                     AT, Actor(Role.SYSTEM, "job"))
    assert result.case.version == 5


def test_naive_time_is_malformed_input():
    with pytest.raises(InvalidCaseInput, match="timezone"):
        advance(make_case(CaseState.OPEN), full_event(CaseEventKind.NOTIFY),
                datetime(2025, 3, 2), Actor(Role.SYSTEM, "job"))


def test_event_before_the_case_opened_is_malformed_input():
    with pytest.raises(InvalidCaseInput, match="precedes"):
        advance(make_case(CaseState.OPEN), full_event(CaseEventKind.NOTIFY),
                OPENED - timedelta(seconds=1), Actor(Role.SYSTEM, "job"))


def test_allowed_events_of_a_closed_case_is_empty():
    assert allowed_events(make_case(CaseState.CLOSED)) == ()


def test_subject_needs_vin_or_plate():
    with pytest.raises(InvalidCaseInput):
        CaseSubject()


def test_full_loop_from_notice_to_closure():
    case = make_case(CaseState.NOTIFIED)
    steps = [(CaseEventKind.START_REPAIR, Role.M_STATION), (CaseEventKind.RECORD_REPAIR,
             Role.M_STATION), (CaseEventKind.REINSPECT_FAIL, Role.I_STATION),
             (CaseEventKind.RECORD_REPAIR, Role.M_STATION),
             (CaseEventKind.REINSPECT_PASS, Role.I_STATION), (CaseEventKind.CLOSE, Role.SYSTEM)]
    states = []
    for kind, role in steps:
        case = advance(case, full_event(kind), AT, Actor(role, "x")).case
        states.append(case.state)
    assert states == [CaseState.IN_REPAIR, CaseState.REPAIRED, CaseState.RETEST_FAILED,
                      CaseState.REPAIRED, CaseState.PASSED, CaseState.CLOSED]
    assert case.repair_round == 1 and case.version == 6
