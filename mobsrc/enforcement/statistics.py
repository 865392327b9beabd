"""Dashboard statistics over any violation query: counts by kind, status, district and day, and
the top repeat offenders.

Days are Beijing days (Asia/Shanghai, architecture.md): a violation at 23:30 UTC counts on the
next local day. The window defaults to the last 30 local days and may not exceed MAX_WINDOW_DAYS,
so a dashboard refresh never scans the whole register. Every day of the window is listed, with 0
where nothing happened, so charts need no gap filling.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mobsrc.core import clock
from mobsrc.core.auth.principals import Principal
from mobsrc.core.errors import invalid
from mobsrc.enforcement.export import DISTRICTS
from mobsrc.enforcement.models import Violation
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


def _counts(session: Session, principal: Principal, filters: ViolationFilters) -> list[tuple]:
    """(kind, status, district, local day, count) for every combination present: one scan, one
    hash aggregate of a few thousand groups (GROUPING SETS sorted and spilled to disk here)."""
    day = _day_column()
    stmt = visible_violations(principal, filters, [Violation.kind, Violation.status, Violation.district_code, day,
                                                   func.count()])
    return session.execute(stmt.group_by(Violation.kind, Violation.status, Violation.district_code, day)).all()


def _totals(rows: list[tuple], position: int) -> dict:
    totals: dict = {}
    for row in rows:
        totals[row[position]] = totals.get(row[position], 0) + row[4]
    return totals


def violation_statistics(session: Session, principal: Principal, filters: ViolationFilters) -> dict:
    filters = bounded_window(filters)
    plan_interactively(session)
    rows = _counts(session, principal, filters)
    by_kind, by_status, by_district, by_day = (_totals(rows, i) for i in range(4))
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
