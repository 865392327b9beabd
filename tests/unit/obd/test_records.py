"""Canonical telemetry rows from decoded frames (records.py)."""
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mobsrc.obd.hj1239.codec import decode_frame
from mobsrc.obd.hj1239.messages import (
    EngineStream,
    Layout,
    RealtimeReport,
    ResentReport,
    UnknownBlock,
)
from mobsrc.obd.hj1239.records import (
    _SCALERS,
    ClockCheck,
    RecordRejected,
    RecordRejectReason,
    ReportKind,
    flatten_frame,
    flatten_report,
    rescale,
)
from mobsrc.obd.hj1239.tables import ENGINE_BODY, STREAM_BODIES, BodySpec, ValueStatus

from .frames import EXAMPLE_A, EXAMPLE_C_HJ, LOGOUT_D, TEST_VIN, utc


@pytest.fixture(scope="module")
def rows_a():
    return flatten_frame(decode_frame(EXAMPLE_A))


def test_example_a_gives_one_stream_row_and_one_obd_row(rows_a):
    assert (len(rows_a.streams), len(rows_a.obd), rows_a.rejected) == (1, 1, ())


def test_example_a_stream_row(rows_a):
    row = rows_a.streams[0]
    assert (row.vin, row.collected_at, row.kind, row.info_type, row.serial, row.layout) == (
        "LGDCHA1G8MA127733", utc(2021, 8, 14, 0, 47, 35), ReportKind.REALTIME, 0x02, 1, Layout.GB)
    assert (row.longitude, row.latitude, row.position_valid, row.mileage_km) == (
        112.186135, 32.134654, True, 4.0)
    assert row.values["reagent_level"] == 38.8 and row.values["atmospheric_pressure"] == 98.5


def test_example_a_markers_are_not_available_and_flagged(rows_a):
    row = rows_a.streams[0]
    for name in ("scr_inlet_temperature", "scr_outlet_temperature", "dpf_pressure_drop"):
        assert row.values[name] is None and row.statuses[name] is ValueStatus.ERROR
    assert row.values["nox_downstream"] == -200.0
    assert row.statuses["nox_downstream"] is ValueStatus.SUSPECT
    assert row.valid_value("nox_downstream") is None and row.valid_value("reagent_level") == 38.8
    assert set(row.statuses) == {"scr_inlet_temperature", "scr_outlet_temperature",
                                 "dpf_pressure_drop", "nox_upstream", "nox_downstream"}


def test_example_a_obd_row(rows_a):
    row = rows_a.obd[0]
    assert (row.mil_on, row.dtc_count, row.protocol, row.cal_id, row.cvn) == (
        False, 7, 1, "YCY30165-60", "EC40A1BF")
    assert row.cvn_hex == "EC40A1BF" + "00" * 14
    assert row.dtcs[0] == 0x145600AF and row.dtc_codes[1] == "U2002-00/AF"
    assert row.obd_vin == "LGDCHA1G8MA127733" and row.obd_vin_check_ok
    assert "heated_catalyst" in row.supported_monitors      # 0xABDE bit 1 (implausible, 7.15)
    assert row.readiness_map == 0xA9D6 and row.iupr["ignition_cycles"] == 0


def test_example_c_row_has_only_valid_values():
    (row,) = flatten_frame(decode_frame(EXAMPLE_C_HJ)).streams
    assert row.statuses == {} and row.layout is Layout.HJ and row.serial is None
    assert row.values["nox_upstream"] == 420.5 and row.values["nox_downstream"] == 35.25
    assert (row.longitude, row.latitude) == (106.713478, 26.578343)


def test_resent_report_rows_are_marked_resent():
    report = decode_frame(EXAMPLE_C_HJ).message
    resent = ResentReport(report.layout, report.blocks, sent_at=report.sent_at, serial=1)
    assert flatten_report(TEST_VIN, resent).streams[0].kind is ReportKind.RESENT


def test_blocks_without_time_or_length_are_rejected_with_reason():
    report = decode_frame(EXAMPLE_C_HJ).message
    block = report.blocks[0]
    broken = RealtimeReport(Layout.HJ, (replace(block, collected_at=None), block,
                                        UnknownBlock(0x81, b"\x00")), sent_at=report.sent_at, serial=1)
    records = flatten_report(TEST_VIN, broken)
    assert len(records.streams) == 1
    assert records.rejected == (
        RecordRejected(TEST_VIN, 0x02, 0, RecordRejectReason.NO_COLLECTION_TIME),
        RecordRejected(TEST_VIN, 0x81, 2, RecordRejectReason.UNKNOWN_INFO_TYPE))


@pytest.mark.parametrize("collected, received, suspect", [
    (utc(2024, 3, 15, 2, 30), utc(2024, 3, 15, 2, 30), False),
    (utc(2024, 3, 15, 2, 35), utc(2024, 3, 15, 2, 30), False),      # 5 min ahead: tolerated
    (utc(2024, 3, 15, 2, 35, 1), utc(2024, 3, 15, 2, 30), True),    # future clock
    (utc(2018, 12, 31, 23, 59), None, True),                         # before 2019
    (utc(2024, 3, 15, 2, 35, 1), None, False),                       # no receive time given
])
def test_bogus_clocks_are_flagged_not_dropped(collected, received, suspect):
    block = EngineStream.from_values(collected, None, engine_speed=800)
    report = RealtimeReport(Layout.HJ, (block,), sent_at=collected, serial=1)
    (row,) = flatten_report(TEST_VIN, report, received_at=received, clock=ClockCheck()).streams
    assert row.clock_suspect is suspect


def test_south_west_hemispheres_give_negative_degrees():
    block = EngineStream.from_values(utc(2024, 1, 1), None, longitude=-70.5, latitude=-33.25,
                                     position_valid=False)
    report = RealtimeReport(Layout.HJ, (block,), sent_at=utc(2024, 1, 1), serial=1)
    (row,) = flatten_report(TEST_VIN, report).streams
    assert (row.longitude, row.latitude, row.position_valid) == (-70.5, -33.25, False)


def test_rescale_reapplies_a_corrected_table_to_stored_raw_values():
    (row,) = flatten_frame(decode_frame(EXAMPLE_C_HJ)).streams
    fields = tuple(replace(f, scale=(1, 1)) if f.name == "reagent_level" else f
                   for f in ENGINE_BODY.fields)
    fixed = rescale(row, BodySpec(0x02, "engine_fixed", 37, fields, "test"))
    assert fixed.values["reagent_level"] == 156.0 and fixed.raw == row.raw
    assert rescale(fixed).values == row.values


def test_frames_other_than_reports_give_no_rows():
    assert flatten_frame(decode_frame(LOGOUT_D)).streams == ()


@pytest.mark.parametrize("info_type", sorted(STREAM_BODIES))
@given(data=st.data())
def test_fast_scaling_equals_the_generic_loop(info_type, data):
    body = STREAM_BODIES[info_type]
    raw = data.draw(st.tuples(*[st.one_of(st.integers(0, (1 << 8 * f.width) - 1),
                                          st.sampled_from([0, f.raw_max]))
                                for f in body.fields]))
    scaler = _SCALERS[info_type]
    assert scaler.scale(raw) == scaler.scale_generic(raw)
