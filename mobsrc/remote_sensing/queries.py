"""The read side of remote sensing: readings with their verdicts, a vehicle's history, batches,
confirmed high emitters and per station-day statistics, each scoped to who is asking:
the bureau and the police see everything, a station its own readings and statistics, an
operator the readings judged against its own vehicles (the owner when judged)."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Select, and_, false, select, text
from sqlalchemy.orm import Session, contains_eager

from mobsrc.core.auth.principals import SYSTEM, Principal, Role
from mobsrc.core.auth.scope import ensure_visible, scoped
from mobsrc.core.errors import NotInScope, invalid
from mobsrc.core.pagination import Page, paginate
from mobsrc.registry import service as registry
from mobsrc.registry.identifiers import normalize_plate
from mobsrc.remote_sensing import service
from mobsrc.remote_sensing.models import RsBatch, RsConfirmation, RsReading, RsVerdict
from mobsrc.remote_sensing.partitions import day_bounds
from mobsrc.remote_sensing.statistics import StationDay

MAX_STATISTICS_DAYS = 366
CURRENT = and_(RsVerdict.reading_id == RsReading.id, RsVerdict.measured_at == RsReading.measured_at,
               RsVerdict.superseded_at.is_(None))


def _scoped_readings(stmt: Select, principal: Principal) -> Select:
    if principal.sees_everything:
        return stmt
    if principal.role is Role.FLEET_OPERATOR:
        return stmt.where(RsVerdict.enterprise_id == principal.enterprise_id)
    if principal.role is Role.RS_STATION:
        return stmt.where(RsReading.station_id == principal.station_id)
    return stmt.where(false())


def _readings(principal: Principal) -> Select:
    """Readings with their current verdict (outer join: a reading not yet judged has none)."""
    stmt = select(RsReading).outerjoin(RsVerdict, CURRENT).options(contains_eager(RsReading.verdict))
    return _scoped_readings(stmt, principal)


def list_readings(session: Session, principal: Principal, filters: dict, cursor: str | None, limit: int) -> Page:
    stmt = _readings(principal)
    if filters.get("plate"):
        stmt = stmt.where(RsReading.plate == normalize_plate(filters["plate"]))
    for name in ("station_id", "plate_colour"):
        if filters.get(name) is not None:
            stmt = stmt.where(getattr(RsReading, name) == filters[name])
    for name in ("vehicle_id", "outcome", "black_smoke"):
        if filters.get(name) is not None:
            stmt = stmt.where(getattr(RsVerdict, name) == filters[name])
    if filters.get("measured_from") is not None:
        stmt = stmt.where(RsReading.measured_at >= filters["measured_from"])
    if filters.get("measured_to") is not None:
        stmt = stmt.where(RsReading.measured_at < filters["measured_to"])
    return paginate(session, stmt, [RsReading.measured_at, RsReading.id], cursor, limit)


def get_reading(session: Session, principal: Principal, reading_id: int) -> RsReading:
    """One reading with its current verdict and, as `verdicts`, every judgement of it."""
    reading = session.scalar(_readings(principal).where(RsReading.id == reading_id))  # scoped
    if reading is None:
        raise NotInScope("No such reading.")
    reading.verdicts = list(session.scalars(select(RsVerdict).where(
        RsVerdict.reading_id == reading.id, RsVerdict.measured_at == reading.measured_at).order_by(RsVerdict.id)))
    return reading


def vehicle_readings(session: Session, principal: Principal, vehicle_id: int, filters: dict,
                     cursor: str | None, limit: int) -> Page:
    """A registered vehicle's readings and judgements, newest first."""
    registry.get_vehicle(session, principal, vehicle_id)  # 404 unless visible
    return list_readings(session, principal, {**filters, "vehicle_id": vehicle_id}, cursor, limit)


def get_batch(session: Session, principal: Principal, batch_id: int) -> RsBatch:
    batch = session.get(RsBatch, batch_id)
    return ensure_visible(principal, batch, "batch", station_id=batch.station_id if batch else None)


def list_confirmations(session: Session, principal: Principal, filters: dict, cursor: str | None,
                       limit: int) -> Page:
    stmt = scoped(select(RsConfirmation), principal, enterprise_col=RsConfirmation.enterprise_id)
    if filters.get("plate"):
        stmt = stmt.where(RsConfirmation.plate == normalize_plate(filters["plate"]))
    for name in ("plate_colour", "vehicle_id", "handover_status"):
        if filters.get(name) is not None:
            stmt = stmt.where(getattr(RsConfirmation, name) == filters[name])
    return paginate(session, stmt, [RsConfirmation.confirmed_at, RsConfirmation.id], cursor, limit)


# --- statistics ---------------------------------------------------------------------------------

# Two grouped scans instead of a join: a verdict has its reading's station and time, so counts
# per (station, local day) of readings and of current verdicts line up; pending = the difference.
_STATION_DAYS = text("""
WITH r AS (
  SELECT station_id, (measured_at AT TIME ZONE 'Asia/Shanghai')::date AS day, count(*) AS readings
  FROM rs_readings
  WHERE measured_at >= :start AND measured_at < :end AND (CAST(:station AS bigint) IS NULL OR station_id = :station)
  GROUP BY 1, 2
), v AS (
  SELECT station_id, (measured_at AT TIME ZONE 'Asia/Shanghai')::date AS day,
         count(*) AS assessed,
         count(*) FILTER (WHERE outcome <> 'invalid') AS valid,
         count(*) FILTER (WHERE outcome IN ('pass', 'exceed')) AS judged,
         count(*) FILTER (WHERE outcome = 'exceed') AS exceeded,
         count(*) FILTER (WHERE vehicle_id IS NOT NULL) AS matched,
         count(*) FILTER (WHERE black_smoke) AS black_smoke
  FROM rs_verdicts
  WHERE superseded_at IS NULL AND measured_at >= :start AND measured_at < :end
    AND (CAST(:station AS bigint) IS NULL OR station_id = :station)
  GROUP BY 1, 2
)
SELECT r.station_id, r.day, r.readings, r.readings - coalesce(v.assessed, 0) AS pending,
       coalesce(v.valid, 0) AS valid, coalesce(v.judged, 0) AS judged, coalesce(v.exceeded, 0) AS exceeded,
       coalesce(v.matched, 0) AS matched, coalesce(v.black_smoke, 0) AS black_smoke
FROM r LEFT JOIN v USING (station_id, day)
ORDER BY 1, 2
""")


def station_days(session: Session, principal: Principal, station_id: int | None, day_from: date,
                 day_to: date) -> list[StationDay]:
    """Per station and Asia/Shanghai day: readings, valid, judged, exceeded, matched (and the
    rates of `statistics.StationDay`). A station sees only its own."""
    if principal.role is Role.RS_STATION:
        station_id = principal.station_id
    elif station_id is not None:
        service.rs_station(session, principal, station_id)
    if day_to < day_from or (day_to - day_from).days >= MAX_STATISTICS_DAYS:
        raise invalid("day_to", f"give 1 to {MAX_STATISTICS_DAYS} days, day_to not before day_from")
    start, end = day_bounds(day_from)[0], day_bounds(day_to + timedelta(days=1))[0]
    rows = session.execute(_STATION_DAYS, {"start": start, "end": end, "station": station_id}).all()
    codes = {s.id: s.code for s in registry.list_stations(session, SYSTEM, service.RS_KIND)}
    return [StationDay(codes.get(r.station_id, str(r.station_id)), r.day, r.readings, r.valid, r.judged,
                       r.exceeded, r.matched, r.pending, r.black_smoke) for r in rows]
