"""Alarms from stored telemetry (service level, one rolled-back transaction): synthetic tracks
that must and must not alarm; one alarm per vehicle and kind while it lasts; evidence kept;
closed when it clears; settings versioned and applied."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from mobsrc.core import clock
from mobsrc.obd import alarming, ingest, service
from mobsrc.obd.hj1239.messages import Position, RemovalAlarm
from mobsrc.obd.models import Alarm, AlarmStatus, BatchSource, HandoverStatus
from mobsrc.obd.settings import ObdSettings
from mobsrc.obd.storage import Submitter
from tests.integration.obd.tracks import PLATFORM, body, driving


@pytest.fixture
def start():
    """Tracks start 40 minutes ago, so that 35 minutes of driving end in the past."""
    return clock.now().replace(microsecond=0) - timedelta(minutes=40)


def feed(session, records, obd_info=()):
    answer = ingest.ingest_json(session, PLATFORM, body(records, obd_info), ObdSettings())
    assert answer["rejected"] == 0, answer
    return answer


def evaluate(session) -> None:
    while alarming.evaluate_next_batches(session, 50):
        pass


def alarms(session, vehicle) -> list[Alarm]:
    return list(session.scalars(select(Alarm).where(Alarm.vehicle_id == vehicle.id).order_by(Alarm.id)))


def kinds(session, vehicle, status=AlarmStatus.OPEN) -> list[str]:
    return [a.kind.value for a in alarms(session, vehicle) if a.status is status]


def test_sustained_nox_exceedance_opens_one_alarm_with_its_evidence(session, truck, start):
    feed(session, driving(truck.vin, start, 600, nox_upstream=2000.0, nox_downstream=900.0))
    evaluate(session)
    [alarm] = alarms(session, truck)
    assert alarm.kind.value == "nox_exceedance" and alarm.status is AlarmStatus.OPEN
    assert alarm.rule_version == 1 and alarm.params["nox_ppm"] == 500.0
    assert alarm.evidence["nox_downstream_max_ppm"] == 900.0 and alarm.evidence["duration_s"] >= 300
    assert len(alarm.window) >= 300 and alarm.window[0]["nox_downstream"] == 900.0
    assert alarm.handover_status is HandoverStatus.HANDED_OVER and alarm.handover_requested_at is not None
    from mobsrc.im.models import Case
    (case,) = session.scalars(select(Case)).all()
    assert alarm.handover_ref == f"im_case:{case.id}" and case.trigger.value == "obd_alarm"
    assert alarm.enterprise_id == truck.enterprise_id and alarm.vin == truck.vin


def test_an_alarm_opens_once_while_it_lasts_and_closes_when_it_clears(session, truck, start):
    feed(session, driving(truck.vin, start, 600, nox_upstream=2000.0, nox_downstream=900.0))
    evaluate(session)
    feed(session, driving(truck.vin, start + timedelta(seconds=600), 600, nox_upstream=2000.0, nox_downstream=900.0))
    evaluate(session)
    assert kinds(session, truck) == ["nox_exceedance"] and len(alarms(session, truck)) == 1
    feed(session, driving(truck.vin, start + timedelta(seconds=1200), 900))
    evaluate(session)
    [alarm] = alarms(session, truck)
    assert alarm.status is AlarmStatus.CLOSED and alarm.closed_at is not None


@pytest.mark.parametrize("track", [
    pytest.param(dict(scr_inlet_temperature=lambda t: 20 + 0.4 * t, nox_downstream=900.0), id="cold-start"),
    pytest.param(dict(vehicle_speed=0.0, engine_net_torque=8.0, engine_speed=650.0, nox_downstream=900.0),
                 id="idling"),
    pytest.param(dict(nox_downstream=lambda t: 900.0 if 120 <= t < 180 or 480 <= t < 540 else 40.0),
                 id="short-spikes"),
    pytest.param(dict(engine_speed=0.0, vehicle_speed=0.0, nox_upstream=-200.0, nox_downstream=-200.0,
                      reagent_level=0.0), id="engine-off"),
    pytest.param(dict(nox_downstream=None, nox_upstream=None), id="sensor-not-available"),
])
def test_tracks_that_must_not_alarm(session, truck, start, track):
    feed(session, driving(truck.vin, start, 600, **track))
    evaluate(session)
    assert alarms(session, truck) == []


@pytest.mark.parametrize("track, expected", [
    pytest.param(dict(nox_upstream=400.0, nox_downstream=360.0), ["low_scr_efficiency"], id="failed-scr"),
    pytest.param(dict(nox_downstream=30.0, engine_speed=lambda t: 1000 + (t % 60) * 13), ["nox_sensor_stuck"],
                 id="stuck-nox-sensor"),
    pytest.param(dict(reagent_level=0.0), ["reagent_low"], id="empty-reagent"),
    pytest.param(dict(dpf_pressure_drop=35.0), ["dpf_pressure_abnormal"], id="clogged-dpf"),
])
def test_tracks_that_must_alarm(session, truck, start, track, expected):
    feed(session, driving(truck.vin, start, 720, **({"nox_downstream": lambda t: 30 + t % 7} | track)))
    evaluate(session)
    assert kinds(session, truck) == expected


def snapshot(vin, at, **values):
    return dict(vin=vin, collected_at=at.isoformat(), protocol=1, mil_on=False, dtc_count=0, cal_id="CAL-A",
                cvn="EC40A1BF", obd_vin=vin) | values


def test_mil_on_opens_and_mil_off_closes(session, truck, start):
    feed(session, driving(truck.vin, start, 60), [snapshot(truck.vin, start, mil_on=True, dtc_count=1,
                                                            dtcs=["145600AF"])])
    evaluate(session)
    [alarm] = alarms(session, truck)
    assert alarm.kind.value == "mil_on" and alarm.evidence["dtc_codes"] == ["P1456-00/AF"]
    assert alarm.window[0]["mil_on"] is True
    feed(session, driving(truck.vin, start + timedelta(seconds=60), 60),
         [snapshot(truck.vin, start + timedelta(seconds=60))])
    evaluate(session)
    assert kinds(session, truck, AlarmStatus.CLOSED) == ["mil_on"]


def test_tampering_signs_a_foreign_ecu_vin_and_a_new_calibration(session, truck, start):
    feed(session, [], [snapshot(truck.vin, start)])
    feed(session, driving(truck.vin, start + timedelta(minutes=30), 60),
         [snapshot(truck.vin, start + timedelta(minutes=30, seconds=30), cal_id="CAL-B", obd_vin="LZZ1BLSB0XX000001")])
    evaluate(session)
    found = {a.kind.value: a for a in alarms(session, truck)}
    assert set(found) == {"vin_mismatch", "calibration_changed"}
    assert found["calibration_changed"].evidence["changes"][0]["to"][0] == "CAL-B"


def removal(session, truck, at, serial=1):
    report = RemovalAlarm(at, serial, Position.from_degrees(106.63, 26.65))
    return ingest.record_removal(session, ingest.VehicleRef(truck.id, truck.vin, truck.enterprise_id), report,
                                 Submitter(BatchSource.GATEWAY), clock.now())


def test_a_removed_terminal_alarms_until_engine_data_flows_again_without_removal_reports(session, truck, start):
    feed(session, driving(truck.vin, start, 120))
    assert removal(session, truck, start + timedelta(seconds=120)) is True
    assert removal(session, truck, start + timedelta(seconds=180), serial=2) is True
    assert removal(session, truck, start + timedelta(seconds=180), serial=2) is False     # re-sent: stored once
    evaluate(session)
    [alarm] = alarms(session, truck)
    assert (alarm.kind.value, alarm.status) == ("terminal_removed", AlarmStatus.OPEN)
    assert alarm.first_at == start + timedelta(seconds=120) and alarm.evidence["reports"] == 2
    assert [r["t"] for r in alarm.window] == [(start + timedelta(seconds=s)).isoformat() for s in (120, 180)]
    assert alarm.handover_status is HandoverStatus.HANDED_OVER          # a tampering sign goes to I/M
    feed(session, driving(truck.vin, start + timedelta(seconds=240), 60))   # within 180 s of the last report
    evaluate(session)
    assert kinds(session, truck) == ["terminal_removed"]
    feed(session, driving(truck.vin, start + timedelta(seconds=300), 120))  # reinstalled: data, no more 0x06
    evaluate(session)
    assert kinds(session, truck) == [] and kinds(session, truck, AlarmStatus.CLOSED) == ["terminal_removed"]


def test_changed_thresholds_are_a_new_version_and_apply_to_later_judgements(session, as_admin, truck, start):
    service.update_rule(session, PLATFORM, "nox_exceedance", {"thresholds": {"nox_ppm": 1000.0}, "note": "test"})
    feed(session, driving(truck.vin, start, 600, nox_upstream=2000.0, nox_downstream=900.0))
    evaluate(session)
    assert alarms(session, truck) == []
    service.update_rule(session, PLATFORM, "nox_exceedance", {"thresholds": {"nox_ppm": 800.0}})
    feed(session, driving(truck.vin, start + timedelta(seconds=600), 60, nox_upstream=2000.0, nox_downstream=900.0))
    evaluate(session)
    [alarm] = alarms(session, truck)
    assert (alarm.rule_version, alarm.params["nox_ppm"]) == (3, 800.0)


def test_switching_a_rule_off_closes_its_open_alarms(session, truck, start):
    feed(session, driving(truck.vin, start, 600, reagent_level=0.0))
    evaluate(session)
    assert kinds(session, truck) == ["reagent_low"]
    service.update_rule(session, PLATFORM, "reagent_low", {"enabled": False})
    feed(session, driving(truck.vin, start + timedelta(seconds=600), 60, reagent_level=0.0))
    evaluate(session)
    assert kinds(session, truck) == [] and kinds(session, truck, AlarmStatus.CLOSED) == ["reagent_low"]


def test_alarms_are_listed_with_scope(client, session, as_operator, as_other_operator, as_police, truck, start):
    feed(session, driving(truck.vin, start, 600, reagent_level=0.0))
    evaluate(session)
    mine = client.get("/api/v1/obd/alarms", headers=as_operator).json["items"]
    assert [a["kind"] for a in mine] == ["reagent_low"]
    assert client.get("/api/v1/obd/alarms", headers=as_other_operator).json["items"] == []
    detail = client.get(f"/api/v1/obd/alarms/{mine[0]['id']}", headers=as_police).json
    assert detail["window"] and detail["evidence"]["empty"] is True
    assert client.get(f"/api/v1/obd/alarms/{mine[0]['id']}", headers=as_other_operator).status_code == 404
    filtered = client.get("/api/v1/obd/alarms", headers=as_police, query_string={"kind": "mil_on"}).json
    assert filtered["items"] == []


def test_rule_settings_api_versions_every_change(client, as_admin, as_police):
    rules = client.get("/api/v1/obd/rules", headers=as_police).json
    assert len(rules) == 10 and {r["version"] for r in rules} == {1}
    nox = next(r for r in rules if r["id"] == "nox_exceedance")
    assert next(t for t in nox["thresholds"] if t["name"] == "nox_ppm")["source"].startswith("no remote-OBD")
    changed = client.put("/api/v1/obd/rules/nox_exceedance", headers=as_admin,
                         json={"thresholds": {"nox_ppm": 650}, "violation_after_h": 48, "note": "bureau decision"})
    assert changed.status_code == 200 and changed.json["version"] == 2
    assert next(t["value"] for t in changed.json["thresholds"] if t["name"] == "nox_ppm") == 650
    versions = client.get("/api/v1/obd/rules/nox_exceedance/versions", headers=as_admin).json
    assert [v["version"] for v in versions] == [2, 1] and versions[0]["violation_after_h"] == 48
    bad = client.put("/api/v1/obd/rules/nox_exceedance", headers=as_admin, json={"thresholds": {"nox": 1}})
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "thresholds.nox"
    assert client.put("/api/v1/obd/rules/nope", headers=as_admin, json={}).status_code == 404
    assert client.put("/api/v1/obd/rules/nox_exceedance", headers=as_police, json={}).status_code == 403
