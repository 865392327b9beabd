"""The enforcement action table: every (state, action) pair, allowed or refused with the
allowed actions named."""
from __future__ import annotations

import pytest

from mobsrc.core.errors import IllegalTransition
from mobsrc.enforcement.actions import (
    STATUS_ACTIONS,
    Action,
    AppealOutcome,
    AppealStatus,
    allowed_actions,
    plan_action,
)
from mobsrc.enforcement.register import STATUS_TRANSITIONS, ViolationStatus

S, A, AS = ViolationStatus, Action, AppealStatus

# (status, appeal status) -> the actions allowed there.
ALLOWED = {
    (S.OPEN, None): {A.REVIEW, A.DISMISS, A.NOTE},
    (S.UNDER_REVIEW, None): {A.REOPEN, A.PENALISE, A.DISMISS, A.NOTE},
    (S.PENALISED, None): {A.APPEAL, A.NOTE},
    (S.PENALISED, AS.PENDING): {A.DECIDE_APPEAL, A.NOTE},
    (S.PENALISED, AS.UPHELD): {A.APPEAL, A.NOTE},       # a second instance (litigation after reconsideration)
    (S.PENALISED, AS.AMENDED): {A.APPEAL, A.NOTE},
    (S.DISMISSED, None): {A.NOTE},
    (S.DISMISSED, AS.OVERTURNED): {A.NOTE},
}


@pytest.mark.parametrize("state", list(ALLOWED))
@pytest.mark.parametrize("action", list(Action))
def test_every_state_and_action(state, action):
    status, appeal = state
    if action in ALLOWED[state]:
        outcome = plan_action(status, appeal, action, AppealOutcome.UPHELD)
        assert outcome.status in {status} | STATUS_TRANSITIONS[status] | {S.DISMISSED}
    else:
        with pytest.raises(IllegalTransition) as refused:
            plan_action(status, appeal, action, AppealOutcome.UPHELD)
        assert refused.value.extra["allowed_actions"] == [a.value for a in Action if a in ALLOWED[state]]
        assert f"'{action.value}'" in refused.value.detail and status.value in refused.value.detail
    assert set(allowed_actions(status, appeal)) == ALLOWED[state]


@pytest.mark.parametrize("action, before, after", [
    (A.REVIEW, S.OPEN, S.UNDER_REVIEW), (A.REOPEN, S.UNDER_REVIEW, S.OPEN),
    (A.PENALISE, S.UNDER_REVIEW, S.PENALISED), (A.DISMISS, S.OPEN, S.DISMISSED),
    (A.DISMISS, S.UNDER_REVIEW, S.DISMISSED), (A.NOTE, S.PENALISED, S.PENALISED),
])
def test_status_actions_lead_where_the_register_allows(action, before, after):
    assert plan_action(before, None, action).status is after


def test_status_action_table_agrees_with_the_register_transitions():
    reachable = {target for targets in STATUS_TRANSITIONS.values() for target in targets}
    assert set(STATUS_ACTIONS.values()) == reachable


@pytest.mark.parametrize("outcome, status, appeal", [
    (AppealOutcome.UPHELD, S.PENALISED, AS.UPHELD),
    (AppealOutcome.AMENDED, S.PENALISED, AS.AMENDED),
    (AppealOutcome.OVERTURNED, S.DISMISSED, AS.OVERTURNED),
])
def test_appeal_outcomes(outcome, status, appeal):
    filed = plan_action(S.PENALISED, None, A.APPEAL)
    assert filed.appeal_status is AS.PENDING and filed.status is S.PENALISED
    decided = plan_action(filed.status, filed.appeal_status, A.DECIDE_APPEAL, outcome)
    assert (decided.status, decided.appeal_status) == (status, appeal)


def test_refusal_names_allowed_statuses_too():
    with pytest.raises(IllegalTransition) as refused:
        plan_action(S.OPEN, None, A.PENALISE)
    assert refused.value.extra["allowed_statuses"] == ["dismissed", "under_review"]
    assert refused.value.status == 409
