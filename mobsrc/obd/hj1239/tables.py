"""Field tables of every HJ 1239 / GB 17691 Annex Q info body, as data.

Physical value = raw * resolution + bias, with the resolution kept as an exact fraction
(num/den) and computed in integers before one division, so that values decode to the
doubles nearest their exact decimals (the worked examples of standards-telemetry.md 1.15).
Sections cited are those of standards-telemetry.md.

Marker schemes (1.2):
- J1939: valid up to 0xFA / 0xFAFF / 0xFAFFFFFF; 0xFB..-0xFD.. reserved and 0xFE.. error
  -> ERROR; 0xFF.. not available -> INVALID.  [ranges CONFIRMED, J1939 reading SECONDARY]
- ALL_ONES: all-ones raw = INVALID; anything else outside the valid raw range = OUT_OF_RANGE.
- OBD_ENUM: 0xFE (and 0xFF) = INVALID (1.9). [CONFIRMED]
- NONE: bit fields and byte strings, never classified.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum


class ValueStatus(StrEnum):
    VALID = "valid"
    INVALID = "invalid"            # all-ones "not available"
    ERROR = "error"                # J1939 error / reserved range
    OUT_OF_RANGE = "out_of_range"  # outside the published valid range
    SUSPECT = "suspect"            # legal encoding that is not a measurement (NOx -200 ppm)


#: statuses whose value is exposed as a number (SUSPECT keeps its number but is flagged)
HAS_VALUE = frozenset({ValueStatus.VALID, ValueStatus.SUSPECT})


class Markers(StrEnum):
    J1939 = "j1939"
    ALL_ONES = "all_ones"
    OBD_ENUM = "obd_enum"
    NONE = "none"


class Encoding(StrEnum):
    UINT = "uint"      # scaled unsigned big-endian integer
    BITS = "bits"      # bit field, raw only
    ASCII = "ascii"    # fixed-length character string
    BYTES = "bytes"    # fixed-length opaque bytes
    WORDS = "words"    # sequence of WORDs (IUPR)
    DTC_LIST = "dtc_list"  # 4 bytes per code, count given by dtc_count


class InfoType(IntEnum):
    """Information-type markers (1.8)."""
    OBD = 0x01
    ENGINE = 0x02          # compression ignition, DPF and/or SCR
    TWC = 0x03             # three-way catalyst without NOx sensor (HJ only)
    HYBRID = 0x04          # hybrid-electric additional stream (HJ only)
    TWC_NOX = 0x05         # three-way catalyst with NOx sensor (HJ only)
    SUPPLEMENTARY = 0x80   # vendor-common supplementary stream [SECONDARY]


_ALL_ONES = {1: 0xFF, 2: 0xFFFF, 4: 0xFFFFFFFF}
_J1939_MAX = {1: 0xFA, 2: 0xFAFF, 4: 0xFAFFFFFF}
_STRUCT_CODE = {1: "B", 2: "H", 4: "I"}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of an info body.  `offset` is the byte offset inside the body."""
    name: str
    offset: int
    width: int
    unit: str = ""
    scale: tuple[int, int] = (1, 1)   # resolution as num/den
    bias: int = 0                      # physical offset added after scaling
    raw_min: int = 0
    raw_max: int | None = None         # None: the scheme's maximum valid raw value
    markers: Markers = Markers.J1939
    suspect_raw: int | None = None
    encoding: Encoding = Encoding.UINT
    label_zh: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        if self.raw_max is None:
            object.__setattr__(self, "raw_max", self._default_raw_max())

    def _default_raw_max(self) -> int:
        if self.markers is Markers.J1939:
            return _J1939_MAX[self.width]
        if self.markers is Markers.NONE:
            return _ALL_ONES.get(self.width, 0)
        return _ALL_ONES[self.width] - 1

    @property
    def resolution(self) -> float:
        return self.scale[0] / self.scale[1]

    @property
    def invalid(self) -> int | None:
        """The 'not available' marker written for a missing value."""
        if self.markers is Markers.OBD_ENUM:
            return 0xFE
        return _ALL_ONES.get(self.width) if self.markers is not Markers.NONE else None

    @property
    def valid_min(self) -> float:
        return self.scaled(self.raw_min)

    @property
    def valid_max(self) -> float:
        return self.scaled(self.raw_max)

    def scaled(self, raw: int) -> float:
        """(raw * num + bias * den) / den: one correctly rounded division, so results are
        the doubles nearest the exact decimal values (123.4, not 123.39999999999998)."""
        num, den = self.scale
        return (raw * num + self.bias * den) / den

    def status(self, raw: int) -> ValueStatus:
        if self.raw_min <= raw <= self.raw_max:
            return ValueStatus.SUSPECT if raw == self.suspect_raw else ValueStatus.VALID
        return _status_outside_range(self, raw)

    def physical(self, raw: int) -> float | None:
        """The measured value, or None when the raw value is not a measurement."""
        if self.markers is Markers.NONE:
            return raw
        return self.scaled(raw) if self.status(raw) in HAS_VALUE else None

    def to_raw(self, value: float | None) -> int:
        """Inverse scaling; None gives the invalid marker.  Raises ValueError off range."""
        if value is None:
            if self.invalid is None:
                raise ValueError(f"{self.name}: no invalid marker")
            return self.invalid
        num, den = self.scale
        raw = round((value - self.bias) * den / num)
        if not self.raw_min <= raw <= self.raw_max:
            raise ValueError(f"{self.name}: {value} outside {self.valid_min}..{self.valid_max}")
        return raw


def _status_outside_range(spec: FieldSpec, raw: int) -> ValueStatus:
    if spec.markers is Markers.J1939:
        top = raw >> (8 * (spec.width - 1))
        if top == 0xFF:
            return ValueStatus.INVALID
        if top >= 0xFB:
            return ValueStatus.ERROR
    elif spec.markers is Markers.OBD_ENUM and raw >= 0xFE:
        return ValueStatus.INVALID
    elif raw == _ALL_ONES.get(spec.width):
        return ValueStatus.INVALID
    return ValueStatus.OUT_OF_RANGE


@dataclass(frozen=True, slots=True)
class BodySpec:
    """A fixed-size stream body: its fields in wire order and a precompiled unpacker."""
    info_type: int
    name: str
    size: int
    fields: tuple[FieldSpec, ...]
    source: str
    struct: struct.Struct = field(init=False, repr=False, compare=False)
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        fmt = ">" + "".join(_STRUCT_CODE[f.width] for f in self.fields)
        object.__setattr__(self, "struct", struct.Struct(fmt))
        object.__setattr__(self, "index", {f.name: i for i, f in enumerate(self.fields)})
        _check_contiguous(self)

    def field(self, name: str) -> FieldSpec:
        return self.fields[self.index[name]]


def _check_contiguous(body: BodySpec) -> None:
    at = 0
    for spec in body.fields:
        if spec.offset != at:
            raise AssertionError(f"{body.name}.{spec.name}: offset {spec.offset} != {at}")
        at += spec.width
    if at != body.size or body.struct.size != body.size:
        raise AssertionError(f"{body.name}: fields cover {at} bytes, body is {body.size}")


_C = "[CONFIRMED — J1, QT, FW1, ZX, SL]"        # 1.10 row tag
_C_TWC = "[CONFIRMED — QT, FW1]"                 # 1.11 TWC rows
_C_HYB = "[CONFIRMED — QT, FW1, SL]"             # 1.11 hybrid rows
_S_80 = "[SECONDARY — ZX, FW1; normative status UNCONFIRMED]"  # 1.11 type 0x80
_F = FieldSpec


def _engine_head(source: str) -> tuple[FieldSpec, ...]:
    """Offsets 0-8, shared by types 0x02, 0x03 and 0x05 (1.10, 1.11)."""
    return (
        _F("vehicle_speed", 0, 2, "km/h", (1, 256), label_zh="车速", source=source),
        _F("atmospheric_pressure", 2, 1, "kPa", (1, 2), label_zh="大气压力", source=source),
        _F("engine_net_torque", 3, 1, "%", bias=-125, label_zh="发动机净输出扭矩", source=source),
        _F("friction_torque", 4, 1, "%", bias=-125, label_zh="摩擦扭矩", source=source),
        _F("engine_speed", 5, 2, "rpm", (1, 8), label_zh="发动机转速", source=source),
        _F("fuel_flow", 7, 2, "L/h", (1, 20), label_zh="发动机燃料流量", source=source),
    )


def _position_tail(at: int, source: str) -> tuple[FieldSpec, ...]:
    """Positioning status, longitude, latitude, total mileage (1.10 offsets 24-36)."""
    return (
        _F("position_status", at, 1, markers=Markers.NONE, encoding=Encoding.BITS,
           label_zh="定位状态", source=source),
        _F("longitude", at + 1, 4, "deg", (1, 10**6), raw_max=180_000_000,
           markers=Markers.ALL_ONES, label_zh="经度", source=source),
        _F("latitude", at + 5, 4, "deg", (1, 10**6), raw_max=90_000_000,
           markers=Markers.ALL_ONES, label_zh="纬度", source=source),
        _F("total_mileage", at + 9, 4, "km", (1, 10), markers=Markers.ALL_ONES,
           label_zh="累计里程", source=source),
    )


def _nox(name: str, at: int, label: str, source: str) -> FieldSpec:
    # raw 0 encodes -200 ppm, what terminals send when the sensor is not ready (7.10)
    return _F(name, at, 2, "ppm", (1, 20), bias=-200, suspect_raw=0, label_zh=label, source=source)


def _temperature(name: str, at: int, label: str, source: str) -> FieldSpec:
    # raw 0 encodes -273 degC: a legal encoding, never a measurement (7.10)
    return _F(name, at, 2, "degC", (1, 32), bias=-273, suspect_raw=0, label_zh=label, source=source)


ENGINE_BODY = BodySpec(InfoType.ENGINE, "engine_dpf_scr", 37, _engine_head(_C) + (
    _nox("nox_upstream", 9, "SCR上游NOx传感器输出值", _C),
    _nox("nox_downstream", 11, "SCR下游NOx传感器输出值", _C),
    _F("reagent_level", 13, 1, "%", (2, 5), label_zh="反应剂余量", source=_C),
    _F("intake_air_flow", 14, 2, "kg/h", (1, 20), label_zh="进气量", source=_C),
    _temperature("scr_inlet_temperature", 16, "SCR入口温度", _C),
    _temperature("scr_outlet_temperature", 18, "SCR出口温度", _C),
    _F("dpf_pressure_drop", 20, 2, "kPa", (1, 10), label_zh="DPF压差", source=_C),
    _F("coolant_temperature", 22, 1, "degC", bias=-40, label_zh="发动机冷却液温度", source=_C),
    _F("fuel_level", 23, 1, "%", (2, 5), label_zh="油箱液位", source=_C),
) + _position_tail(24, _C), "1.10 [CONFIRMED]")


def _twc_body(info_type: int, name: str, with_nox: bool) -> BodySpec:
    shift = 2 if with_nox else 0
    nox = (_nox("twc_nox_downstream", 12, "三元催化器下游NOx传感器输出值", _C_TWC),) if with_nox else ()
    fields = _engine_head(_C_TWC) + (
        # 0.0000305/bit, 0-1.999 per QT; 0xFFFF is the invalid marker, so raw max 0xFFFE
        _F("twc_upstream_oxygen", 9, 2, "ratio", (305, 10**7), markers=Markers.ALL_ONES,
           label_zh="三元催化器上游氧传感器输出值", source=_C_TWC),
        # published range 0-2.55 V, but 0xFF is the invalid marker, so raw max 0xFE
        _F("twc_downstream_oxygen", 11, 1, "V", (1, 100), markers=Markers.ALL_ONES,
           label_zh="三元催化器下游氧传感器输出值", source=_C_TWC),
    ) + nox + (
        _F("intake_air_flow", 12 + shift, 2, "kg/h", (1, 20), label_zh="进气量", source=_C_TWC),
        _F("coolant_temperature", 14 + shift, 1, "degC", bias=-40, label_zh="冷却液温度",
           source=_C_TWC),
        _temperature("twc_temperature", 15 + shift, "三元催化器温度传感器", _C_TWC),
    ) + _position_tail(17 + shift, _C_TWC)
    return BodySpec(info_type, name, 30 + shift, fields, "1.11 [CONFIRMED — QT, FW1]")


TWC_BODY = _twc_body(InfoType.TWC, "twc", with_nox=False)
TWC_NOX_BODY = _twc_body(InfoType.TWC_NOX, "twc_nox", with_nox=True)

HYBRID_BODY = BodySpec(InfoType.HYBRID, "hybrid", 8, (
    _F("motor_speed", 0, 2, "rpm", markers=Markers.ALL_ONES, label_zh="驱动电机转速", source=_C_HYB),
    _F("motor_load", 2, 1, "%", raw_max=100, markers=Markers.ALL_ONES, label_zh="电机负荷百分比",
       source=_C_HYB),
    _F("battery_voltage", 3, 2, "V", (1, 10), markers=Markers.ALL_ONES, label_zh="动力电池电压",
       source=_C_HYB),
    _F("battery_current", 5, 2, "A", (1, 10), bias=-1000, markers=Markers.ALL_ONES,
       label_zh="动力电池电流", source=_C_HYB),
    _F("battery_soc", 7, 1, "%", raw_max=100, markers=Markers.ALL_ONES, label_zh="电池电量SOC",
       source=_C_HYB),
), "1.11 [CONFIRMED — QT, FW1, SL]")

SUPPLEMENTARY_BODY = BodySpec(InfoType.SUPPLEMENTARY, "supplementary", 17, (
    # codes 0,1,2,3,9 seen; code list UNCONFIRMED, so any byte but 0xFF is kept
    _F("engine_torque_mode", 0, 1, markers=Markers.ALL_ONES, label_zh="发动机扭矩模式",
       source=_S_80 + " codes [UNCONFIRMED]"),
    _F("accelerator_pedal", 1, 1, "%", (2, 5), label_zh="油门踏板", source=_S_80),
    # 0.5 L/bit per FW1; a Python decoder divides by 1000 [DISAGREE] — raw kept for rescaling
    _F("total_fuel_used", 2, 4, "L", (1, 2), label_zh="累计油耗", source=_S_80 + " [DISAGREE]"),
    _F("urea_tank_temperature", 6, 1, "degC", bias=-40, label_zh="尿素箱温度", source=_S_80),
    _F("urea_injection_rate", 7, 4, "ml/h", (1, 100), markers=Markers.ALL_ONES,
       label_zh="实际尿素喷射量", source=_S_80),
    _F("total_urea_consumption", 11, 4, "g", markers=Markers.ALL_ONES, label_zh="累计尿素消耗",
       source=_S_80),
    _temperature("dpf_exhaust_temperature", 15, "DPF排气温度", _S_80),
), "1.11 [SECONDARY]")

#: fixed-size stream bodies by info type
STREAM_BODIES: dict[int, BodySpec] = {
    body.info_type: body
    for body in (ENGINE_BODY, TWC_BODY, HYBRID_BODY, TWC_NOX_BODY, SUPPLEMENTARY_BODY)
}

_C_OBD = "1.9 [CONFIRMED — J1, J2, QT, SL]"

#: OBD information body (type 0x01), size 96 + 4 * dtc_count (1.9)
OBD_FIELDS: tuple[FieldSpec, ...] = (
    _F("protocol", 0, 1, raw_max=2, markers=Markers.OBD_ENUM, label_zh="OBD诊断协议", source=_C_OBD),
    _F("mil", 1, 1, raw_max=1, markers=Markers.OBD_ENUM, label_zh="MIL状态", source=_C_OBD),
    _F("support_map", 2, 2, markers=Markers.NONE, encoding=Encoding.BITS, label_zh="诊断支持状态",
       source=_C_OBD),
    _F("readiness_map", 4, 2, markers=Markers.NONE, encoding=Encoding.BITS,
       label_zh="诊断就绪状态", source=_C_OBD),
    _F("vin", 6, 17, markers=Markers.NONE, encoding=Encoding.ASCII, label_zh="车辆识别码",
       source=_C_OBD),
    _F("cal_id", 23, 18, markers=Markers.NONE, encoding=Encoding.ASCII, label_zh="软件标定识别号",
       source=_C_OBD + "; padding varies (7.14)"),
    _F("cvn", 41, 18, markers=Markers.NONE, encoding=Encoding.BYTES, label_zh="标定验证码",
       source=_C_OBD + "; often 4 binary bytes + NULs (7.14)"),
    _F("iupr", 59, 36, markers=Markers.NONE, encoding=Encoding.WORDS, label_zh="IUPR值",
       source="1.9 field [CONFIRMED]; counter order [SECONDARY]"),
    _F("dtc_count", 95, 1, raw_max=253, markers=Markers.OBD_ENUM, label_zh="故障码总数",
       source=_C_OBD),
    _F("dtcs", 96, 4, markers=Markers.NONE, encoding=Encoding.DTC_LIST, label_zh="故障码信息列表",
       source="1.9 [CONFIRMED width]; 4-byte code layout [UNCONFIRMED]"),
)
OBD_FIXED_SIZE = 96
OBD_FIELD = {spec.name: spec for spec in OBD_FIELDS}

OBD_PROTOCOLS = {0: "ISO 15765", 1: "ISO 27145", 2: "SAE J1939"}

#: support/readiness bit i (LSB first) -> monitor (1.9 bit map) [CONFIRMED]
MONITORS: tuple[str, ...] = (
    "catalyst", "heated_catalyst", "evaporative_system", "secondary_air_system",
    "ac_refrigerant", "exhaust_gas_sensor", "exhaust_gas_sensor_heater", "egr_vvt",
    "cold_start_aid", "boost_pressure_control", "dpf", "nox_catalyst_scr",
    "nmhc_catalyst", "misfire", "fuel_system", "comprehensive_component",
)

#: IUPR 18 WORD counters, J1979 InfoType 0x0B order [SECONDARY]; table in HJ [UNCONFIRMED]
IUPR_COUNTERS: tuple[str, ...] = (
    "obd_monitoring_conditions", "ignition_cycles",
    "nmhc_catalyst_num", "nmhc_catalyst_den", "nox_catalyst_num", "nox_catalyst_den",
    "nox_adsorber_num", "nox_adsorber_den", "pm_filter_num", "pm_filter_den",
    "exhaust_gas_sensor_num", "exhaust_gas_sensor_den", "egr_vvt_num", "egr_vvt_den",
    "boost_pressure_num", "boost_pressure_den", "fuel_system_num", "fuel_system_den",
)
