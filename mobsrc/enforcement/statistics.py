"""Dashboard statistics over any violation query: counts by kind, status, district and day, and
the top repeat offenders.

Days are Beijing days (Asia/Shanghai, architecture.md): a violation at 23:30 UTC counts on the
next local day. The window defaults to the last 30 local days and may not exceed MAX_WINDOW_DAYS.
Every day of the window is listed, with 0 where nothing happened, so charts need no gap filling.

Where they come from: a window of whole Beijing days filtered only by kind, status, district or
subject type (what dashboards ask) is answered from the daily counts (`violation_day_counts` plus
the changes not yet folded into it, kept by a trigger: exact); any other filter (plate, area,
enterprise...) or a window that cuts a day is answered from the register itself. On 5 M
violations: 30 days ~20 ms and 366 days ~90 ms from the counts, ~200 ms and ~3.3 s from the
register (benchmarks/violations.py).
"""
from __future__ import annotations

from dataclasses import fields, replace
from datetime import date, datetime, time, timedelta

from sqlalchemy import BigInteger, cast, func, select, text, union_all
from sqlalchemy.orm import Session

from mobsrc.core import clock
from mobsrc.core.auth.principals import Principal
from mobsrc.core.errors import invalid
from mobsrc.enforcement.export import DISTRICTS
from mobsrc.enforcement.models import Violation, ViolationDayCount, ViolationDayCountChange
from mobsrc.enforcement.queries import ViolationFilters, plan_interactively
from mobsrc.enforcement.register import ViolationKind, ViolationStatus
from mobsrc.enforcement.service import log_query, visible_violations

DEFAULT_WINDOW_DAYS = 30
MAX_WINDOW_DAYS = 366
LOCAL_ZONE = clock.LOCAL_TZ.key  # "Asia/Shanghai"
OPEN = (ViolationStatus.OPEN, ViolationStatus.UNDER_REVIEW)


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=clock.LOCAL_TZ)


def bounded_window(filters: ViolationFilters) -> ViolationFilters:
    """The filters with a time window: default the last 30 Beijing days, at most 366 days."""
    end = filters.occurred_to or _local_midnight(clock.as_local(clock.now()).date() + timedelta(days=1))
    start = filters.occurred_from or end - timedelta(days=DEFAULT_WINDOW_DAYS)
    if start >= end:
        raise invalid("occurred_from", "must be before occurred_to")
    if end - start > timedelta(days=MAX_WINDOW_DAYS):
        raise invalid("occurred_from", f"statistics cover at most {MAX_WINDOW_DAYS} days; narrow the window")
    return replace(filters, occurred_from=start, occurred_to=end)


def _day_column():
    return func.date(func.timezone(LOCAL_ZONE, Violation.occurred_at))


def _days(start: datetime, end: datetime) -> list[date]:
    first, last = clock.as_local(start).date(), clock.as_local(end - timedelta(microseconds=1)).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# Filters the daily counts can answer; any other filter (plate, area, enterprise...) reads the register.
DAY_COUNT_FILTERS = frozenset({"kinds", "statuses", "district_codes", "subject_type", "occurred_from", "occurred_to"})


def _is_local_midnight(value: datetime) -> bool:
    return clock.as_local(value).time() == time(0)


def reads_day_counts(principal: Principal, filters: ViolationFilters) -> bool:
    """Whole Beijing days, only the filters the counts keep, and a reader who sees everything."""
    narrowed = [f.name for f in fields(filters)
                if f.name not in DAY_COUNT_FILTERS and getattr(filters, f.name) not in (None, ())]
    return (principal.sees_everything and not narrowed and _is_local_midnight(filters.occurred_from)
            and _is_local_midnight(filters.occurred_to))


def _day_count_rows(table, filters: ViolationFilters, first: date, end: date):
    stmt = select(table.day, table.kind, table.status, table.district_code, table.violations)
    stmt = stmt.where(table.day >= first, table.day < end)
    for column, values in ((table.kind, filters.kinds), (table.status, filters.statuses),
                           (table.district_code, filters.district_codes)):
        if values:
            stmt = stmt.where(column.in_(values))
    if filters.subject_type is not None:
        stmt = stmt.where(table.subject_type == filters.subject_type)
    return stmt


def _totals_from_day_counts(session: Session, filters: ViolationFilters) -> tuple[dict, dict, dict, dict]:
    """Totals by kind, status, district and day from the daily counts plus the changes not yet
    folded into them (one snapshot, so exact), grouped four ways in the database: a year is
    ~90,000 count rows instead of 2.5 M violations."""
    first, end = clock.as_local(filters.occurred_from).date(), clock.as_local(filters.occurred_to).date()
    rows = union_all(*(_day_count_rows(t, filters, first, end)
                       for t in (ViolationDayCount, ViolationDayCountChange))).subquery()
    keys = (rows.c.kind, rows.c.status, rows.c.district_code, rows.c.day)
    stmt = select(*keys, cast(func.sum(rows.c.violations), BigInteger), func.grouping(*keys))
    totals: tuple[dict, dict, dict, dict] = ({}, {}, {}, {})
    for *values, count, grouping in session.execute(stmt.group_by(func.grouping_sets(*keys))):
        position = _GROUPED_BY[grouping]  # grouping() has a 0 bit for the one column of this set
        key = values[position] if position != 2 else (values[2] or None)
        if count:
            totals[position][key] = count
    return totals


_GROUPED_BY = {0b0111: 0, 0b1011: 1, 0b1101: 2, 0b1110: 3}


def _counts(session: Session, principal: Principal, filters: ViolationFilters) -> list[tuple]:
    """(kind, status, district, local day, count) for every combination present: one scan, one
    hash aggregate of a few thousand groups (GROUPING SETS sorted and spilled to disk here)."""
    day = _day_column()
    stmt = visible_violations(principal, filters, [Violation.kind, Violation.status, Violation.district_code, day,
                                                   func.count()])
    return session.execute(stmt.group_by(Violation.kind, Violation.status, Violation.district_code, day)).all()


def _totals_from_register(session: Session, principal: Principal, filters: ViolationFilters):
    rows = _counts(session, principal, filters)
    return tuple(_totals(rows, i) for i in range(4))


def _totals(rows: list[tuple], position: int) -> dict:
    totals: dict = {}
    for row in rows:
        totals[row[position]] = totals.get(row[position], 0) + row[4]
    return totals


def violation_statistics(session: Session, principal: Principal, filters: ViolationFilters) -> dict:
    filters = bounded_window(filters)
    plan_interactively(session)
    if reads_day_counts(principal, filters):
        by_kind, by_status, by_district, by_day = _totals_from_day_counts(session, filters)
    else:
        by_kind, by_status, by_district, by_day = _totals_from_register(session, principal, filters)
    names = dict(session.execute(select(DISTRICTS.c.code, DISTRICTS.c.name)).all())
    log_query(session, principal, "violations.statistics", filters)
    return dict(
        occurred_from=filters.occurred_from, occurred_to=filters.occurred_to, total=sum(by_kind.values()),
        by_kind=[dict(kind=k, count=n) for k, n in sorted(by_kind.items(), key=lambda kv: (-kv[1], kv[0].value))],
        by_status=[dict(status=s, count=by_status.get(s, 0)) for s in ViolationStatus],
        by_district=[dict(district_code=d, district_name=names.get(d), count=n)
                     for d, n in sorted(by_district.items(), key=lambda kv: (-kv[1], kv[0] or "~"))],
        by_day=[dict(day=d, count=by_day.get(d, 0)) for d in _days(filters.occurred_from, filters.occurred_to)],
    )


def repeat_offenders(session: Session, principal: Principal, filters: ViolationFilters, min_count: int,
                     limit: int) -> list[dict]:
    """Subjects with the most violations in the window (at least `min_count`), most first.
    Vehicles are counted by plate and plate colour (how police know them), machines by code."""
    filters = bounded_window(filters)
    plan_interactively(session)
    keys = (Violation.subject_type, Violation.plate, Violation.plate_colour, Violation.machine_code)
    lone_vin = func.max(Violation.vin).label("vin")
    count = func.count().label("n")
    stmt = visible_violations(principal, filters, [
        *keys, lone_vin, count, func.count().filter(Violation.status.in_(OPEN)).label("open"),
        func.min(Violation.occurred_at).label("first"), func.max(Violation.occurred_at).label("last"),
        func.array_agg(Violation.kind.distinct()).label("kinds")])
    stmt = stmt.where((Violation.plate.isnot(None)) | (Violation.machine_code.isnot(None)))
    stmt = stmt.group_by(*keys).having(func.count() >= min_count).order_by(count.desc(), func.max(
        Violation.occurred_at).desc()).limit(limit)
    rows = session.execute(stmt).all()
    log_query(session, principal, "violations.repeat_offenders", filters, min_count=min_count)
    return [dict(subject_type=r.subject_type, plate=r.plate, plate_colour=r.plate_colour, vin=r.vin,
                 machine_code=r.machine_code, count=r.n, open_count=r.open, first_at=r.first, last_at=r.last,
                 kinds=sorted(ViolationKind(k) for k in r.kinds)) for r in rows]


_FOLD = text("""
WITH moved AS (
  DELETE FROM violation_day_count_changes RETURNING day, kind, status, subject_type, district_code, violations
), folded AS (
  INSERT INTO violation_day_counts AS c (day, kind, status, subject_type, district_code, violations)
  SELECT day, kind, status, subject_type, district_code, sum(violations) FROM moved
  GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
  ON CONFLICT (day, kind, status, subject_type, district_code)
  DO UPDATE SET violations = c.violations + excluded.violations
)
SELECT count(*) FROM moved""")


def fold_day_count_changes(session: Session) -> int:
    """Move the committed changes into the daily counts (the job `enforcement.fold_day_count_changes`,
    every minute). Atomic, so readers see before or after, never half; changes of transactions
    still open are left for the next run. Returns how many change rows were folded."""
    return session.scalar(_FOLD)


_REBUILD = [
    text("DELETE FROM violation_day_count_changes"),
    text("DELETE FROM violation_day_counts"),
    text("INSERT INTO violation_day_counts (day, kind, status, subject_type, district_code, violations) "
         "SELECT (occurred_at AT TIME ZONE 'Asia/Shanghai')::date, kind, status, subject_type, "
         "coalesce(district_code, ''), count(*) FROM violations GROUP BY 1, 2, 3, 4, 5"),
]


def rebuild_day_counts(session: Session) -> None:
    """Recompute the daily counts from the register: after a bulk load that bypassed the trigger
    (the benchmark's seed). Not for a register that is being written to at the same time."""
    for statement in _REBUILD:
        session.execute(statement)
