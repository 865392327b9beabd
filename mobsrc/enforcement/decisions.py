"""Enforcement actions by police and the bureau: review, reopen, penalise, dismiss, appeal,
decide an appeal, note. Each action locks the violation row (two officers acting at once are
serialised), is checked against the table in `actions.py` (409 naming the allowed actions), is
kept as a ViolationEvent (the history) and, because `Violation` is audited, lands in the audit
log under its own action name (`violations.penalise`, ...).

A penalty replayed with the same decision number and amount (a client retrying after a timeout)
returns the violation unchanged instead of a conflict.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mobsrc.core import clock
from mobsrc.core.audit import name_action
from mobsrc.core.auth.principals import Principal
from mobsrc.core.auth.scope import ensure_visible
from mobsrc.core.errors import Conflict, invalid
from mobsrc.enforcement.actions import Action, AppealChannel, AppealOutcome, plan_action
from mobsrc.enforcement.models import LegalBasis, Violation
from mobsrc.enforcement.register import ViolationStatus
from mobsrc.enforcement.service import add_event


@dataclass(frozen=True)
class ActionRequest:
    action: Action
    reason: str | None = None
    officer: str | None = None
    decided_on: date | None = None
    decision_number: str | None = None
    penalty_amount: Decimal | None = None
    legal_basis_code: str | None = None
    outcome: AppealOutcome | None = None
    channel: AppealChannel | None = None  # appeals
    filed_on: date | None = None        # appeals


def _locked(session: Session, principal: Principal, violation_id: int) -> Violation:
    violation = session.scalar(select(Violation).where(Violation.id == violation_id).with_for_update())
    return ensure_visible(principal, violation, "violation",
                          enterprise_id=violation.enterprise_id if violation else None)


def _check_date(field: str, value: date | None, violation: Violation) -> None:
    if value is None:
        return
    today = clock.as_local(clock.now()).date()
    if value > today:
        raise invalid(field, f"{value.isoformat()} is in the future (today is {today.isoformat()} in Beijing)")
    occurred = clock.as_local(violation.occurred_at).date()
    if value < occurred:
        raise invalid(field, f"{value.isoformat()} is before the violation ({occurred.isoformat()})")


def _check_basis(session: Session, request: ActionRequest, violation: Violation) -> str:
    code = request.legal_basis_code or violation.legal_basis_code
    basis = session.get(LegalBasis, code)
    if basis is None:
        raise invalid("legal_basis_code", f"{code} is not a known legal basis (GET /api/v1/legal-bases)")
    amount = request.penalty_amount
    # Only a CONFIRMED range is enforced: the others are practice or recalled values that local
    # regulations may set differently (standards-enforcement.md §0.1).
    low, high = basis.fine_min, basis.fine_max
    in_range = amount is None or ((low is None or amount >= low) and (high is None or amount <= high))
    if basis.confidence == "CONFIRMED" and basis.fine_unit == "yuan" and not in_range:
        raise invalid("penalty_amount", f"{basis.code} allows {basis.fine_min}-{basis.fine_max} yuan")
    return code


def _check_decision_number(session: Session, number: str | None, violation: Violation) -> None:
    if number is None:
        return
    other = session.scalar(select(Violation.id).where(Violation.decision_number == number,
                                                      Violation.id != violation.id))
    if other is not None:
        raise Conflict(f"Decision number {number} is already recorded on violation {other}.",
                       conflicting_violation_id=other)


def _is_replayed_penalty(violation: Violation, request: ActionRequest) -> bool:
    return (request.action is Action.PENALISE and violation.status is ViolationStatus.PENALISED
            and violation.decision_number == request.decision_number
            and violation.penalty_amount == request.penalty_amount)


def _apply_penalty(session: Session, violation: Violation, request: ActionRequest) -> None:
    violation.legal_basis_code = _check_basis(session, request, violation)
    _check_decision_number(session, request.decision_number, violation)
    violation.decision_number = request.decision_number
    violation.penalty_amount = request.penalty_amount
    violation.officer = request.officer
    violation.decided_on = request.decided_on


def _apply(session: Session, violation: Violation, request: ActionRequest) -> None:
    if request.action is Action.PENALISE:
        _apply_penalty(session, violation, request)
    elif request.action is Action.DISMISS:
        violation.officer = request.officer or violation.officer
        violation.decided_on = request.decided_on or violation.decided_on
    elif request.action is Action.DECIDE_APPEAL and request.outcome is AppealOutcome.AMENDED:
        _check_basis(session, request, violation)
        violation.penalty_amount = request.penalty_amount


def _event_details(request: ActionRequest) -> dict:
    values = dict(channel=request.channel and request.channel.value,
                  filed_on=request.filed_on and request.filed_on.isoformat(),
                  outcome=request.outcome and request.outcome.value, legal_basis_code=request.legal_basis_code)
    return {k: v for k, v in values.items() if v is not None}


def act_on_violation(session: Session, principal: Principal, violation_id: int, request: ActionRequest) -> Violation:
    violation = _locked(session, principal, violation_id)
    if _is_replayed_penalty(violation, request):
        return violation
    outcome = plan_action(violation.status, violation.appeal_status, request.action, request.outcome)
    for field in ("decided_on", "filed_on"):
        _check_date(field, getattr(request, field), violation)
    name_action(session, f"violations.{request.action.value}")
    before = violation.status
    _apply(session, violation, request)
    if outcome.status is not before:
        violation.status_changed_at = clock.now()
        violation.status_reason = request.reason
    violation.status, violation.appeal_status = outcome.status, outcome.appeal_status
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:  # a concurrent penalty took the decision number
        raise Conflict(f"Decision number {request.decision_number} is already recorded.") from exc
    add_event(session, violation, principal, request.action.value, from_status=before.value,
              to_status=outcome.status.value, reason=request.reason, decision_number=request.decision_number,
              penalty_amount=request.penalty_amount, officer=request.officer, decided_on=request.decided_on,
              details=_event_details(request))
    return violation
