"""Who sees what, and the statistics: per station and Asia/Shanghai day (the SQL agrees with the
pure `summarise_station_days`), a station its own, an operator its vehicles' readings."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from mobsrc.core.auth.principals import Role
from mobsrc.remote_sensing.models import RsReading
from mobsrc.remote_sensing.statistics import summarise_station_days
from tests.integration import factories
from tests.integration.remote_sensing.conftest import DAY, days, make_rs_station, reading

STATS = "/api/v1/remote-sensing/statistics/station-days"


def test_station_day_statistics_match_the_pure_definition(rs, session, client, as_admin, enterprise, truck):
    factories.make_vehicle(session, enterprise, plate="贵A54321", plate_colour="yellow", fuel="petrol")
    late_evening = DAY + days(0.5) + days(1 / 24 * 1.5)  # 2026-05-20 23:30 local
    next_day = DAY + days(0.6)                            # 2026-05-21 02:24 local
    rs.post_and_judge(
        reading(),                                        # pass, matched
        reading(DAY + days(0.01), opacity_pct=45.0),       # exceed, matched
        reading(DAY + days(0.02), rain=True),              # invalid, matched
        reading(DAY + days(0.03), plate="贵A54321"),        # not judged (petrol unset), matched
        reading(DAY + days(0.04), plate="贵B00001"),        # not judged (unknown), unmatched
        reading(late_evening, ringelmann_grade=3),         # exceed + black smoke, still 05-20 locally
        reading(next_day, lane=2),                         # pass, the next local day
    )
    rs.post(reading(DAY + days(0.05), lane=3))             # stored, not judged yet
    body = client.get(STATS, headers=as_admin, query_string={"day_from": "2026-05-20", "day_to": "2026-05-21"}).json
    first, second = body
    assert (first["day"], first["readings"], first["pending"], first["valid"], first["judged"], first["exceeded"],
            first["matched"], first["black_smoke"]) == ("2026-05-20", 7, 1, 5, 3, 2, 5, 1)
    assert (first["valid_rate"], first["exceedance_rate"], first["matched_rate"]) == (5 / 6, 2 / 3, 5 / 6)
    assert (second["day"], second["readings"], second["exceedance_rate"]) == ("2026-05-21", 1, 0.0)
    rows = [(rs.station.code, r.measured_at, r.verdict.outcome if r.verdict else None,
             bool(r.verdict and r.verdict.vehicle_id), bool(r.verdict and r.verdict.black_smoke))
            for r in session.scalars(select(RsReading))]
    expected = summarise_station_days(rows)
    assert [(d["readings"], d["pending"], d["valid"], d["judged"], d["exceeded"], d["matched"], d["valid_rate"],
             d["exceedance_rate"], d["matched_rate"]) for d in body] == [
        (d.readings, d.pending, d.valid, d.judged, d.exceeded, d.matched, d.valid_rate, d.exceedance_rate,
         d.matched_rate) for d in expected]


def test_a_station_sees_only_its_own_statistics_and_readings(rs, session, client, principal_headers, as_police):
    other, other_headers = make_rs_station(session, principal_headers)
    rs.post_and_judge(reading())
    client.post("/api/v1/remote-sensing/readings", json={"readings": [reading(lane=2)]}, headers=other_headers)
    rs.judge()
    window = {"day_from": "2026-05-20", "day_to": "2026-05-20"}
    asked_for_other = client.get(STATS, headers=rs.headers, query_string=window | {"station_id": other.id}).json
    assert [d["station"] for d in asked_for_other] == [rs.station.code]
    assert [d["station"] for d in client.get(STATS, headers=as_police, query_string=window).json] == sorted(
        [rs.station.code, other.code])
    mine = client.get("/api/v1/remote-sensing/readings", headers=rs.headers).json["items"]
    assert {r["station_id"] for r in mine} == {rs.station.id}
    their_reading = client.get("/api/v1/remote-sensing/readings", headers=other_headers).json["items"][0]
    assert client.get(f"/api/v1/remote-sensing/readings/{their_reading['id']}", headers=rs.headers).status_code == 404


def test_an_operator_sees_the_readings_of_its_own_vehicles_only(rs, session, client, enterprise, other_enterprise,
                                                                as_operator, as_other_operator, truck):
    theirs = factories.make_vehicle(session, other_enterprise, plate="贵A77777", plate_colour="yellow")
    mine, other, unknown = rs.post_and_judge(reading(), reading(plate="贵A77777"), reading(plate="贵C00001"))
    assert [r["id"] for r in client.get("/api/v1/remote-sensing/readings", headers=as_operator).json["items"]] == [
        mine["id"]]
    assert client.get(f"/api/v1/remote-sensing/readings/{other['id']}", headers=as_operator).status_code == 404
    assert client.get(f"/api/v1/remote-sensing/readings/{unknown['id']}", headers=as_operator).status_code == 404
    assert client.get(f"/api/v1/remote-sensing/vehicles/{theirs.id}/readings",
                      headers=as_operator).status_code == 404
    assert client.get(f"/api/v1/remote-sensing/vehicles/{theirs.id}/readings",
                      headers=as_other_operator).json["items"][0]["id"] == other["id"]


def test_police_query_readings_by_plate_outcome_and_time(rs, client, as_police, truck):
    rs.post_and_judge(reading(), reading(DAY + days(1), opacity_pct=45.0), reading(DAY + days(2), plate="贵A11111"))
    by_plate = client.get("/api/v1/remote-sensing/readings", headers=as_police,
                          query_string={"plate": "贵a 12345", "outcome": "exceed"}).json["items"]
    assert [r["verdict"]["outcome"] for r in by_plate] == ["exceed"]
    window = client.get("/api/v1/remote-sensing/readings", headers=as_police, query_string={
        "measured_from": (DAY + days(0.5)).isoformat(), "measured_to": (DAY + days(1.5)).isoformat()}).json
    assert len(window["items"]) == 1 and window["items"][0]["measured_at"].endswith("+08:00")
    first = client.get("/api/v1/remote-sensing/readings?limit=2", headers=as_police).json
    rest = client.get(f"/api/v1/remote-sensing/readings?limit=2&cursor={first['next_cursor']}",
                      headers=as_police).json
    assert len(first["items"]) == 2 and len(rest["items"]) == 1 and rest["next_cursor"] is None


def test_statistics_ranges_are_checked(rs, client, as_admin):
    for window in ({"day_from": "2026-05-21", "day_to": "2026-05-20"}, {"day_from": "2025-01-01",
                                                                          "day_to": "2026-05-20"}):
        response = client.get(STATS, headers=as_admin, query_string=window)
        assert response.status_code == 422 and response.json["errors"][0]["field"] == "day_to"
    assert client.get(STATS, headers=as_admin, query_string={"day_from": "2026-05-20", "day_to": "2026-05-20",
                                                           "station_id": 999999}).status_code == 404


def test_an_inspection_station_cannot_read_remote_sensing_data(client, session, principal_headers, rs):
    headers = principal_headers(Role.I_STATION, station=factories.make_station(session, "i"))
    assert client.get("/api/v1/remote-sensing/readings", headers=headers).status_code == 403
    assert client.get(STATS, headers=headers, query_string={"day_from": str(date(2026, 5, 20)),
                                                          "day_to": "2026-05-20"}).status_code == 403
