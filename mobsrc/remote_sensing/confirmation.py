"""High-emitter confirmation over a window (standards-enforcement.md 1.6, 1.9 item 2).

A vehicle (plate number **and** plate colour) is confirmed for a pollutant when
`rule.min_exceedances` valid readings exceed that same pollutant with the first and last no more
than `rule.window_days` apart (rolling window, inclusive: exactly 183 days apart is inside).

Decisions encoded here (doc 1.6 asks to decide and document):
- Only PASS / EXCEED readings take part. INVALID and NOT_JUDGED readings never count and never
  reset a run; neither does a pollutant whose limit was unset or that was not measured.
- `require_consecutive=True`: a valid reading in which the same pollutant **passed** resets the
  run for that pollutant. An exceedance of a *different* pollutant does not reset it, and
  different pollutants are never combined.
- Readings are taken in (measured_at, reading_id) order whatever order they are given in, so ties
  on identical timestamps are deterministic; the same reading_id given twice counts once.
- Scanning forward, once a run confirms, it starts afresh: exceedances 1-2 confirm, 3-4 confirm
  again, so one exceedance is evidence in one confirmation only. A reading that arrives late
  (older than readings already judged) can regroup later confirmations; the service should key
  violations by their evidence readings.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from mobsrc.registry.identifiers import PlateColour
from mobsrc.remote_sensing.limits import ConfirmationRule, Pollutant
from mobsrc.remote_sensing.readings import Reading
from mobsrc.remote_sensing.verdicts import Outcome, Verdict

_JUDGED = (Outcome.PASS, Outcome.EXCEED)
_POLLUTANT_ORDER = {pollutant: index for index, pollutant in enumerate(Pollutant)}


class ConfirmationInputError(ValueError):
    """The history is malformed (naive time, contradictory flags, one id with two contents)."""


@dataclass(frozen=True)
class VehicleKey:
    plate: str
    colour: PlateColour

    def __post_init__(self) -> None:
        if not self.plate or not self.plate.strip():
            raise ConfirmationInputError("a vehicle key needs a plate number")


@dataclass(frozen=True)
class JudgedReading:
    """What confirmation needs of one judged reading."""

    reading_id: str
    measured_at: datetime
    plate: str | None
    plate_colour: PlateColour | None
    outcome: Outcome
    exceeded: frozenset[Pollutant] = frozenset()
    passed: frozenset[Pollutant] = frozenset()

    def __post_init__(self) -> None:
        problem = self._contradiction()
        if problem:
            raise ConfirmationInputError(f"reading {self.reading_id}: {problem}")

    def _contradiction(self) -> str | None:
        if self.measured_at.utcoffset() is None:
            return "measured_at must be timezone-aware"
        if self.exceeded & self.passed:
            return "a pollutant both passed and exceeded"
        if bool(self.exceeded) != (self.outcome == Outcome.EXCEED):
            return f"exceed flags contradict outcome {self.outcome}"
        if self.passed and self.outcome not in _JUDGED:
            return f"pass flags on a {self.outcome} reading"
        return None

    @classmethod
    def from_verdict(cls, reading_id: str, reading: Reading, verdict: Verdict) -> JudgedReading:
        return cls(
            reading_id, reading.measured_at, reading.plate, reading.plate_colour,
            verdict.outcome, verdict.exceeded_pollutants, verdict.passed_pollutants,
        )

    def is_of(self, vehicle: VehicleKey) -> bool:
        return self.plate == vehicle.plate and self.plate_colour == vehicle.colour


@dataclass(frozen=True)
class HighEmitterDecision:
    """`readings` are the confirming exceedances, oldest first; the window is the rolling
    `rule.window` ending at the last of them."""

    confirmed: bool
    pollutant: Pollutant | None = None
    readings: tuple[JudgedReading, ...] = ()
    window_start: datetime | None = None
    window_end: datetime | None = None

    @property
    def reading_ids(self) -> tuple[str, ...]:
        return tuple(reading.reading_id for reading in self.readings)


NOT_CONFIRMED = HighEmitterDecision(confirmed=False)


def confirm_high_emitter(
    vehicle: VehicleKey, history: Iterable[JudgedReading], rule: ConfirmationRule
) -> HighEmitterDecision:
    """The most recent confirmation in `history`, or NOT_CONFIRMED."""
    confirmations = find_confirmations(vehicle, history, rule)
    return confirmations[-1] if confirmations else NOT_CONFIRMED


def find_confirmations(
    vehicle: VehicleKey, history: Iterable[JudgedReading], rule: ConfirmationRule
) -> tuple[HighEmitterDecision, ...]:
    """Every confirmation in `history`, ordered by confirming reading, then pollutant.
    Readings of other plates or colours are ignored (doc 1.6: same plate and colour)."""
    readings = _judged_history(vehicle, history)
    found = [
        decision
        for pollutant in Pollutant
        for decision in _confirmations_of(pollutant, readings, rule)
    ]
    return tuple(sorted(found, key=_decision_order))


def _judged_history(vehicle: VehicleKey, history: Iterable[JudgedReading]) -> list[JudgedReading]:
    unique: dict[str, JudgedReading] = {}
    for reading in history:
        known = unique.setdefault(reading.reading_id, reading)
        if known != reading:
            raise ConfirmationInputError(f"reading {reading.reading_id}: two different contents")
    counted = (r for r in unique.values() if r.is_of(vehicle) and r.outcome in _JUDGED)
    return sorted(counted, key=lambda reading: (reading.measured_at, reading.reading_id))


def _confirmations_of(
    pollutant: Pollutant, readings: list[JudgedReading], rule: ConfirmationRule
) -> Iterator[HighEmitterDecision]:
    run: deque[JudgedReading] = deque()
    for reading in readings:
        if pollutant in reading.exceeded:
            run.append(reading)
            while reading.measured_at - run[0].measured_at > rule.window:
                run.popleft()
            if len(run) >= rule.min_exceedances:
                yield _confirmed(pollutant, tuple(run), rule)
                run.clear()
        elif pollutant in reading.passed and rule.require_consecutive:
            run.clear()


def _confirmed(
    pollutant: Pollutant, run: tuple[JudgedReading, ...], rule: ConfirmationRule
) -> HighEmitterDecision:
    window_end = run[-1].measured_at
    return HighEmitterDecision(True, pollutant, run, window_end - rule.window, window_end)


def _decision_order(decision: HighEmitterDecision) -> tuple:
    last = decision.readings[-1]
    return (last.measured_at, last.reading_id, _POLLUTANT_ORDER[decision.pollutant])
