"""Enforcement actions over HTTP: the full life of a violation, refusals with what is allowed,
the kept history and the audit log."""
from __future__ import annotations

import threading
import time
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select, text

from mobsrc.core import clock
from mobsrc.core.audit import AuditEntry
from mobsrc.core.auth import service as accounts
from mobsrc.core.auth.principals import Role
from mobsrc.enforcement import service
from mobsrc.enforcement.register import ViolationStatus
from tests.integration.enforcement.conftest import T0, vehicle_draft

TODAY = clock.as_local(clock.now()).date()
PENALTY = {"decision_number": "贵公交决字〔2026〕第0001号", "penalty_amount": "200.00", "officer": "王警官 520001",
           "decided_on": TODAY.isoformat()}


@pytest.fixture
def violation(record):
    return record(vehicle_draft(plate="贵A55555"))


def act(client, headers, violation_id, path, body=None):
    return client.post(f"/api/v1/violations/{violation_id}/{path}", json=body or {}, headers=headers)


def test_review_then_penalty_records_the_decision(client, as_police, violation):
    reviewed = act(client, as_police, violation.id, "review", {"reason": "图像清晰，车牌可辨", "officer": "王警官"})
    assert reviewed.status_code == 200 and reviewed.json["status"] == "under_review"
    assert reviewed.json["allowed_actions"] == ["reopen", "penalise", "dismiss", "note"]
    penalised = act(client, as_police, violation.id, "penalty", PENALTY)
    assert penalised.status_code == 200, penalised.json
    body = penalised.json
    assert body["status"] == "penalised" and body["decision_number"] == PENALTY["decision_number"]
    assert body["penalty_amount"] == "200.00" and body["officer"] == "王警官 520001"
    assert body["decided_on"] == TODAY.isoformat() and body["status_changed_at"] is not None
    assert body["allowed_actions"] == ["appeal", "note"]


def test_illegal_transition_is_409_naming_the_allowed_actions(client, as_police, violation):
    response = act(client, as_police, violation.id, "penalty", PENALTY)
    assert response.status_code == 409
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json["allowed_actions"] == ["review", "dismiss", "note"]
    assert response.json["allowed_statuses"] == ["dismissed", "under_review"]
    assert "review, dismiss, note" in response.json["detail"]
    # Nothing changed.
    assert client.get(f"/api/v1/violations/{violation.id}", headers=as_police).json["status"] == "open"


def test_decided_violations_accept_only_what_remains(client, as_police, violation):
    act(client, as_police, violation.id, "dismissal", {"reason": "重复抓拍 (duplicate capture)"})
    for path, body in (("review", {}), ("reopen", {"reason": "再看看"}), ("penalty", PENALTY),
                       ("appeals", {"channel": "reconsideration", "filed_on": TODAY.isoformat()})):
        response = act(client, as_police, violation.id, path, body)
        assert response.status_code == 409 and response.json["allowed_actions"] == ["note"], path


def test_dismissal_needs_a_reason_and_keeps_it(client, as_admin, violation):
    missing = act(client, as_admin, violation.id, "dismissal", {})
    assert missing.status_code == 422 and missing.json["errors"][0]["field"] == "reason"
    dismissed = act(client, as_admin, violation.id, "dismissal", {"reason": "应急抢险车辆，豁免", "officer": "李"})
    assert dismissed.json["status"] == "dismissed" and dismissed.json["status_reason"] == "应急抢险车辆，豁免"


def test_reopen_sends_a_review_back(client, as_police, violation):
    act(client, as_police, violation.id, "review")
    reopened = act(client, as_police, violation.id, "reopen", {"reason": "需补充证据"})
    assert reopened.json["status"] == "open" and reopened.json["status_reason"] == "需补充证据"


def test_appeal_overturned_dismisses_and_history_tells_the_story(client, as_police, violation):
    act(client, as_police, violation.id, "review")
    act(client, as_police, violation.id, "penalty", PENALTY)
    filed = act(client, as_police, violation.id, "appeals", {"channel": "reconsideration",
                                                             "filed_on": TODAY.isoformat(), "reason": "车主申请复议"})
    assert filed.json["appeal_status"] == "pending" and filed.json["allowed_actions"] == ["decide_appeal", "note"]
    again = act(client, as_police, violation.id, "appeals", {"channel": "litigation", "filed_on": TODAY.isoformat()})
    assert again.status_code == 409
    decided = act(client, as_police, violation.id, "appeal-decision",
                  {"outcome": "overturned", "decided_on": TODAY.isoformat(), "reason": "证据不足"})
    assert decided.json["status"] == "dismissed" and decided.json["appeal_status"] == "overturned"
    act(client, as_police, violation.id, "notes", {"reason": "已通知车主"})
    history = client.get(f"/api/v1/violations/{violation.id}/history", headers=as_police).json
    assert [(h["action"], h["from_status"], h["to_status"]) for h in history] == [
        ("recorded", None, "open"), ("review", "open", "under_review"), ("penalise", "under_review", "penalised"),
        ("appeal", "penalised", "penalised"), ("decide_appeal", "penalised", "dismissed"),
        ("note", "dismissed", "dismissed")]
    penalty, appeal, decision = history[2], history[3], history[4]
    assert penalty["decision_number"] == PENALTY["decision_number"] and penalty["penalty_amount"] == "200.00"
    assert penalty["officer"] == PENALTY["officer"] and penalty["actor_role"] == "police"
    assert appeal["details"] == {"channel": "reconsideration", "filed_on": TODAY.isoformat()}
    assert decision["details"] == {"outcome": "overturned"} and decision["reason"] == "证据不足"


def test_amended_appeal_changes_the_amount_and_stays_penalised(client, as_police, violation):
    act(client, as_police, violation.id, "review")
    act(client, as_police, violation.id, "penalty", PENALTY)
    act(client, as_police, violation.id, "appeals", {"channel": "litigation", "filed_on": TODAY.isoformat()})
    no_amount = act(client, as_police, violation.id, "appeal-decision",
                    {"outcome": "amended", "decided_on": TODAY.isoformat()})
    assert no_amount.status_code == 422 and no_amount.json["errors"][0]["field"] == "penalty_amount"
    amended = act(client, as_police, violation.id, "appeal-decision",
                  {"outcome": "amended", "decided_on": TODAY.isoformat(), "penalty_amount": "100"})
    assert amended.json["status"] == "penalised" and amended.json["penalty_amount"] == "100.00"
    assert amended.json["appeal_status"] == "amended" and amended.json["allowed_actions"] == ["appeal", "note"]


def test_a_decision_number_is_used_once(client, as_police, record, violation):
    other = record(vehicle_draft(plate="贵A66666"))
    for v in (violation, other):
        act(client, as_police, v.id, "review")
    assert act(client, as_police, violation.id, "penalty", PENALTY).status_code == 200
    taken = act(client, as_police, other.id, "penalty", PENALTY)
    assert taken.status_code == 409 and taken.json["conflicting_violation_id"] == violation.id


def test_a_retried_penalty_is_answered_like_the_first(client, session, as_police, violation):
    act(client, as_police, violation.id, "review")
    first = act(client, as_police, violation.id, "penalty", PENALTY)
    again = act(client, as_police, violation.id, "penalty", PENALTY)
    assert again.status_code == 200 and again.json == first.json
    history = client.get(f"/api/v1/violations/{violation.id}/history", headers=as_police).json
    assert [h["action"] for h in history].count("penalise") == 1
    different = act(client, as_police, violation.id, "penalty", PENALTY | {"penalty_amount": "150"})
    assert different.status_code == 409


@pytest.mark.parametrize("decided_on, reason", [
    (TODAY + timedelta(days=1), "in the future"),
    (date(2026, 10, 31), "before the violation"),
])
def test_decision_dates_must_be_plausible(client, as_police, violation, decided_on, reason):
    act(client, as_police, violation.id, "review")
    response = act(client, as_police, violation.id, "penalty", PENALTY | {"decided_on": decided_on.isoformat()})
    assert response.status_code == 422 and reason in response.json["errors"][0]["reason"]
    assert response.json["errors"][0]["field"] == "decided_on"


@pytest.mark.parametrize("body, field", [
    ({"penalty_amount": "-5"}, "penalty_amount"), ({"penalty_amount": "12.345"}, "penalty_amount"),
    ({"decision_number": ""}, "decision_number"), ({"officer": None}, "officer"),
    ({"legal_basis_code": "NOPE-1"}, "legal_basis_code"),
])
def test_penalty_input_is_checked(client, as_police, violation, body, field):
    act(client, as_police, violation.id, "review")
    response = act(client, as_police, violation.id, "penalty", PENALTY | body)
    assert response.status_code == 422, response.json
    assert field in [e["field"] for e in response.json["errors"]]


def test_a_confirmed_fine_range_is_enforced(client, as_police, record):
    violation = record(vehicle_draft(legal_basis_code="APPCL-112-1"))  # CONFIRMED: 100,000-500,000 yuan
    act(client, as_police, violation.id, "review")
    low = act(client, as_police, violation.id, "penalty", PENALTY | {"penalty_amount": "5000"})
    assert low.status_code == 422 and "100000-500000" in low.json["errors"][0]["reason"]
    ok = act(client, as_police, violation.id, "penalty", PENALTY | {"penalty_amount": "100000"})
    assert ok.status_code == 200


def test_the_penalty_may_cite_another_article(client, as_police, violation):
    act(client, as_police, violation.id, "review")
    response = act(client, as_police, violation.id, "penalty", PENALTY | {"legal_basis_code": "APPCL-114-1",
                                                                         "penalty_amount": "5000"})
    assert response.json["legal_basis_code"] == "APPCL-114-1"


def test_every_action_is_audited_with_its_name_and_values(client, session, principal_headers, violation):
    officer = principal_headers(Role.POLICE, name="交警 张")
    act(client, officer, violation.id, "review")
    act(client, officer, violation.id, "penalty", PENALTY)
    entries = session.scalars(select(AuditEntry).where(AuditEntry.entity == "violations",
                                                       AuditEntry.entity_id == str(violation.id),
                                                       AuditEntry.action.in_(["violations.review",
                                                                              "violations.penalise"]))
                              .order_by(AuditEntry.id)).all()
    review, penalty = entries
    assert review.role == penalty.role == "police" and review.user_id == penalty.user_id != 0
    assert review.before["status"] == "open" and review.after["status"] == "under_review"
    assert penalty.after["decision_number"] == PENALTY["decision_number"] and penalty.after["penalty_amount"] == "200.00"


def test_operators_cannot_act_and_unknown_violations_are_404(client, as_operator, as_police, violation):
    assert act(client, as_operator, violation.id, "review").status_code == 403
    assert act(client, as_police, 987654321, "review").status_code == 404


def test_a_second_review_is_refused(client, as_police, violation):
    assert act(client, as_police, violation.id, "review").status_code == 200
    second = act(client, as_police, violation.id, "review")
    assert second.status_code == 409 and "under_review" in second.json["detail"]


def test_an_action_waits_for_a_concurrent_one_and_sees_its_result(committed_app, engine):
    """Another transaction holds the row and penalises it; the request, blocked on the row lock,
    must then see `penalised` and refuse, instead of deciding on the stale `under_review`."""
    state = committed_app.extensions["mobsrc"]
    with state.db.session_scope() as s:
        violation, _ = service.record_violation(s, vehicle_draft(plate="贵A77788"))
        violation.status = ViolationStatus.UNDER_REVIEW
        user = accounts.create_user(s, "交警", Role.POLICE)
        _, key = accounts.issue_api_key(s, user.id)
    results = {}
    with engine.connect() as other:
        holding = other.begin()
        other.execute(text("SELECT 1 FROM violations WHERE id = :id FOR UPDATE"), {"id": violation.id})
        thread = threading.Thread(target=lambda: results.update(response=act(
            committed_app.test_client(), {"X-API-Key": key}, violation.id, "penalty", PENALTY)))
        thread.start()
        time.sleep(0.5)
        assert thread.is_alive(), "the action did not wait for the row lock"
        other.execute(text("UPDATE violations SET status = 'penalised', decision_number = 'OTHER-1' WHERE id = :id"),
                      {"id": violation.id})
        holding.commit()
        thread.join(timeout=10)
    assert results["response"].status_code == 409
    assert results["response"].json["allowed_actions"] == ["appeal", "note"]


def test_times_are_shown_in_beijing(client, as_police, violation):
    shown = client.get(f"/api/v1/violations/{violation.id}", headers=as_police).json["occurred_at"]
    assert datetime.fromisoformat(shown) == T0 and shown.endswith("+08:00")
