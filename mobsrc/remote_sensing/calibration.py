"""Which calibration / audit record of a remote-sensing device is in force for a reading
(standards-enforcement.md 1.5 `rs.valid.calibration_ok`, 1.7 `calibration_ref`, HJ 845 Annex D).

A record covers the local (Asia/Shanghai) calendar days `valid_from` to `valid_to`, both
inclusive, as certificates are written ("valid until 2025-12-31"). Of the records covering a
reading's day, the most recent check decides: the latest `valid_from`, ties broken by the later
record. If it passed, the reading's calibration is in order and the record is its reference; if it
failed (an audit found the analyser out of tolerance), or no record covers the day, the
calibration has lapsed and the reading is stored but invalid for judgement.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from mobsrc.remote_sensing.statistics import local_day


class CheckKind(StrEnum):
    CALIBRATION = "calibration"  # standard-gas / opacity calibration of the analyser
    AUDIT = "audit"  # periodic audit or third-party verification of the device


@dataclass(frozen=True)
class CalibrationRecord:
    record_id: int
    kind: CheckKind
    valid_from: date
    valid_to: date
    passed: bool

    def __post_init__(self) -> None:
        if self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")

    def covers(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_to


@dataclass(frozen=True)
class CalibrationStatus:
    """`record` is the check in force (None: no record covers the day)."""

    ok: bool
    record: CalibrationRecord | None

    @property
    def record_id(self) -> int | None:
        return None if self.record is None else self.record.record_id


def check_in_force(records: Iterable[CalibrationRecord], day: date) -> CalibrationRecord | None:
    """The most recent check covering `day`, passed or failed."""
    covering = [record for record in records if record.covers(day)]
    if not covering:
        return None
    return max(covering, key=lambda record: (record.valid_from, record.record_id))


def calibration_status(records: Iterable[CalibrationRecord], measured_at: datetime) -> CalibrationStatus:
    """Whether the device's calibration was in order on the reading's local day."""
    record = check_in_force(records, local_day(measured_at))
    return CalibrationStatus(ok=record is not None and record.passed, record=record)
