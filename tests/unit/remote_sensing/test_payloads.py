"""Decoding a station's batch item by item: typed, strict about unknown fields, plates
normalised, times in UTC (no offset = Beijing), each problem named by its field."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from mobsrc.registry.identifiers import PlateColour
from mobsrc.remote_sensing.payloads import (
    MAX_READINGS_PER_BATCH,
    BatchError,
    ReadingDraft,
    RejectedItem,
    decode_envelope,
    decode_reading,
)

NOW = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)
BASE = {"measured_at": "2026-05-20T10:00:00+08:00", "lane": 2, "plate": "贵A12345", "plate_colour": "yellow",
        "speed_kmh": 40, "accel_ms2": 0.3, "opacity_pct": 12.5}


def decode(lanes=None, **changes):
    item = {k: v for k, v in (BASE | changes).items() if v is not ...}
    return decode_reading(msgspec.json.encode(item), "GY-RS-001", NOW, lanes)


def test_a_good_item_becomes_a_reading_with_its_extras():
    draft = decode(record_id="R-1", wind_dir_deg=90, pressure_kpa=88.5,
                   evidence=[{"type": "video", "id": "V-1", "sha256": "AB" * 32, "role": "smoke"}])
    assert isinstance(draft, ReadingDraft)
    reading = draft.reading
    assert (reading.station_code, reading.measured_at, reading.lane) == ("GY-RS-001", datetime(2026, 5, 20, 2,
                                                                                              tzinfo=UTC), 2)
    assert (reading.plate, reading.plate_colour, reading.speed_kmh, reading.opacity_pct) == (
        "贵A12345", PlateColour.YELLOW, 40.0, 12.5)
    assert (draft.record_id, draft.wind_dir_deg, draft.pressure_kpa) == ("R-1", 90, 88.5)
    assert draft.evidence[0].as_dict() == {"type": "video", "id": "V-1", "sha256": "ab" * 32, "role": "smoke"}
    assert draft.key == (2, reading.measured_at, "贵A12345")


@pytest.mark.parametrize("text, plate", [
    ("贵ａ１２３４５", "贵A12345"), (" 贵a·12345 ", "贵A12345"), ("无车牌", None), ("未识别", None), ("", None),
    ("unknown", None), (None, None),
])
def test_plates_are_normalised_and_unread_plates_are_none(text, plate):
    assert decode(plate=text).reading.plate == plate


@pytest.mark.parametrize("text, colour", [
    ("yellow", PlateColour.YELLOW), ("黄", PlateColour.YELLOW), ("黄色", PlateColour.YELLOW),
    ("渐变绿", PlateColour.GREEN), ("黄绿", PlateColour.YELLOW_GREEN), ("Yellow-Green", PlateColour.YELLOW_GREEN),
    (None, None),
])
def test_devices_may_name_the_plate_colour_in_chinese(text, colour):
    assert decode(plate_colour=text).reading.plate_colour is colour


def test_a_time_without_offset_is_beijing_time_and_a_future_time_is_refused():
    assert decode(measured_at="2026-05-20T10:00:00").reading.measured_at == datetime(2026, 5, 20, 2, tzinfo=UTC)
    assert isinstance(decode(measured_at=(NOW + timedelta(minutes=4)).isoformat()), ReadingDraft)  # clock skew
    late = decode(measured_at=(NOW + timedelta(minutes=6)).isoformat())
    assert isinstance(late, RejectedItem) and late.problems[0].field == "measured_at"


@pytest.mark.parametrize("changes, field", [
    ({"speed_kmh": "fast"}, "speed_kmh"),
    ({"speed_kmh": ...}, "speed_kmh"),
    ({"lane": 0}, "lane"),
    ({"plate_colour": "red"}, "plate_colour"),
    ({"opacity_pct": -1}, "opacity_pct"),
    ({"ringelmann_grade": 6}, "ringelmann_grade"),
    ({"rh_pct": 101}, "rh_pct"),
    ({"wind_dir_deg": 361}, "wind_dir_deg"),
    ({"pressure_kpa": 0}, "pressure_kpa"),
    ({"measured_at": "yesterday"}, "measured_at"),
    ({"opacity": 12}, "opacity"),
    ({"evidence": [{"type": "audio", "id": "a", "sha256": "ab" * 32}]}, "evidence.0.type"),
    ({"evidence": [{"type": "image", "id": "", "sha256": "ab" * 32}]}, "evidence.0.id"),
    ({"plate": "贵A123456789"}, "plate"),
])
def test_each_problem_is_named_by_its_field(changes, field):
    rejected = decode(**changes)
    assert isinstance(rejected, RejectedItem)
    (problem,) = rejected.problems
    assert problem.field == field and problem.reason


def test_a_lane_beyond_the_stations_lanes_is_refused():
    assert isinstance(decode(lanes=2), ReadingDraft)
    rejected = decode(lanes=1)
    assert isinstance(rejected, RejectedItem) and rejected.problems[0].field == "lane"


def test_an_item_that_is_not_an_object_is_rejected_not_raised():
    rejected = decode_reading(b"[1, 2]", "S", NOW)
    assert isinstance(rejected, RejectedItem) and rejected.problems[0].field == "_item"


@pytest.mark.parametrize("body, field", [
    (b"", "_body"), (b"{", "_body"), (b"[]", "readings"), (b"{}", "readings"), (b'{"readings": []}', "readings"),
    (b'{"readings": {}}', "readings"), (b'{"readings": [{}], "extra": 1}', "extra"),
])
def test_an_unusable_envelope_raises_with_its_field(body, field):
    with pytest.raises(BatchError) as caught:
        decode_envelope(body)
    assert caught.value.field == field


def test_the_envelope_keeps_items_undecoded_and_caps_the_batch():
    envelope = decode_envelope(b'{"station_code": "S1", "readings": [{"a": 1}, 2]}')
    assert envelope.station_code == "S1" and [bytes(i) for i in envelope.items] == [b'{"a": 1}', b"2"]
    too_many = msgspec.json.encode({"readings": [{}] * (MAX_READINGS_PER_BATCH + 1)})
    with pytest.raises(BatchError):
        decode_envelope(too_many)
