"""Wire time: 6 binary bytes (year-2000, month, day, hour, minute, second), GMT+8.

standards-telemetry.md 1.2 [CONFIRMED]: binary, not BCD; Beijing time without zone on the
wire.  Decoded to aware UTC datetimes; an impossible date (month 0, 31 February...) decodes
to None instead of failing the frame (bogus clocks are common, 7.7).  China has had no DST
since 1991, so a fixed +8 offset is exact.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from mobsrc.obd.hj1239.framing import EncodeError

GMT8 = timezone(timedelta(hours=8), "GMT+8")
TIME_SIZE = 6

_SECONDS = tuple(timedelta(seconds=s) for s in range(60))
_MINUTE_CACHE_SIZE = 8192
_minute_starts: dict[bytes, datetime | None] = {}   # memo: 5 wire bytes -> UTC minute start
_MISSING = object()


def _minute_start(raw5: bytes) -> datetime | None:
    year, month, day, hour, minute = raw5
    try:
        start = datetime(2000 + year, month, day, hour, minute, tzinfo=GMT8).astimezone(UTC)
    except ValueError:
        start = None
    if len(_minute_starts) >= _MINUTE_CACHE_SIZE:
        _minute_starts.clear()
    _minute_starts[raw5] = start
    return start


def decode_time(raw: bytes) -> datetime | None:
    """6 wire bytes -> aware UTC datetime, or None when not a calendar time.
    Hot path: the minute is memoised (samples of one frame share it), seconds are added."""
    start = _minute_starts.get(raw[:5], _MISSING)
    if start is _MISSING:
        start = _minute_start(raw[:5])
    second = raw[5]
    if start is None or second > 59:
        return None
    return start + _SECONDS[second]


def encode_time(at: datetime | None) -> bytes:
    """Aware datetime -> 6 wire bytes in GMT+8 (sub-second part dropped)."""
    if at is None or at.tzinfo is None or at.utcoffset() is None:
        raise EncodeError(f"wire times need an aware datetime, got {at!r}")
    local = at.astimezone(GMT8)
    if not 2000 <= local.year <= 2255:
        raise EncodeError(f"year {local.year} outside 2000..2255")
    return bytes((local.year - 2000, local.month, local.day,
                  local.hour, local.minute, local.second))
