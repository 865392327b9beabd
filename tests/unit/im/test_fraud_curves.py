"""Reused process curves (雷同数据): planted copies are found, honest curves are not."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from mobsrc.im.fraud import CurveReuseConfig, FraudKind, find_reused_curves, fingerprint_curve
from mobsrc.im.inspection import CurveChannel, ProcessCurve
from mobsrc.im.limits import InspectionMethod

from .factories import SyntheticCity, honest_curve, make_inspection

VMAS = InspectionMethod.SIMPLE_TRANSIENT


@pytest.fixture(scope="module")
def city() -> SyntheticCity:
    return SyntheticCity(seed=7)


def source_test(city: SyntheticCity, station="S01", method=VMAS):
    return next(t for t in city.tests if t.station_code == station and t.method is method)


def copies(source, count, station=None, transform=None, prefix="X"):
    """Tests of other vehicles carrying the source's curve, optionally transformed."""
    curve = source.curve if transform is None else transform(source.curve)
    return [replace(source, report_number=f"{prefix}{i}", vin=f"LCOPY{prefix}{i:012d}",
                    station_code=station or source.station_code, curve=curve)
            for i in range(count)]


def scaled(factor, offset, noise, seed=0):
    rng = np.random.default_rng(seed)

    def transform(curve: ProcessCurve) -> ProcessCurve:
        channels = []
        for c in curve.channels:
            values = np.asarray(c.values) * factor + offset
            values = values + rng.normal(0, noise * values.std(), len(values))
            channels.append(CurveChannel(c.name, tuple(values.tolist())))
        return ProcessCurve(curve.period_s, tuple(channels))
    return transform


def test_honest_city_has_no_reused_curves(city):
    assert find_reused_curves(city.tests) == []


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_honest_curves_stay_below_the_threshold_in_other_seeds(seed):
    assert find_reused_curves(SyntheticCity(seed, stations=4).tests) == []


def test_identical_curve_on_different_vehicles_is_flagged_with_its_reports(city):
    source = source_test(city)
    planted = copies(source, 3)
    (sign,) = find_reused_curves(city.tests + planted)
    assert sign.kind is FraudKind.CURVE_IDENTICAL and sign.station_code == "S01"
    assert sign.report_numbers == {source.report_number, "X0", "X1", "X2"}
    assert sign.score == 4.0  # four vehicles
    assert all(item.value("max_correlation") == pytest.approx(1.0) for item in sign.evidence)


@pytest.mark.parametrize("factor,offset,noise", [
    (0.8, 0.0, 0.0),  # the Zhuji "gear": readings scaled down
    (0.6, 0.05, 0.0),
    (1.0, 0.0, 0.01),  # re-noised by 1 % of the signal
])
def test_scaled_or_renoised_copy_is_near_identical(city, factor, offset, noise):
    source = source_test(city)
    planted = copies(source, 2, transform=scaled(factor, offset, noise))
    (sign,) = find_reused_curves(city.tests + planted)
    assert sign.kind is FraudKind.CURVE_NEAR_IDENTICAL
    assert sign.report_numbers == {source.report_number, "X0", "X1"}


def test_heavily_renoised_copy_is_beyond_the_threshold(city):
    source = source_test(city)
    planted = copies(source, 1, transform=scaled(1.0, 0.0, 0.2))
    assert find_reused_curves(city.tests + planted) == []


def test_exact_copy_at_another_station_flags_both_stations(city):
    source = source_test(city)
    planted = copies(source, 1, station="S02")
    signs = find_reused_curves(city.tests + planted)
    assert {(s.kind, s.station_code) for s in signs} == {
        (FraudKind.CURVE_IDENTICAL, "S01"), (FraudKind.CURVE_IDENTICAL, "S02")}


def test_near_copy_at_another_station_is_out_of_scope(city):
    planted = copies(source_test(city), 1, station="S02", transform=scaled(0.8, 0, 0))
    assert find_reused_curves(city.tests + planted) == []


def test_same_vehicle_repeating_its_curve_is_not_a_sign(city):
    source = source_test(city)
    repeat = replace(source, report_number="X-again")
    assert find_reused_curves(city.tests + [repeat]) == []


def flat_curve(level: float) -> ProcessCurve:
    return ProcessCurve(1.0, (CurveChannel("co_pct", (level,) * 195),
                              CurveChannel("hc_ppm", (0.0, 1.0) * 97 + (0.0,))))


def test_clean_cars_with_flat_curves_are_not_compared():
    tests = [make_inspection(f"R{i}", vin=f"V{i}", method=VMAS, curve=flat_curve(0.0))
             for i in range(5)]
    assert [fingerprint_curve(t) for t in tests] == [None] * 5
    assert find_reused_curves(tests) == []


def test_uninformative_channel_is_left_out_of_the_fingerprint():
    rng = np.random.default_rng(3)
    curve = honest_curve(rng, VMAS, 1.0)
    flat = CurveChannel("no_ppm", (0.0,) * 195)
    test = make_inspection(method=VMAS, curve=ProcessCurve(1.0, curve.channels[:2] + (flat,)))
    assert fingerprint_curve(test).channels == ("co_pct", "hc_ppm")


def test_short_curve_is_not_compared():
    rng = np.random.default_rng(4)
    test = make_inspection(method=VMAS, curve=honest_curve(rng, VMAS, 1.0, length=9))
    assert fingerprint_curve(test) is None


def test_speed_channel_is_not_used_for_similarity():
    """Speed follows the prescribed cycle: identical speed traces alone are no sign."""
    speed = CurveChannel("speed_kmh", tuple(float(v) for v in range(195)))
    rng = np.random.default_rng(5)
    tests = [make_inspection(f"R{i}", vin=f"V{i}", method=VMAS, curve=ProcessCurve(
        1.0, (speed,) + honest_curve(rng, VMAS, 1.0).channels)) for i in range(6)]
    assert find_reused_curves(tests) == []
    config = CurveReuseConfig(similarity_channels=("speed_kmh",))
    assert [s.kind for s in find_reused_curves(tests, config)] == [FraudKind.CURVE_IDENTICAL]


def test_small_blocks_find_the_same_pairs(city):
    planted = copies(source_test(city), 2, transform=scaled(0.9, 0, 0.001))
    small = CurveReuseConfig(block_rows=7)
    assert find_reused_curves(city.tests + planted, small) == \
        find_reused_curves(city.tests + planted)
