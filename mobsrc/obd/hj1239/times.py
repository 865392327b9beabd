"""Wire time: 6 binary bytes (year-2000, month, day, hour, minute, second), GMT+8.

standards-telemetry.md 1.2 [CONFIRMED]: binary, not BCD; Beijing time without zone on the
wire.  Decoded to aware UTC datetimes; an impossible date (month 0, 31 February...) decodes
to None instead of failing the frame (bogus clocks are common, 7.7).  China has had no DST
since 1991, so a fixed +8 offset is exact.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache

from mobsrc.obd.hj1239.framing import EncodeError

GMT8 = timezone(timedelta(hours=8), "GMT+8")
TIME_SIZE = 6


@lru_cache(maxsize=8192)
def decode_time(raw: bytes) -> datetime | None:
    """6 wire bytes -> aware UTC datetime, or None when not a calendar time."""
    year, month, day, hour, minute, second = raw
    try:
        local = datetime(2000 + year, month, day, hour, minute, second, tzinfo=GMT8)
    except ValueError:
        return None
    return local.astimezone(timezone.utc)


def encode_time(at: datetime | None) -> bytes:
    """Aware datetime -> 6 wire bytes in GMT+8 (sub-second part dropped)."""
    if at is None or at.tzinfo is None or at.utcoffset() is None:
        raise EncodeError(f"wire times need an aware datetime, got {at!r}")
    local = at.astimezone(GMT8)
    if not 2000 <= local.year <= 2255:
        raise EncodeError(f"year {local.year} outside 2000..2255")
    return bytes((local.year - 2000, local.month, local.day,
                  local.hour, local.minute, local.second))
