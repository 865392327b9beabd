"""POST /obd/frames: raw HJ 1239 frames over HTTP, answered frame by frame and record by record."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from mobsrc.core import clock
from mobsrc.core.auth.principals import Role
from mobsrc.obd.hj1239.codec import decode_frame, encode_frame, make_frame
from mobsrc.obd.hj1239.framing import build_frame
from mobsrc.obd.hj1239.messages import Command, Layout, Position, RemovalAlarm, TimeCalibrationAnswer
from mobsrc.obd.hj1239.simulate import TruckPlan, trip_bytes


def post_frames(client, headers, body: bytes):
    return client.post("/api/v1/obd/frames", data=body, headers=headers, content_type="application/octet-stream")


def trip(vin: str, seconds: int = 30, layout: Layout = Layout.HJ, **options) -> list[bytes]:
    """Login, time calibration, real-time frames of 10 samples, logout."""
    start = clock.now().replace(microsecond=0) - timedelta(minutes=10)
    return trip_bytes(TruckPlan(vin=vin, start=start, duration_s=seconds, layout=layout, **options))


def test_a_whole_trip_in_one_body_is_answered_frame_by_frame(client, session, as_terminal, truck):
    frames = trip(truck.vin)
    answer = post_frames(client, as_terminal, b"".join(frames))
    assert answer.status_code == 200
    body = answer.json
    assert [f["command"] for f in body["frames"]] == [1, 5, 2, 2, 2, 4]
    assert {f["status"] for f in body["frames"]} == {"accepted"}
    assert body["accepted"] == 31 and body["rejected"] == 0       # 30 samples + 1 OBD block
    assert [r["info_type"] for r in body["frames"][2]["records"]] == [2] * 10 + [1]
    for frame, wire in zip(body["frames"], frames):
        reply = decode_frame(bytes.fromhex(frame["reply"]))
        assert reply.header.command == wire[2] and reply.vin == truck.vin
    count = session.execute(text("SELECT count(*) FROM obd_stream_records WHERE vehicle_id = :v"), {"v": truck.id})
    assert count.scalar() == 30


def test_time_calibration_is_answered_with_the_platform_time(client, as_terminal, truck):
    request = trip(truck.vin)[1]
    before = clock.now().replace(microsecond=0)
    reply = decode_frame(bytes.fromhex(post_frames(client, as_terminal, request).json["frames"][0]["reply"]))
    assert isinstance(reply.message, TimeCalibrationAnswer)
    assert before - timedelta(seconds=1) <= reply.message.time <= clock.now()


def test_the_same_frames_again_are_duplicates(client, as_terminal, truck):
    body = b"".join(trip(truck.vin))
    post_frames(client, as_terminal, body)
    again = post_frames(client, as_terminal, body).json
    assert (again["accepted"], again["duplicate"]) == (0, 31)


def test_garbage_and_a_corrupted_frame_are_reported_and_the_rest_is_taken(client, session, as_terminal, truck):
    login, calibration, first, second, third, logout = trip(truck.vin)
    broken = bytearray(second)
    broken[40] ^= 0xFF                                   # BCC no longer matches
    body = b"\x00\x17junk" + login + first + bytes(broken) + b"##\x99" + third + logout
    answer = post_frames(client, as_terminal, body).json
    assert [f["command"] for f in answer["frames"]] == [1, 2, 2, 4]
    assert answer["accepted"] == 21
    assert answer["garbage"][0] == {"offset": 0, "length": 6, "reason": "no_start"}
    assert sum(g["length"] for g in answer["garbage"]) == 6 + len(broken) + 3


def test_frames_of_unknown_or_foreign_vehicles_are_rejected(client, session, as_terminal, other_truck):
    answer = post_frames(client, as_terminal, b"".join(trip(other_truck.vin)[:3])).json
    assert {(f["status"], f.get("reason")) for f in answer["frames"]} == {("rejected", "unknown_vehicle")}
    assert answer["frames"][0].get("reply") is None and answer["accepted"] == 0


def test_the_layout_is_learnt_into_the_terminal_profile(client, session, as_terminal, truck):
    post_frames(client, as_terminal, b"".join(trip(truck.vin, layout=Layout.GB)))
    layout, iccid, logins = session.execute(text("SELECT layout, iccid, logins FROM obd_terminal_profiles"
                                                 " WHERE vehicle_id = :v"), {"v": truck.id}).one()
    assert (layout, iccid, logins) == ("gb17691", "89860000000000000001", 1)


def test_an_undecodable_frame_says_where_it_broke(client, as_terminal, truck):
    login = trip(truck.vin)[0]
    shortened = build_frame(0x01, truck.vin.encode(), 1, 1, login[24:24 + 27])   # login units are 28 bytes
    answer = post_frames(client, as_terminal, shortened).json["frames"][0]
    assert (answer["status"], answer["reason"]) == ("rejected", "undecodable")
    assert "login data unit length" in answer["detail"]


def test_bodies_without_frames_or_of_another_type_are_refused(client, as_terminal, truck):
    assert post_frames(client, as_terminal, b"hello").status_code == 422
    wrong = client.post("/api/v1/obd/frames", data=b"##", headers=as_terminal, content_type="application/json")
    assert wrong.status_code == 415


def test_a_frame_with_an_out_of_window_sample_answers_that_record(client, as_terminal, truck):
    plan = TruckPlan(vin=truck.vin, start=clock.now() + timedelta(minutes=30), duration_s=10, time_calibration=False)
    frames = [f for f in trip_bytes(plan) if f[2] == 2]
    record = post_frames(client, as_terminal, frames[0]).json["frames"][0]["records"][0]
    assert (record["status"], record["reason"]) == ("rejected", "future_timestamp")



def test_a_removal_alarm_is_stored_once_and_answered_each_time(client, session, as_terminal, truck):
    at = clock.now().replace(microsecond=0) - timedelta(minutes=1)
    removal = encode_frame(make_frame(truck.vin, RemovalAlarm(at, 7, Position.from_degrees(106.62, 26.65))))
    first = post_frames(client, as_terminal, removal).json["frames"][0]
    again = post_frames(client, as_terminal, removal).json["frames"][0]
    assert (first["status"], again["status"]) == ("accepted", "duplicate")
    assert decode_frame(bytes.fromhex(again["reply"])).header.command == Command.REMOVAL_ALARM
    rows = session.execute(text("SELECT reported_at, serial, source FROM obd_removal_reports WHERE vehicle_id = :v"),
                           {"v": truck.id}).all()
    assert rows == [(at, 7, "frames")]


def test_a_removal_alarm_of_another_operators_truck_is_refused(client, session, principal_headers,
                                                               other_enterprise, truck):
    other_platform = principal_headers(Role.TERMINAL, other_enterprise, name="other fleet platform")
    removal = encode_frame(make_frame(truck.vin, RemovalAlarm(clock.now(), 1, Position.from_degrees(106.6, 26.6))))
    answer = post_frames(client, other_platform, removal).json["frames"][0]
    assert (answer["status"], answer["reason"]) == ("rejected", "unknown_vehicle")
    count = session.execute(text("SELECT count(*) FROM obd_removal_reports WHERE vehicle_id = :v"), {"v": truck.id})
    assert count.scalar() == 0
