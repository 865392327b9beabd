"""What happens to an alarm that stays open: the I/M hand-over and the violation.  Pure.

No source fixes either (standards-enforcement.md 7 leaves the obd_remote.* follow-up unset),
so both are documented defaults, configurable per rule (obd_rule_settings, PUT /obd/rules):

- Hand-over to the I/M loop: every emission or tampering alarm; a terminal going offline is a
  monitoring problem, not an emission fault, and is not handed over.
- Violation (enforcement register, kind OBD_ALARM_UNRESOLVED): an alarm still open after
  `violation_after_h` hours.  Defaults: 7 days for emission faults (time to book a repair at
  an M station), 3 days for an empty reagent tank and for tampering signs, a removed
  terminal among them (no repair needed to end them), never for a changed calibration (an event, closed by the next window) and
  for an offline terminal (HJ 1239 sets no offline penalty).  UNCONFIRMED.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from mobsrc.obd.alarm_model import AlarmKind

DAY_H = 24.0

VIOLATION_AFTER_H: dict[str, float | None] = {
    "nox_exceedance": 7 * DAY_H,
    "low_scr_efficiency": 7 * DAY_H,
    "mil_on": 7 * DAY_H,
    "dpf_pressure_abnormal": 7 * DAY_H,
    "reagent_low": 3 * DAY_H,
    "nox_sensor_stuck": 3 * DAY_H,
    "vin_mismatch": 3 * DAY_H,
    "calibration_changed": None,
    "terminal_offline": None,
    "terminal_removed": 3 * DAY_H,
}

HANDOVER_KINDS = frozenset(AlarmKind) - {AlarmKind.TERMINAL_OFFLINE}


def is_handed_over(kind: AlarmKind) -> bool:
    return kind in HANDOVER_KINDS


def is_due(opened_at: datetime, now: datetime, violation_after_h: float | None) -> bool:
    """An alarm open since `opened_at` has outlasted its period at `now`."""
    return violation_after_h is not None and now - opened_at >= timedelta(hours=violation_after_h)
