"""The simulated truck (simulate.py): deterministic, decodable, honours its knobs."""
from datetime import timedelta

import pytest

from mobsrc.obd.hj1239.codec import decode_frame, encode_frame
from mobsrc.obd.hj1239.messages import (
    Layout,
    Login,
    Logout,
    ObdInfo,
    RealtimeReport,
    RemovalAlarm,
    ResentReport,
    TimeCalibrationRequest,
)
from mobsrc.obd.hj1239.records import flatten_frame
from mobsrc.obd.hj1239.simulate import TruckPlan, simulate_trip, trip_bytes
from mobsrc.obd.hj1239.tables import ValueStatus

PLAN = TruckPlan(duration_s=120, obd_every_s=60)


def _rows(plan, seed=3):
    records = [flatten_frame(decode_frame(wire)) for wire in trip_bytes(plan, seed)]
    return [r for x in records for r in x.streams], [r for x in records for r in x.obd]


def test_same_plan_and_seed_give_the_same_bytes():
    assert trip_bytes(PLAN, 7) == trip_bytes(PLAN, 7)
    assert trip_bytes(PLAN, 7) != trip_bytes(PLAN, 8)


@pytest.mark.parametrize("layout", [Layout.HJ, Layout.GB])
def test_trip_is_login_time_calibration_reports_logout(layout):
    timed = simulate_trip(TruckPlan(duration_s=120, layout=layout), 1)
    kinds = [type(t.frame.message) for t in timed]
    assert kinds == [Login, TimeCalibrationRequest] + [RealtimeReport] * 12 + [Logout]
    assert [t.at for t in timed] == sorted(t.at for t in timed)
    assert all(decode_frame(encode_frame(t.frame)) == t.frame for t in timed)


def test_a_terminal_taken_off_sends_removal_alarms_instead_of_its_later_reports():
    timed = simulate_trip(TruckPlan(duration_s=300, removed_after_s=120), 1)
    kinds = [type(t.frame.message) for t in timed]
    assert kinds == [Login, TimeCalibrationRequest] + [RealtimeReport] * 12 + [RemovalAlarm] * 4
    alarms = [t.frame.message for t in timed[-4:]]
    start = TruckPlan().start
    assert [a.at - start for a in alarms] == [timedelta(seconds=s) for s in (120, 180, 240, 300)]
    assert [a.serial for a in alarms] == [1, 2, 3, 4]
    last_sample = timed[-5].frame.message.blocks[-1]
    assert {a.position for a in alarms} == {last_sample.position}         # where it was taken off
    assert all(decode_frame(encode_frame(t.frame)) == t.frame for t in timed)


def test_the_simulate_command_offers_every_scenario():
    from mobsrc.obd.cli import simulate
    from mobsrc.obd.terminal import SCENARIOS
    [option] = [p for p in simulate.params if p.name == "scenario"]
    assert set(option.type.choices) == set(SCENARIOS)


def test_both_layouts_carry_the_same_one_hertz_samples():
    hj, _ = _rows(TruckPlan(duration_s=30, layout=Layout.HJ))
    gb, _ = _rows(TruckPlan(duration_s=30, layout=Layout.GB))
    assert [(r.collected_at, r.raw) for r in hj] == [(r.collected_at, r.raw) for r in gb]
    assert [r.collected_at - hj[0].collected_at for r in hj] == [timedelta(seconds=s) for s in range(30)]


def test_obd_block_in_first_frame_then_every_period():
    _, obd = _rows(PLAN)
    assert [r.collected_at - PLAN.start for r in obd] == [timedelta(0), timedelta(seconds=60)]


@pytest.mark.parametrize("layout", [Layout.HJ, Layout.GB])
def test_samples_per_frame(layout):
    timed = simulate_trip(TruckPlan(duration_s=25, layout=layout, obd_every_s=0), 1)
    streams = [[b for b in t.frame.message.blocks if not isinstance(b, ObdInfo)]
               for t in timed if isinstance(t.frame.message, RealtimeReport)]
    assert [len(s) for s in streams] == [10, 10, 5]


def test_knobs_mil_dtcs_resent_signature_and_obd_vin():
    plan = TruckPlan(duration_s=20, mil_on=True, dtcs=(0x145600AF,), resent=True, signed=True,
                     obd_vin="LGDCHA1G8MA127733")
    reports = [t.frame.message for t in simulate_trip(plan, 1)[2:-1]]
    assert all(isinstance(r, ResentReport) and r.signature is not None for r in reports)
    obd = reports[0].blocks[0]
    assert obd.mil_on and obd.dtcs == (0x145600AF,) and obd.vin == "LGDCHA1G8MA127733"


def test_cold_start_scr_warms_and_nox_conversion_improves():
    rows, _ = _rows(TruckPlan(duration_s=900))
    first, last = rows[0].values, rows[-1].values
    assert first["scr_inlet_temperature"] < 50 < 200 < last["scr_inlet_temperature"]
    assert first["nox_downstream"] == pytest.approx(first["nox_upstream"])
    assert last["nox_downstream"] < 0.3 * last["nox_upstream"]


def test_tailpipe_and_stuck_sensor_knobs():
    rows, _ = _rows(TruckPlan(duration_s=60, tailpipe_nox_ppm=800))
    assert all(760 <= r.values["nox_downstream"] <= 840 for r in rows)
    rows, _ = _rows(TruckPlan(duration_s=60, stuck_nox_downstream_ppm=123.4))
    assert {r.values["nox_downstream"] for r in rows} == {123.4}


def test_invalid_rate_puts_invalid_markers_on_the_wire():
    rows, _ = _rows(TruckPlan(duration_s=60, invalid_rate=0.2))
    statuses = [s for r in rows for s in r.statuses.values()]
    assert statuses.count(ValueStatus.INVALID) > 60
