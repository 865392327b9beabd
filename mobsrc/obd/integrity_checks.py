"""Checks over OBD snapshots and terminal presence: MIL on, VIN mismatch, CAL ID / CVN
change, terminal offline.

Practice from standards-enforcement.md 6.2 [SECONDARY] and standards-telemetry.md 7.13-7.19;
thresholds UNCONFIRMED (arrive in `p`, defaults in alarms.RULES).
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from mobsrc.obd.alarm_model import NO_DATA, Finding, NoData, VehicleWindow
from mobsrc.obd.hj1239.records import ObdRecord

Params = Mapping[str, float]
CheckResult = Finding | None | NoData


def check_mil_on(window: VehicleWindow, p: Params) -> CheckResult:
    """The latest OBD snapshot with a valid MIL state says MIL on (with a DTC if required)."""
    judged = [r for r in window.obd if r.mil_on is not None]
    if not judged:
        return NO_DATA
    latest = judged[-1]
    if not latest.mil_on or (p["require_dtc"] and not latest.dtcs):
        return None
    since = _mil_on_since(judged)
    return Finding(since, latest.collected_at, {
        "dtc_count": latest.dtc_count, "dtc_codes": list(latest.dtc_codes),
        "dtcs_raw": [f"{code:08X}" for code in latest.dtcs], "protocol": latest.protocol})


def _mil_on_since(judged: list[ObdRecord]) -> datetime:
    since = judged[-1].collected_at
    for record in reversed(judged):
        if not record.mil_on:
            break
        since = record.collected_at
    return since


def is_blank_identifier(text: str) -> bool:
    """VIN / CAL ID / CVN not filled in: empty, or one repeated filler character."""
    stripped = text.strip("\x00 ")
    return not stripped or len(set(stripped)) == 1 and stripped[0] in "0F\xff"


def check_vin_mismatch(window: VehicleWindow, p: Params) -> CheckResult:
    """An OBD block carries an ECU VIN different from the logged-in VIN (7.13), or a record
    of the window was sent under another header VIN.  Only OBD blocks can clear it."""
    judged = [r for r in window.obd
              if not (p["ignore_blank_obd_vin"] and is_blank_identifier(r.obd_vin))]
    mismatched = [r for r in judged if r.obd_vin != window.vin]
    foreign = [r for r in (*window.streams, *window.obd) if r.vin != window.vin]
    if not mismatched and not foreign:
        return None if judged else NO_DATA
    times = sorted(r.collected_at for r in (*mismatched, *foreign))
    return Finding(times[0], times[-1], {
        "logged_in_vin": window.vin, "obd_vins": sorted({r.obd_vin for r in mismatched}),
        "header_vins": sorted({r.vin for r in foreign}),
        "obd_vin_check_ok": all(r.obd_vin_check_ok for r in mismatched)})


def _is_blank_calibration(record: ObdRecord) -> bool:
    cvn_text = bytes.fromhex(record.cvn_hex).decode("latin-1")
    return is_blank_identifier(record.cal_id) or is_blank_identifier(cvn_text)


def _differs(previous: tuple, current: tuple) -> bool:
    """A change where a previous value is known (None = unknown, no comparison)."""
    return any(old is not None and old != new for old, new in zip(previous, current))


def check_calibration_changed(window: VehicleWindow, p: Params) -> CheckResult:
    """CAL ID or CVN differs from the last known value, or changes inside the window."""
    judged = [r for r in window.obd if not (p["ignore_blank"] and _is_blank_calibration(r))]
    if not judged:
        return NO_DATA
    previous: tuple = (window.known_cal_id, window.known_cvn_hex)
    changes = []
    for record in judged:
        current = (record.cal_id, record.cvn_hex)
        if _differs(previous, current):
            changes.append({"at": record.collected_at.isoformat(), "from": list(previous),
                            "to": list(current)})
        previous = current
    if not changes:
        return None
    return Finding(judged[0].collected_at, judged[-1].collected_at, {"changes": changes})


def check_terminal_offline(window: VehicleWindow, p: Params) -> CheckResult:
    """Nothing received for longer than `offline_after_s` before `now` (7.19)."""
    if window.last_seen_at is None:
        return NO_DATA
    silent_s = (window.now - window.last_seen_at).total_seconds()
    if silent_s <= p["offline_after_s"]:
        return None
    return Finding(window.last_seen_at, window.now, {
        "last_seen_at": window.last_seen_at.isoformat(), "silent_s": silent_s,
        "threshold_s": p["offline_after_s"]})
