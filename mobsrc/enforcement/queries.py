"""The read side of the register: one filter language for lists, exports and statistics.

`ViolationFilters` is what police and the bureau may ask (plate, VIN, machine code, kind, status,
time range, district, area, enterprise...). `filtered(stmt, filters)` applies it to any select over
`violations`, so a page, a CSV export and a dashboard count of the same filters always agree.

The area is a WGS-84 (Multi)Polygon (a bbox or GeoJSON in any declared datum, converted by
core/geo/geojson.py before it gets here). It is sent to PostGIS as WKB and matched with
ST_Intersects (points on the boundary belong to the area), which the GiST over
(location, occurred_at) answers together with the time window.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime

from geoalchemy2.elements import WKBElement
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Select, func, or_, text
from sqlalchemy.orm import Session

from mobsrc.enforcement.models import Violation
from mobsrc.enforcement.register import SubjectType, ViolationKind, ViolationStatus
from mobsrc.registry.coding import canonical
from mobsrc.registry.identifiers import normalize_plate, normalize_vin


@dataclass(frozen=True)
class ViolationFilters:
    plate: str | None = None
    plate_colour: str | None = None
    vin: str | None = None
    machine_code: str | None = None
    kinds: tuple[ViolationKind, ...] = ()
    statuses: tuple[ViolationStatus, ...] = ()
    subject_type: SubjectType | None = None
    district_codes: tuple[str, ...] = ()
    enterprise_id: int | None = None
    legal_basis_code: str | None = None
    source: str | None = None
    occurred_from: datetime | None = None   # inclusive, aware
    occurred_to: datetime | None = None     # exclusive, aware
    area: BaseGeometry | None = field(default=None, compare=False)  # WGS-84

    @classmethod
    def from_args(cls, args: dict) -> ViolationFilters:
        """From the API's parsed query/body arguments (unknown keys such as cursor are ignored)."""
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in args.items() if k in names and v is not None}
        for plural in ("kinds", "statuses", "district_codes"):
            values[plural] = tuple(values.get(plural) or ())
        return cls(**values)

    def subject_key(self) -> str | None:
        """The subject a query looked up (what the access log names), if any."""
        if self.plate:
            return normalize_plate(self.plate)
        if self.vin:
            return normalize_vin(self.vin)
        return canonical(self.machine_code) if self.machine_code else None

    def describe(self) -> dict:
        """JSON-able summary for the access log (the area as its bounds and size)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value in (None, ()):
                continue
            if f.name == "area":
                out["area_bounds"] = [round(v, 6) for v in value.bounds]
                out["area_vertices"] = len(value.exterior.coords) if value.geom_type == "Polygon" else sum(
                    len(p.exterior.coords) for p in value.geoms)
            elif isinstance(value, datetime):
                out[f.name] = value.isoformat()
            elif isinstance(value, tuple):
                out[f.name] = [getattr(v, "value", v) for v in value]
            else:
                out[f.name] = getattr(value, "value", value)
        return out


_PAGE_SETTINGS = text("SELECT set_config('plan_cache_mode', 'force_custom_plan', true), "
                      "set_config('max_parallel_workers_per_gather', '0', true), set_config('jit', 'off', true)")


def plan_interactively(session: Session) -> None:
    """For the rest of this transaction, plan queries for their actual values, serially, without JIT.

    A page reads tens to a few thousand rows, and the best plan depends on the values: for an area
    holding much of the window, walk (occurred_at, id) backwards and stop after a page; for a small
    area, search the GiST over (location, occurred_at) and sort what it finds. A cached generic
    plan (psycopg prepares a statement after 5 runs) cannot see the area and was measured at
    ~400 ms p50 for district polygons, against ~2 ms with custom plans. Parallel workers and JIT
    cost more to start (10-100 ms) than such a query takes, and on a small server they take the
    cores the other requests need (a 30-day statistic: 1.5 s as a parallel sequential scan with
    JIT, 0.2 s as one bitmap scan).
    """
    session.execute(_PAGE_SETTINGS)


def area_element(area: BaseGeometry) -> WKBElement:
    return WKBElement(area.wkb, srid=4326)


def _equal_or_in(column, values: tuple):
    return column == values[0] if len(values) == 1 else column.in_(values)


def _identity_conditions(f: ViolationFilters) -> list:
    out = []
    if f.plate:
        out.append(Violation.plate == normalize_plate(f.plate))
    if f.plate_colour:
        out.append(Violation.plate_colour == f.plate_colour)
    if f.vin:
        out.append(Violation.vin == normalize_vin(f.vin))
    if f.machine_code:
        out.append(Violation.machine_code == canonical(f.machine_code))
    return out


def conditions(f: ViolationFilters) -> list:
    out = _identity_conditions(f)
    for column, values in ((Violation.kind, f.kinds), (Violation.status, f.statuses),
                           (Violation.district_code, f.district_codes)):
        if values:
            out.append(_equal_or_in(column, values))
    for column, value in ((Violation.subject_type, f.subject_type), (Violation.enterprise_id, f.enterprise_id),
                          (Violation.legal_basis_code, f.legal_basis_code), (Violation.source, f.source)):
        if value is not None:
            out.append(column == value)
    if f.occurred_from is not None:
        out.append(Violation.occurred_at >= f.occurred_from)
    if f.occurred_to is not None:
        out.append(Violation.occurred_at < f.occurred_to)
    if f.area is not None:
        out.append(func.ST_Intersects(Violation.location, area_element(f.area)))
    return out


def filtered(stmt: Select, f: ViolationFilters) -> Select:
    return stmt.where(*conditions(f))


def subject_conditions(plate: str | None = None, plate_colour: str | None = None, vin: str | None = None,
                       machine_code: str | None = None, vehicle_ids=(), machine_ids=()):
    """Violations of one subject, however the producer named it (plate, VIN, code or registry id)."""
    alternatives = []
    if plate:
        by_plate = Violation.plate == normalize_plate(plate)
        alternatives.append(by_plate & (Violation.plate_colour == plate_colour) if plate_colour else by_plate)
    if vin:
        alternatives.append(Violation.vin == normalize_vin(vin))
    if machine_code:
        alternatives.append(Violation.machine_code == canonical(machine_code))
    if vehicle_ids:
        alternatives.append(Violation.vehicle_id.in_(vehicle_ids))
    if machine_ids:
        alternatives.append(Violation.machine_id.in_(machine_ids))
    return or_(*alternatives)
