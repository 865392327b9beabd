"""Canonical rows of the OBD record tables and the acceptance rules shared by the three ways
in (HTTP JSON batches, HTTP raw frames, the TCP gateway).  Pure.

A *candidate* is a plain tuple in the column order of STREAM_COLUMNS / INFO_COLUMNS minus the
two trailing columns (received_at, batch_id) that the storage appends: tuples, because the hot
path builds one per record and COPY writes them as they are (architecture.md: no per-record
objects on telemetry paths).  Its first three items are the deduplication key of the stream
table (vehicle, collection time, info type); the info table's key is its first two.

Values are physical units; None = not available.  Suspect encodings (NOx -200 ppm, -273 degC:
standards-telemetry.md 7.10) are stored as the numbers they encode and re-flagged on reading
(`stream_record_of`), so the alarm rules see exactly what the codec gave them.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from operator import itemgetter

from mobsrc.obd.hj1239.messages import Layout
from mobsrc.obd.hj1239.records import ObdRecord, ReportKind, StreamRecord
from mobsrc.obd.hj1239.tables import (
    ENGINE_BODY,
    IUPR_COUNTERS,
    MONITORS,
    STREAM_BODIES,
    InfoType,
    ValueStatus,
)

POSITION_FIELDS = ("position_status", "longitude", "latitude")
#: the engine data stream (type 0x02) fields that get their own column, in wire order
ENGINE_COLUMNS: tuple[str, ...] = tuple(f.name for f in ENGINE_BODY.fields
                                        if f.name not in POSITION_FIELDS)
_ENGINE_SET = frozenset(ENGINE_COLUMNS)
_ENGINE_VALUES = itemgetter(*ENGINE_COLUMNS)

STREAM_COLUMNS: tuple[str, ...] = (
    "vehicle_id", "collected_at", "info_type", "kind", "serial", *ENGINE_COLUMNS,
    "longitude", "latitude", "position_valid", "extra", "raw", "received_at", "batch_id")
STREAM_TYPES: tuple[str, ...] = (
    "int8", "timestamptz", "int2", "int2", "int4",
    *("float8" if name == "total_mileage" else "float4" for name in ENGINE_COLUMNS),
    "float8", "float8", "bool", "jsonb", "bytea", "timestamptz", "int8")
INFO_COLUMNS: tuple[str, ...] = (
    "vehicle_id", "collected_at", "kind", "serial", "protocol", "mil_on", "dtc_count", "dtcs",
    "cal_id", "cvn", "cvn_hex", "obd_vin", "obd_vin_check_ok", "support_map", "readiness_map",
    "iupr", "received_at", "batch_id")
INFO_TYPES: tuple[str, ...] = (
    "int8", "timestamptz", "int2", "int4", "int2", "bool", "int2", "jsonb", "text", "text",
    "text", "text", "bool", "int4", "int4", "jsonb", "timestamptz", "int8")

#: the command a record arrived under: 0x02 real-time, 0x03 re-sent (1.5)
KIND_CODES = {ReportKind.REALTIME: 2, ReportKind.RESENT: 3}
KINDS = {code: kind for kind, code in KIND_CODES.items()}

# index of the engine fields and position inside a stream candidate
ENGINE_AT = 5
LONGITUDE_AT = ENGINE_AT + len(ENGINE_COLUMNS)


class ItemStatus(StrEnum):
    ACCEPTED = "accepted"      # stored now
    DUPLICATE = "duplicate"    # the same vehicle and collection time (and type) is stored already
    REJECTED = "rejected"      # not stored; see the reason


class RejectReason(StrEnum):
    """Stable per-item codes (style.md: an enum of reasons, GeoNature's ImportCodeError)."""
    INVALID = "invalid"                        # a JSON record fails validation (see field)
    UNKNOWN_VEHICLE = "unknown_vehicle"        # VIN not registered, or not the submitter's
    FUTURE_TIMESTAMP = "future_timestamp"      # collected after now + tolerance (7.7)
    TOO_OLD = "too_old"                        # collected before now - max age (1.13, 5 days)
    NO_COLLECTION_TIME = "no_collection_time"  # wire time that is no calendar time (7.7)
    UNKNOWN_INFO_TYPE = "unknown_info_type"    # info block of unknown length (7.2)
    NOT_LOGGED_IN = "not_logged_in"            # gateway: no login for this VIN on the link
    UNDECODABLE = "undecodable"                # length and BCC fine, data unit malformed
    ENCRYPTED = "encrypted"                    # encryption byte != 0x01: kept out (1.6)


@dataclass(frozen=True, slots=True)
class AcceptanceWindow:
    """Collection times accepted relative to the receiving time.  Defaults: re-sent data is at
    most 5 x 24 h old (HJ 1239.1, 1.13) plus two days of slack; future times beyond 5 minutes
    are bogus clocks (7.7) [SECONDARY].  Both configurable (obd/settings.py)."""
    max_age: timedelta = timedelta(days=7)
    future_tolerance: timedelta = timedelta(minutes=5)

    def bounds(self, now: datetime) -> tuple[datetime, datetime]:
        return now - self.max_age, now + self.future_tolerance

    @staticmethod
    def reason(at: datetime, earliest: datetime, latest: datetime) -> RejectReason | None:
        if at > latest:
            return RejectReason.FUTURE_TIMESTAMP
        if at < earliest:
            return RejectReason.TOO_OLD
        return None


# --- candidates from decoded frames -----------------------------------------------------------
def stream_candidate(vehicle_id: int, record: StreamRecord) -> tuple:
    """A codec StreamRecord -> stream candidate.  Fields of other bodies go to `extra`."""
    values = record.values
    if record.info_type == InfoType.ENGINE:
        engine = _ENGINE_VALUES(values)
        extra = None
    else:
        engine = tuple(values.get(name) for name in ENGINE_COLUMNS)
        extra = {k: v for k, v in values.items() if k not in _ENGINE_SET} or None
    raw = STREAM_BODIES[record.info_type].struct.pack(*record.raw)
    return (vehicle_id, record.collected_at, record.info_type, KIND_CODES[record.kind],
            record.serial, *engine, record.longitude, record.latitude, record.position_valid,
            extra, raw)


def _text(value: str) -> str:
    """PostgreSQL text cannot hold NUL; terminals pad with it (7.14)."""
    return value.replace("\x00", "")


def info_candidate(vehicle_id: int, record: ObdRecord) -> tuple:
    dtcs = [{"raw": f"{code:08X}", "code": text} for code, text in zip(record.dtcs, record.dtc_codes)]
    protocol = record.protocol if record.protocol < 0xFE else None
    return (vehicle_id, record.collected_at, KIND_CODES[record.kind], record.serial, protocol,
            record.mil_on, record.dtc_count, dtcs, _text(record.cal_id), _text(record.cvn),
            record.cvn_hex, _text(record.obd_vin), record.obd_vin_check_ok, record.support_map,
            record.readiness_map, dict(record.iupr))


def latest_stream_state(candidate: tuple) -> dict:
    """What the vehicle state keeps of its latest sample."""
    state = {name: candidate[ENGINE_AT + i] for i, name in enumerate(ENGINE_COLUMNS)}
    lon, lat, valid = candidate[LONGITUDE_AT:LONGITUDE_AT + 3]
    state.update(info_type=candidate[2], kind=KINDS[candidate[3]].value, longitude=lon,
                 latitude=lat, position_valid=valid)
    return state


def latest_obd_state(candidate: tuple) -> dict:
    (_, _, _, _, protocol, mil_on, dtc_count, dtcs, cal_id, cvn, cvn_hex, obd_vin, vin_ok,
     *_rest) = candidate
    return {"protocol": protocol, "mil_on": mil_on, "dtc_count": dtc_count,
            "dtc_codes": [d["code"] for d in dtcs], "cal_id": cal_id, "cvn": cvn,
            "cvn_hex": cvn_hex, "obd_vin": obd_vin, "obd_vin_check_ok": vin_ok}


# --- rows read back, as the codec's records (for the alarm rules) ------------------------------
def _suspect_values() -> dict[str, float]:
    return {f.name: f.scaled(f.suspect_raw) for f in ENGINE_BODY.fields if f.suspect_raw is not None}


_SUSPECT = _suspect_values()


def engine_statuses(values: dict[str, float | None]) -> dict[str, ValueStatus]:
    """Statuses re-derived from stored values: None was not a measurement, a suspect encoding
    keeps its number but is flagged (what the codec's scaler says on the wire)."""
    statuses = {name: ValueStatus.INVALID for name, value in values.items() if value is None}
    for name, suspect in _SUSPECT.items():
        if values.get(name) == suspect:
            statuses[name] = ValueStatus.SUSPECT
    return statuses


def stream_record_of(vin: str, collected_at: datetime, info_type: int, kind: int,
                     serial: int | None, engine: Sequence[float | None], longitude: float | None,
                     latitude: float | None, position_valid: bool | None,
                     extra: dict | None = None) -> StreamRecord:
    values = dict(zip(ENGINE_COLUMNS, engine))
    if info_type != InfoType.ENGINE:
        values = {k: v for k, v in values.items() if v is not None} | (extra or {})
    return StreamRecord(vin, collected_at, KINDS[kind], info_type, serial, values,
                        engine_statuses(values), (), longitude, latitude, bool(position_valid),
                        Layout.HJ)


def obd_record_of(vin: str, collected_at: datetime, kind: int, serial: int | None,
                  protocol: int | None, mil_on: bool | None, dtc_count: int | None, dtcs: list,
                  cal_id: str, cvn: str, cvn_hex: str, obd_vin: str, obd_vin_check_ok: bool,
                  support_map: int, readiness_map: int, iupr: dict) -> ObdRecord:
    return ObdRecord(
        vin, collected_at, KINDS[kind], serial, Layout.HJ, 0xFE if protocol is None else protocol,
        mil_on, dtc_count, tuple(int(d["raw"], 16) for d in dtcs), tuple(d["code"] for d in dtcs),
        cal_id, cvn, cvn_hex, obd_vin, obd_vin_check_ok, support_map, readiness_map,
        tuple(m for i, m in enumerate(MONITORS) if support_map >> i & 1),
        tuple(m for i, m in enumerate(MONITORS) if readiness_map >> i & 1),
        {name: iupr.get(name, 0) for name in IUPR_COUNTERS})
