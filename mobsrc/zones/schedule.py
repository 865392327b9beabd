"""When a zone is in force: effective dates, daily windows in local time, alert days.

A zone is active at instant t when
  effective_from <= t < effective_until   (either bound may be open), and
  the local time of day (Asia/Shanghai by default) lies in one of its daily windows
  (no windows = all day; a window [start, end) with end < start crosses midnight and covers
  start..24:00 plus 00:00..end), and
  if the zone applies on heavy-pollution alert days only, the fix is flagged alert_day.
Whether an instant falls on an alert day is decided by the caller (the alert calendar is data
outside this module) and passed per batch or per fix.

Two forms: `is_zone_active` for one instant (exact zoneinfo arithmetic), and `ScheduleTable`
for numpy batches (times as int64 microseconds since the Unix epoch, UTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from enum import IntEnum
from typing import Protocol
from zoneinfo import ZoneInfo

import numpy as np

SHANGHAI = ZoneInfo("Asia/Shanghai")
US_PER_DAY = 86_400_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_I64 = np.iinfo(np.int64)
# A UTC offset equal at both ends of a batch spanning less than this is the offset throughout
# (no zone changes its offset twice within four weeks).
FIXED_OFFSET_SPAN = timedelta(days=28)


class ScheduleError(ValueError):
    """Malformed schedule or time input (naive datetime, empty window, bad array dtype)."""


@dataclass(frozen=True)
class DailyWindow:
    """[start, end) in local time; end < start crosses midnight; start == end is malformed."""

    start: time
    end: time

    def __post_init__(self):
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ScheduleError("daily windows are local wall-clock times without tzinfo")
        if self.start == self.end:
            raise ScheduleError(f"empty daily window {self.start}-{self.end}; omit windows for all day")

    @property
    def crosses_midnight(self) -> bool:
        return self.end < self.start

    def contains(self, local: time) -> bool:
        if self.crosses_midnight:
            return local >= self.start or local < self.end
        return self.start <= local < self.end


class Scheduled(Protocol):
    effective_from: datetime | None
    effective_until: datetime | None
    daily_windows: tuple[DailyWindow, ...]
    alert_days_only: bool


def is_zone_active(zone: Scheduled, at: datetime, alert_day: bool = False, tz: tzinfo = SHANGHAI) -> bool:
    """Is `zone` in force at instant `at` (aware datetime)?"""
    require_aware(at)
    if zone.effective_from is not None and at < zone.effective_from:
        return False
    if zone.effective_until is not None and at >= zone.effective_until:
        return False
    if zone.alert_days_only and not alert_day:
        return False
    local = at.astimezone(tz).time().replace(tzinfo=None)
    return not zone.daily_windows or any(w.contains(local) for w in zone.daily_windows)


def require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ScheduleError(f"naive datetime {at!r}; timestamps must be timezone-aware")


def epoch_us(at: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime (exact integer arithmetic)."""
    require_aware(at)
    return (at - _EPOCH) // timedelta(microseconds=1)


def epoch_us_array(times) -> np.ndarray:
    """int64 epoch microseconds from a numpy datetime64 array (taken as UTC) or a sequence of
    aware datetimes."""
    if isinstance(times, np.ndarray) and times.dtype.kind == "M":
        return times.astype("datetime64[us]").astype(np.int64)
    if isinstance(times, np.ndarray) and times.dtype.kind != "O":
        raise ScheduleError(f"times must be datetime64 or aware datetimes, not {times.dtype}")
    return np.fromiter((epoch_us(t) for t in times), dtype=np.int64, count=len(times))


class BatchState(IntEnum):
    NEVER = 0
    ALWAYS = 1
    VARIES = 2  # decide per fix


class ScheduleTable:
    """Schedules of zones 0..n-1 as arrays, for batches of fixes."""

    def __init__(self, zones: list[Scheduled], tz: tzinfo = SHANGHAI):
        self.tz = tz
        self.zones = zones
        self.start_us = np.array([_bound(z.effective_from, _I64.min) for z in zones], np.int64)
        self.until_us = np.array([_bound(z.effective_until, _I64.max) for z in zones], np.int64)
        self.alert_only = np.array([z.alert_days_only for z in zones], bool)
        self.all_day = np.array([not z.daily_windows for z in zones], bool)
        width = max([len(z.daily_windows) for z in zones] + [1])
        self.window_start = np.zeros((len(zones), width), np.int64)  # padding [0, 0) is empty
        self.window_end = np.zeros((len(zones), width), np.int64)
        for zone, schedule in enumerate(zones):
            for k, window in enumerate(schedule.daily_windows):
                self.window_start[zone, k] = _time_of_day_us(window.start)
                self.window_end[zone, k] = _time_of_day_us(window.end)

    def batch_states(self, t_min: int, t_max: int, alert_day) -> np.ndarray:
        """BatchState per zone for fixes timed within [t_min, t_max] (epoch µs)."""
        if t_min == t_max and np.ndim(alert_day) == 0:
            zones = np.arange(len(self.zones))
            active = self.active_pairs(zones, np.full(len(zones), t_min, np.int64), bool(alert_day))
            return np.where(active, BatchState.ALWAYS, BatchState.NEVER).astype(np.int8)
        never = (self.until_us <= t_min) | (self.start_us > t_max)
        always = (self.start_us <= t_min) & (self.until_us > t_max) & self.all_day
        if np.ndim(alert_day) == 0:
            never |= self.alert_only & (not alert_day)
        else:
            never |= self.alert_only & (not np.any(alert_day))
            always &= ~self.alert_only | bool(np.all(alert_day))
        states = np.full(len(self.zones), BatchState.VARIES, np.int8)
        states[always] = BatchState.ALWAYS
        states[never] = BatchState.NEVER
        return states

    def active_pairs(self, zone: np.ndarray, t_us: np.ndarray, alert_day) -> np.ndarray:
        """Per (zone, time, alert flag) triple: is the zone in force then?"""
        active = (t_us >= self.start_us[zone]) & (t_us < self.until_us[zone])
        active &= ~self.alert_only[zone] | alert_day
        local = self.local_time_of_day_us(t_us)
        in_window = self.all_day[zone]
        for k in range(self.window_start.shape[1]):
            start, end = self.window_start[zone, k], self.window_end[zone, k]
            plain = (start <= local) & (local < end)
            overnight = (end < start) & ((local >= start) | (local < end))
            in_window = in_window | plain | overnight
        return active & in_window

    def local_time_of_day_us(self, t_us: np.ndarray) -> np.ndarray:
        """Microseconds since local midnight in this table's time zone."""
        if not len(t_us):
            return t_us.copy()
        t_min, t_max = int(t_us.min()), int(t_us.max())
        first, last = (_EPOCH + timedelta(microseconds=t) for t in (t_min, t_max))
        offset_first, offset_last = (self.tz.utcoffset(d) for d in (first, last))
        if offset_first == offset_last and last - first < FIXED_OFFSET_SPAN:
            return (t_us + offset_first // timedelta(microseconds=1)) % US_PER_DAY
        offsets = [self.tz.utcoffset(_EPOCH + timedelta(microseconds=int(t))) for t in t_us]
        offsets_us = np.array([o // timedelta(microseconds=1) for o in offsets], np.int64)
        return (t_us + offsets_us) % US_PER_DAY


def _bound(at: datetime | None, open_value: int) -> int:
    return open_value if at is None else epoch_us(at)


def _time_of_day_us(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond
