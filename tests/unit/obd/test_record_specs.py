"""The JSON record validators: the compiled msgspec Structs (hot path) and the marshmallow
schemas (docs) are built from one table of rules and must accept and reject the same records."""
from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from mobsrc.obd.record_specs import (
    INFO_RULES,
    STREAM_RULES,
    InfoRecordIn,
    StreamRecordIn,
    error_field,
)
from mobsrc.obd.schemas import InfoRecordInSchema, StreamRecordInSchema

VIN = "LZZ1BLSB0MA127733"
AT = "2024-03-15T10:30:00+08:00"


def verdicts(record: dict, struct, schema) -> tuple[bool, bool]:
    """(msgspec accepts, marshmallow accepts) for the same JSON text."""
    text = json.dumps(record).encode()
    try:
        msgspec.json.decode(text, type=struct)
        fast = True
    except msgspec.ValidationError:
        fast = False
    try:
        schema().load(json.loads(text))
        docs = True
    except ValidationError:
        docs = False
    return fast, docs


STREAM_CASES = [
    ({"vin": VIN, "collected_at": AT}, True),
    ({"vin": VIN, "collected_at": "2024-03-15T10:30:00"}, True),                 # no offset: Beijing time
    ({"vin": VIN, "collected_at": "2024-03-15 10:30:00Z"}, True),
    ({"vin": VIN, "collected_at": "2024-03-15T10:30:00.5+0800"}, True),
    ({"vin": VIN, "collected_at": "2024-03-15"}, False),
    ({"vin": VIN, "collected_at": "15/03/2024 10:30"}, False),
    ({"vin": VIN, "collected_at": 1710469800}, False),
    ({"vin": VIN}, False),
    ({"collected_at": AT}, False),
    ({"vin": "LZZ1BLSB0MA12773", "collected_at": AT}, False),                    # 16 characters
    ({"vin": "lzz1blsb0ma127733", "collected_at": AT}, False),
    ({"vin": VIN + "\n", "collected_at": AT}, False),
    ({"vin": VIN, "collected_at": AT, "vehicle_speed": 250.996}, True),
    ({"vin": VIN, "collected_at": AT, "vehicle_speed": 251}, False),
    ({"vin": VIN, "collected_at": AT, "vehicle_speed": -0.1}, False),
    ({"vin": VIN, "collected_at": AT, "vehicle_speed": "45"}, False),
    ({"vin": VIN, "collected_at": AT, "vehicle_speed": True}, False),
    ({"vin": VIN, "collected_at": AT, "vehicle_speed": None}, True),
    ({"vin": VIN, "collected_at": AT, "nox_downstream": -200}, True),
    ({"vin": VIN, "collected_at": AT, "nox_downstream": -200.5}, False),
    ({"vin": VIN, "collected_at": AT, "engine_speed": 8031.875}, True),
    ({"vin": VIN, "collected_at": AT, "serial": 65535}, True),
    ({"vin": VIN, "collected_at": AT, "serial": 65536}, False),
    ({"vin": VIN, "collected_at": AT, "serial": 1.0}, False),
    ({"vin": VIN, "collected_at": AT, "serial": True}, False),
    ({"vin": VIN, "collected_at": AT, "kind": "resent"}, True),
    ({"vin": VIN, "collected_at": AT, "kind": "history"}, False),
    ({"vin": VIN, "collected_at": AT, "kind": None}, False),
    ({"vin": VIN, "collected_at": AT, "longitude": 106.7, "latitude": 26.5}, True),
    ({"vin": VIN, "collected_at": AT, "longitude": 106.7}, False),
    ({"vin": VIN, "collected_at": AT, "latitude": 91, "longitude": 1}, False),
    ({"vin": VIN, "collected_at": AT, "position_valid": 1}, False),
    ({"vin": VIN, "collected_at": AT, "position_valid": False}, True),
    ({"vin": VIN, "collected_at": AT, "crs": "gcj02"}, True),
    ({"vin": VIN, "collected_at": AT, "crs": "GCJ02"}, False),
    ({"vin": VIN, "collected_at": AT, "nox_dowstream": 3}, False),               # unknown field
]

INFO_CASES = [
    ({"vin": VIN, "collected_at": AT}, True),
    ({"vin": VIN, "collected_at": AT, "dtcs": ["145600AF", "e00200af"], "dtc_count": 2}, True),
    ({"vin": VIN, "collected_at": AT, "dtcs": ["145600A"]}, False),
    ({"vin": VIN, "collected_at": AT, "dtcs": ["145600AF"] * 254}, False),
    ({"vin": VIN, "collected_at": AT, "dtcs": None}, False),
    ({"vin": VIN, "collected_at": AT, "dtc_count": 254}, False),
    ({"vin": VIN, "collected_at": AT, "protocol": 3}, False),
    ({"vin": VIN, "collected_at": AT, "protocol": None, "mil_on": None}, True),
    ({"vin": VIN, "collected_at": AT, "mil_on": "on"}, False),
    ({"vin": VIN, "collected_at": AT, "cvn": "EC40A1BF"}, True),
    ({"vin": VIN, "collected_at": AT, "cvn": "EC40A1B"}, False),
    ({"vin": VIN, "collected_at": AT, "cal_id": "X" * 19}, False),
    ({"vin": VIN, "collected_at": AT, "support_map": 65536}, False),
    ({"vin": VIN, "collected_at": AT, "iupr": {"ignition_cycles": 3}}, True),
    ({"vin": VIN, "collected_at": AT, "iupr": {"ignitions": 3}}, False),
    ({"vin": VIN, "collected_at": AT, "iupr": {"ignition_cycles": -1}}, False),
]


@pytest.mark.parametrize("record, accepted", STREAM_CASES)
def test_stream_records_get_the_same_verdict_from_both(record, accepted):
    assert verdicts(record, StreamRecordIn, StreamRecordInSchema) == (accepted, accepted)


@pytest.mark.parametrize("record, accepted", INFO_CASES)
def test_obd_info_records_get_the_same_verdict_from_both(record, accepted):
    assert verdicts(record, InfoRecordIn, InfoRecordInSchema) == (accepted, accepted)


def _value(rule):
    """Values around a rule's limits, of every JSON type, mostly plausible."""
    limits = [v for v in (rule.lo, rule.hi) if v is not None]
    edges = [x + d for x in limits for d in (-1, -0.001, 0, 0.001, 1)] or [0, 1]
    numbers = st.sampled_from(edges) | st.floats(allow_nan=False, allow_infinity=False, width=32)
    if rule.kind == "int":
        numbers = st.sampled_from([int(x) for x in edges]) | st.integers(-2**17, 2**17)
    odd = st.sampled_from([None, True, "1", [], {}, 0, 1.5])
    if rule.kind in ("float", "int"):
        return numbers | odd
    if rule.kind == "choice":
        return st.sampled_from(rule.choices) | st.text(max_size=8) | odd
    if rule.kind == "bool":
        return st.booleans() | odd
    if rule.kind == "str":
        return st.text(alphabet="0123456789ABCDEFXYZ", max_size=40) | odd
    return odd


def _valid(rule):
    if rule.kind == "float":
        values = st.floats(rule.lo, rule.hi, allow_nan=False)
    elif rule.kind == "int":
        values = st.integers(int(rule.lo), int(rule.hi))
    elif rule.kind == "choice":
        values = st.sampled_from(rule.choices)
    elif rule.kind == "bool":
        values = st.booleans()
    else:
        values = st.just(rule.default)
    return values | st.none() if rule.nullable else values


@st.composite
def records(draw, rules):
    """A valid record, then (mostly) one field set to a value around or beyond its rule."""
    optional = [r for r in rules if not r.required and r.kind not in ("dtcs", "iupr", "str", "time")]
    record = {"vin": VIN, "collected_at": draw(st.sampled_from([AT, "2024-03-15T10:30:00", "2024-03-15 02:30:00Z"]))}
    for rule in draw(st.lists(st.sampled_from(optional), unique=True)):
        record[rule.name] = draw(_valid(rule))
    if record.get("longitude") is None or record.get("latitude") is None:
        record.pop("longitude", None), record.pop("latitude", None)
    if draw(st.integers(0, 3)):
        rule = draw(st.sampled_from(optional))
        record[rule.name] = draw(_value(rule))
    return record


@settings(max_examples=300, deadline=None)
@given(records(STREAM_RULES))
def test_random_stream_records_get_the_same_verdict_from_both(record):
    fast, docs = verdicts(record, StreamRecordIn, StreamRecordInSchema)
    assert fast == docs, record


@settings(max_examples=200, deadline=None)
@given(records(INFO_RULES))
def test_random_info_records_get_the_same_verdict_from_both(record):
    fast, docs = verdicts(record, InfoRecordIn, InfoRecordInSchema)
    assert fast == docs, record


@pytest.mark.parametrize("message, field", [
    ("Expected `float` <= 250.996 - at `$.vehicle_speed`", "vehicle_speed"),
    ("Expected `str` matching regex - at `$.dtcs[3]`", "dtcs"),
    ("Object contains unknown field `x` - at `$`", "_record"),
    ("longitude: give longitude and latitude together, or neither - at `$`", "longitude"),
])
def test_msgspec_errors_name_the_record_field(message, field):
    assert error_field(message) == field
