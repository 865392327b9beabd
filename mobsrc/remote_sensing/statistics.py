"""Per-station, per-day remote-sensing statistics (standards-enforcement.md 1.7, 6.4).

Semantics the service's SQL must reproduce:
- the day is the calendar day in Asia/Shanghai (00:00 local = 16:00 UTC the day before);
- valid = outcome other than INVALID (NOT_JUDGED readings were valid, only not judgeable);
- judged = PASS + EXCEED;
- valid_rate = valid / readings; matched_rate = matched / readings;
- exceedance_rate = exceeded / judged. Doc 1.7 asks for "exceedance rate over valid records"
  rather than over all records (as one vendor client does); we go one step further and leave
  NOT_JUDGED readings (e.g. petrol while its limits are unset) out of the denominator, since
  they could not have exceeded. Counts are returned so other rates can be derived.
A rate is None when its denominator is zero.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from mobsrc.remote_sensing.verdicts import Outcome

STATISTICS_TIMEZONE = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class StationDay:
    station: str
    day: date  # calendar day in Asia/Shanghai
    readings: int
    valid: int
    judged: int
    exceeded: int
    matched: int

    @property
    def valid_rate(self) -> float | None:
        return _rate(self.valid, self.readings)

    @property
    def exceedance_rate(self) -> float | None:
        return _rate(self.exceeded, self.judged)

    @property
    def matched_rate(self) -> float | None:
        return _rate(self.matched, self.readings)


def local_day(measured_at: datetime) -> date:
    """The Asia/Shanghai calendar day of an aware timestamp."""
    if measured_at.utcoffset() is None:
        raise ValueError("measured_at must be timezone-aware")
    return measured_at.astimezone(STATISTICS_TIMEZONE).date()


def summarise_station_days(
    rows: Iterable[tuple[str, datetime, Outcome | str, bool]],
) -> tuple[StationDay, ...]:
    """Statistics for each (station, local day) present in `rows`, ordered by station and day.
    Each row is (station, measured_at, outcome, matched), matched = plate found in the registry."""
    tallies: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for station, measured_at, outcome, matched in rows:
        tally = tallies[(station, local_day(measured_at))]
        for index, counts in enumerate(_counts(Outcome(outcome), matched)):
            tally[index] += counts
    ordered = sorted(tallies.items())
    return tuple(StationDay(station, day, *tally) for (station, day), tally in ordered)


def _counts(outcome: Outcome, matched: bool) -> tuple[int, int, int, int, int]:
    """(readings, valid, judged, exceeded, matched) contributed by one reading."""
    return (
        1,
        int(outcome != Outcome.INVALID),
        int(outcome in (Outcome.PASS, Outcome.EXCEED)),
        int(outcome == Outcome.EXCEED),
        int(bool(matched)),
    )


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None
