"""Validity gate for a single remote-sensing reading (standards-enforcement.md 1.5).

Every failed condition is reported (not only the first), each with the measured value and the
bound it crossed. Windows are inclusive; a value equal to a bound is valid. A condition that is
configured but whose quantity the reading does not report makes the reading invalid
("…_not_reported"): a verdict that may reach traffic police must show its conditions were met.
"""

from __future__ import annotations

from mobsrc.remote_sensing.limits import ValidityConditions, Window
from mobsrc.remote_sensing.readings import Reading
from mobsrc.remote_sensing.verdicts import Reason, ReasonCode


def invalid_reasons(
    reading: Reading, vsp_kw_t: float, conditions: ValidityConditions, calibration_ok: bool
) -> tuple[Reason, ...]:
    """Every reason the reading is invalid under `conditions`; empty when it is valid."""
    clause = conditions.source
    checks = (
        _window_reason(reading.speed_kmh, conditions.speed_kmh, ReasonCode.SPEED_OUT_OF_WINDOW),
        _window_reason(reading.accel_ms2, conditions.accel_ms2, ReasonCode.ACCEL_OUT_OF_WINDOW),
        _window_reason(vsp_kw_t, conditions.vsp_kw_t, ReasonCode.VSP_OUT_OF_WINDOW),
        _maximum_reason(
            reading.wind_ms, conditions.wind_ms_max,
            ReasonCode.WIND_TOO_STRONG, ReasonCode.WIND_NOT_REPORTED,
        ),
        _window_reason(
            reading.temp_c, conditions.temp_c,
            ReasonCode.TEMPERATURE_OUT_OF_WINDOW, ReasonCode.TEMPERATURE_NOT_REPORTED,
        ),
        _maximum_reason(
            reading.rh_pct, conditions.rh_max_pct,
            ReasonCode.HUMIDITY_TOO_HIGH, ReasonCode.HUMIDITY_NOT_REPORTED,
        ),
        _window_reason(
            reading.slope_deg, conditions.slope_deg,
            ReasonCode.SLOPE_OUT_OF_WINDOW, ReasonCode.SLOPE_NOT_REPORTED,
        ),
        _precipitation_reason(reading.rain, conditions.precipitation_must_be_none),
        _calibration_reason(calibration_ok, conditions.calibration_must_be_valid),
    )
    return tuple(_with_clause(reason, clause) for reason in checks if reason is not None)


def _window_reason(
    value: float | None, window: Window | None,
    outside: ReasonCode, not_reported: ReasonCode | None = None,
) -> Reason | None:
    if window is None:
        return None
    if value is None:
        return Reason(not_reported) if not_reported else None
    bound = window.violated_bound(value)
    return None if bound is None else Reason(outside, value, bound)


def _maximum_reason(
    value: float | None, maximum: float | None, too_high: ReasonCode, not_reported: ReasonCode
) -> Reason | None:
    if maximum is None:
        return None
    if value is None:
        return Reason(not_reported)
    return Reason(too_high, value, maximum) if value > maximum else None


def _precipitation_reason(rain: bool | None, must_be_none: bool) -> Reason | None:
    if not must_be_none:
        return None
    if rain is None:
        return Reason(ReasonCode.PRECIPITATION_NOT_REPORTED)
    return Reason(ReasonCode.RAIN, True) if rain else None


def _calibration_reason(calibration_ok: bool, must_be_valid: bool) -> Reason | None:
    if must_be_valid and not calibration_ok:
        return Reason(ReasonCode.CALIBRATION_LAPSED, False)
    return None


def _with_clause(reason: Reason, clause: str) -> Reason:
    return Reason(reason.code, reason.measured, reason.limit, clause)
