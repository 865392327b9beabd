"""The bureau's side: roadside details of a station, calibration / audit records, limit tables
as versioned data (validated, never edited, effective today or later)."""
from __future__ import annotations

from mobsrc.remote_sensing.limit_documents import limit_table_to_dict
from mobsrc.remote_sensing.limits import DEFAULT_LIMITS
from tests.integration import factories
from tests.integration.remote_sensing.conftest import make_rs_station

BASE = "/api/v1/remote-sensing"
DETAILS = dict(road="花溪大道", direction="花溪往市区", lanes=3, mounting="horizontal", device_make="安杰",
               device_model="AJ-2", device_serial="SN-9", slope_deg=0.8)


def test_the_bureau_sets_a_stations_roadside_details(client, session, as_admin, as_police):
    station = factories.make_station(session, "rs")
    put = client.put(f"{BASE}/stations/{station.id}", json=DETAILS, headers=as_admin)
    assert put.status_code == 200, put.json
    assert put.json["details"] == DETAILS and put.json["code"] == station.code
    assert put.json["calibration"] == {"ok": False, "record_id": None, "valid_to": None}
    changed = client.put(f"{BASE}/stations/{station.id}", json=DETAILS | {"lanes": 4}, headers=as_admin).json
    assert changed["details"]["lanes"] == 4
    listed = client.get(f"{BASE}/stations", headers=as_police).json
    assert [s["id"] for s in listed] == [station.id] and listed[0]["location"] == [106.71, 26.57]


def test_details_are_validated_and_only_for_remote_sensing_stations(client, session, as_admin):
    i_station = factories.make_station(session, "i")
    assert client.put(f"{BASE}/stations/{i_station.id}", json=DETAILS, headers=as_admin).status_code == 404
    station = factories.make_station(session, "rs")
    bad = client.put(f"{BASE}/stations/{station.id}", json=DETAILS | {"lanes": 0, "mounting": "roof"},
                     headers=as_admin)
    assert bad.status_code == 422 and {e["field"] for e in bad.json["errors"]} == {"lanes", "mounting"}


def test_calibration_records_set_the_status_and_a_station_sees_only_its_own(client, session, as_admin,
                                                                            principal_headers):
    station, headers = make_rs_station(session, principal_headers, calibrated=False)
    other, _ = make_rs_station(session, principal_headers)
    record = dict(kind="calibration", performed_on="2026-05-30", valid_from="2026-05-30", valid_to="2026-11-29",
                  passed=True, certificate_no="GZ-CAL-77", performed_by="贵州省计量院")
    created = client.post(f"{BASE}/stations/{station.id}/calibrations", json=record, headers=as_admin)
    assert created.status_code == 201 and created.json["certificate_no"] == "GZ-CAL-77"
    mine = client.get(f"{BASE}/stations/{station.id}", headers=headers).json
    assert mine["calibration"] == {"ok": True, "record_id": created.json["id"], "valid_to": "2026-11-29"}
    assert [c["id"] for c in client.get(f"{BASE}/stations/{station.id}/calibrations", headers=headers).json] == [
        created.json["id"]]
    assert client.get(f"{BASE}/stations/{other.id}/calibrations", headers=headers).status_code == 404
    assert [s["id"] for s in client.get(f"{BASE}/stations", headers=headers).json] == [station.id]


def test_a_calibration_record_with_reversed_or_future_dates_is_refused(client, session, as_admin):
    station = factories.make_station(session, "rs")
    url = f"{BASE}/stations/{station.id}/calibrations"
    record = dict(kind="audit", performed_on="2026-05-30", valid_from="2026-05-30", valid_to="2026-05-01",
                  passed=True)
    reversed_ = client.post(url, json=record, headers=as_admin)
    assert reversed_.status_code == 422 and reversed_.json["errors"][0]["field"] == "valid_to"
    future = client.post(url, json=record | {"performed_on": "2026-07-01", "valid_to": "2026-12-01"},
                         headers=as_admin)
    assert future.status_code == 422 and future.json["errors"][0]["field"] == "performed_on"


def document(**changes) -> dict:
    return limit_table_to_dict(DEFAULT_LIMITS) | {"version": "gy-2026-07", "effective_from": "2026-07-01"} | changes


def test_the_seeded_table_is_the_standards_default_and_new_versions_are_stored(client, as_admin, as_police):
    (seeded,) = client.get(f"{BASE}/limit-tables", headers=as_police).json
    assert seeded["version"] == DEFAULT_LIMITS.version and seeded["document"] == limit_table_to_dict(DEFAULT_LIMITS)
    assert seeded["document"]["fuels"]["petrol"]["co"]["value"] is None  # unset: never guessed
    created = client.post(f"{BASE}/limit-tables", json={"document": document(), "note": "bureau decision 12"},
                          headers=as_admin)
    assert created.status_code == 201 and created.json["effective_from"] == "2026-07-01"
    assert [t["version"] for t in client.get(f"{BASE}/limit-tables", headers=as_police).json] == [
        "gy-2026-07", DEFAULT_LIMITS.version]
    assert client.get(f"{BASE}/limit-tables/gy-2026-07", headers=as_police).json["note"] == "bureau decision 12"
    assert client.get(f"{BASE}/limit-tables/nope", headers=as_police).status_code == 404


def test_a_limit_table_with_problems_is_refused_with_every_problem(client, as_admin):
    bad = document()
    bad["fuels"]["diesel"]["opacity"]["value"] = -1
    bad["validity"]["speed_kmh"] = [100, 5]
    del bad["confirmation"]["window_days"]
    response = client.post(f"{BASE}/limit-tables", json={"document": bad}, headers=as_admin)
    assert response.status_code == 422
    assert {(e["field"], e["code"]) for e in response.json["errors"]} == {
        ("document.fuels.diesel.opacity.value", "negative"), ("document.validity.speed_kmh", "window_reversed"),
        ("document.confirmation.window_days", "missing_key")}


def test_versions_are_never_rewritten_nor_made_retroactive(client, as_admin):
    assert client.post(f"{BASE}/limit-tables", json={"document": document()}, headers=as_admin).status_code == 201
    again = client.post(f"{BASE}/limit-tables", json={"document": document()}, headers=as_admin)
    assert again.status_code == 409
    past = client.post(f"{BASE}/limit-tables", json={"document": document(version="x", effective_from="2026-05-31")},
                       headers=as_admin)
    assert past.status_code == 422 and past.json["errors"][0]["field"] == "document.effective_from"


def test_the_batch_body_is_documented_in_the_spec(client):
    spec = client.get("/api/v1/openapi.json").json
    post = spec["paths"]["/api/v1/remote-sensing/readings"]["post"]
    assert post["x-roles"] == ["rs_station"]
    ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/ReadingBatch")
    assert "plate" in spec["components"]["schemas"]["ReadingIn"]["properties"]
