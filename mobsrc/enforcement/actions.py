"""Enforcement actions on a violation, as a table: which action is allowed in which state and
what state it leads to. Pure.

The life of a violation (standards-enforcement.md §1.6, §5.1): recorded `open` by a producer;
police or the bureau take it `under_review` (or send it back `open`); from review it ends
`penalised` (a decision with its number, amount, officer and date) or `dismissed` (always with a
reason). An open violation that is plainly void (duplicate capture, wrong plate read) may be
dismissed without a review. A penalty may be appealed (administrative reconsideration or
litigation); the appeal's outcome upholds it, amends it (new amount, still penalised) or
overturns it, which dismisses the violation. Notes can be added in any state. The history of
every action is kept as events; nothing is ever deleted.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from mobsrc.core.errors import IllegalTransition
from mobsrc.enforcement.register import STATUS_TRANSITIONS, ViolationStatus


class Action(str, enum.Enum):
    REVIEW = "review"                # open -> under_review
    REOPEN = "reopen"                # under_review -> open
    PENALISE = "penalise"            # under_review -> penalised
    DISMISS = "dismiss"              # open | under_review -> dismissed (with a reason)
    APPEAL = "appeal"                # penalised, no appeal pending -> appeal pending
    DECIDE_APPEAL = "decide_appeal"  # appeal pending -> upheld | amended | overturned (-> dismissed)
    NOTE = "note"                    # any state; changes nothing


class AppealStatus(str, enum.Enum):
    PENDING = "pending"
    UPHELD = "upheld"
    AMENDED = "amended"        # the penalty was changed (new amount); still penalised
    OVERTURNED = "overturned"  # the penalty was annulled; the violation is dismissed


class AppealOutcome(str, enum.Enum):
    UPHELD = "upheld"
    AMENDED = "amended"
    OVERTURNED = "overturned"


class AppealChannel(str, enum.Enum):
    RECONSIDERATION = "reconsideration"  # 行政复议
    LITIGATION = "litigation"            # 行政诉讼


# The actions that change the status, and the status each leads to (checked against
# register.STATUS_TRANSITIONS, so the two tables cannot disagree).
STATUS_ACTIONS: dict[Action, ViolationStatus] = {
    Action.REVIEW: ViolationStatus.UNDER_REVIEW,
    Action.REOPEN: ViolationStatus.OPEN,
    Action.PENALISE: ViolationStatus.PENALISED,
    Action.DISMISS: ViolationStatus.DISMISSED,
}


@dataclass(frozen=True)
class ActionOutcome:
    status: ViolationStatus
    appeal_status: AppealStatus | None


def _is_allowed(action: Action, status: ViolationStatus, appeal: AppealStatus | None) -> bool:
    if action is Action.NOTE:
        return True
    if action in STATUS_ACTIONS:
        return STATUS_ACTIONS[action] in STATUS_TRANSITIONS[status]
    if action is Action.APPEAL:
        return status is ViolationStatus.PENALISED and appeal is not AppealStatus.PENDING
    return status is ViolationStatus.PENALISED and appeal is AppealStatus.PENDING  # DECIDE_APPEAL


def allowed_actions(status: ViolationStatus, appeal: AppealStatus | None = None) -> list[Action]:
    """What may be done next, in the order of the Action enum."""
    return [a for a in Action if _is_allowed(a, status, appeal)]


def plan_action(status: ViolationStatus, appeal: AppealStatus | None, action: Action,
                outcome: AppealOutcome | None = None) -> ActionOutcome:
    """The state after `action`, or IllegalTransition (409) naming what is allowed instead."""
    if not _is_allowed(action, status, appeal):
        allowed = allowed_actions(status, appeal)
        statuses = sorted(s.value for s in STATUS_TRANSITIONS[status])
        state = status.value + (f" with an appeal {appeal.value}" if appeal else "")
        raise IllegalTransition(
            f"A violation that is {state} cannot be acted on with '{action.value}'; allowed: "
            f"{', '.join(a.value for a in allowed)}.",
            allowed_actions=[a.value for a in allowed], allowed_statuses=statuses)
    if action in STATUS_ACTIONS:
        return ActionOutcome(STATUS_ACTIONS[action], appeal)
    if action is Action.APPEAL:
        return ActionOutcome(status, AppealStatus.PENDING)
    if action is Action.DECIDE_APPEAL:
        if outcome is None:
            raise ValueError("an appeal decision needs its outcome")
        if outcome is AppealOutcome.OVERTURNED:
            return ActionOutcome(ViolationStatus.DISMISSED, AppealStatus.OVERTURNED)
        return ActionOutcome(status, AppealStatus(outcome.value))
    return ActionOutcome(status, appeal)  # NOTE
