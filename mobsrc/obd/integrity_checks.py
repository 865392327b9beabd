"""Checks over OBD snapshots and terminal presence: MIL on, VIN mismatch, CAL ID / CVN
change, terminal offline, terminal removed.

Practice from standards-enforcement.md 6.2 [SECONDARY] and standards-telemetry.md 7.13-7.19;
thresholds UNCONFIRMED (arrive in `p`, defaults in alarms.RULES).
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from mobsrc.obd.alarm_model import NO_DATA, Finding, NoData, RemovalReport, VehicleWindow
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


def check_terminal_removed(window: VehicleWindow, p: Params) -> CheckResult:
    """The terminal reported its own removal (0x06; standards-telemetry.md 1.7, 1.13 "Tamper").

    Terminals repeat the alarm every 60 s while the condition lasts [SECONDARY — FW1, TL], so
    the sign holds until engine data has flowed for `clear_after_s` after the last removal
    report; engine data alone (no report in the window) is a terminal in place.  Reports
    closer together than `clear_after_s` are one removal: the finding spans that run."""
    if not window.removals:
        return None if window.streams else NO_DATA
    clear_s = p["clear_after_s"]
    last = window.removals[-1]
    if window.streams and (window.streams[-1].collected_at - last.at).total_seconds() > clear_s:
        return None                                   # engine data well after the last report
    run = _removal_run(window.removals, clear_s)
    return Finding(run[0].at, last.at, {
        "reports": len(run), "first_reported_at": run[0].at.isoformat(),
        "last_reported_at": last.at.isoformat(), "position": _where(run),
        "clear_after_s": clear_s})


def _removal_run(reports: tuple[RemovalReport, ...], gap_s: float) -> list[RemovalReport]:
    """The latest reports no more than `gap_s` apart from one another, oldest first."""
    run = [reports[-1]]
    for report in reversed(reports[:-1]):
        if (run[-1].at - report.at).total_seconds() > gap_s:
            break
        run.append(report)
    return run[::-1]


def _where(run: list[RemovalReport]) -> dict | None:
    """The first valid fix of the run: where the terminal was when it was taken off."""
    for report in run:
        if report.position_valid and report.longitude is not None and report.latitude is not None:
            return {"longitude": report.longitude, "latitude": report.latitude,
                    "reported_at": report.at.isoformat()}
    return None
