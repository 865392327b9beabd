"""Which day partitions of the OBD record tables must exist and which have expired.  Pure.

Partitions are Asia/Shanghai calendar days (architecture.md: local days for statistics), named
`<table>_pYYYYMMDD` (migrations/env_rules.py leaves such tables out of autogenerate).  They must
cover every collection time the ingest accepts (rows.AcceptanceWindow: max age back, future
tolerance ahead) and a few days ahead. Creating and dropping them is core.partitions' work.
"""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
PARTITIONED_TABLES = ("obd_stream_records", "obd_info_records")
_NAME = re.compile(r"^(?P<table>.+)_p(?P<day>\d{8})$")


def partition_name(table: str, day: date) -> str:
    return f"{table}_p{day:%Y%m%d}"


def partition_day(table: str, name: str) -> date | None:
    match = _NAME.match(name)
    if match is None or match["table"] != table:
        return None
    return datetime.strptime(match["day"], "%Y%m%d").date()


def local_day(at: datetime) -> date:
    return at.astimezone(LOCAL_TZ).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a local day, in UTC."""
    start = datetime.combine(day, time(0), tzinfo=LOCAL_TZ)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=LOCAL_TZ)
    return start.astimezone(UTC), end.astimezone(UTC)


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def days_needed(now: datetime, max_age_days: int, ahead_days: int) -> list[date]:
    """Every day a record accepted now may fall on, and `ahead_days` more."""
    today = local_day(now)
    return days_between(local_day(now - timedelta(days=max_age_days)), today + timedelta(days=ahead_days))
