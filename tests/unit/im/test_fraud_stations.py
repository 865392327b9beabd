"""Station signs: short tests, values at the limit, pass-rate outliers, quick re-test passes.

Each pattern is planted into a seeded honest city; the same city without the plant is the clean
control, and no station other than the planted one may be flagged.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta

import pytest

from mobsrc.im.fraud import (
    AtLimitConfig,
    FraudKind,
    PassRateConfig,
    QuickRetestConfig,
    ShortTestConfig,
    binomial_upper_tail,
    detect_fraud_signs,
    find_pass_rate_outliers,
    find_quick_retest_passes,
    find_short_tests,
    find_values_at_limits,
    margin_to_limit,
)
from mobsrc.im.inspection import InspectionKind, Outcome
from mobsrc.im.limits import InspectionMethod

from .factories import T0, SyntheticCity, make_inspection, make_item

ASM = InspectionMethod.ASM
VMAS = InspectionMethod.SIMPLE_TRANSIENT


@pytest.fixture(scope="module")
def city() -> SyntheticCity:
    return SyntheticCity(seed=42)


def flagged(signs) -> set[tuple[FraudKind, str]]:
    return {(s.kind, s.station_code) for s in signs}


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_honest_city_raises_no_sign_at_all(seed):
    assert detect_fraud_signs(SyntheticCity(seed).tests) == []


# --- (b) short tests -------------------------------------------------------------------------

def test_tests_shorter_than_the_method_minimum_are_flagged_with_durations(city):
    short = [make_inspection(f"SH{i}", "S03", f"LSHORT{i:011d}", method=VMAS, duration_s=60,
                             start=T0 + timedelta(hours=i)) for i in range(4)]
    (sign,) = find_short_tests(city.tests + short)
    assert (sign.kind, sign.station_code, sign.score) == (FraudKind.SHORT_TEST, "S03", 4.0)
    assert sign.report_numbers == {"SH0", "SH1", "SH2", "SH3"}
    assert {(e.value("duration_s"), e.value("minimum_s")) for e in sign.evidence} == {
        (60.0, 195.0)}


def test_short_test_threshold_count_is_configurable(city):
    short = [make_inspection("SH0", "S03", method=VMAS, duration_s=60)]
    assert find_short_tests(city.tests + short, ShortTestConfig(min_count=2)) == []


# --- (c) values at the limit -----------------------------------------------------------------

@pytest.mark.parametrize("measured,upper,lower,margin", [
    (1.2, 1.2, None, 0.0),
    (1.188, 1.2, None, pytest.approx(0.01)),
    (0.6, 1.2, None, 0.5),
    (1.3, 1.2, None, None),  # outside: not a passing value
    (0.96, 1.05, 0.95, pytest.approx(0.0105263, rel=1e-4)),  # nearer the lower bound
    (0.5, None, None, None),
])
def test_margin_to_limit_is_relative_to_the_nearest_bound(measured, upper, lower, margin):
    item = make_item("lambda", measured, upper, Outcome.PASS, "high_idle", lower)
    assert margin_to_limit(item) == margin


def plant_at_limit(city: SyntheticCity, station: str, count: int):
    """Rewrite `count` passing ASM tests of a station so HC sits 0.1-0.5 % under its limit."""
    planted, done = [], 0
    for test in city.tests:
        if (done < count and test.station_code == station and test.method is ASM
                and test.overall is Outcome.PASS):
            items = tuple(replace(i, measured=round(i.upper_limit * (0.995 + 0.001 * (done % 5)),
                                                    3)) if i.quantity == "hc_ppm" else i
                          for i in test.items)
            test, done = replace(test, items=items), done + 1
        planted.append(test)
    return planted


def test_values_repeatedly_at_the_limit_are_flagged_with_each_value(city):
    tests = plant_at_limit(city, "S04", 25)
    (sign,) = find_values_at_limits(tests)
    assert (sign.kind, sign.station_code) == (FraudKind.VALUES_AT_LIMIT, "S04")
    at_limit = [e for e in sign.evidence if e.report_numbers]
    assert len(at_limit) >= 25
    assert all(0.99 * e.value("limit") <= e.value("measured") <= e.value("limit")
               for e in at_limit)
    assert sign.evidence[0].value("at_limit") >= 25
    assert sign.score >= AtLimitConfig().min_ratio


def test_a_few_values_at_the_limit_are_no_sign(city):
    assert find_values_at_limits(plant_at_limit(city, "S04", 3)) == []


# --- (d) pass rate far above peers -----------------------------------------------------------

def plant_lenient_station(city: SyntheticCity, station="S05", tests=250, fails=2):
    """A station passing almost every ASM test (Zhangzhou: 99 %)."""
    extra = []
    for i in range(tests):
        test = city.honest_test(station, method=ASM)
        outcome = Outcome.FAIL if i < fails else Outcome.PASS
        items = tuple(replace(item, measured=item.upper_limit * (1.5 if outcome is Outcome.FAIL
                                                                 else 0.4), outcome=outcome)
                      for item in test.items)
        extra.append(replace(test, report_number=f"LN{i}", items=items, overall=outcome))
    return [t for t in city.tests if t.station_code != station] + extra


def test_station_passing_far_more_than_its_peers_is_flagged(city):
    signs = find_pass_rate_outliers(plant_lenient_station(city))
    assert flagged(signs) == {(FraudKind.PASS_RATE_OUTLIER, "S05")}
    (sign,) = signs
    evidence = sign.evidence[0]
    assert (evidence.value("tests"), evidence.value("passes")) == (250, 248)
    assert evidence.value("peer_passes") / evidence.value("peer_tests") < 0.95
    assert "method=asm" in evidence.label and sign.score > 3


def test_small_station_is_not_judged_on_its_pass_rate(city):
    tests = plant_lenient_station(city, tests=20, fails=0)
    assert find_pass_rate_outliers(tests) == []


def test_pass_rate_needs_an_effect_size_not_only_significance(city):
    tests = plant_lenient_station(city, tests=2000, fails=140)  # 7 % fails vs ~9 %
    assert find_pass_rate_outliers(tests) == []
    assert find_pass_rate_outliers(tests, PassRateConfig(max_fail_ratio=0.9)) != []


# --- (e) re-test passed elsewhere within minutes ---------------------------------------------

def fail_then_pass(vin, fail_station, pass_station, gap, n):
    failed = make_inspection(f"F{n}", fail_station, vin, items=[make_item("k_m1", 1.5, 1.2)],
                             start=T0 + timedelta(days=n), duration_s=300)
    passed = make_inspection(f"P{n}", pass_station, vin, items=[make_item("k_m1", 0.5, 1.2)],
                             start=failed.ended_at + gap, kind=InspectionKind.RETEST)
    return [failed, passed]


def test_pass_elsewhere_minutes_after_a_failure_is_flagged_at_the_passing_station(city):
    quick = sum((fail_then_pass(f"LQUICK{i:011d}", "S07", "S06", timedelta(minutes=12), i)
                 for i in range(3)), [])
    slow = fail_then_pass("LSLOW0000000000001", "S07", "S06", timedelta(days=3), 9)
    (sign,) = find_quick_retest_passes(city.tests + quick + slow)
    assert (sign.kind, sign.station_code, sign.score) == (FraudKind.QUICK_RETEST_PASS, "S06",
                                                          3.0)
    assert {e.report_numbers for e in sign.evidence} == {("F0", "P0"), ("F1", "P1"),
                                                         ("F2", "P2")}
    assert {e.value("minutes_between") for e in sign.evidence} == {12.0}


@pytest.mark.parametrize("gap_minutes,flag", [(29, True), (30, True), (31, False)])
def test_quick_retest_window_boundary(gap_minutes, flag):
    tests = fail_then_pass("LVIN1", "S07", "S06", timedelta(minutes=gap_minutes), 0)
    assert bool(find_quick_retest_passes(tests)) is flag


def test_same_station_quick_pass_is_flagged_only_when_configured():
    tests = fail_then_pass("LVIN1", "S06", "S06", timedelta(minutes=5), 0)
    assert find_quick_retest_passes(tests) == []
    config = QuickRetestConfig(other_station_only=False)
    assert flagged(find_quick_retest_passes(tests, config)) == {
        (FraudKind.QUICK_RETEST_PASS, "S06")}


def test_only_the_next_test_after_a_failure_counts():
    first, second = fail_then_pass("LVIN1", "S07", "S06", timedelta(minutes=5), 0)
    between = make_inspection("B", "S08", "LVIN1", items=[make_item("k_m1", 1.5, 1.2)],
                              start=first.ended_at + timedelta(minutes=1), duration_s=60)
    signs = find_quick_retest_passes([first, between, second])
    assert {e.report_numbers for s in signs for e in s.evidence} == {("B", "P0")}


# --- everything together ---------------------------------------------------------------------

def test_all_detectors_flag_only_the_planted_stations(city):
    tests = plant_lenient_station(city)
    tests = plant_at_limit(SyntheticCityView(tests), "S04", 25)
    tests += [make_inspection(f"SH{i}", "S03", f"LSHORT{i:011d}", method=VMAS, duration_s=60)
              for i in range(2)]
    tests += sum((fail_then_pass(f"LQ{i:015d}", "S07", "S06", timedelta(minutes=8), i)
                  for i in range(2)), [])
    signs = detect_fraud_signs(tests)
    assert flagged(signs) == {(FraudKind.SHORT_TEST, "S03"),
                              (FraudKind.VALUES_AT_LIMIT, "S04"),
                              (FraudKind.PASS_RATE_OUTLIER, "S05"),
                              (FraudKind.QUICK_RETEST_PASS, "S06")}
    assert [s.kind for s in signs] == sorted((s.kind for s in signs), key=list(FraudKind).index)


class SyntheticCityView:
    """Just the `tests` attribute plant_at_limit reads."""

    def __init__(self, tests):
        self.tests = tests


# --- the binomial tail -----------------------------------------------------------------------

def exact_tail(k, n, p):
    return sum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(k, n + 1))


@pytest.mark.parametrize("k,n,p", [(0, 10, 0.3), (3, 10, 0.3), (10, 10, 0.3), (11, 10, 0.3),
                                   (5, 50, 0.02), (45, 50, 0.9), (150, 150, 0.91),
                                   (1, 1, 0.5), (3, 10, 0.0), (3, 10, 1.0)])
def test_binomial_tail_matches_the_exact_sum(k, n, p):
    expected = exact_tail(k, n, p) if 0 < p < 1 else (1.0 if p == 1 or k <= 0 else 0.0)
    assert binomial_upper_tail(k, n, p) == pytest.approx(expected, rel=1e-9, abs=1e-300)
