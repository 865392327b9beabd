"""Unmatched plates matched later: a reading whose plate was not registered is kept (not judged,
fuel unknown); once the vehicle is registered, or a vehicle's plate corrected, the periodic
re-matching judges it again with the vehicle's fuel, superseding the old verdict, and the new
exceedances count for confirmation."""
from __future__ import annotations

from sqlalchemy import select

from mobsrc.remote_sensing import judging
from mobsrc.remote_sensing.models import RsConfirmation
from tests.integration import factories
from tests.integration.remote_sensing.conftest import DAY, days, reading


def register_truck(client, headers, plate="贵A12345", colour="yellow", n=91) -> dict:
    response = client.post("/api/v1/vehicles", headers=headers, json=dict(
        vin=factories.valid_vin(n), plate=plate, plate_colour=colour, fuel="diesel", emission_standard="china_5"))
    assert response.status_code == 201, response.json
    return response.json


def test_a_reading_of_an_unregistered_plate_is_judged_again_once_the_vehicle_is_registered(
        rs, session, client, as_operator, enterprise):
    (before,) = rs.post_and_judge(reading(opacity_pct=80.0))
    assert before["verdict"]["outcome"] == "not_judged" and before["verdict"]["vehicle_id"] is None
    assert judging.rematch_readings(session) == 0
    vehicle = register_truck(client, as_operator)
    assert judging.rematch_readings(session) == 1
    after = rs.reading(before["id"])
    assert (after["verdict"]["outcome"], after["verdict"]["vehicle_id"]) == ("exceed", vehicle["id"])
    old, new = after["verdicts"]
    assert old["superseded_at"] is not None and new["superseded_at"] is None and old["outcome"] == "not_judged"
    assert judging.rematch_readings(session) == 0  # nothing left to match
    history = client.get(f"/api/v1/remote-sensing/vehicles/{vehicle['id']}/readings", headers=as_operator).json
    assert [r["id"] for r in history["items"]] == [before["id"]]


def test_readings_matched_later_count_for_confirmation(rs, session, client, as_operator):
    rs.post_and_judge(reading(DAY - days(20), opacity_pct=80.0), reading(DAY - days(10), opacity_pct=80.0))
    assert session.scalars(select(RsConfirmation)).all() == []
    register_truck(client, as_operator)
    assert judging.rematch_readings(session) == 2
    (confirmation,) = session.scalars(select(RsConfirmation)).all()
    assert confirmation.pollutant == "opacity" and len(confirmation.reading_ids) == 2


def test_a_corrected_plate_matches_the_readings_of_the_new_plate(rs, session, client, as_operator):
    vehicle = register_truck(client, as_operator, plate="贵A99999")
    judging.rematch_readings(session)
    (reading_of_real_plate,) = rs.post_and_judge(reading())
    assert reading_of_real_plate["verdict"]["vehicle_id"] is None
    fixed = client.patch(f"/api/v1/vehicles/{vehicle['id']}", json={"plate": "贵A12345"}, headers=as_operator)
    assert fixed.status_code == 200, fixed.json
    assert judging.rematch_readings(session) == 1
    assert rs.reading(reading_of_real_plate["id"])["verdict"]["vehicle_id"] == vehicle["id"]


def test_readings_already_matched_are_not_judged_again(rs, session, truck):
    rs.post_and_judge(reading())
    assert judging.rematch_readings(session) == 0
