"""Reading positions: batches and their rejects, last known positions, tracks as GeoJSON."""
from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from mobsrc.core import clock
from mobsrc.core.auth.principals import Principal
from mobsrc.core.auth.scope import scoped
from mobsrc.core.errors import NotFound, NotInScope, invalid
from mobsrc.core.geo.crs import Crs, from_wgs84
from mobsrc.core.pagination import Page, paginate
from mobsrc.zones.models import MachineLastPosition, MachinePosition, PositionBatch, PositionReject
from mobsrc.zones.positions import FLAG_BITS, GEOFENCE_EXCLUDING_MASK
from mobsrc.zones.zone_sets import visible_machine

MAX_TRACK_POINTS = 20_000
MAX_TRACK_SPAN = timedelta(days=31)


def get_batch(session: Session, principal: Principal, batch_id: int) -> PositionBatch:
    """A batch, for its sender (or the bureau and the police)."""
    batch = session.get(PositionBatch, batch_id)
    if batch is None or not (principal.sees_everything or batch.user_id == principal.user_id):
        raise NotInScope("No such batch.")
    return batch


def batch_rejects(session: Session, principal: Principal, batch_id: int) -> list[PositionReject]:
    get_batch(session, principal, batch_id)
    return list(session.scalars(select(PositionReject).where(PositionReject.batch_id == batch_id)
                                .order_by(PositionReject.item_index)))


def last_positions(session: Session, principal: Principal, filters: dict, cursor: str | None, limit: int) -> Page:
    stmt = scoped(select(MachineLastPosition), principal, enterprise_col=MachineLastPosition.enterprise_id)
    if filters.get("enterprise_id") is not None:
        stmt = stmt.where(MachineLastPosition.enterprise_id == filters["enterprise_id"])
    if filters.get("seen_since") is not None:
        stmt = stmt.where(MachineLastPosition.fix_time >= filters["seen_since"])
    if filters.get("bbox") is not None:
        west, south, east, north = filters["bbox"]
        stmt = stmt.where(MachineLastPosition.location.ST_Intersects(
            text(f"ST_MakeEnvelope({west}, {south}, {east}, {north}, 4326)")))
    return paginate(session, stmt, [MachineLastPosition.machine_id], cursor, limit, descending=False)


def last_position(session: Session, principal: Principal, machine_id: int) -> MachineLastPosition:
    visible_machine(session, principal, machine_id)
    found = session.get(MachineLastPosition, machine_id)
    if found is None:
        raise NotFound("No position has been received for this machine yet.")
    return found


def machine_track(session: Session, principal: Principal, machine_id: int, start: datetime, end: datetime,
                  crs: Crs = Crs.WGS84, include_excluded: bool = False) -> dict:
    """A machine's fixes in [start, end) as a GeoJSON FeatureCollection: the track as a
    LineString and every fix as a Point with its data. Fixes not usable for geofencing (jumps,
    poor accuracy, repeated positions) are left out unless asked for, and flagged then."""
    machine = visible_machine(session, principal, machine_id)
    if not start < end or end - start > MAX_TRACK_SPAN:
        raise invalid("to", f"give a range of at most {MAX_TRACK_SPAN.days} days, 'from' before 'to'")
    stmt = (select(MachinePosition).where(MachinePosition.machine_id == machine.id, MachinePosition.fix_time >= start,
                                          MachinePosition.fix_time < end)
            .order_by(MachinePosition.fix_time).limit(MAX_TRACK_POINTS + 1))
    if not include_excluded:
        stmt = stmt.where(MachinePosition.flags.op("&")(GEOFENCE_EXCLUDING_MASK) == 0)
    fixes = session.scalars(stmt).all()
    truncated = len(fixes) > MAX_TRACK_POINTS
    fixes = fixes[:MAX_TRACK_POINTS]
    lons, lats = from_wgs84(np.array([f.lon for f in fixes]), np.array([f.lat for f in fixes]), crs)
    coordinates = [[round(x, 7), round(y, 7)] for x, y in zip(lons.tolist(), lats.tolist())]
    return _track_collection(machine, fixes, coordinates, start, end, crs, truncated)


def _track_collection(machine, fixes, coordinates, start, end, crs, truncated) -> dict:
    points = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": xy},
               "properties": {"fix_time": clock.as_local(f.fix_time).isoformat(), "speed_kmh": f.speed_kmh,
                              "heading": f.heading, "engine_on": f.engine_on, "engine_rpm": f.engine_rpm,
                              "hdop": f.hdop, "satellites": f.satellites, "flags": flag_names(f.flags)}}
              for f, xy in zip(fixes, coordinates)]
    line = {"type": "Feature", "geometry": {"type": "LineString", "coordinates": coordinates}
            if len(coordinates) >= 2 else None,
            "properties": {"machine_id": machine.id, "machine_code": machine.code, "fixes": len(fixes)}}
    return {"type": "FeatureCollection", "crs_name": crs.value, "machine_id": machine.id,
            "machine_code": machine.code, "from": clock.as_local(start).isoformat(),
            "to": clock.as_local(end).isoformat(), "truncated": truncated, "features": [line, *points]}


def flag_names(bits: int) -> list[str]:
    return sorted(flag.value for flag, bit in FLAG_BITS.items() if bits & bit)
