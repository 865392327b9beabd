"""Screening of incoming machine position fixes, before storage and geofencing.

Every fix gets an answer, in input order: `Rejected(reason)` — not stored as a position (the
ingest layer keeps the raw record and returns the reason) — or `Accepted(flags)` — stored.
Some flags exclude an accepted fix from geofencing (`Accepted.usable_for_geofence`):

| outcome  | code                 | rule                                                          |
|----------|----------------------|---------------------------------------------------------------|
| rejected | INVALID_COORDINATE   | NaN/inf, |lon| > 180, |lat| > 90                               |
| rejected | ZERO_POSITION        | (0, 0): the "no fix" value of many terminals                  |
| rejected | OUT_OF_CHINA         | outside the doc's China rectangle (telemetry 5.3)             |
| rejected | FUTURE_FIX           | fix time > now + tolerance (telemetry 7.7: flag > 5 min)      |
| rejected | TOO_OLD              | fix time < now - max_age (re-send window, telemetry 1.13)     |
| rejected | DUPLICATE            | same machine + fix time as an earlier fix (batch or stored), same place |
| rejected | CONFLICTING_DUPLICATE| same machine + fix time, different place (first one wins)     |
| flag, excluded | POSITION_NOT_CURRENT | terminal says the position is the last valid one (7.11) |
| flag, excluded | POOR_ACCURACY   | HDOP or stated accuracy beyond the limits                     |
| flag, excluded | IMPLAUSIBLE_JUMP | implied speed from the reference fix above max_speed_kmh     |
| flag, used     | LATE            | fix time more than `late_after` before now (re-sent history)  |

Jump reference: per machine, the latest accepted usable fix (from `references`, then from the
batch in time order). A jump-flagged fix never becomes the reference — unless the next fix is
plausible from it and not from the reference: then the machine really moved (e.g. carried on
a low-bed truck while the terminal was off), that next fix is accepted and becomes the
reference. Coordinates must already be WGS-84 (see core.geo.crs.to_wgs84).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from mobsrc.core.geo.crs import is_in_china, is_in_china_strict
from mobsrc.core.geo.distance import haversine_m


class FixError(ValueError):
    """Malformed fix (naive time) or screening input."""


@dataclass(frozen=True)
class PositionFix:
    machine_id: Hashable
    fix_time: datetime  # aware; the terminal's collection time
    lon: float  # WGS-84
    lat: float
    hdop: float | None = None
    accuracy_m: float | None = None  # stated horizontal accuracy, if the terminal reports one
    position_valid: bool | None = None  # False: terminal repeats its last valid fix (telemetry 7.11)
    engine_on: bool | None = None
    engine_rpm: float | None = None

    def __post_init__(self):
        if self.fix_time.tzinfo is None or self.fix_time.utcoffset() is None:
            raise FixError(f"fix of {self.machine_id!r}: naive fix_time {self.fix_time!r}")


@dataclass(frozen=True)
class AccuracyLimits:
    # HJ 1239.1 5.3.5 requires <= 5 m horizontal accuracy for OBD terminals [CONFIRMED]; NRMM
    # terminals' accuracy is not specified (telemetry 2.3). Limits below: UNCONFIRMED defaults.
    max_hdop: float = 5.0  # UNCONFIRMED: HDOP > 5 is commonly read as "moderate" or worse
    max_accuracy_m: float = 30.0  # UNCONFIRMED: 6x the HJ 1239.1 figure

    def accepts(self, fix: PositionFix) -> bool:
        """Unknown accuracy (no HDOP, no stated accuracy) is accepted."""
        if fix.hdop is not None and not fix.hdop <= self.max_hdop:
            return False
        return fix.accuracy_m is None or fix.accuracy_m <= self.max_accuracy_m


class RejectReason(StrEnum):
    INVALID_COORDINATE = "invalid_coordinate"
    ZERO_POSITION = "zero_position"
    OUT_OF_CHINA = "out_of_china"
    FUTURE_FIX = "future_fix"
    TOO_OLD = "too_old"
    DUPLICATE = "duplicate"
    CONFLICTING_DUPLICATE = "conflicting_duplicate"


class FixFlag(StrEnum):
    POSITION_NOT_CURRENT = "position_not_current"
    POOR_ACCURACY = "poor_accuracy"
    IMPLAUSIBLE_JUMP = "implausible_jump"
    LATE = "late"


GEOFENCE_EXCLUDING_FLAGS = frozenset({FixFlag.POSITION_NOT_CURRENT, FixFlag.POOR_ACCURACY, FixFlag.IMPLAUSIBLE_JUMP})


@dataclass(frozen=True)
class Accepted:
    fix: PositionFix
    flags: frozenset[FixFlag] = frozenset()

    @property
    def usable_for_geofence(self) -> bool:
        return not self.flags & GEOFENCE_EXCLUDING_FLAGS


@dataclass(frozen=True)
class Rejected:
    fix: PositionFix
    reason: RejectReason


@dataclass(frozen=True)
class ScreeningPolicy:
    future_tolerance: timedelta = timedelta(minutes=5)  # telemetry 7.7 [SECONDARY practice]
    # Terminals re-send up to 5 x 24 h of stored data (HJ 1239.1, telemetry 1.13 [CONFIRMED]);
    # two days of margin for queueing. UNCONFIRMED for NRMM terminals.
    max_age: timedelta = timedelta(days=7)
    late_after: timedelta = timedelta(minutes=10)  # UNCONFIRMED; informational flag only
    accuracy: AccuracyLimits = field(default_factory=AccuracyLimits)
    # NRMM drive at <= ~50 km/h (loaders, rollers, tractors) but are hauled on low-bed trucks
    # at expressway truck speeds (<= 100 km/h); 150 km/h leaves room for GNSS error.
    # UNCONFIRMED (no standard sets it).
    max_speed_kmh: float = 150.0
    # GNSS scatter allowed on top of the speed bound, so fixes seconds apart do not trip it.
    jump_noise_m: float = 50.0  # UNCONFIRMED
    strict_china_check: bool = False  # True: exclude Taiwan etc. (crs.is_in_china_strict)


@dataclass(frozen=True)
class Screening:
    outcomes: tuple[Accepted | Rejected, ...]  # one per input fix, input order
    references: Mapping[Hashable, PositionFix]  # per machine: latest usable fix after the batch


def screen_fixes(fixes: Sequence[PositionFix], *, now: datetime,
                 references: Mapping[Hashable, PositionFix] | None = None,
                 policy: ScreeningPolicy = ScreeningPolicy()) -> Screening:
    """Screen a batch. `references`: each machine's latest stored usable fix, if any."""
    if now.tzinfo is None:
        raise FixError("now must be timezone-aware")
    references = dict(references or {})
    outcomes: list[Accepted | Rejected | None] = [None] * len(fixes)
    survivors = _screen_singles(fixes, now, references, policy, outcomes)
    for machine_id, indexed in _by_machine(survivors).items():
        tracker = _JumpTracker(references.get(machine_id), policy)
        for index, fix in indexed:
            outcomes[index] = Accepted(fix, tracker.flags_for(fix, now))
        if tracker.reference is not None:
            references[machine_id] = tracker.reference
    return Screening(tuple(outcomes), references)


def _screen_singles(fixes, now, references, policy, outcomes):
    """Apply the per-fix rejections; return [(index, fix)] that survive."""
    seen: dict[tuple, PositionFix] = {(f.machine_id, f.fix_time): f for f in references.values()}
    survivors = []
    for index, fix in enumerate(fixes):
        reason = _reject_reason(fix, now, policy) or _duplicate_reason(fix, seen)
        if reason is not None:
            outcomes[index] = Rejected(fix, reason)
            continue
        seen[(fix.machine_id, fix.fix_time)] = fix
        survivors.append((index, fix))
    return survivors


def _reject_reason(fix: PositionFix, now: datetime, policy: ScreeningPolicy) -> RejectReason | None:
    if not (math.isfinite(fix.lon) and math.isfinite(fix.lat)) or abs(fix.lon) > 180 or abs(fix.lat) > 90:
        return RejectReason.INVALID_COORDINATE
    if fix.lon == 0.0 and fix.lat == 0.0:
        return RejectReason.ZERO_POSITION
    in_china = is_in_china_strict if policy.strict_china_check else is_in_china
    if not in_china(fix.lon, fix.lat):
        return RejectReason.OUT_OF_CHINA
    if fix.fix_time > now + policy.future_tolerance:
        return RejectReason.FUTURE_FIX
    if fix.fix_time < now - policy.max_age:
        return RejectReason.TOO_OLD
    return None


def _duplicate_reason(fix: PositionFix, seen) -> RejectReason | None:
    earlier = seen.get((fix.machine_id, fix.fix_time))
    if earlier is None:
        return None
    same_place = (earlier.lon, earlier.lat) == (fix.lon, fix.lat)
    return RejectReason.DUPLICATE if same_place else RejectReason.CONFLICTING_DUPLICATE


def _by_machine(indexed_fixes):
    groups: dict[Hashable, list] = {}
    for index, fix in sorted(indexed_fixes, key=lambda item: item[1].fix_time):
        groups.setdefault(fix.machine_id, []).append((index, fix))
    return groups


class _JumpTracker:
    """Implausible-jump test of one machine's fixes, fed in time order."""

    def __init__(self, reference: PositionFix | None, policy: ScreeningPolicy):
        self.reference = reference
        self.suspect: PositionFix | None = None  # last jump-flagged fix
        self.policy = policy

    def flags_for(self, fix: PositionFix, now: datetime) -> frozenset[FixFlag]:
        flags = set()
        if now - fix.fix_time > self.policy.late_after:
            flags.add(FixFlag.LATE)
        if fix.position_valid is False:
            flags.add(FixFlag.POSITION_NOT_CURRENT)
        if not self.policy.accuracy.accepts(fix):
            flags.add(FixFlag.POOR_ACCURACY)
        if flags & GEOFENCE_EXCLUDING_FLAGS:
            return frozenset(flags)  # an unusable position neither moves nor tests the reference
        if self._is_jump(fix):
            self.suspect = fix
            return frozenset(flags | {FixFlag.IMPLAUSIBLE_JUMP})
        if self.reference is None or fix.fix_time >= self.reference.fix_time:
            self.reference, self.suspect = fix, None  # a late fix never moves the reference back
        return frozenset(flags)

    def _is_jump(self, fix: PositionFix) -> bool:
        if self.reference is None or is_plausible_move(self.reference, fix, self.policy):
            return False
        return not (self.suspect is not None and is_plausible_move(self.suspect, fix, self.policy))


def is_plausible_move(a: PositionFix, b: PositionFix, policy: ScreeningPolicy = ScreeningPolicy()) -> bool:
    """Could the machine have gone from fix a to fix b (either order in time)?"""
    seconds = abs((b.fix_time - a.fix_time).total_seconds())
    distance = haversine_m(a.lon, a.lat, b.lon, b.lat)
    return distance <= policy.max_speed_kmh / 3.6 * seconds + policy.jump_noise_m
