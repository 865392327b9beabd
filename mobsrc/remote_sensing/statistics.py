"""Per-station, per-day remote-sensing statistics (standards-enforcement.md 1.7, 6.4).

Semantics the service's SQL must reproduce:
- the day is the calendar day in Asia/Shanghai (00:00 local = 16:00 UTC the day before);
- valid = outcome other than INVALID (NOT_JUDGED readings were valid, only not judgeable);
- judged = PASS + EXCEED;
- pending = readings with no verdict yet (stored, judgement job not run); the rates are over the
  assessed readings (readings - pending), so a day being judged right now reads true at once;
- valid_rate = valid / assessed; matched_rate = matched / assessed;
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
    pending: int = 0
    black_smoke: int = 0

    @property
    def assessed(self) -> int:
        return self.readings - self.pending

    @property
    def valid_rate(self) -> float | None:
        return _rate(self.valid, self.assessed)

    @property
    def exceedance_rate(self) -> float | None:
        return _rate(self.exceeded, self.judged)

    @property
    def matched_rate(self) -> float | None:
        return _rate(self.matched, self.assessed)


def local_day(measured_at: datetime) -> date:
    """The Asia/Shanghai calendar day of an aware timestamp."""
    if measured_at.utcoffset() is None:
        raise ValueError("measured_at must be timezone-aware")
    return measured_at.astimezone(STATISTICS_TIMEZONE).date()


def summarise_station_days(
    rows: Iterable[tuple],
) -> tuple[StationDay, ...]:
    """Statistics for each (station, local day) present in `rows`, ordered by station and day.
    Each row is (station, measured_at, outcome, matched[, black_smoke]): matched = plate found in
    the registry; outcome None = not judged yet (pending)."""
    tallies: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0] * 7)
    for station, measured_at, outcome, matched, *smoke in rows:
        tally = tallies[(station, local_day(measured_at))]
        counts = _counts(None if outcome is None else Outcome(outcome), matched, bool(smoke and smoke[0]))
        for index, count in enumerate(counts):
            tally[index] += count
    ordered = sorted(tallies.items())
    return tuple(StationDay(station, day, *tally) for (station, day), tally in ordered)


def _counts(outcome: Outcome | None, matched: bool, black_smoke: bool) -> tuple[int, ...]:
    """(readings, valid, judged, exceeded, matched, pending, black_smoke) of one reading."""
    if outcome is None:
        return (1, 0, 0, 0, 0, 1, 0)
    return (
        1,
        int(outcome != Outcome.INVALID),
        int(outcome in (Outcome.PASS, Outcome.EXCEED)),
        int(outcome == Outcome.EXCEED),
        int(bool(matched)),
        0,
        int(black_smoke),
    )


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None
