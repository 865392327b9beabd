"""Canonical rows (rows.py) and the batch intake (intake.py): what a record becomes in the tables,
what it is read back as, and how each item of a batch is answered."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from mobsrc.obd.hj1239.codec import decode_frame
from mobsrc.obd.hj1239.records import flatten_frame
from mobsrc.obd.hj1239.tables import ValueStatus
from mobsrc.obd.intake import Intake
from mobsrc.obd.rows import (
    ENGINE_COLUMNS,
    INFO_COLUMNS,
    INFO_TYPES,
    STREAM_COLUMNS,
    STREAM_TYPES,
    AcceptanceWindow,
    RejectReason,
    info_candidate,
    latest_obd_state,
    latest_stream_state,
    obd_record_of,
    stream_candidate,
    stream_record_of,
)
from tests.unit.obd.frames import ENGINE_BODY_C, EXAMPLE_A, EXAMPLE_C_HJ

NOW = datetime(2024, 3, 15, 2, 40, tzinfo=UTC)


def test_column_lists_and_copy_types_line_up_with_the_models():
    from mobsrc.obd.models import InfoRecord, StreamRecord
    assert len(STREAM_COLUMNS) == len(STREAM_TYPES) and len(INFO_COLUMNS) == len(INFO_TYPES)
    assert set(STREAM_COLUMNS) == set(StreamRecord.__table__.columns.keys())
    assert set(INFO_COLUMNS) == set(InfoRecord.__table__.columns.keys())
    assert STREAM_TYPES[STREAM_COLUMNS.index("total_mileage")] == "float8"


def test_an_engine_sample_becomes_a_row_and_reads_back_as_the_codec_gave_it():
    record = flatten_frame(decode_frame(EXAMPLE_C_HJ)).streams[0]
    row = stream_candidate(7, record)
    assert len(row) + 2 == len(STREAM_COLUMNS) and row[:3] == (7, record.collected_at, 2)
    assert row[5 + ENGINE_COLUMNS.index("nox_upstream")] == 420.5
    assert row[-1] == ENGINE_BODY_C and row[-2] is None                 # the wire body, no extra fields
    back = stream_record_of(record.vin, *row[1:5], row[5:5 + len(ENGINE_COLUMNS)], *row[21:24])
    assert back.values == record.values and back.statuses == record.statuses
    assert (back.longitude, back.latitude, back.position_valid) == (record.longitude, record.latitude, True)


def test_suspect_and_unavailable_values_are_flagged_again_on_reading():
    """Example A: NOx raw 0 (-200 ppm, sensor not ready) and 0xFEFF temperatures."""
    record = flatten_frame(decode_frame(EXAMPLE_A)).streams[0]
    row = stream_candidate(1, record)
    back = stream_record_of(record.vin, *row[1:5], row[5:5 + len(ENGINE_COLUMNS)], *row[21:24])
    assert back.statuses["nox_upstream"] is ValueStatus.SUSPECT and back.valid_value("nox_upstream") is None
    assert back.values["scr_inlet_temperature"] is None and back.valid_value("scr_inlet_temperature") is None
    assert back.valid_value("reagent_level") == pytest.approx(38.8)


def test_an_obd_block_becomes_a_row_and_reads_back():
    record = flatten_frame(decode_frame(EXAMPLE_A)).obd[0]
    row = info_candidate(3, record)
    assert len(row) + 2 == len(INFO_COLUMNS)
    assert "\x00" not in row[INFO_COLUMNS.index("cal_id")] and row[INFO_COLUMNS.index("cvn")] == "EC40A1BF"
    back = obd_record_of(record.vin, *row[1:])
    assert (back.dtcs, back.dtc_codes, back.cvn_hex, back.mil_on) == (record.dtcs, record.dtc_codes,
                                                                      record.cvn_hex, False)
    assert latest_obd_state(row)["dtc_codes"][0] == "P1456-00/AF"


def test_the_latest_state_keeps_values_and_position():
    row = stream_candidate(7, flatten_frame(decode_frame(EXAMPLE_C_HJ)).streams[0])
    state = latest_stream_state(row)
    assert state["vehicle_speed"] == 45.5 and state["kind"] == "realtime" and state["position_valid"] is True


def _row(vehicle, at, info_type=2):
    return (vehicle, at, info_type, 2, None)


def test_intake_answers_in_order_with_window_and_duplicate_rules():
    intake = Intake(NOW, AcceptanceWindow(timedelta(days=7), timedelta(minutes=5)))
    assert intake.offer_stream(_row(1, NOW - timedelta(minutes=1))).status == "accepted"
    assert intake.offer_stream(_row(1, NOW - timedelta(minutes=1))).status == "duplicate"
    assert intake.offer_stream(_row(1, NOW - timedelta(minutes=1), info_type=0x80)).status == "accepted"
    assert intake.offer_stream(_row(1, NOW + timedelta(minutes=6))).reason is RejectReason.FUTURE_TIMESTAMP
    assert intake.offer_stream(_row(1, NOW - timedelta(days=8))).reason is RejectReason.TOO_OLD
    assert intake.reject(RejectReason.UNKNOWN_VEHICLE, field="vin").field == "vin"
    assert intake.counts() == {"accepted": 2, "duplicate": 1, "rejected": 3}
    assert len(intake.streams) == 2 and intake.vehicle_ids == [1]


def test_keys_already_stored_become_duplicates_whatever_their_time_zone():
    intake = Intake(NOW, AcceptanceWindow())
    at = NOW.astimezone(timezone(timedelta(hours=8))) - timedelta(minutes=2)
    intake.offer_stream(_row(1, at))
    intake.offer_stream(_row(2, at))
    intake.mark_stored_duplicates({(1, at.astimezone(UTC), 2)}, set())
    assert [a.status for a in intake.answers] == ["duplicate", "accepted"]
    assert intake.collected_span == (at, at)
