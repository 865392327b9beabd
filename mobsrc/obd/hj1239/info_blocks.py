"""Frozen dataclasses of the info blocks carried by real-time / re-send reports.

Stream blocks keep the raw integers in wire order (`raw`, one tuple from one struct unpack);
`measurement(name)` gives raw + physical value + status on demand, so the hot path builds no
per-field objects.  Sections cited are those of standards-telemetry.md.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from mobsrc.core.values import quick_init
from mobsrc.obd.hj1239.framing import vin_check_ok
from mobsrc.obd.hj1239.tables import (
    ENGINE_BODY,
    HYBRID_BODY,
    IUPR_COUNTERS,
    MONITORS,
    OBD_PROTOCOLS,
    SUPPLEMENTARY_BODY,
    TWC_BODY,
    TWC_NOX_BODY,
    BodySpec,
    InfoType,
    ValueStatus,
)


# --- measured values ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Measurement:
    name: str
    raw: int
    value: float | None      # None when status is invalid / error / out_of_range
    status: ValueStatus
    unit: str


@dataclass(frozen=True, slots=True)
class Position:
    """Positioning status bits + unsigned magnitudes (1.10) [CONFIRMED]."""
    status: int          # bit0 1 = invalid fix (last known), bit1 south, bit2 west
    longitude_raw: int   # 1e-6 deg, 0xFFFFFFFF invalid
    latitude_raw: int

    @property
    def is_fix_valid(self) -> bool:
        return not self.status & 0x01

    @property
    def longitude(self) -> float | None:
        """Signed degrees (west negative); None when the raw value is no coordinate."""
        if self.longitude_raw > 180_000_000:
            return None
        return -self.longitude_raw / 1e6 if self.status & 0x04 else self.longitude_raw / 1e6

    @property
    def latitude(self) -> float | None:
        if self.latitude_raw > 90_000_000:
            return None
        return -self.latitude_raw / 1e6 if self.status & 0x02 else self.latitude_raw / 1e6

    @classmethod
    def from_degrees(cls, lon: float | None, lat: float | None, fix_valid: bool = True) -> Position:
        """Signed degrees -> status bits + magnitudes; None -> 0xFFFFFFFF."""
        status = (0 if fix_valid else 0x01) | (0x02 if lat is not None and lat < 0 else 0)
        status |= 0x04 if lon is not None and lon < 0 else 0
        return cls(status, _magnitude(lon), _magnitude(lat))


def _magnitude(degrees: float | None) -> int:
    return 0xFFFFFFFF if degrees is None else round(abs(degrees) * 1_000_000)


# --- info blocks ----------------------------------------------------------------------------
class _StreamBlock:
    """Measurement accessors shared by the fixed-size stream blocks."""
    __slots__ = ()
    body: ClassVar[BodySpec]

    def measurement(self, name: str) -> Measurement:
        spec = self.body.field(name)
        raw = self.raw[self.body.index[name]]
        return Measurement(name, raw, spec.physical(raw), spec.status(raw), spec.unit)

    def value(self, name: str) -> float | None:
        """Physical value if the raw value is a measurement (valid or suspect), else None."""
        return self.measurement(name).value

    def measurements(self) -> dict[str, Measurement]:
        return {spec.name: self.measurement(spec.name) for spec in self.body.fields}

    @property
    def position(self) -> Position | None:
        index = self.body.index.get("position_status")
        return None if index is None else Position(*self.raw[index:index + 3])

    @classmethod
    def _raw_from_values(cls, body: BodySpec, values: dict) -> tuple[int, ...]:
        values = dict(values)
        if "position_status" in body.index and "longitude" in values:
            position = Position.from_degrees(values.pop("longitude"), values.pop("latitude", None),
                                             values.pop("position_valid", True))
            values.update(position_status=position.status, longitude=position.longitude_raw,
                          latitude=position.latitude_raw)
            raws = {"position_status", "longitude", "latitude"}
        else:
            raws = {"position_status"}
        unknown = set(values) - set(body.index)
        if unknown:
            raise ValueError(f"{body.name}: unknown fields {sorted(unknown)}")
        return tuple(values.get(f.name, 0) if f.name in raws else f.to_raw(values.get(f.name))
                     for f in body.fields)


@quick_init
@dataclass(frozen=True, slots=True)
class EngineStream(_StreamBlock):
    """Type 0x02: compression ignition with DPF/SCR, 37 bytes (1.10)."""
    collected_at: datetime | None
    serial: int | None           # per-block serial in the GB layout, None in HJ
    raw: tuple[int, ...]
    body: ClassVar[BodySpec] = ENGINE_BODY
    info_type: ClassVar[int] = InfoType.ENGINE

    @classmethod
    def from_values(cls, collected_at=None, serial=None, **values) -> EngineStream:
        """Build from physical values (missing ones -> invalid marker); longitude/latitude
        signed degrees with optional position_valid=False."""
        return cls(collected_at, serial, cls._raw_from_values(cls.body, values))


@quick_init
@dataclass(frozen=True, slots=True)
class TwcStream(_StreamBlock):
    """Type 0x03 (30 bytes) or, with_nox, type 0x05 (32 bytes) — HJ only (1.11)."""
    collected_at: datetime | None
    serial: int | None
    raw: tuple[int, ...]
    with_nox: bool = False

    @property
    def body(self) -> BodySpec:
        return TWC_NOX_BODY if self.with_nox else TWC_BODY

    @property
    def info_type(self) -> int:
        return InfoType.TWC_NOX if self.with_nox else InfoType.TWC

    @classmethod
    def from_values(cls, collected_at=None, serial=None, with_nox=False, **values) -> TwcStream:
        body = TWC_NOX_BODY if with_nox else TWC_BODY
        return cls(collected_at, serial, cls._raw_from_values(body, values), with_nox)


@quick_init
@dataclass(frozen=True, slots=True)
class HybridStream(_StreamBlock):
    """Type 0x04, 8 bytes (1.11)."""
    collected_at: datetime | None
    serial: int | None
    raw: tuple[int, ...]
    body: ClassVar[BodySpec] = HYBRID_BODY
    info_type: ClassVar[int] = InfoType.HYBRID

    @classmethod
    def from_values(cls, collected_at=None, serial=None, **values) -> HybridStream:
        return cls(collected_at, serial, cls._raw_from_values(cls.body, values))


@quick_init
@dataclass(frozen=True, slots=True)
class SupplementaryStream(_StreamBlock):
    """Type 0x80, 17 bytes [SECONDARY] (1.11)."""
    collected_at: datetime | None
    serial: int | None
    raw: tuple[int, ...]
    body: ClassVar[BodySpec] = SUPPLEMENTARY_BODY
    info_type: ClassVar[int] = InfoType.SUPPLEMENTARY

    @classmethod
    def from_values(cls, collected_at=None, serial=None, **values) -> SupplementaryStream:
        return cls(collected_at, serial, cls._raw_from_values(cls.body, values))


_IUPR = struct.Struct(">18H")


@dataclass(frozen=True, slots=True)
class ObdInfo:
    """Type 0x01, 96 + 4n bytes (1.9).  Strings kept byte-exact (latin-1 / bytes)."""
    collected_at: datetime | None
    serial: int | None
    protocol: int              # 0 ISO 15765, 1 ISO 27145, 2 SAE J1939, 0xFE invalid
    mil: int                   # 0 off, 1 on, 0xFE invalid
    support_map: int
    readiness_map: int         # bit 1 = test not complete
    vin: str                   # as read from the ECU, 17 chars (latin-1)
    cal_id_raw: bytes          # 18 bytes
    cvn_raw: bytes             # 18 bytes
    iupr_raw: bytes            # 36 bytes
    dtc_count: int             # 0-253, 0xFE invalid
    dtcs: tuple[int, ...] = () # 4-byte codes as big-endian integers
    info_type: ClassVar[int] = InfoType.OBD

    @property
    def mil_on(self) -> bool | None:
        return {0: False, 1: True}.get(self.mil)

    @property
    def protocol_name(self) -> str | None:
        return OBD_PROTOCOLS.get(self.protocol)

    @property
    def vin_check_ok(self) -> bool:
        return vin_check_ok(self.vin)

    @property
    def cal_id(self) -> str:
        """CAL ID text without trailing NUL/space padding ('0' padding is kept, 7.14)."""
        return self.cal_id_raw.decode("latin-1").rstrip("\x00 ")

    @property
    def cvn(self) -> str:
        """Display form: 4 binary bytes + NULs -> 8 hex digits; ASCII -> text; else hex."""
        raw = self.cvn_raw
        if not raw[4:].strip(b"\x00"):
            return raw[:4].hex().upper()
        text = raw.rstrip(b"\x00 ")
        if all(0x20 <= b < 0x7F for b in text):
            return text.decode("ascii")
        return raw.hex().upper()

    @property
    def cvn_hex(self) -> str:
        """All 18 bytes in hex: the exact value to compare for CVN changes."""
        return self.cvn_raw.hex().upper()

    @property
    def iupr(self) -> dict[str, int]:
        return dict(zip(IUPR_COUNTERS, _IUPR.unpack(self.iupr_raw)))

    @property
    def iupr_ascii_filled(self) -> bool:
        """Some terminals fill IUPR with ASCII '0' (7.14)."""
        return self.iupr_raw == b"0" * 36

    @property
    def supported_monitors(self) -> tuple[str, ...]:
        return tuple(m for i, m in enumerate(MONITORS) if self.support_map >> i & 1)

    @property
    def incomplete_monitors(self) -> tuple[str, ...]:
        return tuple(m for i, m in enumerate(MONITORS) if self.readiness_map >> i & 1)

    @property
    def dtc_codes(self) -> tuple[str, ...]:
        return tuple(describe_dtc(code, self.protocol) for code in self.dtcs)


def describe_dtc(code: int, protocol: int) -> str:
    """Display form of a 4-byte DTC [UNCONFIRMED layout, 1.9]: J1939 -> 'SPN n FMI f OC o',
    otherwise SAE J2012 'P1456-00/AF' (2-byte code, failure type byte, status byte)."""
    if protocol == 2:
        b0, b1, b2, b3 = code.to_bytes(4, "big")
        spn = b0 | b1 << 8 | (b2 >> 5) << 16
        return f"SPN {spn} FMI {b2 & 0x1F} OC {b3 & 0x7F}"
    letter = "PCBU"[code >> 30]
    return f"{letter}{code >> 16 & 0x3FFF:04X}-{code >> 8 & 0xFF:02X}/{code & 0xFF:02X}"


@dataclass(frozen=True, slots=True)
class UnknownBlock:
    """An info type without a known length: the rest of the data unit, kept raw (7.2)."""
    info_type: int
    data: bytes
    collected_at: datetime | None = None
    serial: int | None = None


InfoBlock = ObdInfo | EngineStream | TwcStream | HybridStream | SupplementaryStream | UnknownBlock


@dataclass(frozen=True, slots=True)
class Signature:
    """HJ SM2 signature: R length, R, S length, S (1.12)."""
    r: bytes
    s: bytes
