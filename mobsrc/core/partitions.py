"""Day partitions of range-partitioned telemetry tables (architecture.md: high-volume tables are
range-partitioned by day; a scheduled job creates partitions ahead and drops expired ones).

A partition holds one local day (Asia/Shanghai, the platform's day boundaries) and is named
`<table>_pYYYYMMDD` (migrations/env_rules.py keeps them out of autogenerate). Generic: any table
declared with `postgresql_partition_by="RANGE (<timestamptz column>)"` can use it.

Locks. A partition is made as a plain table and then ATTACHed: ATTACH PARTITION takes only
SHARE UPDATE EXCLUSIVE on the parent, which does not conflict with the inserts and reads of
other transactions (CREATE TABLE ... PARTITION OF would take ACCESS EXCLUSIVE). So ingestion may
create the partition a late or early fix needs inside its own transaction without stalling the
others. Two creators of the same day serialise on an advisory lock and re-check the catalog.
Dropping detaches first, with a lock timeout, so a busy table makes the job retry later rather
than queue every writer behind it.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import text
from sqlalchemy.engine import Connection

from mobsrc.core.clock import LOCAL_TZ

_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
ADVISORY_NAMESPACE = 0x5041_5254  # "PART": first key of pg_advisory_xact_lock(int, int)
DROP_LOCK_TIMEOUT = "5s"


@dataclass(frozen=True)
class Maintenance:
    created: tuple[str, ...]
    dropped: tuple[str, ...]


def partition_name(table: str, day: date) -> str:
    return f"{_checked(table)}_p{day:%Y%m%d}"


def local_day(at: datetime) -> date:
    """The platform day (Asia/Shanghai) an instant belongs to."""
    return at.astimezone(LOCAL_TZ).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a local day as aware datetimes."""
    start = datetime.combine(day, time(0), LOCAL_TZ)
    return start, datetime.combine(day + timedelta(days=1), time(0), LOCAL_TZ)


def existing_partitions(connection: Connection, table: str) -> dict[date, str]:
    """Day partitions attached to `table`, by day."""
    rows = connection.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = :table"), {"table": _checked(table)})
    found = {}
    for (name,) in rows:
        match = re.fullmatch(rf"{re.escape(table)}_p(\d{{8}})", name)
        if match:
            found[datetime.strptime(match.group(1), "%Y%m%d").date()] = name
    return found


def ensure_day_partitions(connection: Connection, table: str, days: Iterable[date]) -> list[str]:
    """Create the missing partitions for `days` in the caller's transaction; names created."""
    wanted = sorted(set(days))
    if not wanted:
        return []
    present = _present(connection, [partition_name(table, d) for d in wanted])
    missing = [d for d in wanted if partition_name(table, d) not in present]
    if not missing:
        return []
    connection.execute(text("SELECT pg_advisory_xact_lock(:ns, hashtext(:table))"),
                       {"ns": ADVISORY_NAMESPACE, "table": table})
    present = _present(connection, [partition_name(table, d) for d in missing])  # made meanwhile?
    created = []
    for day in missing:
        name = partition_name(table, day)
        if name not in present:
            _create(connection, table, day, name)
            created.append(name)
    return created


def drop_partitions_before(connection: Connection, table: str, first_kept: date) -> list[str]:
    """Detach and drop every day partition of `table` older than `first_kept`."""
    doomed = [name for day, name in sorted(existing_partitions(connection, table).items()) if day < first_kept]
    if doomed:
        connection.execute(text(f"SET LOCAL lock_timeout = '{DROP_LOCK_TIMEOUT}'"))
    for name in doomed:
        connection.execute(text(f'ALTER TABLE "{table}" DETACH PARTITION "{name}"'))
        connection.execute(text(f'DROP TABLE "{name}"'))
    return doomed


def maintain_day_partitions(connection: Connection, table: str, today: date, days_ahead: int,
                            retention_days: int) -> Maintenance:
    """Partitions for today and `days_ahead` days after it; days older than `retention_days`
    before today dropped. Idempotent: run it as often as you like."""
    if days_ahead < 0 or retention_days < 1:
        raise ValueError("days_ahead must be >= 0 and retention_days >= 1")
    created = ensure_day_partitions(connection, table, (today + timedelta(days=n) for n in range(days_ahead + 1)))
    dropped = drop_partitions_before(connection, table, today - timedelta(days=retention_days))
    return Maintenance(tuple(created), tuple(dropped))


def _present(connection: Connection, names: list[str]) -> set[str]:
    rows = connection.execute(text("SELECT relname FROM pg_class WHERE relname = ANY(:names) AND relkind = 'r'"),
                              {"names": names})
    return {name for (name,) in rows}


def _create(connection: Connection, table: str, day: date, name: str) -> None:
    start, end = day_bounds(day)
    connection.execute(text(f'CREATE TABLE "{name}" (LIKE "{table}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS)'))
    connection.execute(text(f"ALTER TABLE \"{table}\" ATTACH PARTITION \"{name}\" "
                            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"))


def _checked(table: str) -> str:
    if not _NAME.match(table):
        raise ValueError(f"not a plain table name: {table!r}")
    return table
