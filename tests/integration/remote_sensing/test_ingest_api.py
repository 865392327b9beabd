"""Posting readings: a station posts only as itself, each reading is answered, accepted readings
are stored before the answer, a repeated pass is stored once, plates are normalised."""
from __future__ import annotations

from rq import Queue
from sqlalchemy import func, select

from mobsrc.core.auth.principals import Role
from mobsrc.remote_sensing.models import RsBatch, RsReading
from tests.integration import factories
from tests.integration.remote_sensing.conftest import DAY, NOW, days, make_rs_station, reading

URL = "/api/v1/remote-sensing/readings"


def stored(session, station_id=None) -> list[RsReading]:
    stmt = select(RsReading).order_by(RsReading.id)
    if station_id is not None:
        stmt = stmt.where(RsReading.station_id == station_id)
    return list(session.scalars(stmt))


def test_accepted_readings_are_stored_with_the_batch_before_the_answer(rs, session):
    answer = rs.post(reading(), reading(DAY + days(0.01), lane=2))
    assert (answer["received"], answer["accepted"], answer["duplicates"], answer["rejected"]) == (2, 2, 0, 0)
    assert answer["station_code"] == rs.station.code and answer["notices"] == []
    rows = stored(session)
    assert [r.id for r in rows] == [item["reading_id"] for item in answer["items"]]
    assert {r.station_id for r in rows} == {rs.station.id} and rows[0].evidence[0]["sha256"] == "ab" * 32
    batch = session.get(RsBatch, answer["batch_id"])
    assert (batch.accepted, batch.processed_at, batch.first_measured_at) == (2, None, DAY)


def test_a_station_posts_only_as_itself(client, session, rs, principal_headers):
    other, other_headers = make_rs_station(session, principal_headers)
    refused = client.post(URL, json={"station_code": other.code, "readings": [reading()]}, headers=rs.headers)
    assert refused.status_code == 403 and rs.station.code in refused.json["detail"]
    assert stored(session) == []
    rs.post(reading(), station_code=rs.station.code)  # naming itself is fine
    client.post(URL, json={"readings": [reading(lane=3)]}, headers=other_headers)
    assert {r.station_id for r in stored(session, other.id)} == {other.id}
    assert len(stored(session, rs.station.id)) == 1


def test_keys_of_other_roles_and_other_station_kinds_cannot_post(client, session, principal_headers, as_admin):
    i_station = factories.make_station(session, "i")
    for headers in (principal_headers(Role.I_STATION, station=i_station), as_admin):
        assert client.post(URL, json={"readings": [reading()]}, headers=headers).status_code == 403
    assert client.post(URL, json={"readings": [reading()]}).status_code == 401


def test_a_deactivated_station_is_refused(client, session, rs):
    rs.station.active = False
    session.flush()
    assert client.post(URL, json={"readings": [reading()]}, headers=rs.headers).status_code == 409


def test_each_bad_reading_is_rejected_with_its_field_and_the_rest_are_stored(rs, session):
    answer = rs.post(
        reading(),
        reading(speed_kmh="fast"),
        reading(lane=0),
        reading(opacity_pct=120.0),
        reading(measured_at=(NOW + days(1)).isoformat()),
        reading(lane=9),                      # the station has 4 lanes
        reading(colour_of_plate="yellow"),    # unknown field: never silently dropped
        reading(evidence=[{"type": "image", "id": "x", "sha256": "not-hex"}]),
        reading(plate="贵A1234567890"),
        {"lane": 1},
    )
    answers = answer["items"]
    assert [a["status"] for a in answers] == ["accepted"] + ["rejected"] * 9
    fields = [a["errors"][0]["field"] for a in answers[1:]]
    assert fields == ["speed_kmh", "lane", "opacity_pct", "measured_at", "lane", "colour_of_plate",
                      "evidence.0.sha256", "plate", "measured_at"]
    assert all(a["errors"][0]["reason"] for a in answers[1:])
    assert len(stored(session)) == 1
    assert session.get(RsBatch, answer["batch_id"]).rejected == 9


def test_a_malformed_envelope_is_a_422_with_the_field(client, rs):
    for body, field in (({"readings": []}, "readings"), ({"readings": "x"}, "readings"), ({}, "readings")):
        response = client.post(URL, json=body, headers=rs.headers)
        assert response.status_code == 422 and response.json["errors"][0]["field"] == field, response.json
    response = client.post(URL, data=b"{not json", headers={**rs.headers, "Content-Type": "application/json"})
    assert response.status_code == 422 and response.json["errors"][0]["field"] == "_body"


def test_a_repeated_pass_is_stored_once_within_a_batch_and_across_batches(rs, session):
    first = rs.post(reading(), reading(plate="贵A 12345"))   # same pass once normalised
    assert [a["status"] for a in first["items"]] == ["accepted", "duplicate"]
    kept = first["items"][0]["reading_id"]
    assert first["items"][1]["reading_id"] == kept
    again = rs.post(reading(), reading(DAY + days(0.5)))  # a station re-sending, plus one new pass
    assert [a["status"] for a in again["items"]] == ["duplicate", "accepted"]
    assert again["items"][0]["reading_id"] == kept
    assert len(stored(session)) == 2
    batches = session.scalars(select(RsBatch).order_by(RsBatch.id)).all()
    assert [(b.accepted, b.duplicates) for b in batches] == [(1, 1), (1, 1)]


def test_unread_plates_are_the_same_pass_only_at_the_same_instant_and_lane(rs, session):
    answer = rs.post(reading(plate="无车牌"), reading(plate=None), reading(plate=None, lane=2))
    assert [a["status"] for a in answer["items"]] == ["accepted", "duplicate", "accepted"]
    assert [r.plate for r in stored(session)] == [None, None]


def test_plates_are_normalised_full_width_spaces_and_case(rs, session):
    rs.post(reading(plate="贵ａ·１２３４５"), reading(DAY + days(0.1), plate=" 贵a 6t521 "))
    assert [r.plate for r in stored(session)] == ["贵A12345", "贵A6T521"]


def test_a_time_without_offset_is_beijing_time(rs, session):
    rs.post(reading(measured_at="2026-05-20T10:00:00"))
    assert stored(session)[0].measured_at == DAY


def test_readings_on_days_without_calibration_are_stored_with_a_notice(client, session, principal_headers):
    station, headers = make_rs_station(session, principal_headers, calibrated=False)
    response = client.post(URL, json={"readings": [reading()]}, headers=headers)
    assert response.status_code == 202
    assert "2026-05-20" in response.json["notices"][0] and "calibration_lapsed" in response.json["notices"][0]
    assert len(stored(session, station.id)) == 1


def test_the_batch_is_readable_by_its_station_and_the_bureau_only(client, session, rs, principal_headers, as_admin):
    answer = client.post(URL, json={"readings": [reading()]}, headers=rs.headers)
    location = answer.headers["Location"]
    assert client.get(location, headers=rs.headers).json["accepted"] == 1
    assert client.get(location, headers=as_admin).status_code == 200
    _, other_headers = make_rs_station(session, principal_headers)
    assert client.get(location, headers=other_headers).status_code == 404


def test_every_reading_counts_once_in_the_store(rs, session):
    rs.post(*[reading(DAY + days(i / 100), lane=1 + i % 4) for i in range(50)])
    rs.post(*[reading(DAY + days(i / 100), lane=1 + i % 4) for i in range(25, 75)])
    assert session.scalar(select(func.count()).select_from(RsReading)) == 75


def test_a_batch_with_nothing_new_is_recorded_as_done_and_queues_no_job(rs, session, redis):
    rs.post(reading())
    answer = rs.post(reading(), reading(lane=0))  # a re-sent pass and a bad one
    assert (answer["accepted"], answer["duplicates"], answer["rejected"]) == (0, 1, 1)
    batch = session.get(RsBatch, answer["batch_id"])
    assert batch.processed_at is not None and batch.first_measured_at is None
    queued = Queue("rules", connection=redis).get_job_ids()
    assert queued == [f"remote-sensing-judge-batch-{answer['batch_id'] - 1}"]  # the first batch's only
