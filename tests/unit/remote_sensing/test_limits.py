"""Limit tables as data: documented defaults (doc 1.3-1.6, 7) and the admin dict API."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from mobsrc.remote_sensing.limit_documents import (
    LimitProblem,
    ProblemCode,
    limit_table_from_dict,
    limit_table_to_dict,
)
from mobsrc.remote_sensing.limits import (
    DEFAULT_LIMITS,
    Fuel,
    LimitTable,
    Pollutant,
    PollutantLimit,
    SourceTag,
    Window,
    limit_table_in_effect,
)

from .factories import PETROL_TEST_LIMITS, default_document, delete_path, set_path


def default_limit(fuel: Fuel, pollutant: Pollutant) -> PollutantLimit:
    (limit,) = [row for row in DEFAULT_LIMITS.limits_for(fuel).limits if row.pollutant == pollutant]
    return limit


# --- documented defaults (doc 7, parameter registry) ------------------------------------------

@pytest.mark.parametrize(
    ("fuel", "pollutant", "value", "tag"),
    [
        (Fuel.DIESEL, Pollutant.OPACITY, 30.0, SourceTag.SECONDARY),
        (Fuel.DIESEL, Pollutant.RINGELMANN, 1.0, SourceTag.SECONDARY),
        (Fuel.DIESEL, Pollutant.NO, 1500.0, SourceTag.UNCONFIRMED),
        (Fuel.PETROL, Pollutant.CO, None, SourceTag.UNCONFIRMED),
        (Fuel.PETROL, Pollutant.HC, None, SourceTag.UNCONFIRMED),
        (Fuel.PETROL, Pollutant.NO, None, SourceTag.UNCONFIRMED),
    ],
)
def test_default_limit_rows_match_the_parameter_registry(fuel, pollutant, value, tag):
    limit = default_limit(fuel, pollutant)
    assert (limit.value, limit.tag) == (value, tag)
    assert limit.clause


def test_default_validity_windows_are_the_unconfirmed_placeholders_of_doc_1_5():
    validity = DEFAULT_LIMITS.validity
    assert validity.speed_kmh == Window(5.0, 100.0)
    assert validity.vsp_kw_t == Window(0.0, 20.0)
    assert validity.temp_c == Window(-20.0, 45.0)
    assert (validity.wind_ms_max, validity.rh_max_pct) == (5.0, 85.0)
    assert validity.precipitation_must_be_none and validity.calibration_must_be_valid
    assert validity.accel_ms2 is None and validity.slope_deg is None
    assert validity.tag == SourceTag.UNCONFIRMED


def test_default_confirmation_rule_is_two_consecutive_within_183_days():
    rule = DEFAULT_LIMITS.confirmation
    assert (rule.min_exceedances, rule.window_days, rule.require_consecutive) == (2, 183, True)


def test_default_black_smoke_capture_starts_above_ringelmann_grade_1():
    assert DEFAULT_LIMITS.black_smoke.ringelmann_min_grade == 2
    assert DEFAULT_LIMITS.black_smoke.k_min_m1 is None


def test_limit_is_exceeded_only_strictly_above_and_unset_limit_refuses_to_judge():
    limit = PollutantLimit(Pollutant.OPACITY, 30.0, "c", SourceTag.SECONDARY)
    assert (limit.is_exceeded_by(30.0), limit.is_exceeded_by(30.0001)) == (False, True)
    with pytest.raises(ValueError):
        PollutantLimit(Pollutant.CO, None, "c", SourceTag.UNCONFIRMED).is_exceeded_by(5.0)


# --- dict round trip ----------------------------------------------------------------------------

def test_default_table_survives_a_json_round_trip():
    document = json.loads(json.dumps(limit_table_to_dict(DEFAULT_LIMITS)))
    assert limit_table_from_dict(document) == DEFAULT_LIMITS


def test_admin_document_with_petrol_limits_builds_a_new_version():
    document = default_document()
    set_path(document, "version", "gy-2025-01")
    set_path(document, "effective_from", "2025-01-01")
    set_path(document, "fuels.petrol", PETROL_TEST_LIMITS)
    table = limit_table_from_dict(document)
    assert isinstance(table, LimitTable)
    assert (table.version, table.effective_from) == ("gy-2025-01", date(2025, 1, 1))
    assert table.limits_for(Fuel.PETROL).has_any_set
    assert limit_table_to_dict(table) == document


def test_fuel_may_be_left_out_and_is_then_not_covered():
    document = default_document()
    delete_path(document, "fuels.petrol")
    table = limit_table_from_dict(document)
    assert table.limits_for(Fuel.PETROL) is None


def test_negative_windows_are_allowed_where_physical():
    document = default_document()
    set_path(document, "validity.accel_ms2", [-2.5, 1.5])
    set_path(document, "validity.temp_c", [-30, -5])
    table = limit_table_from_dict(document)
    assert table.validity.accel_ms2 == Window(-2.5, 1.5)


# --- validation ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("path", "value", "problem_path", "code"),
    [
        ("surprise", 1, "surprise", ProblemCode.UNKNOWN_KEY),
        ("fuels.lpg", {}, "fuels.lpg", ProblemCode.UNKNOWN_KEY),
        ("fuels.diesel.pm", {}, "fuels.diesel.pm", ProblemCode.UNKNOWN_KEY),
        ("fuels.diesel.opacity.unit", "%", "fuels.diesel.opacity.unit", ProblemCode.UNKNOWN_KEY),
        ("fuels.diesel.opacity.value", -1, "fuels.diesel.opacity.value", ProblemCode.NEGATIVE),
        ("fuels.diesel.no.value", -0.5, "fuels.diesel.no.value", ProblemCode.NEGATIVE),
        ("fuels.diesel.opacity.value", "30", "fuels.diesel.opacity.value", ProblemCode.WRONG_TYPE),
        ("fuels.diesel.opacity.value", True, "fuels.diesel.opacity.value", ProblemCode.WRONG_TYPE),
        ("fuels.diesel.opacity.value", math.nan, "fuels.diesel.opacity.value", ProblemCode.WRONG_TYPE),
        ("fuels.diesel.opacity.value", 101, "fuels.diesel.opacity.value", ProblemCode.OUT_OF_RANGE),
        ("fuels.diesel.ringelmann.value", 6, "fuels.diesel.ringelmann.value", ProblemCode.OUT_OF_RANGE),
        ("fuels.diesel.opacity.tag", "PROBABLE", "fuels.diesel.opacity.tag", ProblemCode.OUT_OF_RANGE),
        ("fuels.diesel.opacity.clause", " ", "fuels.diesel.opacity.clause", ProblemCode.EMPTY),
        ("fuels.diesel", [], "fuels.diesel", ProblemCode.WRONG_TYPE),
        ("validity.speed_kmh", [100, 5], "validity.speed_kmh", ProblemCode.WINDOW_REVERSED),
        ("validity.speed_kmh", [-5, 100], "validity.speed_kmh", ProblemCode.NEGATIVE),
        ("validity.speed_kmh", [5], "validity.speed_kmh", ProblemCode.WRONG_TYPE),
        ("validity.wind_ms_max", -1, "validity.wind_ms_max", ProblemCode.NEGATIVE),
        ("validity.rh_max_pct", 120, "validity.rh_max_pct", ProblemCode.OUT_OF_RANGE),
        ("validity.precipitation_must_be_none", "yes", "validity.precipitation_must_be_none",
         ProblemCode.WRONG_TYPE),
        ("black_smoke.ringelmann_min_grade", 6, "black_smoke.ringelmann_min_grade",
         ProblemCode.OUT_OF_RANGE),
        ("black_smoke.ringelmann_min_grade", 2.5, "black_smoke.ringelmann_min_grade",
         ProblemCode.WRONG_TYPE),
        ("black_smoke.k_min_m1", -1.32, "black_smoke.k_min_m1", ProblemCode.NEGATIVE),
        ("confirmation.min_exceedances", 0, "confirmation.min_exceedances", ProblemCode.OUT_OF_RANGE),
        ("confirmation.window_days", -183, "confirmation.window_days", ProblemCode.OUT_OF_RANGE),
        ("confirmation.require_consecutive", 1, "confirmation.require_consecutive",
         ProblemCode.WRONG_TYPE),
        ("effective_from", "2025-13-01", "effective_from", ProblemCode.BAD_DATE),
        ("effective_from", 20250101, "effective_from", ProblemCode.BAD_DATE),
        ("version", "", "version", ProblemCode.EMPTY),
        ("version", 3, "version", ProblemCode.WRONG_TYPE),
    ],
)
def test_invalid_document_is_refused_with_the_problem_located(path, value, problem_path, code):
    document = default_document()
    set_path(document, path, value)
    problems = limit_table_from_dict(document)
    assert [(p.path, p.code) for p in problems] == [(problem_path, code)]


@pytest.mark.parametrize(
    "path",
    [
        "validity",
        "validity.accel_ms2",
        "validity.calibration_must_be_valid",
        "fuels.diesel.opacity.tag",
        "confirmation.window_days",
        "black_smoke.source",
        "effective_from",
    ],
)
def test_missing_key_is_refused_rather_than_defaulted(path):
    document = default_document()
    delete_path(document, path)
    assert limit_table_from_dict(document) == [LimitProblem(path, ProblemCode.MISSING_KEY, "required")]


def test_every_problem_in_a_document_is_reported_at_once():
    document = default_document()
    set_path(document, "fuels.diesel.opacity.value", -30)
    set_path(document, "validity.temp_c", [45, -20])
    set_path(document, "colour", "red")
    problems = limit_table_from_dict(document)
    assert {p.path for p in problems} == {"fuels.diesel.opacity.value", "validity.temp_c", "colour"}


@pytest.mark.parametrize("document", [None, [], "limits", 42])
def test_document_that_is_not_an_object_is_refused(document):
    assert [(p.path, p.code) for p in limit_table_from_dict(document)] == [("", ProblemCode.WRONG_TYPE)]


def test_window_rejects_reversed_bounds():
    with pytest.raises(ValueError):
        Window(10.0, 5.0)


# --- which version applies ----------------------------------------------------------------------

def version(name: str, effective_from: date) -> LimitTable:
    return replace(DEFAULT_LIMITS, version=name, effective_from=effective_from)


V1 = version("v1", date(2025, 1, 1))
V2 = version("v2", date(2025, 7, 1))
V2_FIX = version("v2-fix", date(2025, 7, 1))


@pytest.mark.parametrize(
    ("measured_at", "expected"),
    [
        (datetime(2024, 12, 31, 15, 59, tzinfo=UTC), None),  # 23:59 local, 2024-12-31
        (datetime(2024, 12, 31, 16, 0, tzinfo=UTC), "v1"),  # 00:00 local, 2025-01-01
        (datetime(2025, 6, 30, 15, 59, tzinfo=UTC), "v1"),
        (datetime(2025, 6, 30, 16, 0, tzinfo=UTC), "v2-fix"),
        (datetime(2030, 1, 1, tzinfo=UTC), "v2-fix"),
    ],
)
def test_table_in_effect_is_latest_effective_on_the_local_day(measured_at, expected):
    table = limit_table_in_effect([V2, V1, V2_FIX], measured_at)
    assert (table.version if table else None) == expected


def test_table_in_effect_needs_an_aware_time():
    with pytest.raises(ValueError):
        limit_table_in_effect([V1], datetime(2025, 3, 1))


@pytest.mark.parametrize("registry_fuel, judged_as", [
    ("diesel", Fuel.DIESEL), ("petrol", Fuel.PETROL), ("natural_gas", Fuel.OTHER), ("electric", Fuel.OTHER),
    ("hybrid", Fuel.OTHER), ("other", Fuel.OTHER), (None, None),
])
def test_registry_fuels_map_to_the_judged_fuel_class(registry_fuel, judged_as):
    from mobsrc.remote_sensing.limits import fuel_class
    assert fuel_class(registry_fuel) == judged_as
