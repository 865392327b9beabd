"""POST /obd/records: JSON telemetry batches, answered record by record, durable, deduplicated,
scoped to the sender; and reading them back."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from mobsrc.core import clock
from mobsrc.obd.settings import ObdSettings
from tests.integration import factories
from tests.integration.obd.conftest import post_records, sample, statuses


def stored(session, vehicle_id) -> list[tuple]:
    return session.execute(text("SELECT collected_at, kind, vehicle_speed, nox_downstream FROM obd_stream_records"
                                " WHERE vehicle_id = :v ORDER BY collected_at"), {"v": vehicle_id}).all()


def test_accepted_records_are_stored_once_and_a_repeat_is_a_duplicate(client, session, as_terminal, truck,
                                                                    minutes_ago):
    batch = [sample(truck.vin, minutes_ago(10 - i)) for i in range(5)]
    first = post_records(client, as_terminal, batch)
    assert first.status_code == 200
    assert (first.json["accepted"], first.json["duplicate"], first.json["rejected"]) == (5, 0, 0)
    again = post_records(client, as_terminal, batch[2:] + [sample(truck.vin, minutes_ago(1))])
    assert statuses(again.json["records"]) == ["duplicate"] * 3 + ["accepted"]
    rows = stored(session, truck.id)
    assert len(rows) == 6 and rows[0][2] == 45.5
    counts = session.execute(text("SELECT accepted, duplicates, processed_at IS NULL FROM obd_batches"
                                  " WHERE id = :id"), {"id": again.json["batch_id"]}).one()
    assert tuple(counts) == (1, 3, True)


def test_the_same_time_twice_in_one_batch_is_stored_once(client, session, as_terminal, truck, minutes_ago):
    answer = post_records(client, as_terminal, [sample(truck.vin, minutes_ago(3)),
                                                sample(truck.vin, minutes_ago(3), vehicle_speed=99.0)])
    assert statuses(answer.json["records"]) == ["accepted", "duplicate"]
    assert [r[2] for r in stored(session, truck.id)] == [45.5]


def test_one_invalid_record_is_rejected_with_its_field_and_the_rest_is_stored(client, session, as_terminal,
                                                                             truck, minutes_ago):
    answer = post_records(client, as_terminal, [
        sample(truck.vin, minutes_ago(3)),
        sample(truck.vin, minutes_ago(2), vehicle_speed=300.0),
        sample(truck.vin, minutes_ago(1), longitude=None),
        sample(truck.vin, minutes_ago(0.5), nox_dowstream=3.0),
    ]).json
    assert statuses(answer["records"]) == ["accepted", "rejected", "rejected", "rejected"]
    assert [(a.get("reason"), a.get("field")) for a in answer["records"][1:]] == [
        ("invalid", "vehicle_speed"), ("invalid", "longitude"), ("invalid", "_record")]
    assert "250.996" in answer["records"][1]["detail"]
    assert len(stored(session, truck.id)) == 1


def test_not_available_values_are_stored_as_null(client, session, as_terminal, truck, minutes_ago):
    post_records(client, as_terminal, [sample(truck.vin, minutes_ago(1), nox_downstream=None)])
    assert stored(session, truck.id)[0][3] is None


def test_future_and_too_old_collection_times_are_rejected_with_a_reason(client, as_terminal, truck):
    now = clock.now()
    answer = post_records(client, as_terminal, [
        sample(truck.vin, now + timedelta(minutes=4)),
        sample(truck.vin, now + timedelta(minutes=6)),
        sample(truck.vin, now - timedelta(days=6, hours=23)),
        sample(truck.vin, now - timedelta(days=7, minutes=1)),
    ]).json
    assert statuses(answer["records"]) == ["accepted", "rejected", "accepted", "rejected"]
    assert [answer["records"][i]["reason"] for i in (1, 3)] == ["future_timestamp", "too_old"]


def test_an_enterprise_terminal_may_send_only_its_own_vehicles(client, session, as_terminal, truck, other_truck,
                                                               minutes_ago):
    answer = post_records(client, as_terminal, [
        sample(truck.vin, minutes_ago(1)), sample(other_truck.vin, minutes_ago(1)),
        sample("LZZ1BLSB9XX999999", minutes_ago(1))]).json
    assert statuses(answer["records"]) == ["accepted", "rejected", "rejected"]
    assert {a["reason"] for a in answer["records"][1:]} == {"unknown_vehicle"}
    assert stored(session, other_truck.id) == []


def test_a_city_platform_may_send_any_registered_vehicle(client, session, as_platform, truck, other_truck,
                                                         minutes_ago):
    answer = post_records(client, as_platform, [sample(truck.vin, minutes_ago(1)),
                                                sample(other_truck.vin, minutes_ago(1))]).json
    assert statuses(answer["records"]) == ["accepted", "accepted"]


def test_resent_data_fills_the_gap_and_reads_back_in_collection_order(client, session, as_terminal, truck,
                                                                      minutes_ago):
    live = [sample(truck.vin, minutes_ago(10 - i)) for i in range(10) if i not in (4, 5, 6)]
    post_records(client, as_terminal, live)
    resent = [sample(truck.vin, minutes_ago(10 - i), kind="resent", vehicle_speed=1.0 + i) for i in (3, 4, 5, 6, 7)]
    answer = post_records(client, as_terminal, resent).json
    assert statuses(answer["records"]) == ["duplicate", "accepted", "accepted", "accepted", "duplicate"]
    rows = stored(session, truck.id)
    assert [r[1] for r in rows] == [2] * 4 + [3] * 3 + [2] * 3
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)


def test_naive_times_are_beijing_time_and_gcj02_positions_are_stored_as_wgs84(client, session, as_terminal, truck):
    local = clock.as_local(clock.now() - timedelta(minutes=2)).replace(microsecond=0, tzinfo=None)
    post_records(client, as_terminal, [sample(truck.vin, local, longitude=106.717250, latitude=26.574821,
                                              crs="gcj02")])
    at, lon, lat = session.execute(text("SELECT collected_at, longitude, latitude FROM obd_stream_records"
                                        " WHERE vehicle_id = :v"), {"v": truck.id}).one()
    assert clock.as_local(at).replace(tzinfo=None) == local
    assert abs(lon - 106.713478) < 2e-6 and abs(lat - 26.578343) < 2e-6   # standards-telemetry.md 5.6


def test_obd_snapshots_are_stored_and_become_the_latest_state(client, session, as_terminal, as_admin, truck,
                                                              minutes_ago):
    snapshot = dict(vin=truck.vin, collected_at=minutes_ago(2).isoformat(), protocol=1, mil_on=True,
                    dtc_count=2, dtcs=["145600AF", "E00200AF"], cal_id="YCY30165-60", cvn="EC40A1BF",
                    obd_vin=truck.vin, support_map=0xDEA0, iupr={"ignition_cycles": 12})
    answer = post_records(client, as_terminal, [sample(truck.vin, minutes_ago(1))], [snapshot]).json
    assert statuses(answer["obd_info"]) == ["accepted"]
    state = client.get(f"/api/v1/obd/vehicles/{truck.id}/state", headers=as_admin).json
    assert state["last_obd"]["mil_on"] is True and state["last_obd"]["dtc_codes"] == ["P1456-00/AF", "U2002-00/AF"]
    assert state["last_record"]["vehicle_speed"] == 45.5 and state["online"] is True
    info = client.get(f"/api/v1/obd/vehicles/{truck.id}/obd-info", headers=as_admin, query_string={
        "from": minutes_ago(60).isoformat(), "to": clock.now().isoformat()}).json
    assert info["items"][0]["cvn"] == "EC40A1BF" and info["items"][0]["iupr"]["ignition_cycles"] == 12


def test_resent_data_never_rolls_the_latest_state_back(client, as_terminal, as_admin, truck, minutes_ago):
    post_records(client, as_terminal, [sample(truck.vin, minutes_ago(1), vehicle_speed=50.0)])
    post_records(client, as_terminal, [sample(truck.vin, minutes_ago(30), vehicle_speed=10.0, kind="resent")])
    state = client.get(f"/api/v1/obd/vehicles/{truck.id}/state", headers=as_admin).json
    assert state["last_record"]["vehicle_speed"] == 50.0


def test_bad_bodies_get_a_problem_with_the_right_status(client, as_terminal, truck, minutes_ago, app, monkeypatch):
    url = "/api/v1/obd/records"
    assert client.post(url, data=b"{not json", headers=as_terminal, content_type="application/json").status_code == 400
    wrong = client.post(url, json={"records": {"vin": 1}}, headers=as_terminal)
    assert wrong.status_code == 422 and wrong.json["errors"][0]["field"] == "records"
    not_an_object = client.post(url, json=[], headers=as_terminal)
    assert not_an_object.status_code == 422 and not_an_object.json["errors"][0]["field"] == "body"
    assert client.post(url, data=b"{}", headers=as_terminal, content_type="text/plain").status_code == 415
    monkeypatch.setitem(app.extensions, "mobsrc.obd", ObdSettings(max_batch_records=2))
    too_many = post_records(client, as_terminal, [sample(truck.vin, minutes_ago(i)) for i in range(3)])
    assert too_many.status_code == 413 and too_many.content_type == "application/problem+json"


def test_only_terminals_may_post(client, as_operator, truck, minutes_ago):
    assert post_records(client, as_operator, [sample(truck.vin, minutes_ago(1))]).status_code == 403


def test_records_read_back_by_time_range_in_pages(client, session, as_terminal, as_operator, as_other_operator,
                                                 as_police, truck, minutes_ago):
    post_records(client, as_terminal, [sample(truck.vin, minutes_ago(20 - i), vehicle_speed=float(i))
                                       for i in range(20)])
    query = {"from": minutes_ago(15).isoformat(), "to": minutes_ago(5).isoformat(), "limit": 4}
    url = f"/api/v1/obd/vehicles/{truck.id}/records"
    speeds, cursor = [], None
    while True:
        page = client.get(url, headers=as_operator, query_string=query | ({"cursor": cursor} if cursor else {})).json
        speeds += [item["vehicle_speed"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert speeds == [float(i) for i in range(5, 15)]
    assert client.get(url, headers=as_other_operator, query_string=query).status_code == 404
    assert client.get(url, headers=as_police, query_string=query).status_code == 200
    traced = session.execute(text("SELECT count(*) FROM audit_log WHERE action = 'obd.records.read'"
                                  " AND entity_id = :v"), {"v": str(truck.id)}).scalar()
    assert traced == 1


def test_reading_needs_a_valid_time_range(client, as_admin, truck, minutes_ago):
    url = f"/api/v1/obd/vehicles/{truck.id}/records"
    assert client.get(url, headers=as_admin).status_code == 422
    assert client.get(url, headers=as_admin, query_string={"from": minutes_ago(1).isoformat(),
                                                           "to": minutes_ago(2).isoformat()}).status_code == 422


def test_state_of_a_vehicle_without_data(client, session, as_admin, enterprise):
    vehicle = factories.make_vehicle(session, enterprise)
    state = client.get(f"/api/v1/obd/vehicles/{vehicle.id}/state", headers=as_admin).json
    assert state["online"] is False and state["last_record"] is None and state["open_alarms"] == []

