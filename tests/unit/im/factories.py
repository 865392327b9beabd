"""Builders for the I/M unit tests: inspections, and a seeded synthetic city of honest stations.

The synthetic city is the clean control for the fraud detectors: emission values are lognormal
fractions of their limit (about 11 % of tests fail, station to station 8-15 %), durations sit
above the method minimum, process curves share the driving cycle's shape but carry
vehicle-specific drift and sensor noise, and re-tests come days after a failure.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np

from mobsrc.im.inspection import (
    MIN_TEST_DURATIONS,
    CurveChannel,
    Inspection,
    InspectionKind,
    ItemResult,
    Outcome,
    ProcessCurve,
)
from mobsrc.im.limits import REFERENCE_LIMITS, InspectionMethod, LimitTier

T0 = datetime(2025, 3, 3, 0, 0, tzinfo=UTC)

# (method, phase, quantity) measured per method; limits come from the reference table, tier a.
METHOD_ITEMS = {
    InspectionMethod.SIMPLE_TRANSIENT: [("", "co_g_km"), ("", "hc_g_km"), ("", "nox_g_km")],
    InspectionMethod.ASM: [("asm5025", "co_pct"), ("asm5025", "hc_ppm"), ("asm5025", "no_ppm")],
    InspectionMethod.FREE_ACCELERATION: [("", "k_m1")],
}
CURVE_CHANNELS = {
    InspectionMethod.SIMPLE_TRANSIENT: ("co_pct", "hc_ppm", "no_ppm"),
    InspectionMethod.ASM: ("co_pct", "hc_ppm", "no_ppm"),
    InspectionMethod.FREE_ACCELERATION: ("k_m1",),
}
CURVE_LENGTH = {InspectionMethod.SIMPLE_TRANSIENT: 195, InspectionMethod.ASM: 90,
                InspectionMethod.FREE_ACCELERATION: 70}


def limit_for(method, phase, quantity, tier=LimitTier.A) -> float:
    return REFERENCE_LIMITS.find(method, phase, quantity, tier).upper


def make_item(quantity="k_m1", measured=0.5, upper=1.2, outcome=None, phase="", lower=None):
    if outcome is None:
        within = measured <= upper and (lower is None or measured >= lower)
        outcome = Outcome.PASS if within else Outcome.FAIL
    return ItemResult(quantity, measured, upper, outcome, phase, lower)


def make_inspection(report_number="R1", station="S01", vin="VIN00000000000001", *,
                    method=InspectionMethod.FREE_ACCELERATION, items=None, overall=None,
                    start=T0, duration_s=300.0, kind=InspectionKind.PERIODIC, **extra):
    items = tuple(items if items is not None else [make_item()])
    if overall is None:
        failed = any(i.outcome is Outcome.FAIL for i in items)
        overall = Outcome.FAIL if failed else Outcome.PASS
    return Inspection(report_number, station, vin, "贵A12345", kind, method, LimitTier.A,
                      items, overall, start, start + timedelta(seconds=duration_s),
                      "inspector-1", **extra)


def cycle_shape(length: int) -> np.ndarray:
    """A shared emission shape: peaks at the cycle's accelerations."""
    t = np.arange(length)
    peaks = sum(np.exp(-0.5 * ((t - c) / 4.0) ** 2) for c in range(15, length, 40))
    return 0.2 + peaks


def honest_curve(rng: np.random.Generator, method: InspectionMethod, level: float,
                 length: int | None = None) -> ProcessCurve:
    length = length or CURVE_LENGTH[method]
    base = cycle_shape(length)
    channels = []
    for name in CURVE_CHANNELS[method]:
        drift = np.cumsum(rng.normal(0, 0.08, length))  # vehicle- and run-specific
        noise = rng.normal(0, 0.05, length)  # analyser noise
        values = np.clip(level * rng.uniform(0.5, 2.0) * (base + 0.3 * drift + noise), 0, None)
        channels.append(CurveChannel(name, tuple(np.round(values, 3).tolist())))
    return ProcessCurve(1.0, tuple(channels))


class SyntheticCity:
    """Seeded honest inspections; `tests` grows as methods are called."""

    def __init__(self, seed: int, stations: int = 12, tests_per_station: int = 150):
        self.rng = np.random.default_rng(seed)
        self.tests: list[Inspection] = []
        self.counter = 0
        self.stations = stations
        for s in range(stations):
            quality = self.rng.uniform(0.9, 1.1)  # station's vehicle mix
            for _ in range(tests_per_station):
                self.tests.append(self.honest_test(f"S{s:02d}", quality))
        self.add_honest_retests()

    def next_vin(self) -> str:
        self.counter += 1
        return f"LVIN{self.counter:013d}"

    def honest_test(self, station, quality=1.0, vin=None, start=None, method=None,
                    kind=InspectionKind.PERIODIC) -> Inspection:
        rng = self.rng
        method = method or list(METHOD_ITEMS)[rng.integers(len(METHOD_ITEMS))]
        start = start or T0 + timedelta(minutes=float(rng.uniform(0, 30 * 24 * 60)))
        items = []
        for phase, quantity in METHOD_ITEMS[method]:
            limit = limit_for(method, phase, quantity)
            ratio = float(np.exp(rng.normal(math.log(0.35 * quality), 0.6)))
            items.append(make_item(quantity, round(ratio * limit, 3), limit, phase=phase))
        minimum = MIN_TEST_DURATIONS[method].seconds
        return make_inspection(
            f"R{len(self.tests) + 1:06d}", station, vin or self.next_vin(), method=method,
            items=items, start=start, duration_s=minimum + float(rng.uniform(5, 120)),
            kind=kind, curve=honest_curve(rng, method, float(rng.uniform(0.5, 2))))

    def add_honest_retests(self) -> None:
        failed = [t for t in self.tests if t.overall is Outcome.FAIL]
        for test in failed[: len(failed) // 3]:
            station = f"S{int(self.rng.integers(self.stations)):02d}"
            later = test.ended_at + timedelta(days=float(self.rng.uniform(1, 10)))
            retest = self.honest_test(station, 0.6, test.vin, later, test.method,
                                      InspectionKind.RETEST)
            self.tests.append(retest)
