"""Day partitions of the remote-sensing tables (architecture.md: high-volume tables are
range-partitioned by day; a scheduled job creates partitions ahead).

Each table has a `<table>_default` partition (made by the migration) that catches any row whose
day has no partition yet, so an insert never fails for want of one. The maintenance job creates
`<table>_pYYYYMMDD` (Asia/Shanghai days, the statistics' day) from yesterday to a week ahead, and
for every day found in the default partition it moves those rows into their own partition:
the default partition is locked against writes for the move (inserts into day partitions go on),
the rows are moved, and the new table is attached (a CHECK constraint spares the scan).
Nothing is ever dropped: readings are evidence.

Naming, day bounds and the catalog lookup are core.partitions'; the default partition and the
move out of it are this module's own (zones and OBD create ahead and drop, without a default).
"""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from mobsrc.core import partitions
from mobsrc.core.partitions import day_bounds, partition_name

TABLES = ("rs_readings", "rs_verdicts")
DAYS_AHEAD = 7
DAYS_BEHIND = 1


def days_in_default(session: Session, table: str) -> set[date]:
    return set(session.scalars(text(
        f"SELECT DISTINCT (measured_at AT TIME ZONE 'Asia/Shanghai')::date FROM {table}_default")))


def days_wanted(session: Session, table: str, today: date) -> list[date]:
    """Days that should have a partition and have none: the window around today and every day
    that has rows waiting in the default partition."""
    window = {today + timedelta(days=n) for n in range(-DAYS_BEHIND, DAYS_AHEAD + 1)}
    existing = partitions.existing_partitions(session.connection(), table)
    return sorted(day for day in window | days_in_default(session, table) if day not in existing)


def ensure_day_partition(session: Session, table: str, day: date) -> bool:
    """Create (and fill from the default partition) the partition of `day`; False if it exists.
    Run in a transaction of its own: it holds a write lock on the default partition."""
    name = partition_name(table, day)
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": name})  # one maker at a time
    if day in partitions.existing_partitions(session.connection(), table):
        return False
    start, end = day_bounds(day)
    bounds = {"start": start, "end": end}
    session.execute(text(f"LOCK TABLE {table}_default IN EXCLUSIVE MODE"))
    session.execute(text(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
    session.execute(text(f"ALTER TABLE {name} ADD CONSTRAINT {name}_range "
                         f"CHECK (measured_at >= '{start.isoformat()}' AND measured_at < '{end.isoformat()}')"))
    session.execute(text(f"WITH moved AS (DELETE FROM {table}_default WHERE measured_at >= :start "
                         f"AND measured_at < :end RETURNING *) INSERT INTO {name} SELECT * FROM moved"), bounds)
    session.execute(text(f"ALTER TABLE {table} ATTACH PARTITION {name} "
                         f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"))
    session.execute(text(f"ALTER TABLE {name} DROP CONSTRAINT {name}_range"))
    return True
