"""Enterprises, stations and vehicles over HTTP: identifiers validated, scope enforced."""
from __future__ import annotations

import pytest

from mobsrc.core.auth.principals import Role
from tests.integration import factories


def test_admin_registers_enterprise_with_valid_uscc(client, as_admin):
    uscc = factories.valid_uscc(4242)
    response = client.post("/api/v1/enterprises", headers=as_admin,
                           json={"name": "贵阳测试建设有限公司", "uscc": uscc.lower(), "district_code": "520103"})
    assert response.status_code == 201, response.json
    assert response.json["uscc"] == uscc
    again = client.post("/api/v1/enterprises", headers=as_admin, json={"name": "另一家公司", "uscc": uscc})
    assert again.status_code == 409


@pytest.mark.parametrize("uscc, reason_part", [
    ("91350100M0001TGQXM", "check character should be 1"),   # a pilot-era code that fails the check
    ("9135010", "18 characters"),
    ("91350100M0001TGQXI", "only digits and capital letters"),
])
def test_invalid_uscc_is_422_naming_the_field(client, as_admin, uscc, reason_part):
    response = client.post("/api/v1/enterprises", headers=as_admin, json={"name": "某某公司", "uscc": uscc})
    assert response.status_code == 422
    error, = response.json["errors"]
    assert error["field"] == "uscc" and reason_part in error["reason"]


def test_operator_sees_and_changes_only_its_own_enterprise(client, as_operator, enterprise, other_enterprise):
    listed = client.get("/api/v1/enterprises", headers=as_operator).json["items"]
    assert [e["id"] for e in listed] == [enterprise.id]
    assert client.get(f"/api/v1/enterprises/{other_enterprise.id}", headers=as_operator).status_code == 404
    assert client.patch(f"/api/v1/enterprises/{other_enterprise.id}", json={"contact_name": "x"},
                        headers=as_operator).status_code == 404
    ok = client.patch(f"/api/v1/enterprises/{enterprise.id}", json={"contact_name": "李四"}, headers=as_operator)
    assert ok.status_code == 200 and ok.json["contact_name"] == "李四"
    renamed = client.patch(f"/api/v1/enterprises/{enterprise.id}", json={"name": "新名字有限公司"}, headers=as_operator)
    assert renamed.status_code == 403


def test_vehicle_registration_normalises_plate_and_vin(client, as_operator, enterprise):
    vin = factories.valid_vin(777)
    response = client.post("/api/v1/vehicles", headers=as_operator, json={
        "vin": vin.lower(), "plate": "贵ａ·１２３４５", "plate_colour": "yellow", "fuel": "diesel",
        "emission_standard": "china_6"})
    assert response.status_code == 201, response.json
    assert (response.json["vin"], response.json["plate"]) == (vin, "贵A12345")
    found = client.get("/api/v1/vehicles?plate=贵a 12345", headers=as_operator).json["items"]
    assert [v["vin"] for v in found] == [vin]


def test_a_clerk_may_name_the_plate_colour_in_chinese(client, as_operator):
    response = client.post("/api/v1/vehicles", headers=as_operator, json={
        "vin": factories.valid_vin(778), "plate": "贵A67890", "plate_colour": "黄色", "fuel": "diesel",
        "emission_standard": "china_6"})
    assert response.status_code == 201, response.json
    assert response.json["plate_colour"] == "yellow"
    changed = client.patch(f"/api/v1/vehicles/{response.json['id']}", json={"plate_colour": "蓝"}, headers=as_operator)
    assert changed.status_code == 200 and changed.json["plate_colour"] == "blue"


@pytest.mark.parametrize("field, value, reason_part", [
    ("plate_colour", "红", "yellow"),
    ("vin", "LWHTEST1234567895", "check digit"),
    ("vin", "LCIAMMBE4G0004671", "letters I, O, Q"),
    ("vin", "LZZ1BLSB", "17 characters"),
    ("plate", "A12345", "province"),
    ("plate", "贵AI2345", "no I or O"),
    ("plate", "贵A1234567", "7 characters"),
])
def test_invalid_vin_or_plate_is_422_naming_the_field(client, as_operator, field, value, reason_part):
    body = {"vin": factories.valid_vin(1), "plate": "贵A54321", "plate_colour": "yellow", "fuel": "diesel",
            "emission_standard": "china_5", field: value}
    response = client.post("/api/v1/vehicles", headers=as_operator, json=body)
    assert response.status_code == 422
    error, = response.json["errors"]
    assert error["field"] == field and reason_part in error["reason"]


def test_same_plate_in_another_colour_is_another_vehicle(client, session, as_admin, enterprise):
    factories.make_vehicle(session, enterprise, plate="贵A88888", plate_colour="yellow")
    green = {"vin": factories.valid_vin(9001), "plate": "贵A88888", "plate_colour": "blue", "fuel": "diesel",
             "emission_standard": "china_6", "enterprise_id": enterprise.id}
    assert client.post("/api/v1/vehicles", headers=as_admin, json=green).status_code == 201
    clash = green | {"vin": factories.valid_vin(9002)}
    assert client.post("/api/v1/vehicles", headers=as_admin, json=clash).status_code == 409


def test_operator_cannot_see_another_operators_vehicle(client, session, as_operator, other_enterprise):
    theirs = factories.make_vehicle(session, other_enterprise)
    assert client.get(f"/api/v1/vehicles/{theirs.id}", headers=as_operator).status_code == 404
    assert client.get("/api/v1/vehicles", headers=as_operator).json["items"] == []


def test_station_creation_converts_gcj02_location_to_wgs84(client, as_admin):
    response = client.post("/api/v1/stations", headers=as_admin, json={
        "code": "GY-RS-009", "kind": "rs", "name": "测试遥感点",
        "location": {"lon": 106.717250, "lat": 26.574821, "crs": "gcj02"}})
    assert response.status_code == 201, response.json
    lon, lat = response.json["location"]
    # standards-telemetry.md §5.6: central Guiyang WGS-84 106.713478, 26.578343
    assert abs(lon - 106.713478) < 2e-5 and abs(lat - 26.578343) < 2e-5


def test_station_sees_only_itself(client, session, principal_headers):
    mine, other = factories.make_station(session, "i"), factories.make_station(session, "i")
    headers = principal_headers(Role.I_STATION, station=mine)
    listed = client.get("/api/v1/stations", headers=headers).json
    assert [s["id"] for s in listed] == [mine.id]
    assert client.get(f"/api/v1/stations/{other.id}", headers=headers).status_code == 404
    assert client.post("/api/v1/stations", headers=headers, json={"code": "X1", "kind": "i", "name": "xx"}).status_code == 403
