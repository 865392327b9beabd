"""Flatten decoded 0x02/0x03 frames into canonical telemetry rows.

One StreamRecord per stream block and one ObdRecord per OBD block, keyed for idempotent
upsert by (vin, info type, collected_at) — never by serial (1.16 step 7, 7.5-7.6).  Raw
integers travel with every row so scaling fixes can be re-applied (`rescale`, 7.20).
The HTTP endpoint and the TCP gateway both produce these rows.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from mobsrc.core.values import quick_init
from mobsrc.obd.hj1239.framing import vin_check_ok
from mobsrc.obd.hj1239.messages import Frame, Layout, ObdInfo, Report, ResentReport, UnknownBlock
from mobsrc.obd.hj1239.tables import (
    OBD_FIELD,
    STREAM_BODIES,
    BodySpec,
    Markers,
    ValueStatus,
)

_POSITION_FIELDS = ("position_status", "longitude", "latitude")


class ReportKind(StrEnum):
    REALTIME = "realtime"
    RESENT = "resent"


class RecordRejectReason(StrEnum):
    NO_COLLECTION_TIME = "no_collection_time"   # wire time not a calendar time (7.7)
    UNKNOWN_INFO_TYPE = "unknown_info_type"     # body length unknown, kept raw (7.2)


@dataclass(frozen=True, slots=True)
class ClockCheck:
    """Bogus-clock flags (7.7) [SECONDARY]: collection time after received_at + max_future,
    or before `earliest` (GB 17691 terminals exist since 2019)."""
    max_future: timedelta = timedelta(minutes=5)
    earliest: datetime = datetime(2019, 1, 1, tzinfo=UTC)

    def is_suspect(self, at: datetime, received_at: datetime | None) -> bool:
        if at < self.earliest:
            return True
        return received_at is not None and at > received_at + self.max_future


DEFAULT_CLOCK_CHECK = ClockCheck()


@quick_init
@dataclass(frozen=True, slots=True)
class StreamRecord:
    vin: str
    collected_at: datetime                 # UTC
    kind: ReportKind
    info_type: int
    serial: int | None
    values: Mapping[str, float | None]     # physical values, None = not available
    statuses: Mapping[str, ValueStatus]    # only the fields whose status is not VALID
    raw: tuple[int, ...]                   # wire order of tables.STREAM_BODIES[info_type]
    longitude: float | None                # signed degrees WGS-84 as sent; None = no coordinate
    latitude: float | None
    position_valid: bool                   # False: last known fix (status bit 0)
    layout: Layout
    clock_suspect: bool = False

    @property
    def mileage_km(self) -> float | None:
        return self.values.get("total_mileage")

    def valid_value(self, name: str) -> float | None:
        """The value only when its status is VALID (suspect values give None)."""
        return None if name in self.statuses else self.values.get(name)


@quick_init
@dataclass(frozen=True, slots=True)
class ObdRecord:
    vin: str                           # header VIN (the logged-in vehicle)
    collected_at: datetime
    kind: ReportKind
    serial: int | None
    layout: Layout
    protocol: int                      # raw: 0 ISO 15765, 1 ISO 27145, 2 J1939, 0xFE invalid
    mil_on: bool | None                # None: invalid marker
    dtc_count: int | None              # None: invalid marker
    dtcs: tuple[int, ...]              # raw 4-byte codes
    dtc_codes: tuple[str, ...]         # display form [UNCONFIRMED layout]
    cal_id: str
    cvn: str                           # display form
    cvn_hex: str                       # all 18 bytes, for change detection
    obd_vin: str                       # VIN read from the ECU
    obd_vin_check_ok: bool
    support_map: int
    readiness_map: int
    supported_monitors: tuple[str, ...]
    incomplete_monitors: tuple[str, ...]
    iupr: Mapping[str, int]
    clock_suspect: bool = False


@dataclass(frozen=True, slots=True)
class RecordRejected:
    vin: str
    info_type: int
    block_index: int
    reason: RecordRejectReason


@quick_init
@dataclass(frozen=True, slots=True)
class FrameRecords:
    streams: tuple[StreamRecord, ...] = ()
    obd: tuple[ObdRecord, ...] = ()
    rejected: tuple[RecordRejected, ...] = ()

    @property
    def count(self) -> int:
        return len(self.streams) + len(self.obd) + len(self.rejected)


# --- scaling ----------------------------------------------------------------------------------
class _Scaler:
    """Per-body scaling: a generated fast path for the all-valid case, a generic loop else."""
    __slots__ = ("fields", "position_at", "_fast")

    def __init__(self, body: BodySpec):
        self.fields = tuple(
            (f.name, i, f.scale[0], f.scale[1], f.bias, f.raw_min, f.raw_max, f.suspect_raw, f)
            for i, f in enumerate(body.fields)
            if f.name not in _POSITION_FIELDS and f.markers is not Markers.NONE)
        self.position_at = body.index.get("position_status")
        self._fast = _compile_all_valid(self.fields, len(body.fields))

    def scale(self, raw: tuple[int, ...]) -> tuple[dict, dict]:
        values = self._fast(raw)
        return (values, {}) if values is not None else self.scale_generic(raw)

    def scale_generic(self, raw: tuple[int, ...]) -> tuple[dict, dict]:
        values: dict[str, float | None] = {}
        statuses: dict[str, ValueStatus] = {}
        for name, i, num, den, bias, lo, hi, suspect, spec in self.fields:
            r = raw[i]
            if lo <= r <= hi:
                values[name] = (r * num + bias * den) / den
                if r == suspect:
                    statuses[name] = ValueStatus.SUSPECT
            else:
                values[name] = None
                statuses[name] = spec.status(r)
        return values, statuses

    def position(self, raw: tuple[int, ...]) -> tuple[float | None, float | None, bool]:
        if self.position_at is None:
            return None, None, False
        status, lon, lat = raw[self.position_at:self.position_at + 3]
        lon_deg = None if lon > 180_000_000 else (-lon if status & 0x04 else lon) / 1e6
        lat_deg = None if lat > 90_000_000 else (-lat if status & 0x02 else lat) / 1e6
        return lon_deg, lat_deg, not status & 0x01


def _compile_all_valid(fields: tuple, width: int):
    """Generate `f(raw) -> dict | None`: the values when every field is VALID (in range and
    not suspect), None otherwise.  Only table constants enter the generated source."""
    checks, items = [], []
    for name, i, num, den, bias, lo, hi, suspect, _ in fields:
        not_suspect = "" if suspect is None else f" and r{i} != {suspect}"
        checks.append(f"{lo} <= r{i} <= {hi}{not_suspect}")
        term = f"r{i}" if num == 1 else f"r{i} * {num}"
        term = f"({term} + {bias * den})" if bias else term
        items.append(f"{name!r}: {term} / {den}")
    unpack = ", ".join(f"r{i}" for i in range(width))
    source = (f"def scale_all_valid(raw):\n    {unpack}, = raw\n"
              f"    if not ({' and '.join(checks)}):\n        return None\n"
              f"    return {{{', '.join(items)}}}\n")
    namespace: dict = {}
    exec(compile(source, "<hj1239 scaler>", "exec"), namespace)  # noqa: S102 — constants only
    return namespace["scale_all_valid"]


_SCALERS: dict[int, _Scaler] = {t: _Scaler(body) for t, body in STREAM_BODIES.items()}


def stream_record(vin: str, kind: ReportKind, layout: Layout, block, *,
                  clock_suspect: bool = False, body: BodySpec | None = None) -> StreamRecord:
    """One stream block (with a collection time) -> StreamRecord."""
    scaler = _SCALERS[block.info_type] if body is None else _Scaler(body)
    raw = block.raw
    values, statuses = scaler.scale(raw)
    lon, lat, fix_valid = scaler.position(raw)
    return StreamRecord(vin, block.collected_at, kind, block.info_type, block.serial, values,
                        statuses, raw, lon, lat, fix_valid, layout, clock_suspect)


def rescale(record: StreamRecord, body: BodySpec | None = None) -> StreamRecord:
    """Re-apply scaling from the stored raw values, e.g. with a corrected BodySpec."""
    scaler = _SCALERS[record.info_type] if body is None else _Scaler(body)
    values, statuses = scaler.scale(record.raw)
    lon, lat, fix_valid = scaler.position(record.raw)
    return replace(record, values=values, statuses=statuses, longitude=lon, latitude=lat,
                   position_valid=fix_valid)


def obd_record(vin: str, kind: ReportKind, layout: Layout, block: ObdInfo, *,
               clock_suspect: bool = False) -> ObdRecord:
    count_ok = OBD_FIELD["dtc_count"].status(block.dtc_count) is ValueStatus.VALID
    count = block.dtc_count if count_ok else None
    return ObdRecord(
        vin, block.collected_at, kind, block.serial, layout, block.protocol, block.mil_on, count,
        block.dtcs, block.dtc_codes, block.cal_id, block.cvn, block.cvn_hex, block.vin,
        vin_check_ok(block.vin), block.support_map, block.readiness_map,
        block.supported_monitors, block.incomplete_monitors, block.iupr, clock_suspect)


# --- frames -----------------------------------------------------------------------------------
def flatten_frame(frame: Frame, *, received_at: datetime | None = None,
                  clock: ClockCheck = DEFAULT_CLOCK_CHECK) -> FrameRecords:
    """Rows of a decoded 0x02/0x03 frame; other frames give no rows."""
    report = frame.message
    if not isinstance(report, Report):
        return FrameRecords()
    return flatten_report(frame.header.vin, report, received_at=received_at, clock=clock)


def flatten_report(vin: str, report: Report, *, received_at: datetime | None = None,
                   clock: ClockCheck = DEFAULT_CLOCK_CHECK) -> FrameRecords:
    kind = ReportKind.RESENT if isinstance(report, ResentReport) else ReportKind.REALTIME
    streams: list[StreamRecord] = []
    obd: list[ObdRecord] = []
    rejected: list[RecordRejected] = []
    for index, block in enumerate(report.blocks):
        reason = _reject_reason(block)
        if reason is not None:
            rejected.append(RecordRejected(vin, block.info_type, index, reason))
            continue
        suspect = clock.is_suspect(block.collected_at, received_at)
        if isinstance(block, ObdInfo):
            obd.append(obd_record(vin, kind, report.layout, block, clock_suspect=suspect))
        else:
            streams.append(stream_record(vin, kind, report.layout, block, clock_suspect=suspect))
    return FrameRecords(tuple(streams), tuple(obd), tuple(rejected))


def _reject_reason(block) -> RecordRejectReason | None:
    if isinstance(block, UnknownBlock):
        return RecordRejectReason.UNKNOWN_INFO_TYPE
    if block.collected_at is None:
        return RecordRejectReason.NO_COLLECTION_TIME
    return None
