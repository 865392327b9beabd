"""Police and bureau queries over HTTP: every filter alone, combinations, the area in every datum,
cursor pagination, scoping and the access log."""
from __future__ import annotations

from datetime import timedelta

import pytest
from shapely.geometry import box, mapping
from sqlalchemy import select

from mobsrc.core.audit import AuditEntry
from mobsrc.core.geo.crs import wgs84_to_bd09, wgs84_to_gcj02
from mobsrc.enforcement.register import SubjectType, ViolationKind, ViolationStatus
from tests.integration.enforcement.conftest import T0, machine_draft, point_in, vehicle_draft

K = ViolationKind
NANMING, YUNYAN, HUAXI = "520102", "520103", "520111"


@pytest.fixture
def dataset(record, enterprise, other_enterprise):
    """Nine violations with known attributes, one hour apart (v0 oldest)."""
    def at(i):
        return T0 + timedelta(hours=i)

    lon_n, lat_n = point_in(NANMING)
    lon_y, lat_y = point_in(YUNYAN)
    lon_h, lat_h = point_in(HUAXI)
    drafts = [
        vehicle_draft(occurred_at=at(0), plate="贵A10001", vin="LZZ1BLSB0RA000001", lon=lon_n, lat=lat_n,
                      enterprise_id=enterprise.id),
        vehicle_draft(occurred_at=at(1), plate="贵A10001", kind=K.RS_HIGH_EMITTER, lon=lon_y, lat=lat_y,
                      enterprise_id=enterprise.id),
        vehicle_draft(occurred_at=at(2), plate="贵A10001", plate_colour="blue", lon=lon_h, lat=lat_h,
                      enterprise_id=other_enterprise.id),
        vehicle_draft(occurred_at=at(3), plate="贵B20002", kind=K.OBD_ALARM_UNRESOLVED, source="obd",
                      vin="LZZ1BLSB0RA000002", lon=lon_n, lat=lat_n, enterprise_id=other_enterprise.id),
        vehicle_draft(occurred_at=at(4), plate="贵B20002", kind=K.FAILED_INSPECTION_DRIVING, source="im",
                      enterprise_id=other_enterprise.id),
        machine_draft(occurred_at=at(5), machine_code="520115-EX-000001-C", lon=lon_y, lat=lat_y,
                      enterprise_id=enterprise.id),
        machine_draft(occurred_at=at(6), machine_code="520115EX000002D", kind=K.SPOT_CHECK_FAILURE,
                      source="police", lon=lon_h, lat=lat_h, enterprise_id=other_enterprise.id),
        vehicle_draft(occurred_at=at(7), plate="贵C30003", lon=lon_y, lat=lat_y, district_code=HUAXI),
        vehicle_draft(occurred_at=at(7), plate="贵C30003", kind=K.IM_CASE_OVERDUE, source="im"),  # same time as v7
    ]
    return [record(d) for d in drafts]


def refs(response) -> list[int]:
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["items"]]


def ids(dataset, *indexes) -> list[int]:
    """Expected ids, newest first (the register's order: occurred_at desc, id desc)."""
    chosen = [dataset[i] for i in indexes]
    return [v.id for v in sorted(chosen, key=lambda v: (v.occurred_at, v.id), reverse=True)]


ALONE = [
    ({"plate": "贵a·10001"}, [0, 1, 2]),
    ({"plate": "贵A10001", "plate_colour": "blue"}, [2]),
    ({"plate": "贵A10001", "plate_colour": "蓝色"}, [2]),
    ({"vin": "lzz1blsb0ra000002"}, [3]),
    ({"machine_code": "520115-ex-000001-c"}, [5]),
    ({"kind": "black_smoke"}, [0, 2, 7]),
    ({"kind": ["black_smoke", "spot_check_failure"]}, [0, 2, 6, 7]),
    ({"subject_type": "machine"}, [5, 6]),
    ({"district_code": NANMING}, [0, 3]),
    ({"district_code": [NANMING, HUAXI]}, [0, 2, 3, 6, 7]),
    ({"source": "im"}, [4, 8]),
    ({"legal_basis_code": "APPCL-114-2"}, [5]),
    ({"occurred_from": (T0 + timedelta(hours=3)).isoformat(), "occurred_to": (T0 + timedelta(hours=6)).isoformat()},
     [3, 4, 5]),
]


@pytest.mark.parametrize("query, expected", ALONE, ids=[str(sorted(q)) for q, _ in ALONE])
def test_each_filter_alone(client, as_police, dataset, query, expected):
    assert refs(client.get("/api/v1/violations", query_string=query, headers=as_police)) == ids(dataset, *expected)


def test_enterprise_and_status_filters(client, session, as_police, dataset, enterprise):
    dataset[1].status = ViolationStatus.UNDER_REVIEW
    session.flush()
    mine = client.get("/api/v1/violations", query_string={"enterprise_id": enterprise.id}, headers=as_police)
    assert refs(mine) == ids(dataset, 0, 1, 5)
    reviewed = client.get("/api/v1/violations", query_string={"status": "under_review"}, headers=as_police)
    assert refs(reviewed) == ids(dataset, 1)
    both = client.get("/api/v1/violations", query_string={"status": ["open", "under_review"], "plate": "贵A10001"},
                      headers=as_police)
    assert refs(both) == ids(dataset, 0, 1, 2)


def test_combinations(client, as_police, dataset):
    window = {"occurred_from": (T0 + timedelta(hours=1)).isoformat(),
              "occurred_to": (T0 + timedelta(hours=8)).isoformat()}
    query = {"plate": "贵A10001", "kind": "black_smoke", **window}
    assert refs(client.get("/api/v1/violations", query_string=query, headers=as_police)) == ids(dataset, 2)
    query = {"district_code": YUNYAN, "subject_type": "vehicle", **window}
    assert refs(client.get("/api/v1/violations", query_string=query, headers=as_police)) == ids(dataset, 1)
    query = {"district_code": HUAXI, "kind": ["black_smoke", "spot_check_failure"], "source": "police"}
    assert refs(client.get("/api/v1/violations", query_string=query, headers=as_police)) == ids(dataset, 6)


def _bbox_around(code: str, crs: str) -> str:
    lon, lat = point_in(code)
    convert = {"wgs84": lambda x, y: (x, y), "gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}[crs]
    (x0, y0), (x1, y1) = convert(lon - 0.002, lat - 0.002), convert(lon + 0.002, lat + 0.002)
    return f"{x0},{y0},{x1},{y1}"


@pytest.mark.parametrize("crs", ["wgs84", "gcj02", "bd09"])
def test_bbox_in_any_datum(client, as_police, dataset, crs):
    response = client.get("/api/v1/violations", query_string={"bbox": _bbox_around(YUNYAN, crs), "crs": crs},
                          headers=as_police)
    assert refs(response) == ids(dataset, 1, 5, 7)


def test_a_wgs84_bbox_read_as_gcj02_misses_by_the_datum_shift(client, as_police, dataset):
    lon, lat = point_in(YUNYAN)
    tight = f"{lon - 0.0005},{lat - 0.0005},{lon + 0.0005},{lat + 0.0005}"  # ~50 m, the shift is ~500 m
    assert refs(client.get("/api/v1/violations", query_string={"bbox": tight}, headers=as_police)) == ids(
        dataset, 1, 5, 7)
    assert refs(client.get("/api/v1/violations", query_string={"bbox": tight, "crs": "gcj02"}, headers=as_police)) == []


@pytest.mark.parametrize("crs, convert", [("wgs84", lambda x, y: (x, y)), ("gcj02", wgs84_to_gcj02),
                                          ("bd09", wgs84_to_bd09)])
def test_geojson_polygon_search_with_time_and_kind(client, as_police, dataset, crs, convert):
    lon, lat = point_in(NANMING)
    ring = [convert(x, y) for x, y in box(lon - 0.003, lat - 0.003, lon + 0.003, lat + 0.003).exterior.coords]
    polygon = {"type": "Polygon", "coordinates": [[list(p) for p in ring]]}
    body = {"area": {"geojson": {"type": "Feature", "properties": {}, "geometry": polygon}}, "crs": crs}
    assert refs(client.post("/api/v1/violations/search", json=body, headers=as_police)) == ids(dataset, 0, 3)
    narrowed = body | {"kind": ["obd_alarm_unresolved"], "occurred_from": (T0 + timedelta(hours=2)).isoformat()}
    assert refs(client.post("/api/v1/violations/search", json=narrowed, headers=as_police)) == ids(dataset, 3)


def test_a_multipolygon_area_covers_both_parts(client, as_police, dataset):
    parts = [box(*(c - 0.001 for c in point_in(code)), *(c + 0.001 for c in point_in(code)))
             for code in (NANMING, HUAXI)]
    geometry = {"type": "MultiPolygon", "coordinates": [mapping(p)["coordinates"] for p in parts]}
    response = client.post("/api/v1/violations/search", json={"area": {"geojson": geometry}}, headers=as_police)
    assert refs(response) == ids(dataset, 0, 2, 3, 6)


def test_cursor_pages_are_stable_and_complete(client, session, record, as_police, dataset):
    seen, cursor = [], None
    for _ in range(10):
        query = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/violations", query_string=query, headers=as_police).json
        seen += [item["id"] for item in page["items"]]
        if len(seen) == 2:  # a newer violation arrives between pages: it must not shift the rest
            record(vehicle_draft(occurred_at=T0 + timedelta(days=1), plate="贵D40004"))
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids(dataset, *range(9))
    assert len(set(seen)) == len(seen)
    ties = [dataset[7].id, dataset[8].id]  # same occurred_at: the id decides
    assert seen.index(max(ties)) < seen.index(min(ties))


def test_search_pages_with_the_same_cursor(client, as_police, dataset):
    first = client.post("/api/v1/violations/search", json={"limit": 4, "subject_type": "vehicle"},
                        headers=as_police).json
    second = client.post("/api/v1/violations/search", json={"limit": 4, "subject_type": "vehicle",
                                                            "cursor": first["next_cursor"]}, headers=as_police).json
    assert [i["id"] for i in first["items"] + second["items"]] == ids(dataset, 0, 1, 2, 3, 4, 7, 8)


# --- scoping ------------------------------------------------------------------------------------


def test_operator_sees_only_its_enterprise_in_lists_and_searches(client, as_operator, dataset):
    assert refs(client.get("/api/v1/violations", headers=as_operator)) == ids(dataset, 0, 1, 5)
    assert refs(client.get("/api/v1/violations", query_string={"plate": "贵A10001"}, headers=as_operator)) == ids(
        dataset, 0, 1)
    assert refs(client.post("/api/v1/violations/search", json={"subject_type": "machine"},
                            headers=as_operator)) == ids(dataset, 5)
    # Naming another enterprise does not widen the scope.
    response = client.get("/api/v1/violations", query_string={"enterprise_id": dataset[3].enterprise_id},
                          headers=as_operator)
    assert refs(response) == []


def test_operator_cannot_read_another_enterprises_violation_or_its_history(client, as_operator, dataset):
    theirs = dataset[3].id
    for url in (f"/api/v1/violations/{theirs}", f"/api/v1/violations/{theirs}/history"):
        response = client.get(url, headers=as_operator)
        assert response.status_code == 404 and response.json["detail"] == "No such violation."


@pytest.mark.parametrize("url", ["/api/v1/violations/export.csv", "/api/v1/violations/statistics",
                                 "/api/v1/violations/repeat-offenders", "/api/v1/subject-status?plate=贵A10001"])
def test_operators_have_no_police_tools(client, as_operator, dataset, url):
    assert client.get(url, headers=as_operator).status_code == 403


# --- the access log -----------------------------------------------------------------------------


def _access_log(session, action="violations.query"):
    return session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).all()


def test_every_police_query_is_logged_with_who_and_which_plate(client, session, principal_headers, dataset):
    from mobsrc.core.auth.principals import Role
    officer = principal_headers(Role.POLICE, name="交警 王")
    lon, lat = point_in(NANMING)
    client.get("/api/v1/violations", query_string={"plate": "贵a10001", "kind": "black_smoke"}, headers=officer)
    client.post("/api/v1/violations/search", json={"area": {"bbox": [lon - 0.01, lat - 0.01, lon + 0.01, lat + 0.01]}},
                headers=officer)
    client.get(f"/api/v1/violations/{dataset[0].id}", headers=officer)
    by_plate, by_area = _access_log(session)
    assert by_plate.role == "police" and by_plate.user_id and by_plate.entity == "violations"
    assert by_plate.entity_id == "贵A10001"
    assert by_plate.after["plate"] == "贵a10001" and by_plate.after["kinds"] == ["black_smoke"]
    assert by_plate.after["returned"] == 2 and by_plate.at is not None
    assert by_area.entity_id is None and len(by_area.after["area_bounds"]) == 4
    assert [e.entity_id for e in _access_log(session, "violations.read")] == [str(dataset[0].id)]


def test_operators_reading_their_own_are_not_logged_as_lookups(client, session, as_operator, dataset):
    client.get("/api/v1/violations", query_string={"plate": "贵A10001"}, headers=as_operator)
    assert _access_log(session) == []


def test_a_refused_query_is_not_logged(client, session, as_police, dataset):
    assert client.get("/api/v1/violations", query_string={"bbox": "1,2,3"}, headers=as_police).status_code == 422
    assert _access_log(session) == []


# --- bad input ----------------------------------------------------------------------------------

BAD = [
    ({"bbox": "106.6,26.5,106.8"}, "bbox"),
    ({"bbox": "106.8,26.5,106.6,26.7"}, "bbox"),
    ({"bbox": "6.6,26.5,6.8,26.7"}, "bbox"),
    ({"crs": "epsg3857", "bbox": "106.6,26.5,106.8,26.7"}, "crs"),
    ({"kind": "speeding"}, "kind.0"),
    ({"district_code": "5201"}, "district_code.0"),
    ({"occurred_from": "2026-11-02T00:00:00+08:00", "occurred_to": "2026-11-01T00:00:00+08:00"}, "occurred_from"),
    ({"cursor": "not-a-cursor"}, "cursor"),
]


@pytest.mark.parametrize("query, field", BAD, ids=[f for _, f in BAD])
def test_bad_query_arguments_name_the_field(client, as_police, query, field):
    response = client.get("/api/v1/violations", query_string=query, headers=as_police)
    assert response.status_code == 422, response.json
    assert field in [e["field"] for e in response.json["errors"]]


def test_an_invalid_polygon_is_refused_with_the_spot(client, as_police):
    bowtie = {"type": "Polygon", "coordinates": [[[106.6, 26.5], [106.7, 26.6], [106.7, 26.5], [106.6, 26.6],
                                                  [106.6, 26.5]]]}
    response = client.post("/api/v1/violations/search", json={"area": {"geojson": bowtie}}, headers=as_police)
    assert response.status_code == 422
    (error,) = response.json["errors"]
    assert error["field"].startswith("area.geojson/coordinates") and "self_intersection" in error["reason"]
    both = client.post("/api/v1/violations/search", json={"area": {"geojson": bowtie, "bbox": [1, 2, 3, 4]}},
                       headers=as_police)
    assert both.status_code == 422 and both.json["errors"][0]["field"] == "area"


def test_subject_type_filter_and_machines_are_matched_by_canonical_code(client, as_police, dataset):
    machines = client.get("/api/v1/violations", query_string={"subject_type": SubjectType.MACHINE.value},
                          headers=as_police).json["items"]
    assert {m["machine_code"] for m in machines} == {"520115EX000001C", "520115EX000002D"}
