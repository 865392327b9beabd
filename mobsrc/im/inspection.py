"""I station inspection results and their self-consistency check.

Source: standards-enforcement.md 2.1-2.4 (methods, limits, OBD check), 4.2 (I -> M payload),
2.5 (HJ 1238 process data). A posted result that contradicts its own values and limits, or
applies limits looser than the configured reference table, is rejected with the reasons.
Malformed input (naive timestamps, non-finite numbers) raises InvalidInspection.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from mobsrc.im.limits import InspectionMethod, LimitEntry, LimitTable, LimitTier


class InspectionKind(StrEnum):
    PERIODIC = "periodic"
    RETEST = "retest"
    CASE_TRIGGERED = "case_triggered"


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"


class InvalidInspection(ValueError):
    """Malformed inspection data (not a contradiction: those are Problems)."""


# Float representation slack when comparing a value with a limit; not a measurement tolerance.
_SLACK = 1e-9


def _exceeds(value: float, bound: float) -> bool:
    return value > bound + _SLACK * max(1.0, abs(bound))


@dataclass(frozen=True)
class ItemResult:
    """One measured quantity, the limits the station applied, and its verdict."""

    quantity: str  # e.g. "k_m1", "co_pct"; names as in limits.py
    measured: float
    upper_limit: float | None
    outcome: Outcome
    phase: str = ""  # e.g. "idle", "asm5025", "100pct_velmaxhp"
    lower_limit: float | None = None
    unit: str = ""

    def __post_init__(self) -> None:
        for value in (self.measured, self.upper_limit, self.lower_limit):
            if value is not None and not math.isfinite(value):
                raise InvalidInspection(f"{self.quantity}: non-finite value {value!r}")

    @property
    def label(self) -> str:
        return f"{self.phase}:{self.quantity}" if self.phase else self.quantity

    def is_within_limits(self) -> bool:
        above = self.upper_limit is not None and _exceeds(self.measured, self.upper_limit)
        below = self.lower_limit is not None and _exceeds(self.lower_limit, self.measured)
        return not (above or below)

    def is_on_a_limit(self) -> bool:
        """Equal to a limit: a reported (rounded) value there may hide an exceedance."""
        return any(bound is not None
                   and abs(self.measured - bound) <= _SLACK * max(1.0, abs(bound))
                   for bound in (self.upper_limit, self.lower_limit))


@dataclass(frozen=True)
class ObdCheck:
    """OBD check at the inspection (doc 2.4); dtcs = confirmed emission-related codes."""

    outcome: Outcome
    communication_ok: bool
    mil_on: bool
    dtcs: tuple[str, ...] = ()
    readiness_incomplete: int = 0  # "not ready" threshold UNCONFIRMED: not judged here
    vin_read: str = ""
    cal_id: str = ""
    cvn: str = ""

    def has_fault(self) -> bool:
        return not self.communication_ok or self.mil_on or bool(self.dtcs)


@dataclass(frozen=True)
class CurveChannel:
    name: str  # e.g. "speed_kmh", "co_pct", "hc_ppm", "no_ppm", "k_m1"
    values: tuple[float, ...]


@dataclass(frozen=True)
class ProcessCurve:
    """Second-by-second process data of one test (HJ 1238 process records)."""

    period_s: float
    channels: tuple[CurveChannel, ...]

    @property
    def samples(self) -> int:
        return max((len(c.values) for c in self.channels), default=0)

    def channel(self, name: str) -> CurveChannel | None:
        return next((c for c in self.channels if c.name == name), None)


@dataclass(frozen=True)
class CurveSummary:
    samples: int
    duration_s: float
    channel_names: tuple[str, ...]
    peaks: tuple[float, ...]  # max per channel, same order


def summarise_curve(curve: ProcessCurve) -> CurveSummary:
    names = tuple(c.name for c in curve.channels)
    peaks = tuple(max(c.values, default=math.nan) for c in curve.channels)
    return CurveSummary(curve.samples, curve.samples * curve.period_s, names, peaks)


@dataclass(frozen=True)
class Inspection:
    report_number: str
    station_code: str
    vin: str
    plate: str
    kind: InspectionKind
    method: InspectionMethod  # the tailpipe method; OBD_CHECK for an OBD-only check
    tier: LimitTier
    items: tuple[ItemResult, ...]
    overall: Outcome
    started_at: datetime
    ended_at: datetime
    inspector: str
    obd: ObdCheck | None = None
    appearance_passed: bool = True  # visible black/blue smoke = fail (HJ 1237 cl. 7.5, doc 2.4)
    curve: ProcessCurve | None = None
    vehicle_class: str = ""  # peer grouping for pass rates (doc 4.5)
    repair_order: str = ""  # M station repair order a re-test refers to (doc 4.2)

    def __post_init__(self) -> None:
        for name in ("started_at", "ended_at"):
            moment = getattr(self, name)
            if moment.tzinfo is None or moment.utcoffset() is None:
                raise InvalidInspection(f"{self.report_number}: {name} must be timezone-aware")

    @property
    def vehicle_id(self) -> str:
        """The VIN, or the plate when the VIN is missing."""
        return self.vin or f"plate:{self.plate}"

    @property
    def duration_s(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()

    @property
    def curve_summary(self) -> CurveSummary | None:
        return summarise_curve(self.curve) if self.curve else None


@dataclass(frozen=True)
class MinDuration:
    seconds: float
    tag: str
    reasoning: str


# Minimum plausible duration of a complete test, start to end. All UNCONFIRMED: derived from the
# procedures as recalled (doc 2.1/2.2 give outlines only); configurable.
MIN_TEST_DURATIONS: Mapping[InspectionMethod, MinDuration] = MappingProxyType({
    InspectionMethod.SIMPLE_TRANSIENT: MinDuration(
        195, "UNCONFIRMED", "one run of the 195 s driving cycle of the simple transient test"),
    InspectionMethod.TRANSIENT: MinDuration(
        195, "UNCONFIRMED", "the transient test drives the same 195 s cycle"),
    InspectionMethod.ASM: MinDuration(
        50, "UNCONFIRMED", "ASM5025 then ASM2540, each >= ~25 s (stabilise + fast-pass "
        "sampling) even when both modes pass early; a full mode lasts ~90 s"),
    InspectionMethod.TWO_SPEED_IDLE: MinDuration(
        120, "UNCONFIRMED", "30 s at 70 % rated speed, then 15 s + 30 s at high idle and "
        "15 s + 30 s at idle"),
    InspectionMethod.FREE_ACCELERATION: MinDuration(
        60, "UNCONFIRMED", "purge cycles plus three measured cycles (doc 2.1), each "
        "accelerate-hold-release-idle cycle >= ~10 s"),
    InspectionMethod.LUG_DOWN: MinDuration(
        120, "UNCONFIRMED", "power scan to find VelMaxHP, then steady points at 100/90/80 % "
        "(doc 2.1) with stabilisation and sampling at each"),
    InspectionMethod.OBD_CHECK: MinDuration(
        20, "UNCONFIRMED", "connect the scan tool, read VIN, CAL ID/CVN, MIL, DTCs, readiness"),
})


def is_shorter_than_minimum(inspection: Inspection,
                            minimums: Mapping[InspectionMethod, MinDuration] = MIN_TEST_DURATIONS,
                            ) -> bool:
    minimum = minimums.get(inspection.method)
    return minimum is not None and inspection.duration_s < minimum.seconds


class ProblemCode(StrEnum):
    END_BEFORE_START = "end_before_start"
    NO_MEASUREMENTS = "no_measurements"
    DUPLICATE_ITEM = "duplicate_item"
    ITEM_WITHOUT_LIMIT = "item_without_limit"
    ITEM_PASS_OUTSIDE_LIMITS = "item_pass_outside_limits"
    ITEM_FAIL_WITHIN_LIMITS = "item_fail_within_limits"
    OBD_PASS_WITH_FAULT = "obd_pass_with_fault"
    OVERALL_PASS_WITH_FAILED_ITEM = "overall_pass_with_failed_item"
    OVERALL_PASS_WITH_FAILED_OBD = "overall_pass_with_failed_obd"
    OVERALL_PASS_WITH_FAILED_APPEARANCE = "overall_pass_with_failed_appearance"
    OVERALL_FAIL_WITHOUT_CAUSE = "overall_fail_without_cause"
    LIMIT_LOOSER_THAN_STANDARD = "limit_looser_than_standard"


@dataclass(frozen=True)
class Problem:
    code: ProblemCode
    detail: str
    item: str = ""  # ItemResult.label when the problem concerns one item


def check_inspection_consistency(result: Inspection, reference_limits: LimitTable | None = None,
                                 tier: LimitTier | None = None) -> list[Problem]:
    """Contradictions in a posted result; empty when it is self-consistent.

    A value equal to its limit passes ("not exceeding"); a FAIL reported on a value equal to
    the limit is accepted too, because the station may judge the unrounded reading (rounding
    rule of the standards UNCONFIRMED).

    With `reference_limits`, each applied limit is compared with the table for `tier`
    (default: the tier the result declares).
    """
    problems = _timing_problems(result) + _item_problems(result) + _obd_problems(result)
    problems += _overall_problems(result)
    if reference_limits is not None:
        problems += _reference_problems(result, reference_limits, tier or result.tier)
    return problems


def _timing_problems(result: Inspection) -> list[Problem]:
    if result.ended_at < result.started_at:
        return [Problem(ProblemCode.END_BEFORE_START,
                        f"ended {result.ended_at.isoformat()} before it started "
                        f"{result.started_at.isoformat()}")]
    return []


def _item_problems(result: Inspection) -> list[Problem]:
    problems, seen = [], set()
    if not result.items and result.method is not InspectionMethod.OBD_CHECK:
        problems.append(Problem(ProblemCode.NO_MEASUREMENTS, f"{result.method} without items"))
    for item in result.items:
        if item.label in seen:
            problems.append(Problem(ProblemCode.DUPLICATE_ITEM, "reported twice", item.label))
        seen.add(item.label)
        problems += _verdict_problems(item)
    return problems


def _verdict_problems(item: ItemResult) -> list[Problem]:
    bounds = f"measured {item.measured} against [{item.lower_limit}, {item.upper_limit}]"
    if item.upper_limit is None and item.lower_limit is None:
        return [Problem(ProblemCode.ITEM_WITHOUT_LIMIT, "no limit applied", item.label)]
    within = item.is_within_limits()
    if item.outcome is Outcome.PASS and not within:
        return [Problem(ProblemCode.ITEM_PASS_OUTSIDE_LIMITS, f"pass but {bounds}", item.label)]
    if item.outcome is Outcome.FAIL and within and not item.is_on_a_limit():
        return [Problem(ProblemCode.ITEM_FAIL_WITHIN_LIMITS, f"fail but {bounds}", item.label)]
    return []


def _obd_problems(result: Inspection) -> list[Problem]:
    obd = result.obd
    if obd is None or obd.outcome is Outcome.FAIL or not obd.has_fault():
        return []
    detail = (f"OBD pass with communication_ok={obd.communication_ok}, mil_on={obd.mil_on}, "
              f"dtcs={list(obd.dtcs)} (doc 2.4: any of these fails)")
    return [Problem(ProblemCode.OBD_PASS_WITH_FAULT, detail)]


def _overall_problems(result: Inspection) -> list[Problem]:
    failed = [item.label for item in result.items if item.outcome is Outcome.FAIL]
    obd_failed = result.obd is not None and result.obd.outcome is Outcome.FAIL
    if result.overall is Outcome.FAIL:
        if failed or obd_failed or not result.appearance_passed:
            return []
        return [Problem(ProblemCode.OVERALL_FAIL_WITHOUT_CAUSE,
                        "overall fail with every item, OBD and appearance passed")]
    problems = [Problem(ProblemCode.OVERALL_PASS_WITH_FAILED_ITEM, "overall pass", label)
                for label in failed]
    if obd_failed:
        problems.append(Problem(ProblemCode.OVERALL_PASS_WITH_FAILED_OBD, "overall pass"))
    if not result.appearance_passed:
        problems.append(Problem(ProblemCode.OVERALL_PASS_WITH_FAILED_APPEARANCE,
                                "overall pass with failed appearance (visible smoke)"))
    return problems


def _reference_problems(result: Inspection, table: LimitTable,
                        tier: LimitTier) -> list[Problem]:
    problems = []
    for item in result.items:
        entry = table.find(result.method, item.phase, item.quantity, tier)
        if entry is not None and _is_looser(item, entry):
            problems.append(Problem(
                ProblemCode.LIMIT_LOOSER_THAN_STANDARD,
                f"applied [{item.lower_limit}, {item.upper_limit}] looser than "
                f"[{entry.lower}, {entry.upper}] of {table.version} tier {tier} "
                f"({entry.clause})", item.label))
    return problems


def _is_looser(item: ItemResult, entry: LimitEntry) -> bool:
    upper_looser = entry.upper is not None and (
        item.upper_limit is None or _exceeds(item.upper_limit, entry.upper))
    lower_looser = entry.lower is not None and (
        item.lower_limit is None or _exceeds(entry.lower, item.lower_limit))
    return upper_looser or lower_looser
