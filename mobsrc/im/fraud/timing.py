"""Timing signs: tests too short for their method; a failure passed elsewhere within minutes.

Source: standards-enforcement.md 4.5, recommended detector 3 (duration outside method norms)
and 4 ("first-fail-then-pass"); 4.3 ("record both station IDs" of a failure and its re-test).
Thresholds are design defaults, configurable; minimum durations are UNCONFIRMED (inspection.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from mobsrc.im.fraud.signs import EvidenceItem, FraudKind, FraudSign
from mobsrc.im.inspection import MIN_TEST_DURATIONS, Inspection, MinDuration, Outcome
from mobsrc.im.limits import InspectionMethod


@dataclass(frozen=True)
class ShortTestConfig:
    minimums: Mapping[InspectionMethod, MinDuration] = field(
        default_factory=lambda: MIN_TEST_DURATIONS)
    min_count: int = 1  # short tests at one station before it is flagged


def find_short_tests(inspections: Iterable[Inspection],
                     config: ShortTestConfig = ShortTestConfig()) -> list[FraudSign]:
    totals: dict[str, int] = defaultdict(int)
    short: dict[str, list[EvidenceItem]] = defaultdict(list)
    for inspection in inspections:
        totals[inspection.station_code] += 1
        minimum = config.minimums.get(inspection.method)
        if minimum is not None and inspection.duration_s < minimum.seconds:
            short[inspection.station_code].append(EvidenceItem(
                f"{inspection.method} shorter than its minimum", (inspection.report_number,),
                (("duration_s", inspection.duration_s), ("minimum_s", minimum.seconds))))
    return [_short_test_sign(station, evidence, totals[station])
            for station, evidence in sorted(short.items()) if len(evidence) >= config.min_count]


def _short_test_sign(station: str, evidence: list[EvidenceItem], total: int) -> FraudSign:
    explanation = (f"{len(evidence)} of {total} tests ended sooner than the minimum duration of "
                   f"their method (UNCONFIRMED minimums); score = number of short tests")
    return FraudSign(FraudKind.SHORT_TEST, station, tuple(evidence), float(len(evidence)),
                     explanation)


@dataclass(frozen=True)
class QuickRetestConfig:
    # No emission repair fits in half an hour; design default, UNCONFIRMED.
    window: timedelta = timedelta(minutes=30)
    other_station_only: bool = True  # doc 4.3 also names same-station fail-then-pass
    min_count: int = 1


def find_quick_retest_passes(inspections: Iterable[Inspection],
                             config: QuickRetestConfig = QuickRetestConfig()) -> list[FraudSign]:
    """A failure followed, as the vehicle's next test, by a pass within the window."""
    by_vehicle: dict[str, list[Inspection]] = defaultdict(list)
    for inspection in inspections:
        by_vehicle[inspection.vehicle_id].append(inspection)
    pairs: dict[str, list[EvidenceItem]] = defaultdict(list)
    for tests in by_vehicle.values():
        tests.sort(key=lambda t: (t.started_at, t.report_number))
        for failed, passed in zip(tests, tests[1:]):
            if _is_quick_pass(failed, passed, config):
                pairs[passed.station_code].append(_pair_evidence(failed, passed))
    return [_quick_pass_sign(station, evidence, config)
            for station, evidence in sorted(pairs.items()) if len(evidence) >= config.min_count]


def _is_quick_pass(failed: Inspection, passed: Inspection, config: QuickRetestConfig) -> bool:
    if failed.overall is not Outcome.FAIL or passed.overall is not Outcome.PASS:
        return False
    if config.other_station_only and failed.station_code == passed.station_code:
        return False
    return passed.started_at - failed.ended_at <= config.window


def _pair_evidence(failed: Inspection, passed: Inspection) -> EvidenceItem:
    minutes = (passed.started_at - failed.ended_at).total_seconds() / 60
    return EvidenceItem(
        f"{failed.vehicle_id}: failed at {failed.station_code}, passed at {passed.station_code}",
        (failed.report_number, passed.report_number), (("minutes_between", round(minutes, 2)),))


def _quick_pass_sign(station: str, evidence: list[EvidenceItem],
                     config: QuickRetestConfig) -> FraudSign:
    minutes = config.window.total_seconds() / 60
    explanation = (f"{len(evidence)} vehicles passed here within {minutes:g} minutes of failing "
                   f"{'at another station' if config.other_station_only else 'a test'}, too "
                   f"soon for a repair; score = number of such passes")
    return FraudSign(FraudKind.QUICK_RETEST_PASS, station, tuple(evidence),
                     float(len(evidence)), explanation)
