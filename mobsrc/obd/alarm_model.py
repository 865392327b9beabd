"""Value types of the OBD alarm rules: window in, decision out, open/closed alarms.

Thresholds come from standards-enforcement.md 6.2 (practice) and 7 (`obd_remote.*` alarm
thresholds: unset, UNCONFIRMED).  Every default below is therefore a documented guess that
the product owner must sign off; each Threshold says so in its `source`.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum, StrEnum

from mobsrc.obd.hj1239.records import ObdRecord, StreamRecord


class AlarmKind(StrEnum):
    NOX_EXCEEDANCE = "nox_exceedance"
    LOW_SCR_EFFICIENCY = "low_scr_efficiency"
    MIL_ON = "mil_on"
    REAGENT_LOW = "reagent_low"
    DPF_PRESSURE_ABNORMAL = "dpf_pressure_abnormal"
    NOX_SENSOR_STUCK = "nox_sensor_stuck"
    VIN_MISMATCH = "vin_mismatch"
    CALIBRATION_CHANGED = "calibration_changed"
    TERMINAL_OFFLINE = "terminal_offline"
    TERMINAL_REMOVED = "terminal_removed"


AlarmKey = tuple[str, AlarmKind]      # (vin, kind): at most one open alarm per key


class NoData(Enum):
    """The window holds nothing the rule can judge (engine off, no OBD block...): an open
    alarm must neither open nor close on it."""
    NO_DATA = "no_data"


NO_DATA = NoData.NO_DATA


@dataclass(frozen=True, slots=True)
class Threshold:
    name: str
    default: float
    unit: str
    source: str          # clause / tag; "UNCONFIRMED" where no standard gives the value


@dataclass(frozen=True, slots=True)
class RemovalReport:
    """A terminal's 0x06 removal (tamper) alarm (standards-telemetry.md 1.7, "0x06 removal
    alarm"): sent every 60 s while the terminal's external power is cut or CAN is silent."""
    at: datetime                              # the terminal's time (the server's when invalid)
    longitude: float | None = None
    latitude: float | None = None
    position_valid: bool = False


@dataclass(frozen=True, slots=True)
class VehicleWindow:
    """Everything known about one vehicle over the evaluated period.  Records are sorted by
    collection time on construction (re-sent data arrives out of order, 7.4)."""
    vin: str                                  # the logged-in (header) VIN
    now: datetime
    streams: tuple[StreamRecord, ...] = ()
    obd: tuple[ObdRecord, ...] = ()
    last_seen_at: datetime | None = None      # last frame received from the terminal
    known_cal_id: str | None = None           # last known before this window
    known_cvn_hex: str | None = None
    removals: tuple[RemovalReport, ...] = ()  # removal alarms of the last REMOVAL_LOOKBACK

    def __post_init__(self) -> None:
        object.__setattr__(self, "streams", tuple(sorted(self.streams, key=_collected_at)))
        object.__setattr__(self, "obd", tuple(sorted(self.obd, key=_collected_at)))
        object.__setattr__(self, "removals", tuple(sorted(self.removals, key=_reported_at)))


def _collected_at(record) -> datetime:
    return record.collected_at


def _reported_at(report: RemovalReport) -> datetime:
    return report.at


@dataclass(frozen=True, slots=True)
class Finding:
    """What a check found: the evidence span and the values that triggered."""
    first_at: datetime
    last_at: datetime
    evidence: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AlarmDecision:
    """The condition holds in the window; evidence = its first/last record times and values."""
    rule_id: str
    kind: AlarmKind
    vin: str
    first_at: datetime
    last_at: datetime
    evidence: Mapping[str, object] = field(default_factory=dict)

    @property
    def key(self) -> AlarmKey:
        return (self.vin, self.kind)


@dataclass(frozen=True, slots=True)
class OpenAlarm:
    vin: str
    kind: AlarmKind
    rule_id: str
    opened_at: datetime
    first_at: datetime
    last_at: datetime
    evidence: Mapping[str, object] = field(default_factory=dict)

    @property
    def key(self) -> AlarmKey:
        return (self.vin, self.kind)


@dataclass(frozen=True, slots=True)
class AlarmClosure:
    alarm: OpenAlarm
    closed_at: datetime
