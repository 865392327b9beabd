""""May machine X work at point P at time T?" against zones built from the real Guiyang data:
a zone with a hole (the city without Yunyan, drawn in GCJ-02) and a two-part zone (Yunyan and
Kaiyang, drawn in WGS-84); points asked in both datums."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest
import shapely
from shapely.geometry import mapping

from tests.integration.zones.helpers import (
    BY_CODE,
    KAIYANG,
    NANMING,
    T0,
    YUNYAN,
    MovableClock,
    gcj_shape,
    inside_point,
    to_crs,
    wgs_area,
)

POINTS = {"yunyan": inside_point(YUNYAN), "kaiyang": inside_point(KAIYANG), "nanming": inside_point(NANMING),
          "zunyi": (106.93, 27.72)}  # north of Guiyang, in no zone


@pytest.fixture
def zones(client, world, monkeypatch):
    clock = MovableClock(monkeypatch, T0 - timedelta(days=1))
    city = shapely.union_all([gcj_shape(c) for c in BY_CODE])
    holed = city.difference(gcj_shape(YUNYAN))
    assert len(holed.interiors) == 1  # Yunyan is a hole of the rest of the city
    parts = shapely.union_all([wgs_area(YUNYAN), wgs_area(KAIYANG)])
    assert len(parts.geoms) == 2
    made = {}
    for name, area, crs, extra in (("贵阳市(云岩区除外)", holed, "gcj02", {"daily_windows": [{"start": "07:00", "end": "19:00"}]}),
                                   ("云岩区+开阳县", parts, "wgs84", {"exempt_machine_types": ["crane"]})):
        answer = client.post("/api/v1/zones", json={"name": name, "area": mapping(area), "crs": crs, **extra},
                             headers=world.admin)
        assert answer.status_code == 201, answer.json
        made[name] = answer.json["id"]
    clock.set(T0)
    return made


def check(client, headers, machine, point, crs="wgs84", at=None):
    lon, lat = to_crs(*(POINTS[point] if isinstance(point, str) else point), crs)
    query = {"machine_id": machine.id, "lon": lon, "lat": lat, "crs": crs}
    if at:
        query["at"] = at.isoformat()
    answer = client.get(f"/api/v1/zones/check?{urlencode(query)}", headers=headers)
    assert answer.status_code == 200, answer.json
    return answer.json


EXPECTED = [  # point, in the zone with a hole, in the two-part zone
    ("yunyan", False, True),    # in the hole of the first zone, in one part of the second
    ("kaiyang", True, True),    # in the first zone and in the other part of the second
    ("nanming", True, False),
    ("zunyi", False, False),
]


@pytest.mark.parametrize("crs", ["wgs84", "gcj02", "bd09"])
def test_points_in_holes_and_in_other_parts_in_every_datum(client, world, zones, crs):
    for point, holed, parts in EXPECTED:
        answer = check(client, world.admin, world.old, point, crs)
        expected = {zones["贵阳市(云岩区除外)"]} if holed else set()
        expected |= {zones["云岩区+开阳县"]} if parts else set()
        assert {z["zone_id"] for z in answer["zones"]} == expected, point
        assert set(answer["denied_by"]) == expected and answer["allowed"] is not bool(expected), point
        assert answer["point"] == pytest.approx(list(POINTS[point]), abs=1e-6)


def test_a_permitted_machine_is_allowed_with_the_reasons(client, world, zones):
    answer = check(client, world.operator, world.new, "kaiyang")
    assert answer["allowed"] is True and answer["denied_by"] == []
    assert {tuple(z["reasons"]) for z in answer["zones"]} == {("stage_permitted",)}


def test_an_exempt_machine_type_is_allowed_where_the_rule_exempts_it(client, world, zones):
    answer = check(client, world.admin, world.others, "yunyan")  # a China II crane
    assert answer["allowed"] is True and answer["zones"][0]["reasons"] == ["exempt_machine_type"]
    assert check(client, world.admin, world.others, "nanming")["allowed"] is False


def test_a_zone_outside_its_daily_window_is_listed_but_does_not_deny(client, world, zones):
    evening = T0.replace(hour=12)  # 20:00 Beijing time
    answer = check(client, world.admin, world.old, "nanming", at=evening)
    assert answer["allowed"] is True
    [zone] = answer["zones"]
    assert zone["in_force"] is False and zone["reasons"] == ["zone_not_in_force_then"]
    assert zone["daily_windows"] == [{"start": "07:00:00", "end": "19:00:00"}]


def test_a_point_given_in_gcj02_is_not_taken_as_wgs84(client, world, zones):
    """The ~540 m datum shift matters near a boundary: a point 100 m inside Kaiyang whose GCJ-02
    numbers, wrongly read as WGS-84, fall outside it."""
    area = wgs_area(KAIYANG)
    ring = area.geoms[0].exterior
    for k in range(200):
        at, ahead = ring.interpolate(k / 200, normalized=True), ring.interpolate(k / 200 + 1e-4, normalized=True)
        dx, dy = ahead.x - at.x, ahead.y - at.y
        norm = (dx * dx + dy * dy) ** 0.5
        for side in (1, -1):
            point = (at.x - side * dy / norm * 0.001, at.y + side * dx / norm * 0.001)
            gcj = to_crs(*point, "gcj02")
            if area.contains(shapely.Point(point).buffer(0.0005)) and not area.intersects(shapely.Point(gcj)):
                break
        else:
            continue
        break
    else:
        pytest.fail("no such point found")
    right = check(client, world.admin, world.old, point, "gcj02")
    wrong = client.get(f"/api/v1/zones/check?{urlencode({'machine_id': world.old.id, 'lon': gcj[0], 'lat': gcj[1]})}",
                       headers=world.admin).json
    assert zones["云岩区+开阳县"] in right["denied_by"] and zones["云岩区+开阳县"] not in wrong["denied_by"]


def test_checks_are_scoped_and_validated(client, world, zones):
    assert client.get(f"/api/v1/zones/check?machine_id={world.others.id}&lon=106.7&lat=26.6",
                      headers=world.operator).status_code == 404
    assert client.get("/api/v1/zones/check?lon=106.7&lat=26.6", headers=world.admin).status_code == 422
    assert client.get(f"/api/v1/zones/check?machine_id={world.old.id}&lon=2.35&lat=48.85",
                      headers=world.admin).status_code == 422
    long_ago = (T0 - timedelta(days=30)).isoformat()
    answer = client.get(f"/api/v1/zones/check?{urlencode({'machine_id': world.old.id, 'lon': 106.7, 'lat': 26.6, 'at': long_ago})}",
                        headers=world.admin)
    assert answer.status_code == 422 and answer.json["errors"][0]["field"] == "at"
    by_code = client.get(f"/api/v1/zones/check?{urlencode({'machine_code': world.old.code, 'lon': POINTS['nanming'][0], 'lat': POINTS['nanming'][1]})}",
                         headers=world.operator)
    assert by_code.json["allowed"] is False and by_code.json["machine_code"] == world.old.code
