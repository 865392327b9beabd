"""The JSON batch a remote-sensing station posts, decoded item by item (msgspec: no per-record
marshmallow on the hot path). Pure: bytes in, `ReadingDraft | RejectedItem` out.

    {"station_code": "GY-RS-001",            # optional; if given it must be the poster's own
     "readings": [{"measured_at": "2025-03-01T10:00:00.250+08:00", "lane": 1,
                   "plate": "贵A12345", "plate_colour": "yellow", "record_id": "20250301-000123",
                   "speed_kmh": 42.5, "accel_ms2": 0.4, "vsp_kw_t": null,
                   "opacity_pct": 12.0, "k_m1": null, "ringelmann_grade": 0,
                   "no_ppm": 600, "co_pct": 0.1, "hc_ppm": 40, "co2_pct": 3.1,
                   "wind_ms": 1.2, "wind_dir_deg": 90, "temp_c": 18, "rh_pct": 60,
                   "pressure_kpa": 88.5, "rain": false, "slope_deg": 0.5,
                   "evidence": [{"type": "image", "id": "IMG-1", "sha256": "<64 hex>", "role": "plate"}]}]}

One bad reading never sinks the batch: each item is decoded on its own and a bad one comes back
as `RejectedItem` with (field, reason) pairs. Unknown fields are refused, so a misspelt
pollutant name is reported rather than silently dropped (it would then never be judged).
A time without an offset is Beijing time (the API's convention); a time more than
`FUTURE_TOLERANCE` ahead of the server clock is refused (device clock wrong).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from mobsrc.registry.identifiers import PlateColour, normalize_plate, parse_plate_colour
from mobsrc.remote_sensing.limits import LOCAL_TIMEZONE
from mobsrc.remote_sensing.readings import MalformedReading, Reading

MAX_READINGS_PER_BATCH = 5000
FUTURE_TOLERANCE = timedelta(minutes=5)
PLATE_MAX_LENGTH = 10
# What ANPR cameras write when they read no plate; stored as "no plate" (None).
NO_PLATE_MARKERS = frozenset({"", "无车牌", "无牌", "未识别", "未知", "无", "NOPLATE", "UNKNOWN", "NONE", "-"})

_Text = Annotated[str, Meta(min_length=1, max_length=200)]


class EvidenceIn(msgspec.Struct, forbid_unknown_fields=True):
    type: Literal["image", "video"]
    id: _Text
    sha256: Annotated[str, Meta(pattern="^[0-9a-fA-F]{64}$")]
    role: Annotated[str, Meta(max_length=20)] | None = None  # plate, far, near, smoke, ...


class ReadingIn(msgspec.Struct, forbid_unknown_fields=True):
    measured_at: datetime
    lane: Annotated[int, Meta(ge=1, le=99)]
    speed_kmh: float
    accel_ms2: float
    plate: Annotated[str, Meta(max_length=20)] | None = None
    plate_colour: Annotated[str, Meta(max_length=20)] | None = None   # parse_plate_colour
    record_id: Annotated[str, Meta(min_length=1, max_length=64)] | None = None
    vsp_kw_t: float | None = None
    opacity_pct: float | None = None
    k_m1: float | None = None
    ringelmann_grade: float | None = None
    no_ppm: float | None = None
    co_pct: float | None = None
    hc_ppm: float | None = None
    co2_pct: float | None = None
    wind_ms: float | None = None
    wind_dir_deg: Annotated[float, Meta(ge=0, le=360)] | None = None
    temp_c: float | None = None
    rh_pct: float | None = None
    pressure_kpa: Annotated[float, Meta(gt=0, le=200)] | None = None
    rain: bool | None = None
    slope_deg: float | None = None
    evidence: Annotated[list[EvidenceIn], Meta(max_length=20)] = []


class _Envelope(msgspec.Struct, forbid_unknown_fields=True):
    readings: list[msgspec.Raw]
    station_code: str | None = None


# Reading fields copied one to one from the wire (everything but time, plate and evidence).
MEASURED_FIELDS = (
    "speed_kmh", "accel_ms2", "vsp_kw_t", "opacity_pct", "k_m1", "ringelmann_grade", "no_ppm",
    "co_pct", "hc_ppm", "co2_pct", "wind_ms", "temp_c", "rh_pct", "rain", "slope_deg",
)


class BatchError(ValueError):
    """The envelope itself is unusable (not JSON, no readings array, too many)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Envelope:
    station_code: str | None
    items: list[msgspec.Raw]


@dataclass(frozen=True)
class EvidenceRef:
    type: str
    id: str
    sha256: str
    role: str | None = None

    def as_dict(self) -> dict:
        fields = {"type": self.type, "id": self.id, "sha256": self.sha256}
        return fields | ({"role": self.role} if self.role else {})


@dataclass(frozen=True)
class ReadingDraft:
    """A reading that passed every check, with what the judgement does not use."""

    reading: Reading
    record_id: str | None
    wind_dir_deg: float | None
    pressure_kpa: float | None
    evidence: tuple[EvidenceRef, ...]

    @property
    def key(self) -> tuple:
        """What makes two posts the same pass: (lane, time, plate) at one station."""
        return (self.reading.lane, self.reading.measured_at, self.reading.plate)


@dataclass(frozen=True)
class ItemProblem:
    field: str
    reason: str


@dataclass(frozen=True)
class RejectedItem:
    problems: tuple[ItemProblem, ...]


def decode_envelope(body: bytes) -> Envelope:
    """The batch's items, still undecoded, or BatchError."""
    try:
        envelope = msgspec.json.decode(body, type=_Envelope)
    except msgspec.ValidationError as exc:
        raise BatchError(*_located(str(exc), "readings")) from exc
    except msgspec.DecodeError as exc:
        raise BatchError("_body", f"not valid JSON: {exc}") from exc
    if not envelope.readings:
        raise BatchError("readings", "give at least one reading")
    if len(envelope.readings) > MAX_READINGS_PER_BATCH:
        raise BatchError("readings", f"at most {MAX_READINGS_PER_BATCH} readings per batch")
    return Envelope(envelope.station_code, envelope.readings)


def decode_reading(
    raw: bytes, station_code: str, now: datetime, lanes: int | None = None
) -> ReadingDraft | RejectedItem:
    """One item of a batch from `station_code` (with `lanes` lanes, if known) at server time `now`."""
    try:
        item = msgspec.json.decode(raw, type=ReadingIn)
    except msgspec.ValidationError as exc:
        return _rejected(*_located(str(exc), "_item"))
    except msgspec.DecodeError as exc:  # pragma: no cover - the envelope was valid JSON
        return _rejected("_item", str(exc))
    try:
        return _draft(item, station_code, now, lanes)
    except MalformedReading as exc:
        return _rejected(exc.field, exc.reason)


def _draft(item: ReadingIn, station_code: str, now: datetime, lanes: int | None) -> ReadingDraft:
    measured_at = _utc(item.measured_at)
    if measured_at > now + FUTURE_TOLERANCE:
        raise MalformedReading("measured_at", "lies in the future: check the device clock")
    if lanes is not None and item.lane > lanes:
        raise MalformedReading("lane", f"the station has {lanes} lane(s)")
    reading = Reading(
        station_code=station_code, measured_at=measured_at, lane=item.lane,
        plate=_plate(item.plate), plate_colour=_colour(item.plate_colour),
        **{name: getattr(item, name) for name in MEASURED_FIELDS},
    )
    evidence = tuple(EvidenceRef(e.type, e.id, e.sha256.lower(), e.role) for e in item.evidence)
    return ReadingDraft(reading, item.record_id, item.wind_dir_deg, item.pressure_kpa, evidence)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=LOCAL_TIMEZONE)
    return value.astimezone(UTC)


def _plate(text: str | None) -> str | None:
    if text is None:
        return None
    plate = normalize_plate(text)
    if plate in NO_PLATE_MARKERS:
        return None
    if len(plate) > PLATE_MAX_LENGTH:
        raise MalformedReading("plate", f"more than {PLATE_MAX_LENGTH} characters once normalised")
    return plate


def _colour(text: str | None) -> PlateColour | None:
    """The API's values or the Chinese names devices write (黄, 蓝, 渐变绿...)."""
    if text is None:
        return None
    colour = parse_plate_colour(text)
    if colour is None:
        raise MalformedReading("plate_colour", f"unknown plate colour {text!r}: one of "
                               + ", ".join(c.value for c in PlateColour) + " (or 蓝, 黄, 绿, 黄绿, 黑, 白, 其他)")
    return colour


def _rejected(field: str, reason: str) -> RejectedItem:
    return RejectedItem((ItemProblem(field, reason),))


_AT = re.compile(r"^(?P<reason>.*?) - at `\$(?P<path>[^`]*)`$")
_NAMED = re.compile(r"field `(?P<field>[^`]+)`")


def _located(message: str, default: str) -> tuple[str, str]:
    """msgspec's "Expected `int` >= 1 - at `$.lane`" -> ("lane", "Expected `int` >= 1")."""
    match = _AT.match(message)
    if match:
        path = match["path"].lstrip(".").replace("[", ".").replace("]", "")
        return path or default, match["reason"]
    named = _NAMED.search(message)
    return (named["field"] if named else default), message
