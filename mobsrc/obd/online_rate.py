"""Daily online rate per vehicle, from the collection times of its samples.

standards-enforcement.md 6.2 lists the online rate among the reports [SECONDARY]; no source
defines it, so the definition here is UNCONFIRMED and parametrised:
- a day is an Asia/Shanghai calendar day (architecture.md: local day boundaries);
- the day is cut into `slot_s` slots (default 60 s; HJ 1239.1 5.5.1 requires engine data at
  least every 10 s, so a working terminal fills every slot while the vehicle operates);
- `rate` = slots holding data / slots between the day's first and last sample (data
  completeness while operating); `coverage` = slots holding data / slots in the day.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_SLOT_S = 60     # UNCONFIRMED


@dataclass(frozen=True, slots=True)
class OnlineDay:
    day: date                  # local calendar day
    slots_with_data: int
    span_slots: int            # slots from the first to the last sample, inclusive
    slots_in_day: int
    first_at: datetime
    last_at: datetime

    @property
    def rate(self) -> float:
        return self.slots_with_data / self.span_slots

    @property
    def coverage(self) -> float:
        return self.slots_with_data / self.slots_in_day


def daily_online_rates(sample_times: Iterable[datetime], *, tz: ZoneInfo = SHANGHAI,
                       slot_s: int = DEFAULT_SLOT_S) -> dict[date, OnlineDay]:
    """Per local day: which slots hold at least one sample (duplicates count once)."""
    slots: dict[date, set[int]] = {}
    bounds: dict[date, tuple[datetime, datetime]] = {}
    for at in sample_times:
        local = at.astimezone(tz)
        day = local.date()
        slots.setdefault(day, set()).add(_slot_of(local, tz, slot_s))
        first, last = bounds.get(day, (at, at))
        bounds[day] = (min(first, at), max(last, at))
    return {day: _online_day(day, filled, bounds[day], tz, slot_s)
            for day, filled in sorted(slots.items())}


def _day_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def _slot_of(local: datetime, tz: ZoneInfo, slot_s: int) -> int:
    return int((local - _day_start(local.date(), tz)).total_seconds() // slot_s)


def _online_day(day: date, filled: set[int], bounds: tuple[datetime, datetime], tz: ZoneInfo,
                slot_s: int) -> OnlineDay:
    return online_day(day, len(filled), min(filled), max(filled), bounds, tz=tz, slot_s=slot_s)


def online_day(day: date, slots_with_data: int, first_slot: int, last_slot: int,
               bounds: tuple[datetime, datetime], *, tz: ZoneInfo = SHANGHAI,
               slot_s: int = DEFAULT_SLOT_S) -> OnlineDay:
    """The OnlineDay of slot counts made elsewhere (the database: slot = seconds since the
    local midnight // slot_s, each counted once)."""
    length_s = (_day_start(day + timedelta(days=1), tz) - _day_start(day, tz)).total_seconds()
    return OnlineDay(day, slots_with_data, last_slot - first_slot + 1,
                     int(-(-length_s // slot_s)), bounds[0], bounds[1])


def fleet_online_rate(online_vins: Iterable[str], registered_vins: Iterable[str]) -> float | None:
    """Share of registered vehicles that sent data (None when nothing is registered)."""
    registered = set(registered_vins)
    if not registered:
        return None
    return len(registered & set(online_vins)) / len(registered)
