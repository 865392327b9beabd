"""judge_reading against the tables of standards-enforcement.md 1.3-1.5, 1.8 and 7."""

from __future__ import annotations

import pytest

from mobsrc.remote_sensing.judgement import judge_reading
from mobsrc.remote_sensing.limits import DEFAULT_LIMITS, Fuel, Pollutant
from mobsrc.remote_sensing.verdicts import Outcome, PollutantStatus, ReasonCode
from mobsrc.remote_sensing.vsp import VspSource

from .factories import PETROL_TEST_LIMITS, make_reading, table_with


def judge_diesel(limits=DEFAULT_LIMITS, calibration_ok=True, **overrides):
    return judge_reading(make_reading(**overrides), Fuel.DIESEL, limits, calibration_ok)


def codes(verdict):
    return [reason.code for reason in verdict.reasons]


# --- diesel limits, HJ 845-2017 cl. 5 (doc 1.3): strictly above the limit exceeds -------------

@pytest.mark.parametrize(
    ("field", "measured", "outcome", "code"),
    [
        ("opacity_pct", 29.9, Outcome.PASS, None),
        ("opacity_pct", 30.0, Outcome.PASS, None),
        ("opacity_pct", 30.1, Outcome.EXCEED, ReasonCode.EXCEED_OPACITY),
        ("ringelmann_grade", 0.0, Outcome.PASS, None),
        ("ringelmann_grade", 1.0, Outcome.PASS, None),
        ("ringelmann_grade", 1.5, Outcome.EXCEED, ReasonCode.EXCEED_RINGELMANN),
        ("ringelmann_grade", 2.0, Outcome.EXCEED, ReasonCode.EXCEED_RINGELMANN),
        ("no_ppm", 1499.0, Outcome.PASS, None),
        ("no_ppm", 1500.0, Outcome.PASS, None),
        ("no_ppm", 1500.1, Outcome.EXCEED, ReasonCode.EXCEED_NO),
    ],
)
def test_diesel_pollutant_exceeds_only_strictly_above_its_limit(field, measured, outcome, code):
    verdict = judge_diesel(**{field: measured})
    assert verdict.outcome == outcome
    assert codes(verdict) == ([code] if code else [])


def test_exceed_reason_carries_measured_value_limit_and_clause():
    verdict = judge_diesel(opacity_pct=42.0)
    (reason,) = verdict.reasons
    assert (reason.measured, reason.limit) == (42.0, 30.0)
    assert reason.clause.startswith("HJ 845-2017")


def test_every_exceeded_pollutant_is_reported():
    verdict = judge_diesel(opacity_pct=50.0, ringelmann_grade=3.0, no_ppm=2000.0)
    assert codes(verdict) == [
        ReasonCode.EXCEED_OPACITY, ReasonCode.EXCEED_RINGELMANN, ReasonCode.EXCEED_NO,
    ]
    assert verdict.exceeded_pollutants == {Pollutant.OPACITY, Pollutant.RINGELMANN, Pollutant.NO}


def test_verdict_records_the_limit_table_version():
    limits = table_with(version="gy-2025-02")
    assert judge_diesel(limits=limits).limit_version == "gy-2025-02"


def test_unmeasured_diesel_pollutant_is_not_judged_but_others_are():
    verdict = judge_diesel(no_ppm=None, ringelmann_grade=None)
    statuses = {result.pollutant: result.status for result in verdict.pollutants}
    assert verdict.outcome == Outcome.PASS
    assert statuses == {
        Pollutant.OPACITY: PollutantStatus.PASS,
        Pollutant.RINGELMANN: PollutantStatus.NOT_MEASURED,
        Pollutant.NO: PollutantStatus.NOT_MEASURED,
    }


def test_diesel_reading_with_nothing_measured_is_not_judged():
    verdict = judge_diesel(opacity_pct=None, ringelmann_grade=None, no_ppm=None)
    assert verdict.outcome == Outcome.NOT_JUDGED
    assert codes(verdict) == [ReasonCode.NOTHING_MEASURED]


# --- petrol limits, GB 18285-2018 cl. 10 (doc 1.4): unset by default, never guessed ---------

def judge_petrol(limits=DEFAULT_LIMITS, **overrides):
    return judge_reading(make_reading(**overrides), Fuel.PETROL, limits, True)


def test_petrol_with_default_unset_limits_is_not_judged_whatever_it_measures():
    verdict = judge_petrol(co_pct=9.0, hc_ppm=5000.0, no_ppm=5000.0, opacity_pct=90.0)
    assert verdict.outcome == Outcome.NOT_JUDGED
    assert codes(verdict) == [ReasonCode.PETROL_LIMITS_UNSET]
    assert {result.status for result in verdict.pollutants} == {PollutantStatus.LIMIT_UNSET}
    assert verdict.exceeded_pollutants == frozenset()


PETROL_CONFIGURED = table_with(**{"fuels.petrol": PETROL_TEST_LIMITS})


@pytest.mark.parametrize(
    ("field", "measured", "outcome", "code"),
    [
        ("co_pct", 0.99, Outcome.PASS, None),
        ("co_pct", 1.0, Outcome.PASS, None),
        ("co_pct", 1.01, Outcome.EXCEED, ReasonCode.EXCEED_CO),
        ("hc_ppm", 199.0, Outcome.PASS, None),
        ("hc_ppm", 200.0, Outcome.PASS, None),
        ("hc_ppm", 201.0, Outcome.EXCEED, ReasonCode.EXCEED_HC),
        ("no_ppm", 999.0, Outcome.PASS, None),
        ("no_ppm", 1000.0, Outcome.PASS, None),
        ("no_ppm", 1000.5, Outcome.EXCEED, ReasonCode.EXCEED_NO),
    ],
)
def test_petrol_limits_configured_by_dict_judge_strictly_above(field, measured, outcome, code):
    verdict = judge_petrol(PETROL_CONFIGURED, **{field: measured})
    assert verdict.outcome == outcome
    assert codes(verdict) == ([code] if code else [])


def test_petrol_vehicle_is_not_judged_on_diesel_opacity_limit():
    verdict = judge_petrol(PETROL_CONFIGURED, opacity_pct=95.0, ringelmann_grade=0.0)
    assert verdict.outcome == Outcome.PASS
    assert Pollutant.OPACITY not in {result.pollutant for result in verdict.pollutants}


def test_partly_configured_petrol_judges_set_limits_and_marks_the_rest_unset():
    limits = table_with(**{"fuels.petrol.co.value": 1.0})
    verdict = judge_petrol(limits, co_pct=2.0, hc_ppm=9999.0)
    statuses = {result.pollutant: result.status for result in verdict.pollutants}
    assert codes(verdict) == [ReasonCode.EXCEED_CO]
    assert statuses[Pollutant.HC] == PollutantStatus.LIMIT_UNSET


def test_diesel_vehicle_is_not_judged_on_petrol_co_limit():
    verdict = judge_diesel(PETROL_CONFIGURED, co_pct=9.0)
    assert verdict.outcome == Outcome.PASS


# --- vehicle fuel ------------------------------------------------------------------------------

def test_unmatched_plate_is_not_judged_even_when_smoking():
    verdict = judge_reading(make_reading(opacity_pct=90.0), None, DEFAULT_LIMITS, True)
    assert verdict.outcome == Outcome.NOT_JUDGED
    assert codes(verdict) == [ReasonCode.FUEL_UNKNOWN]
    assert verdict.pollutants == ()


def test_fuel_without_a_table_is_not_judged():
    verdict = judge_reading(make_reading(opacity_pct=90.0), Fuel.OTHER, DEFAULT_LIMITS, True)
    assert codes(verdict) == [ReasonCode.FUEL_NOT_COVERED]


def test_invalid_reading_of_unmatched_plate_is_invalid_not_merely_not_judged():
    verdict = judge_reading(make_reading(rain=True), None, DEFAULT_LIMITS, True)
    assert verdict.outcome == Outcome.INVALID
    assert codes(verdict) == [ReasonCode.RAIN]


# --- validity gate (doc 1.5; default windows UNCONFIRMED, inclusive) ------------------------

ACCEL_AND_SLOPE_CHECKED = table_with(**{"validity.accel_ms2": [-1.0, 2.0], "validity.slope_deg": [-5.0, 5.0]})


@pytest.mark.parametrize(
    ("overrides", "code", "limit"),
    [
        ({"speed_kmh": 4.9}, ReasonCode.SPEED_OUT_OF_WINDOW, 5.0),
        ({"speed_kmh": 100.1}, ReasonCode.SPEED_OUT_OF_WINDOW, 100.0),
        ({"vsp_kw_t": -0.1}, ReasonCode.VSP_OUT_OF_WINDOW, 0.0),
        ({"vsp_kw_t": 20.1}, ReasonCode.VSP_OUT_OF_WINDOW, 20.0),
        ({"speed_kmh": 60.0, "accel_ms2": 2.0}, ReasonCode.VSP_OUT_OF_WINDOW, 20.0),
        ({"wind_ms": 5.1}, ReasonCode.WIND_TOO_STRONG, 5.0),
        ({"temp_c": -20.1}, ReasonCode.TEMPERATURE_OUT_OF_WINDOW, -20.0),
        ({"temp_c": 45.1}, ReasonCode.TEMPERATURE_OUT_OF_WINDOW, 45.0),
        ({"rh_pct": 85.1}, ReasonCode.HUMIDITY_TOO_HIGH, 85.0),
        ({"rain": True}, ReasonCode.RAIN, None),
        ({"wind_ms": None}, ReasonCode.WIND_NOT_REPORTED, None),
        ({"temp_c": None}, ReasonCode.TEMPERATURE_NOT_REPORTED, None),
        ({"rh_pct": None}, ReasonCode.HUMIDITY_NOT_REPORTED, None),
        ({"rain": None}, ReasonCode.PRECIPITATION_NOT_REPORTED, None),
    ],
)
def test_reading_outside_default_validity_is_invalid(overrides, code, limit):
    verdict = judge_diesel(**overrides)
    assert verdict.outcome == Outcome.INVALID
    (reason,) = verdict.reasons
    assert (reason.code, reason.limit) == (code, limit)


@pytest.mark.parametrize(
    "overrides",
    [
        {"speed_kmh": 5.0},
        {"speed_kmh": 100.0, "accel_ms2": 0.0},
        {"vsp_kw_t": 0.0},
        {"vsp_kw_t": 20.0},
        {"wind_ms": 5.0},
        {"temp_c": -20.0},
        {"temp_c": 45.0},
        {"rh_pct": 85.0},
        {"accel_ms2": -3.0, "vsp_kw_t": 1.0},
        {"slope_deg": None},
    ],
)
def test_reading_on_a_validity_bound_is_valid(overrides):
    assert judge_diesel(**overrides).outcome == Outcome.PASS


@pytest.mark.parametrize(
    ("overrides", "code", "limit"),
    [
        ({"accel_ms2": -1.1, "vsp_kw_t": 1.0}, ReasonCode.ACCEL_OUT_OF_WINDOW, -1.0),
        ({"accel_ms2": 2.1, "vsp_kw_t": 1.0}, ReasonCode.ACCEL_OUT_OF_WINDOW, 2.0),
        ({"slope_deg": 5.1}, ReasonCode.SLOPE_OUT_OF_WINDOW, 5.0),
        ({"slope_deg": None}, ReasonCode.SLOPE_NOT_REPORTED, None),
    ],
)
def test_configured_accel_and_slope_windows_invalidate(overrides, code, limit):
    verdict = judge_diesel(ACCEL_AND_SLOPE_CHECKED, **overrides)
    assert [(r.code, r.limit) for r in verdict.reasons] == [(code, limit)]


def test_lapsed_calibration_invalidates_the_reading():
    verdict = judge_diesel(calibration_ok=False, opacity_pct=80.0)
    assert verdict.outcome == Outcome.INVALID
    assert codes(verdict) == [ReasonCode.CALIBRATION_LAPSED]


def test_invalid_reading_is_never_shown_as_exceeding():
    verdict = judge_diesel(speed_kmh=2.0, opacity_pct=80.0, no_ppm=3000.0)
    assert verdict.outcome == Outcome.INVALID
    assert verdict.pollutants == ()
    assert verdict.exceeded_pollutants == frozenset()


def test_every_failed_validity_condition_is_reported_with_measured_value():
    verdict = judge_diesel(calibration_ok=False, speed_kmh=120.0, accel_ms2=0.0, wind_ms=9.0, rain=True)
    assert [(r.code, r.measured) for r in verdict.reasons] == [
        (ReasonCode.SPEED_OUT_OF_WINDOW, 120.0),
        (ReasonCode.WIND_TOO_STRONG, 9.0),
        (ReasonCode.RAIN, True),
        (ReasonCode.CALIBRATION_LAPSED, False),
    ]


def test_disabled_conditions_are_not_checked():
    limits = table_with(**{
        "validity.precipitation_must_be_none": False,
        "validity.calibration_must_be_valid": False,
        "validity.wind_ms_max": None,
        "validity.speed_kmh": None,
    })
    verdict = judge_diesel(limits, calibration_ok=False, rain=True, wind_ms=None, speed_kmh=1.0)
    assert verdict.outcome == Outcome.PASS


# --- VSP (doc 1.5) -----------------------------------------------------------------------------

def test_reported_vsp_is_used_rather_than_recomputed():
    verdict = judge_diesel(vsp_kw_t=19.0, speed_kmh=90.0, accel_ms2=3.0)
    assert (verdict.vsp_kw_t, verdict.vsp_source) == (19.0, VspSource.REPORTED)
    assert verdict.outcome == Outcome.PASS


def test_missing_vsp_is_computed_and_flat_road_assumption_is_recorded():
    assert judge_diesel().vsp_source == VspSource.COMPUTED
    assert judge_diesel(slope_deg=None).vsp_source == VspSource.COMPUTED_FLAT


# --- black smoke (doc 1.8): capture trigger, separate from legal exceedance ---------------

@pytest.mark.parametrize(
    ("grade", "black_smoke"), [(None, False), (0.0, False), (1.0, False), (1.9, False), (2.0, True), (5.0, True)]
)
def test_black_smoke_is_captured_from_the_configured_grade(grade, black_smoke):
    assert judge_diesel(ringelmann_grade=grade).black_smoke is black_smoke


@pytest.mark.parametrize(
    ("vehicle_fuel", "overrides", "calibration_ok", "outcome"),
    [
        (Fuel.DIESEL, {"rain": True}, True, Outcome.INVALID),
        (Fuel.DIESEL, {"speed_kmh": 150.0}, True, Outcome.INVALID),
        (Fuel.DIESEL, {}, False, Outcome.INVALID),
        (None, {}, True, Outcome.NOT_JUDGED),
        (Fuel.PETROL, {}, True, Outcome.NOT_JUDGED),
        (Fuel.DIESEL, {}, True, Outcome.EXCEED),
    ],
)
def test_black_smoke_capture_is_independent_of_validity_fuel_and_plate_match(
    vehicle_fuel, overrides, calibration_ok, outcome
):
    reading = make_reading(ringelmann_grade=3.0, **overrides)
    verdict = judge_reading(reading, vehicle_fuel, DEFAULT_LIMITS, calibration_ok)
    assert (verdict.black_smoke, verdict.outcome) == (True, outcome)


def test_black_smoke_threshold_is_configurable():
    limits = table_with(**{"black_smoke.ringelmann_min_grade": 3})
    assert judge_diesel(limits, ringelmann_grade=2.0).black_smoke is False
    assert judge_diesel(limits, ringelmann_grade=3.0).black_smoke is True


@pytest.mark.parametrize(("k_m1", "black_smoke"), [(None, False), (1.32, False), (1.33, True)])
def test_k_trigger_captures_only_strictly_above_when_configured(k_m1, black_smoke):
    limits = table_with(**{"black_smoke.k_min_m1": 1.32})
    assert judge_diesel(limits, k_m1=k_m1).black_smoke is black_smoke


def test_k_does_not_trigger_capture_by_default():
    assert judge_diesel(k_m1=5.0).black_smoke is False


def test_a_reading_before_any_limit_table_is_not_judged_and_not_captured():
    from mobsrc.remote_sensing.judgement import NO_TABLE_VERSION, judge_without_table
    verdict = judge_without_table(make_reading(ringelmann_grade=5.0, opacity_pct=90.0), Fuel.DIESEL)
    assert (verdict.outcome, verdict.limit_version, verdict.black_smoke) == (Outcome.NOT_JUDGED, NO_TABLE_VERSION,
                                                                             False)
    assert [r.code for r in verdict.reasons] == [ReasonCode.NO_LIMIT_TABLE] and verdict.pollutants == ()
