"""Inspection results: self-consistency tables, reference limits, minimum durations."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from mobsrc.im.inspection import (
    MIN_TEST_DURATIONS,
    InvalidInspection,
    ObdCheck,
    Outcome,
    ProblemCode,
    check_inspection_consistency,
    is_shorter_than_minimum,
    summarise_curve,
)
from mobsrc.im.limits import REFERENCE_LIMITS, InspectionMethod, LimitTable, LimitTier

from .factories import T0, honest_curve, make_inspection, make_item

M = InspectionMethod
P, F = Outcome.PASS, Outcome.FAIL


def codes(result, reference=None, tier=None) -> list[ProblemCode]:
    return [p.code for p in check_inspection_consistency(result, reference, tier)]


@pytest.mark.parametrize("measured,upper,lower,outcome,expected", [
    (0.50, 1.2, None, P, []),
    (1.20, 1.2, None, P, []),  # at the limit passes: "not exceeding"
    (1.20, 1.2, None, F, []),  # ... and a fail there may come from the unrounded reading
    (1.19, 1.2, None, F, [ProblemCode.ITEM_FAIL_WITHIN_LIMITS]),
    (0.95, 1.05, 0.95, F, []),
    (1.21, 1.2, None, P, [ProblemCode.ITEM_PASS_OUTSIDE_LIMITS]),
    (1.21, 1.2, None, F, []),
    (0.50, 1.2, None, F, [ProblemCode.ITEM_FAIL_WITHIN_LIMITS]),
    (1.00, 1.05, 0.95, P, []),  # lambda inside its window
    (0.94, 1.05, 0.95, P, [ProblemCode.ITEM_PASS_OUTSIDE_LIMITS]),
    (0.94, 1.05, 0.95, F, []),
    (0.50, None, None, P, [ProblemCode.ITEM_WITHOUT_LIMIT]),
])
def test_item_verdict_must_follow_from_value_and_limit(measured, upper, lower, outcome,
                                                       expected):
    item = make_item("lambda", measured, upper, outcome, "high_idle", lower)
    result = make_inspection(items=[item], overall=outcome)
    assert codes(result) == expected


@pytest.mark.parametrize("item_outcomes,obd,appearance,overall,expected", [
    ([P, P], None, True, P, []),
    ([P, F], None, True, F, []),
    ([P, F], None, True, P, [ProblemCode.OVERALL_PASS_WITH_FAILED_ITEM]),
    ([P, P], F, True, P, [ProblemCode.OVERALL_PASS_WITH_FAILED_OBD]),
    ([P, P], F, True, F, []),
    ([P, P], None, False, P, [ProblemCode.OVERALL_PASS_WITH_FAILED_APPEARANCE]),
    ([P, P], None, False, F, []),  # visible smoke fails the test (doc 2.4)
    ([P, P], None, True, F, [ProblemCode.OVERALL_FAIL_WITHOUT_CAUSE]),
])
def test_overall_result_must_follow_from_items_obd_and_appearance(
        item_outcomes, obd, appearance, overall, expected):
    items = [make_item("k_m1", 0.5 if o is P else 1.5, 1.2, o, phase=f"cycle{i}")
             for i, o in enumerate(item_outcomes)]
    obd_check = None if obd is None else ObdCheck(obd, communication_ok=False, mil_on=False)
    result = make_inspection(items=items, overall=overall, obd=obd_check,
                             appearance_passed=appearance)
    assert codes(result) == expected


@pytest.mark.parametrize("communication_ok,mil_on,dtcs,expected", [
    (True, False, (), []),
    (False, False, (), [ProblemCode.OBD_PASS_WITH_FAULT]),  # no communication fails (doc 2.4)
    (True, True, (), [ProblemCode.OBD_PASS_WITH_FAULT]),  # MIL on fails
    (True, False, ("P0420",), [ProblemCode.OBD_PASS_WITH_FAULT]),  # confirmed DTC fails
])
def test_obd_pass_contradicted_by_its_own_readings(communication_ok, mil_on, dtcs, expected):
    obd = ObdCheck(P, communication_ok, mil_on, dtcs)
    assert codes(make_inspection(obd=obd)) == expected


def test_end_before_start_is_rejected():
    result = make_inspection(duration_s=-5)
    assert codes(result) == [ProblemCode.END_BEFORE_START]


def test_tailpipe_method_without_measurements_is_rejected():
    assert codes(make_inspection(items=[], overall=P)) == [ProblemCode.NO_MEASUREMENTS]


def test_obd_only_check_needs_no_tailpipe_items():
    result = make_inspection(method=M.OBD_CHECK, items=[], overall=P,
                             obd=ObdCheck(P, True, False))
    assert codes(result) == []


def test_duplicate_item_is_rejected():
    items = [make_item("k_m1", 0.5, 1.2), make_item("k_m1", 0.6, 1.2)]
    assert codes(make_inspection(items=items)) == [ProblemCode.DUPLICATE_ITEM]


def test_problem_names_the_item_and_the_values():
    item = make_item("co_pct", 0.7, 0.6, P, "idle")
    (problem,) = check_inspection_consistency(
        make_inspection(method=M.TWO_SPEED_IDLE, items=[item], overall=P))
    assert problem.item == "idle:co_pct"
    assert "0.7" in problem.detail and "0.6" in problem.detail


# (method, phase, quantity, tier, applied upper, applied lower, looser?)
REFERENCE_ROWS = [
    (M.FREE_ACCELERATION, "", "k_m1", LimitTier.A, 1.2, None, False),
    (M.FREE_ACCELERATION, "", "k_m1", LimitTier.A, 1.5, None, True),  # 2005-era 1.5 m-1
    (M.FREE_ACCELERATION, "", "k_m1", LimitTier.B, 1.2, None, True),
    (M.FREE_ACCELERATION, "", "k_m1", LimitTier.B, 0.7, None, False),
    (M.LUG_DOWN, "100pct_velmaxhp", "k_m1", LimitTier.A, 1.2, None, False),
    (M.LUG_DOWN, "80pct_velmaxhp", "nox_ppm", LimitTier.A, 1600, None, True),
    (M.LUG_DOWN, "80pct_velmaxhp", "nox_ppm", LimitTier.B, 900, None, False),
    (M.RINGELMANN, "", "ringelmann_grade", LimitTier.A, 2, None, True),
    (M.TWO_SPEED_IDLE, "idle", "co_pct", LimitTier.A, 0.6, None, False),
    (M.TWO_SPEED_IDLE, "high_idle", "co_pct", LimitTier.A, 0.6, None, True),  # idle row used
    (M.TWO_SPEED_IDLE, "high_idle", "hc_ppm", LimitTier.B, 30, None, False),
    (M.TWO_SPEED_IDLE, "high_idle", "lambda", LimitTier.A, 1.05, 0.95, False),
    (M.TWO_SPEED_IDLE, "high_idle", "lambda", LimitTier.A, 1.05, 0.90, True),
    (M.TWO_SPEED_IDLE, "high_idle", "lambda", LimitTier.A, 1.05, None, True),
    (M.ASM, "asm5025", "no_ppm", LimitTier.A, 700, None, False),
    (M.ASM, "asm2540", "no_ppm", LimitTier.A, 700, None, True),
    (M.ASM, "asm2540", "hc_ppm", LimitTier.B, 44, None, False),
    (M.SIMPLE_TRANSIENT, "", "nox_g_km", LimitTier.A, 1.3, None, False),
    (M.SIMPLE_TRANSIENT, "", "nox_g_km", LimitTier.B, 1.3, None, True),
    (M.TRANSIENT, "", "hc_nox_g_km", LimitTier.B, 1.2, None, False),
    (M.SIMPLE_TRANSIENT, "", "co2_g_km", LimitTier.A, 999, None, False),  # not in the table
]


@pytest.mark.parametrize("method,phase,quantity,tier,upper,lower,looser", REFERENCE_ROWS)
def test_applied_limit_looser_than_the_reference_table_is_rejected(
        method, phase, quantity, tier, upper, lower, looser):
    item = make_item(quantity, 0.0 if lower is None else 1.0, upper, P, phase, lower)
    result = make_inspection(method=method, items=[item], overall=P)
    expected = [ProblemCode.LIMIT_LOOSER_THAN_STANDARD] if looser else []
    assert codes(result, REFERENCE_LIMITS, tier) == expected


def test_reference_check_uses_the_declared_tier_by_default():
    item = make_item("k_m1", 0.5, 1.2, P)
    result = make_inspection(items=[item], overall=P)  # declares tier a
    assert codes(result, REFERENCE_LIMITS) == []
    assert codes(result, REFERENCE_LIMITS, LimitTier.B) == [
        ProblemCode.LIMIT_LOOSER_THAN_STANDARD]


def test_without_a_reference_table_limits_are_not_judged():
    item = make_item("k_m1", 0.5, 9.9, P)
    assert codes(make_inspection(items=[item], overall=P)) == []


def test_every_reference_value_is_tagged_unconfirmed():
    assert REFERENCE_LIMITS.entries
    assert {e.tag for e in REFERENCE_LIMITS.entries} == {"UNCONFIRMED"}


def test_empty_reference_table_judges_nothing():
    item = make_item("k_m1", 0.5, 9.9, P)
    assert codes(make_inspection(items=[item], overall=P), LimitTable("empty", ())) == []


@pytest.mark.parametrize("method,seconds,short", [
    (M.SIMPLE_TRANSIENT, 194, True),
    (M.SIMPLE_TRANSIENT, 195, False),
    (M.ASM, 30, True),
    (M.TWO_SPEED_IDLE, 119, True),
    (M.FREE_ACCELERATION, 60, False),
    (M.LUG_DOWN, 100, True),
    (M.RINGELMANN, 1, False),  # no minimum configured
])
def test_test_shorter_than_its_method_minimum(method, seconds, short):
    result = make_inspection(method=method, duration_s=seconds)
    assert is_shorter_than_minimum(result) is short


def test_minimum_durations_are_unconfirmed_and_explained():
    assert all(m.tag == "UNCONFIRMED" and m.reasoning for m in MIN_TEST_DURATIONS.values())


def test_naive_timestamps_are_malformed():
    with pytest.raises(InvalidInspection):
        make_inspection(start=datetime(2025, 3, 3))


def test_non_finite_measurement_is_malformed():
    with pytest.raises(InvalidInspection):
        make_item("k_m1", float("nan"), 1.2, P)


def test_curve_summary_counts_samples_and_peaks():
    curve = honest_curve(np.random.default_rng(1), M.SIMPLE_TRANSIENT, 1.0)
    summary = summarise_curve(curve)
    assert summary.samples == 195 and summary.duration_s == 195.0
    assert summary.peaks == tuple(max(c.values) for c in curve.channels)
    assert make_inspection(curve=curve, start=T0 + timedelta(1)).curve_summary == summary
