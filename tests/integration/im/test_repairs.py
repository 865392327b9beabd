"""M station repair orders over HTTP: open (in repair), complete (repaired), one step, checks,
idempotency and scope."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from mobsrc.core import clock
from mobsrc.im.models import Repair
from tests.integration.im import payloads

URL = "/api/v1/im/repairs"


def open_case(client, headers, vehicle) -> dict:
    return client.post("/api/v1/im/inspections", json=payloads.failing(vehicle), headers=headers).json["case"]


def case_of(client, headers, case_id) -> dict:
    return client.get(f"/api/v1/im/cases/{case_id}", headers=headers).json


def test_an_order_puts_the_case_in_repair_and_its_completion_repairs_it(client, as_i_station, as_m_station,
                                                                        as_admin, m_station, vehicle):
    case_id = open_case(client, as_i_station, vehicle)["case_id"]
    opened = client.post(URL, json=payloads.repair_order(vehicle), headers=as_m_station)
    assert opened.status_code == 201, opened.json
    assert opened.json["case_id"] == case_id and opened.json["completed_at"] is None
    assert case_of(client, as_admin, case_id)["state"] == "in_repair"
    done = client.post(f"{URL}/{opened.json['id']}/completion", json=payloads.completion(), headers=as_m_station)
    assert done.status_code == 200, done.json
    assert done.json["cost_yuan"] == "4150.00" and done.json["technician"] == "李师傅"
    assert done.json["self_check"]["passed"] is True and done.json["parts"][0]["part_number"] == "DPF-6108"
    assert case_of(client, as_admin, case_id)["state"] == "repaired"
    history = client.get(f"/api/v1/im/cases/{case_id}/history", headers=as_admin).json
    assert [(h["event"], h["actor_role"], h["actor_id"]) for h in history[-2:]] == [
        ("start_repair", "m_station", m_station.code), ("record_repair", "m_station", m_station.code)]
    assert history[-1]["reference"] == opened.json["repair_order"]


def test_a_completed_order_in_one_step_repairs_the_case(client, as_i_station, as_m_station, as_admin, vehicle):
    case_id = open_case(client, as_i_station, vehicle)["case_id"]
    response = client.post(URL, json=payloads.repair_order(vehicle, completed=True), headers=as_m_station)
    assert response.status_code == 201, response.json
    assert case_of(client, as_admin, case_id)["state"] == "repaired"


def test_a_completion_needs_all_its_fields(client, as_i_station, as_m_station, vehicle):
    open_case(client, as_i_station, vehicle)
    body = payloads.repair_order(vehicle, completed_at=clock.now().isoformat())
    response = client.post(URL, json=body, headers=as_m_station)
    assert response.status_code == 422
    assert {e["field"] for e in response.json["errors"]} == {"work_done", "cost_yuan", "technician", "self_check"}


def test_a_failed_or_contradicting_self_check_is_refused(client, session, as_i_station, as_m_station, vehicle):
    open_case(client, as_i_station, vehicle)
    failed = payloads.completion()
    failed["self_check"]["passed"] = False
    response = client.post(URL, json=payloads.repair_order(vehicle, **failed), headers=as_m_station)
    assert response.status_code == 422 and response.json["errors"][0]["field"] == "self_check.passed"
    lying = payloads.completion()
    lying["self_check"]["items"] = [{"quantity": "k_m1", "measured": 1.4, "limit": 1.2}]
    response = client.post(URL, json=payloads.repair_order(vehicle, **lying), headers=as_m_station)
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "self_check.items.0.measured"
    assert session.scalar(select(func.count()).select_from(Repair)) == 0


def test_a_repair_needs_an_open_case_of_that_vehicle(client, as_i_station, as_m_station, vehicle, other_vehicle):
    response = client.post(URL, json=payloads.repair_order(vehicle), headers=as_m_station)
    assert (response.status_code, response.json["errors"][0]["field"]) == (422, "vin")
    case_id = open_case(client, as_i_station, vehicle)["case_id"]
    response = client.post(URL, json=payloads.repair_order(other_vehicle, case_id=case_id), headers=as_m_station)
    assert (response.status_code, response.json["errors"][0]["field"]) == (422, "case_id")


def test_a_retry_is_answered_and_a_reused_order_number_is_a_conflict(client, as_i_station, as_m_station, vehicle):
    open_case(client, as_i_station, vehicle)
    body = payloads.repair_order(vehicle, order="WX-1")
    first, again = (client.post(URL, json=body, headers=as_m_station) for _ in range(2))
    assert (first.status_code, again.status_code) == (201, 200) and first.json["id"] == again.json["id"]
    changed = payloads.repair_order(vehicle, order="WX-1", started_at=clock.now() - timedelta(hours=9))
    assert client.post(URL, json=changed, headers=as_m_station).status_code == 409
    completion = payloads.completion()
    assert client.post(f"{URL}/{first.json['id']}/completion", json=completion, headers=as_m_station).status_code == 200
    assert client.post(f"{URL}/{first.json['id']}/completion", json=completion, headers=as_m_station).status_code == 200
    other = payloads.completion(cost_yuan="1.00")
    assert client.post(f"{URL}/{first.json['id']}/completion", json=other, headers=as_m_station).status_code == 409


def test_an_order_cannot_be_opened_twice_on_a_case_in_repair(client, as_i_station, as_m_station,
                                                             as_other_m_station, vehicle):
    open_case(client, as_i_station, vehicle)
    client.post(URL, json=payloads.repair_order(vehicle), headers=as_m_station)
    response = client.post(URL, json=payloads.repair_order(vehicle), headers=as_other_m_station)
    assert response.status_code == 409
    assert "record_repair" in response.json["allowed_events"]
    done = client.post(URL, json=payloads.repair_order(vehicle, completed=True), headers=as_other_m_station)
    assert done.status_code == 201


def test_repair_orders_are_read_and_completed_within_scope(client, as_i_station, as_m_station, as_other_m_station,
                                                           m_station, other_m_station, as_operator,
                                                           as_other_operator, vehicle):
    open_case(client, as_i_station, vehicle)
    order = client.post(URL, json=payloads.repair_order(vehicle), headers=as_m_station).json
    assert client.post(URL, json=payloads.repair_order(vehicle, station_code=other_m_station.code),
                       headers=as_m_station).status_code == 403
    assert client.post(f"{URL}/{order['id']}/completion", json=payloads.completion(),
                       headers=as_other_m_station).status_code == 404
    assert client.get(f"{URL}/{order['id']}", headers=as_other_m_station).status_code == 404
    assert client.get(URL, headers=as_other_m_station).json["items"] == []
    assert client.get(f"{URL}/{order['id']}", headers=as_operator).status_code == 200
    assert client.get(f"{URL}/{order['id']}", headers=as_other_operator).status_code == 404
    assert [r["id"] for r in client.get(URL, headers=as_m_station).json["items"]] == [order["id"]]


def test_repeated_failed_retests_flag_the_case_for_review(client, as_i_station, as_m_station, as_admin, vehicle):
    case_id = open_case(client, as_i_station, vehicle)["case_id"]
    for round_ in range(1, 4):
        client.post(URL, json=payloads.repair_order(vehicle, completed=True), headers=as_m_station)
        retest = client.post("/api/v1/im/inspections", json=payloads.failing(vehicle, kind="retest"),
                             headers=as_i_station).json
        assert (retest["case"]["action"], retest["case"]["case_state"]) == ("retest_failed", "retest_failed")
        case = case_of(client, as_admin, case_id)
        assert case["repair_round"] == round_ and case["needs_review"] is (round_ >= 3)
    flagged = client.get("/api/v1/im/cases", query_string={"needs_review": "true"}, headers=as_admin).json["items"]
    assert [c["id"] for c in flagged] == [case_id] and "3 failed re-tests" in flagged[0]["review_reason"]


def test_a_second_failure_before_any_repair_is_added_to_the_case(client, as_i_station, as_admin, vehicle):
    case_id = open_case(client, as_i_station, vehicle)["case_id"]
    again = client.post("/api/v1/im/inspections", json=payloads.failing(vehicle), headers=as_i_station).json
    assert (again["case"]["action"], again["case"]["case_id"]) == ("attached", case_id)
    passed = client.post("/api/v1/im/inspections", json=payloads.passing(vehicle), headers=as_i_station).json
    assert passed["case"]["action"] == "not_linked" and "repair record" in passed["case"]["note"]
    assert case_of(client, as_admin, case_id)["state"] == "notified"


def test_without_auto_close_a_pass_waits_for_the_bureau(client, as_i_station, as_m_station, as_admin, vehicle):
    client.patch("/api/v1/im/parameters", json={"values": {"auto_close_on_pass": False}}, headers=as_admin)
    case_id = open_case(client, as_i_station, vehicle)["case_id"]
    client.post(URL, json=payloads.repair_order(vehicle, completed=True), headers=as_m_station)
    passed = client.post("/api/v1/im/inspections", json=payloads.passing(vehicle), headers=as_i_station).json
    assert (passed["case"]["action"], passed["case"]["case_state"]) == ("passed", "passed")
    closed = client.post(f"/api/v1/im/cases/{case_id}/events", json={"event": "close", "reason": "links checked"},
                         headers=as_admin)
    assert closed.status_code == 200 and closed.json["state"] == "closed" and closed.json["allowed_events"] == []
