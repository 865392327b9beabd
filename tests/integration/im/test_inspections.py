"""I station intake over HTTP: checked against its own values and the reference limits, stored
once (retries answered, conflicting re-posts refused), scoped to the posting station."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from mobsrc.core import clock
from mobsrc.im.models import Case, Inspection, InspectionCurve
from tests.integration.im import payloads

URL = "/api/v1/im/inspections"


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_failed_inspection_opens_a_notified_case_with_its_deadline(client, session, as_i_station, i_station,
                                                                   vehicle, frozen_clock):
    ended = frozen_clock.value - timedelta(minutes=10)
    response = client.post(URL, json=payloads.failing(vehicle, ended_at=ended), headers=as_i_station)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["duplicate"] is False and body["case"]["action"] == "opened"
    assert body["case"]["case_state"] == "notified"
    # 30 days (failed_inspection default), ending at 24:00 Beijing time of the last day.
    assert body["case"]["deadline"] == "2026-12-11T00:00:00+08:00"
    case = session.get(Case, body["case"]["case_id"])
    assert (case.vin, case.enterprise_id, case.vehicle_id) == (vehicle.vin, vehicle.enterprise_id, vehicle.id)
    assert body["inspection"]["case_id"] == case.id and body["inspection"]["case_action"] == "opened"
    assert body["inspection"]["curve_summary"]["samples"] == 70


def test_a_passing_inspection_of_a_vehicle_without_case_opens_nothing(client, session, as_i_station, vehicle):
    response = client.post(URL, json=payloads.passing(vehicle), headers=as_i_station)
    assert response.status_code == 201
    assert response.json["case"] == {"action": "none", "case_id": None, "case_state": None, "deadline": None,
                                     "note": ""}
    assert count(session, Case) == 0


def test_a_retry_of_the_same_report_is_answered_with_the_stored_result(client, session, as_i_station, vehicle):
    body = payloads.failing(vehicle)
    first = client.post(URL, json=body, headers=as_i_station)
    again = client.post(URL, json=body, headers=as_i_station)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["duplicate"] is True
    assert again.json["inspection"]["id"] == first.json["inspection"]["id"]
    assert again.json["case"]["case_id"] == first.json["case"]["case_id"]
    assert (count(session, Inspection), count(session, Case)) == (1, 1)


def test_the_same_report_number_with_other_content_is_a_conflict(client, session, as_i_station, vehicle):
    client.post(URL, json=payloads.failing(vehicle, report="R-SAME"), headers=as_i_station)
    response = client.post(URL, json=payloads.passing(vehicle, report="R-SAME"), headers=as_i_station)
    assert response.status_code == 409
    assert "new report number" in response.json["detail"]
    assert count(session, Inspection) == 1


def test_report_numbers_are_unique_per_station_not_globally(client, as_i_station, as_other_i_station, vehicle):
    assert client.post(URL, json=payloads.passing(vehicle, report="R-1"), headers=as_i_station).status_code == 201
    assert client.post(URL, json=payloads.passing(vehicle, report="R-1"),
                       headers=as_other_i_station).status_code == 201


def test_a_result_contradicting_its_own_values_is_refused_with_every_reason(client, session, as_i_station,
                                                                            vehicle):
    body = payloads.inspection(vehicle, items=[
        {"quantity": "k_m1", "measured": 1.5, "upper_limit": 1.2, "outcome": "pass"}], overall="pass",
        obd={"outcome": "pass", "communication_ok": True, "mil_on": True, "dtcs": ["P0401"]})
    response = client.post(URL, json=body, headers=as_i_station)
    assert response.status_code == 422
    errors = {(e["field"], e["code"]) for e in response.json["errors"]}
    assert errors == {("items.0.outcome", "item_pass_outside_limits"), ("obd.outcome", "obd_pass_with_fault")}
    assert all(e["reason"] for e in response.json["errors"])
    assert count(session, Inspection) == 0


def test_a_failure_without_cause_and_a_reversed_test_are_refused(client, as_i_station, vehicle):
    body = payloads.inspection(vehicle, k=0.5, overall="fail")
    body["ended_at"], body["started_at"] = body["started_at"], body["ended_at"]
    response = client.post(URL, json=body, headers=as_i_station)
    assert response.status_code == 422
    assert {(e["field"], e["code"]) for e in response.json["errors"]} == {
        ("ended_at", "end_before_start"), ("overall", "overall_fail_without_cause")}


def test_limits_looser_than_the_reference_table_are_refused(client, as_i_station, vehicle):
    body = payloads.inspection(vehicle, items=[
        {"quantity": "k_m1", "measured": 1.5, "upper_limit": 2.0, "outcome": "pass"}], overall="pass")
    response = client.post(URL, json=body, headers=as_i_station)
    assert response.status_code == 422
    (error,) = response.json["errors"]
    assert (error["field"], error["code"]) == ("items.0.upper_limit", "limit_looser_than_standard")
    assert "1.2" in error["reason"]


def test_the_configured_tier_b_makes_tier_a_limits_too_loose(client, as_admin, as_i_station, vehicle):
    client.patch("/api/v1/im/parameters", json={"values": {"limit_tier": "b"}}, headers=as_admin)
    response = client.post(URL, json=payloads.passing(vehicle), headers=as_i_station)
    assert response.status_code == 422
    assert response.json["errors"][0]["code"] == "limit_looser_than_standard"
    stricter = payloads.inspection(vehicle, k=0.5, limit_tier="b", items=[
        {"quantity": "k_m1", "measured": 0.5, "upper_limit": 0.7, "outcome": "pass"}])
    assert client.post(URL, json=stricter, headers=as_i_station).status_code == 201


def test_malformed_input_names_the_field(client, as_i_station, vehicle):
    bad_vin = payloads.passing(vehicle, vin=vehicle.vin[:8] + ("1" if vehicle.vin[8] != "1" else "2") + vehicle.vin[9:])
    assert client.post(URL, json=bad_vin, headers=as_i_station).json["errors"][0]["field"] == "vin"
    ragged = payloads.passing(vehicle, curve={"period_s": 1, "channels": {"k_m1": [0.1, 0.2], "speed_kmh": [1.0]}})
    response = client.post(URL, json=ragged, headers=as_i_station)
    assert (response.status_code, response.json["errors"][0]["field"]) == (422, "curve.channels")
    no_curve = payloads.passing(vehicle, curve=None)
    response = client.post(URL, json=no_curve, headers=as_i_station)
    assert (response.status_code, response.json["errors"][0]["field"]) == (422, "curve")
    future = payloads.passing(vehicle, ended_at=clock.now() + timedelta(hours=1))
    assert client.post(URL, json=future, headers=as_i_station).json["errors"][0]["field"] == "ended_at"


def test_an_obd_check_needs_no_curve_but_its_obd_readings(client, as_i_station, vehicle):
    body = payloads.inspection(vehicle, method="obd_check", items=[], curve=None, duration_s=60)
    assert client.post(URL, json=body, headers=as_i_station).json["errors"][0]["field"] == "obd"
    body["obd"] = {"outcome": "fail", "communication_ok": True, "mil_on": True, "dtcs": ["P20EE"]}
    body["overall"] = "fail"
    response = client.post(URL, json=body, headers=as_i_station)
    assert response.status_code == 201 and response.json["case"]["action"] == "opened"


def test_the_curve_is_stored_for_audit_with_its_fingerprint(client, session, as_i_station, as_admin, vehicle):
    body = payloads.passing(vehicle)
    posted = client.post(URL, json=body, headers=as_i_station).json["inspection"]
    curve = client.get(f"{URL}/{posted['id']}/curve", headers=as_admin).json
    assert curve["channels"] == body["curve"]["channels"]
    assert len(curve["digest"]) == 64
    assert session.get(InspectionCurve, posted["id"]).period_s == 1.0
    assert posted["curve_summary"]["channels"]["k_m1"] == max(body["curve"]["channels"]["k_m1"])


def test_a_station_posts_only_as_itself(client, session, as_i_station, other_i_station, vehicle):
    response = client.post(URL, json=payloads.passing(vehicle, station_code=other_i_station.code),
                           headers=as_i_station)
    assert response.status_code == 403
    assert count(session, Inspection) == 0


def test_results_are_read_within_scope(client, as_i_station, as_other_i_station, as_operator, as_other_operator,
                                       as_police, vehicle):
    posted = client.post(URL, json=payloads.passing(vehicle), headers=as_i_station).json["inspection"]
    one = f"{URL}/{posted['id']}"
    assert client.get(one, headers=as_i_station).status_code == 200
    assert client.get(one, headers=as_other_i_station).status_code == 404
    assert client.get(f"{one}/curve", headers=as_other_i_station).status_code == 404
    assert client.get(URL, headers=as_other_i_station).json["items"] == []
    assert client.get(one, headers=as_operator).status_code == 200
    assert client.get(one, headers=as_other_operator).status_code == 404
    assert [i["id"] for i in client.get(URL, headers=as_police, query_string={"vin": vehicle.vin}).json["items"]] \
        == [posted["id"]]
