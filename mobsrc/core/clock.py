"""The one place that reads the wall clock. Pure modules take `at=`; services ask here, so tests
can move time with `monkeypatch.setattr(clock, "now", ...)`."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

UTC = UTC
LOCAL_TZ = ZoneInfo("Asia/Shanghai")  # display zone and day boundaries (architecture.md, API conventions)


def now() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Aware datetimes are converted; naive ones are taken as Beijing time (what clerks and
    terminals mean: HJ 1239 fields are GMT+8 without zone information)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=LOCAL_TZ)
    return value.astimezone(UTC)


def as_local(value: datetime) -> datetime:
    return value.astimezone(LOCAL_TZ)
