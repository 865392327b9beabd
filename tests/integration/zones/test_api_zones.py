"""No-use zones over HTTP: drawn in any datum and stored in WGS-84, invalid areas answered 422
with reason and where (nothing stored), every change a new version, the real Guiyang district
data imported as zones, alert days."""
from __future__ import annotations

import copy

import pytest
from sqlalchemy import func, select

from mobsrc.core.geo.crs import gcj02_to_wgs84
from mobsrc.zones.models import NoUseZone, ZoneVersion
from tests.integration.zones.helpers import DISTRICTS, YUNYAN, feature

SQUARE = {"type": "Polygon", "coordinates": [[[106.70, 26.57], [106.72, 26.57], [106.72, 26.59], [106.70, 26.59],
                                              [106.70, 26.57]]]}


def zone_draft(**overrides) -> dict:
    draft = {"name": "云岩区禁用区", "district_code": YUNYAN, "area": feature(YUNYAN), "crs": "gcj02"}
    draft.update(overrides)
    return draft


def zone_count(session) -> int:
    return session.scalar(select(func.count()).select_from(NoUseZone))


def test_zone_drawn_in_gcj02_is_stored_in_wgs84_and_returned_in_either(client, as_admin):
    created = client.post("/api/v1/zones", json=zone_draft(), headers=as_admin)
    assert created.status_code == 201, created.json
    zone = created.json
    assert (zone["version"], zone["status"], zone["source_crs"], zone["area_crs"]) == (1, "active", "gcj02", "wgs84")
    assert zone["prohibited_stages"] == ["pre_china_1", "china_1", "china_2"]
    assert zone["area"]["type"] == "MultiPolygon"
    drawn = feature(YUNYAN)["geometry"]["coordinates"][0][0][0]
    stored = zone["area"]["coordinates"][0][0][0]
    assert stored == pytest.approx(list(gcj02_to_wgs84(*drawn)), abs=2e-7)
    as_drawn = client.get(f"/api/v1/zones/{zone['id']}?crs=gcj02", headers=as_admin).json
    assert as_drawn["area"]["coordinates"][0][0][0] == pytest.approx(drawn, abs=2e-7)
    assert created.headers["Location"].endswith(f"/api/v1/zones/{zone['id']}")


BOWTIE = {"type": "Polygon", "coordinates": [[[106.70, 26.57], [106.72, 26.59], [106.72, 26.57], [106.70, 26.59],
                                              [106.70, 26.57]]]}


@pytest.mark.parametrize(("area", "field", "code"), [
    pytest.param(BOWTIE, "area.coordinates", "self_intersection", id="self-intersection"),
    pytest.param({"type": "Polygon", "coordinates": [[[106.70, 26.57], [106.72, 26.57], [106.70, 26.57]]]},
                 "area.coordinates.0", "too_few_positions", id="too-few-points"),
    pytest.param({"type": "Polygon", "coordinates": [[[106.70, 26.57], [106.71, 26.58], [106.72, 26.59],
                                                      [106.70, 26.57]]]},
                 "area.coordinates.0", "zero_area", id="zero-area"),
    pytest.param({"type": "Polygon", "coordinates": [[[2.35, 48.85], [2.36, 48.85], [2.36, 48.86], [2.35, 48.85]]]},
                 "area.coordinates.0.0", "outside_china", id="outside-china"),
    pytest.param({"type": "Point", "coordinates": [106.7, 26.5]}, "area.type", "unsupported_type", id="point"),
    pytest.param({"type": "FeatureCollection", "features": [feature(YUNYAN), {"type": "Feature", "properties": {},
                                                                              "geometry": BOWTIE}]},
                 "area.features.1.geometry.coordinates", "self_intersection", id="second-feature"),
])
def test_invalid_area_is_answered_422_with_reason_and_where_and_nothing_is_stored(client, session, as_admin, area,
                                                                                  field, code):
    before = zone_count(session)
    answer = client.post("/api/v1/zones", json=zone_draft(area=area, crs="wgs84"), headers=as_admin)
    assert answer.status_code == 422, answer.json
    assert answer.content_type == "application/problem+json"
    error = answer.json["errors"][0]
    assert error["code"] == code and error["field"].startswith(field), error
    assert "nothing was stored" in answer.json["detail"]
    assert zone_count(session) == before


def test_self_intersection_reports_the_crossing_point(client, as_admin):
    answer = client.post("/api/v1/zones", json=zone_draft(area=BOWTIE, crs="wgs84"), headers=as_admin)
    assert "(106.7100000, 26.5800000)" in answer.json["errors"][0]["reason"]


@pytest.mark.parametrize(("changes", "field"), [
    ({"prohibited_stages": ["china_9"]}, "prohibited_stages.0"),
    ({"exempt_machine_types": ["spaceship"]}, "exempt_machine_types.0"),
    ({"daily_windows": [{"start": "07:00", "end": "07:00"}]}, "daily_windows.0.end"),
    ({"effective_from": "2026-05-01T00:00:00+08:00", "effective_until": "2026-04-01T00:00:00+08:00"},
     "effective_until"),
    ({"district_code": "110101"}, "district_code"),
    ({"prohibited_stages": [], "prohibit_unknown_stage": False}, "prohibited_stages"),
    ({"crs": "utm50"}, "crs"),
])
def test_invalid_rule_is_answered_422_with_the_field(client, as_admin, changes, field):
    answer = client.post("/api/v1/zones", json=zone_draft(**changes), headers=as_admin)
    assert answer.status_code == 422
    assert field in [e["field"] for e in answer.json["errors"]], answer.json


def test_every_change_is_a_new_version_and_history_is_kept(client, as_admin):
    zone = client.post("/api/v1/zones", json=zone_draft(), headers=as_admin).json
    url = f"/api/v1/zones/{zone['id']}"
    changed = client.patch(url, json={"prohibited_stages": ["pre_china_1", "china_1", "china_2", "china_3"],
                                      "daily_windows": [{"start": "22:00", "end": "06:00"}],
                                      "note": "winter rule"}, headers=as_admin)
    assert changed.status_code == 200, changed.json
    assert changed.json["version"] == 2 and changed.json["changed"] == ["prohibited_stages", "daily_windows"]
    assert changed.json["daily_windows"] == [{"start": "22:00", "end": "06:00"}]
    moved = client.patch(url, json={"area": SQUARE, "crs": "wgs84", "expected_version": 2}, headers=as_admin).json
    assert moved["version"] == 3 and moved["changed"] == ["area"]
    assert moved["prohibited_stages"] == changed.json["prohibited_stages"]  # the rule carried over
    same = client.patch(url, json={"name": zone["name"]}, headers=as_admin).json
    assert same["version"] == 3  # nothing changed, no new version
    stale = client.patch(url, json={"name": "另一个名字", "expected_version": 2}, headers=as_admin)
    assert stale.status_code == 409 and stale.json["current_version"] == 3
    history = client.get(f"{url}/versions", headers=as_admin).json
    assert [v["version"] for v in history] == [1, 2, 3]
    assert [v["changed"] for v in history] == [["created"], ["prohibited_stages", "daily_windows"], ["area"]]
    first = client.get(f"{url}/versions/1", headers=as_admin).json
    assert first["prohibited_stages"] == zone["prohibited_stages"] and first["area"] == zone["area"]
    assert client.get(f"{url}/versions/9", headers=as_admin).status_code == 404


def test_retired_zone_is_final(client, as_admin):
    zone = client.post("/api/v1/zones", json=zone_draft(), headers=as_admin).json
    url = f"/api/v1/zones/{zone['id']}"
    retired = client.post(f"{url}/retire", json={"note": "notice withdrawn"}, headers=as_admin)
    assert retired.status_code == 200 and retired.json["status"] == "retired" and retired.json["version"] == 2
    assert client.patch(url, json={"name": "复活"}, headers=as_admin).status_code == 409
    assert client.post(f"{url}/retire", json={}, headers=as_admin).status_code == 409
    listed = client.get("/api/v1/zones?status=retired", headers=as_admin).json["items"]
    assert zone["id"] in [z["id"] for z in listed]
    collection = client.get("/api/v1/zones/geojson", headers=as_admin).json
    assert zone["id"] not in [f["id"] for f in collection["features"]]


def test_the_guiyang_districts_import_as_ten_zones(client, session, as_admin):
    answer = client.post("/api/v1/zones/import", json={"area": DISTRICTS, "crs": "gcj02", "name_prefix": "禁用区·",
                                                       "daily_windows": [{"start": "07:00", "end": "19:00"}]},
                         headers=as_admin)
    assert answer.status_code == 201, answer.json
    zones = answer.json
    assert len(zones) == 10
    assert {z["district_code"] for z in zones} == {str(f["properties"]["adcode"]) for f in DISTRICTS["features"]}
    assert "禁用区·云岩区" in {z["name"] for z in zones}
    assert all(z["daily_windows"] == [{"start": "07:00", "end": "19:00"}] for z in zones)
    collection = client.get("/api/v1/zones/geojson?crs=gcj02", headers=as_admin).json
    by_name = {f["properties"]["name"]: f for f in collection["features"]}
    drawn = feature(YUNYAN)["geometry"]["coordinates"][0][0][5]
    assert by_name["禁用区·云岩区"]["geometry"]["coordinates"][0][0][5] == pytest.approx(drawn, abs=2e-7)
    stored = session.scalars(select(ZoneVersion.source_crs).where(ZoneVersion.zone_id.in_([z["id"] for z in zones])))
    assert set(stored) == {"gcj02"}


def test_an_import_with_one_bad_feature_stores_nothing(client, session, as_admin):
    broken = copy.deepcopy(DISTRICTS)
    ring = broken["features"][4]["geometry"]["coordinates"][0][0]
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    west, south, east, north = min(xs), min(ys), max(xs), max(ys)
    bowtie = [[west, south], [east, north], [east, south], [west, north], [west, south]]
    broken["features"][4]["geometry"]["coordinates"][0][0] = bowtie
    broken["features"][7]["geometry"]["coordinates"][0][0] = ring[:3]
    before = zone_count(session)
    answer = client.post("/api/v1/zones/import", json={"area": broken, "crs": "gcj02"}, headers=as_admin)
    assert answer.status_code == 422
    found = {(e["field"].split(".")[2], e["code"]) for e in answer.json["errors"]}
    assert found == {("4", "self_intersection"), ("7", "too_few_positions")}, found
    assert zone_count(session) == before


def test_alert_days_are_declared_listed_and_lifted(client, as_admin, as_operator):
    declared = client.put("/api/v1/alert-days/2026-12-03", json={"level": "red", "note": "重污染天气红色预警"},
                          headers=as_admin)
    assert declared.status_code == 200 and declared.json["level"] == "red"
    listed = client.get("/api/v1/alert-days?from=2026-12-01&to=2026-12-31", headers=as_operator).json
    assert [d["day"] for d in listed] == ["2026-12-03"]
    assert client.delete("/api/v1/alert-days/2026-12-03", headers=as_admin).status_code == 204
    assert client.delete("/api/v1/alert-days/2026-12-03", headers=as_admin).status_code == 404
    assert client.put("/api/v1/alert-days/tomorrow", json={}, headers=as_admin).status_code == 422
    assert client.put("/api/v1/alert-days/2026-12-04", json={"level": "purple"}, headers=as_admin).status_code == 422


def test_operators_read_zones_but_cannot_draw_them(client, as_admin, as_operator):
    zone = client.post("/api/v1/zones", json=zone_draft(), headers=as_admin).json
    assert client.get(f"/api/v1/zones/{zone['id']}", headers=as_operator).status_code == 200
    assert client.post("/api/v1/zones", json=zone_draft(), headers=as_operator).status_code == 403
    assert client.patch(f"/api/v1/zones/{zone['id']}", json={"name": "x"}, headers=as_operator).status_code == 403
