"""The JSON telemetry record formats, as one table of field rules from which both validators
are built: a compiled msgspec Struct for the hot path and a marshmallow schema for the API's
documentation (architecture.md: no per-record marshmallow on telemetry paths; marshmallow
stays the schema language of the docs).  Tests feed both the same inputs and require the same
verdicts (tests/unit/obd/test_record_specs.py).  Pure.

Ranges are the published valid ranges of the wire fields (hj1239/tables.py); null means "not
available", as the wire's invalid markers do.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from mobsrc.obd.hj1239.tables import IUPR_COUNTERS
from mobsrc.obd.rows import ENGINE_COLUMNS

VIN_PATTERN = r"\A[A-Z0-9]{17}\Z"        # registered VINs are checked against the registry
DTC_PATTERN = r"\A[0-9A-Fa-f]{8}\Z"       # 4 raw bytes, as on the wire (1.9)
CVN_PATTERN = r"\A(?:[0-9A-Fa-f]{2}){0,18}\Z"   # the raw CVN bytes in hex (often 4 bytes)
KINDS = ("realtime", "resent")
CRS = ("wgs84", "gcj02", "bd09")
MAX_DTCS = 253


@dataclass(frozen=True, slots=True)
class FieldRule:
    name: str
    kind: str                       # float | int | bool | str | choice | time | dtcs | iupr
    lo: float | None = None
    hi: float | None = None
    required: bool = False
    nullable: bool = True
    default: Any = None
    choices: tuple[str, ...] = ()
    pattern: str | None = None
    max_length: int | None = None
    unit: str = ""
    description: str = ""


def _engine_rules() -> list[FieldRule]:
    from mobsrc.obd.hj1239.tables import ENGINE_BODY
    rules = []
    for name in ENGINE_COLUMNS:
        spec = ENGINE_BODY.field(name)
        rules.append(FieldRule(name, "float", spec.valid_min, spec.valid_max, unit=spec.unit,
                               description=f"{spec.label_zh}, {spec.unit}; null = not available"))
    return rules


def _identity_rules() -> list[FieldRule]:
    return [
        FieldRule("vin", "str", required=True, nullable=False, pattern=VIN_PATTERN,
                  description="the vehicle's VIN (the frame header VIN); must be registered"),
        FieldRule("collected_at", "time", required=True, nullable=False,
                  description="collection time, RFC 3339; without offset it is Beijing time"),
        FieldRule("kind", "choice", nullable=False, default="realtime", choices=KINDS,
                  description="realtime (command 0x02) or resent (0x03)"),
        FieldRule("serial", "int", 0, 0xFFFF, description="information serial number"),
    ]


STREAM_RULES: tuple[FieldRule, ...] = (
    *_identity_rules(),
    *_engine_rules(),
    FieldRule("longitude", "float", -180, 180, unit="deg", description="signed degrees, in `crs`"),
    FieldRule("latitude", "float", -90, 90, unit="deg", description="signed degrees, in `crs`"),
    FieldRule("position_valid", "bool", nullable=False, default=True,
              description="false: the last known fix (positioning status bit 0)"),
    FieldRule("crs", "choice", nullable=False, default="wgs84", choices=CRS,
              description="datum of longitude/latitude; stored as WGS-84"),
)

INFO_RULES: tuple[FieldRule, ...] = (
    *_identity_rules(),
    FieldRule("protocol", "int", 0, 2, description="0 ISO 15765, 1 ISO 27145, 2 SAE J1939"),
    FieldRule("mil_on", "bool", description="malfunction indicator lamp"),
    FieldRule("dtc_count", "int", 0, MAX_DTCS, description="number of trouble codes"),
    FieldRule("dtcs", "dtcs", nullable=False, default=(), max_length=MAX_DTCS,
              description="trouble codes, 4 raw bytes each in hex (e.g. 145600AF)"),
    FieldRule("cal_id", "str", nullable=False, default="", max_length=18,
              description="software calibration ID"),
    FieldRule("cvn", "str", nullable=False, default="", pattern=CVN_PATTERN,
              description="calibration verification number, its raw bytes in hex"),
    FieldRule("obd_vin", "str", nullable=False, default="", max_length=17,
              description="VIN as read from the engine ECU"),
    FieldRule("support_map", "int", 0, 0xFFFF, nullable=False, default=0,
              description="diagnostic support bits (bit 0 = catalyst ...)"),
    FieldRule("readiness_map", "int", 0, 0xFFFF, nullable=False, default=0,
              description="diagnostic readiness bits (1 = test not complete)"),
    FieldRule("iupr", "iupr", nullable=False, default=None,
              description="in-use performance ratio counters (J1979 InfoType 0x0B order)"),
)


# --- msgspec ----------------------------------------------------------------------------------
def _counter() -> Any:
    return Annotated[int, msgspec.Meta(ge=0, le=0xFFFF)]


IuprIn = msgspec.defstruct("IuprIn", [(name, _counter(), 0) for name in IUPR_COUNTERS],
                           forbid_unknown_fields=True, kw_only=True)


def _msgspec_type(rule: FieldRule) -> Any:
    meta = {k: v for k, v in (("ge", rule.lo), ("le", rule.hi), ("pattern", rule.pattern),
                              ("max_length", rule.max_length)) if v is not None}
    base = {
        "float": float, "int": int, "bool": bool, "str": str, "time": datetime,
        "choice": Literal[rule.choices] if rule.choices else str,
        "dtcs": list[Annotated[str, msgspec.Meta(pattern=DTC_PATTERN)]],
        "iupr": IuprIn,
    }[rule.kind]
    typ = Annotated[base, msgspec.Meta(**meta)] if meta else base
    return typ | None if rule.nullable else typ


def _msgspec_field(rule: FieldRule) -> tuple:
    if rule.required:
        return (rule.name, _msgspec_type(rule))
    default = msgspec.field(default_factory=list) if rule.kind == "dtcs" else rule.default
    if rule.kind == "iupr":
        default = msgspec.field(default_factory=IuprIn)
    return (rule.name, _msgspec_type(rule), default)


def _check_position(self) -> None:
    if (self.longitude is None) != (self.latitude is None):
        raise ValueError("longitude: give longitude and latitude together, or neither")


StreamRecordIn = msgspec.defstruct(
    "StreamRecordIn", [_msgspec_field(r) for r in STREAM_RULES], kw_only=True,
    forbid_unknown_fields=True, namespace={"__post_init__": _check_position})
InfoRecordIn = msgspec.defstruct(
    "InfoRecordIn", [_msgspec_field(r) for r in INFO_RULES], kw_only=True,
    forbid_unknown_fields=True)


class RecordBatchIn(msgspec.Struct, forbid_unknown_fields=True):
    """The typed whole batch: one decode call when every record is valid."""
    records: list[StreamRecordIn] = msgspec.field(default_factory=list)
    obd_info: list[InfoRecordIn] = msgspec.field(default_factory=list)


class RawBatchIn(msgspec.Struct, forbid_unknown_fields=True):
    """The batch with records left undecoded, to answer each invalid record by itself."""
    records: list[msgspec.Raw] = msgspec.field(default_factory=list)
    obd_info: list[msgspec.Raw] = msgspec.field(default_factory=list)


_AT = " - at `$"


def error_field(message: str) -> str:
    """The record field of msgspec's first error ("... - at `$.field`"); a check of the
    whole record names its field before a colon ("longitude: ...")."""
    at = message.rfind(_AT)
    path = "" if at < 0 else message[at + len(_AT):].rstrip("`")
    name = path.lstrip(".").split("[")[0].split(".")[0]
    if name:
        return name
    head = message.split(":", 1)[0]
    return head if head.isidentifier() else "_record"


def error_reason(message: str) -> str:
    at = message.rfind(_AT)
    return message if at < 0 else message[:at]
