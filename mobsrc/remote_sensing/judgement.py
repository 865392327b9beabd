"""Judge one remote-sensing reading against a LimitTable (standards-enforcement.md 1.3-1.9).

Order, as in doc 1.9 item 1: validity gate -> vehicle fuel -> per-pollutant limits.

- Exceedance is strictly greater than the limit for every pollutant: opacity 30.0 % passes and
  30.01 % exceeds; Ringelmann grade 1 passes and anything above grade 1 exceeds ("a reading
  above grade 1 exceeds", doc 1.3); NO 1500 ppm passes and 1500.1 ppm exceeds; petrol CO/HC/NO
  likewise once an admin sets them (unset by default -> not judged, doc 1.4).
- `black_smoke` is decided on the raw Ringelmann grade (and k, if configured) **independently of
  validity, fuel and plate match**: it is the capture trigger that sends the pass to human review
  (doc 1.8, 1.9 item 3: "a separate pipeline"), not a legal exceedance (doc 1.3 note). Reviewers
  correct the plate and reject captures spoiled by rain or fog; the RS verdict on the same pass
  still says invalid and never "exceed".
"""

from __future__ import annotations

from mobsrc.remote_sensing.limits import Fuel, LimitTable, Pollutant, PollutantLimit
from mobsrc.remote_sensing.readings import Reading
from mobsrc.remote_sensing.validity import invalid_reasons
from mobsrc.remote_sensing.verdicts import (
    Outcome,
    PollutantResult,
    PollutantStatus,
    Reason,
    ReasonCode,
    Verdict,
)
from mobsrc.remote_sensing.vsp import resolve_vsp

_MEASURED_FIELD = {
    Pollutant.OPACITY: "opacity_pct",
    Pollutant.RINGELMANN: "ringelmann_grade",
    Pollutant.NO: "no_ppm",
    Pollutant.CO: "co_pct",
    Pollutant.HC: "hc_ppm",
}


def judge_reading(
    reading: Reading, vehicle_fuel: Fuel | None, limits: LimitTable, calibration_ok: bool
) -> Verdict:
    """The verdict on `reading` for a vehicle of `vehicle_fuel` (None: plate not matched)."""
    vsp_kw_t, vsp_source = resolve_vsp(
        reading.vsp_kw_t, reading.speed_kmh, reading.accel_ms2, reading.slope_deg
    )
    invalid = invalid_reasons(reading, vsp_kw_t, limits.validity, calibration_ok)
    if invalid:
        outcome, reasons, results = Outcome.INVALID, invalid, ()
    else:
        outcome, reasons, results = _judge_valid(reading, vehicle_fuel, limits)
    black_smoke = limits.black_smoke.is_triggered(reading.ringelmann_grade, reading.k_m1)
    return Verdict(
        outcome, limits.version, reasons, results, black_smoke, vehicle_fuel, vsp_kw_t, vsp_source
    )


NO_TABLE_VERSION = "none"


def judge_without_table(reading: Reading, vehicle_fuel: Fuel | None) -> Verdict:
    """The verdict on a reading measured before any limit table took effect: not judged, and
    no black-smoke capture either (the trigger is part of the table)."""
    vsp_kw_t, vsp_source = resolve_vsp(
        reading.vsp_kw_t, reading.speed_kmh, reading.accel_ms2, reading.slope_deg
    )
    reasons = (Reason(ReasonCode.NO_LIMIT_TABLE),)
    return Verdict(
        Outcome.NOT_JUDGED, NO_TABLE_VERSION, reasons, (), False, vehicle_fuel, vsp_kw_t, vsp_source
    )


_Judgement = tuple[Outcome, tuple[Reason, ...], tuple[PollutantResult, ...]]


def _judge_valid(reading: Reading, vehicle_fuel: Fuel | None, limits: LimitTable) -> _Judgement:
    if vehicle_fuel is None:
        return _not_judged(ReasonCode.FUEL_UNKNOWN)
    fuel_limits = limits.limits_for(vehicle_fuel)
    if fuel_limits is None:
        return _not_judged(ReasonCode.FUEL_NOT_COVERED)
    results = tuple(judge_pollutant(reading, limit) for limit in fuel_limits.limits)
    if not fuel_limits.has_any_set:
        return _not_judged(ReasonCode.limits_unset(vehicle_fuel), results)
    exceedances = tuple(_exceed_reason(r) for r in results if r.status == PollutantStatus.EXCEED)
    if exceedances:
        return Outcome.EXCEED, exceedances, results
    if not any(result.status == PollutantStatus.PASS for result in results):
        return _not_judged(ReasonCode.NOTHING_MEASURED, results)
    return Outcome.PASS, (), results


def _not_judged(code: ReasonCode, results: tuple[PollutantResult, ...] = ()) -> _Judgement:
    return Outcome.NOT_JUDGED, (Reason(code),), results


def judge_pollutant(reading: Reading, limit: PollutantLimit) -> PollutantResult:
    """One pollutant of one (valid) reading against its limit row."""
    measured = getattr(reading, _MEASURED_FIELD[limit.pollutant])
    if not limit.is_set:
        status = PollutantStatus.LIMIT_UNSET
    elif measured is None:
        status = PollutantStatus.NOT_MEASURED
    elif limit.is_exceeded_by(measured):
        status = PollutantStatus.EXCEED
    else:
        status = PollutantStatus.PASS
    return PollutantResult(limit.pollutant, status, measured, limit.value, limit.clause, limit.tag)


def _exceed_reason(result: PollutantResult) -> Reason:
    return Reason(ReasonCode.exceed(result.pollutant), result.measured, result.limit, result.clause)
