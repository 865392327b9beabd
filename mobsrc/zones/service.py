"""No-use zones: create, change and retire them from GeoJSON (every change a new version, all
versions kept), import a FeatureCollection as one zone per feature, and the alert-day calendar.

Geometry arrives in the datum it was drawn in (wgs84, gcj02, bd09) and is stored in WGS-84;
every problem is answered 422 with its reason and JSON pointer, and nothing is stored when any
feature has one.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

import numpy as np
import shapely
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import MultiPolygon, Polygon, mapping
from sqlalchemy import select
from sqlalchemy.orm import Session

from mobsrc.core import clock
from mobsrc.core.auth.principals import Principal
from mobsrc.core.errors import Conflict, FieldError, NotFound, Unprocessable, invalid
from mobsrc.core.geo import geojson
from mobsrc.core.geo.crs import Crs, from_wgs84
from mobsrc.core.pagination import Page, paginate
from mobsrc.registry import service as registry
from mobsrc.zones.models import AlertDay, NoUseZone, ZoneStatus, ZoneVersion
from mobsrc.zones.rules import COMBUSTION_STAGES, DEFAULT_PROHIBITED_STAGES, EmissionStage

# What a version holds besides its area; a PATCH may change any of these.
RULE_FIELDS = ("prohibited_stages", "exempt_machine_types", "prohibit_unknown_stage", "prohibit_unregistered",
               "unknown_engine_state_is_working", "effective_from", "effective_until", "daily_windows",
               "alert_days_only")
CONTENT_FIELDS = ("name", "district_code", *RULE_FIELDS)
STAGE_ORDER = [s.value for s in (*COMBUSTION_STAGES, EmissionStage.NEW_ENERGY)]
RULE_DEFAULTS = {
    "prohibited_stages": [s.value for s in COMBUSTION_STAGES if s in DEFAULT_PROHIBITED_STAGES],
    "exempt_machine_types": [],
    "prohibit_unknown_stage": True,
    "prohibit_unregistered": False,
    "unknown_engine_state_is_working": True,
    "effective_from": None,
    "effective_until": None,
    "daily_windows": [],
    "alert_days_only": False,
}


@dataclass(frozen=True)
class ZoneView:
    """A zone with one of its versions (the current one unless asked otherwise)."""

    zone: NoUseZone
    version: ZoneVersion
    area_crs: Crs = Crs.WGS84

    def __getattr__(self, name):
        return getattr(self.version, name)

    @property
    def id(self) -> int:
        return self.zone.id

    @property
    def status(self) -> ZoneStatus:
        return self.version.status

    @property
    def area(self) -> dict:
        return area_geojson(self.version, self.area_crs)

    @property
    def bbox(self) -> list[float]:
        return [round(v, 7) for v in to_shape(self.version.geometry).bounds]


# --- reading -------------------------------------------------------------------------------------

def get_zone(session: Session, zone_id: int, version: int | None = None, area_crs: Crs = Crs.WGS84) -> ZoneView:
    zone = session.get(NoUseZone, zone_id)
    if zone is None:
        raise NotFound("No such zone.")
    number = version if version is not None else zone.current_version
    found = session.scalar(select(ZoneVersion).where(ZoneVersion.zone_id == zone_id, ZoneVersion.version == number))
    if found is None:
        raise NotFound(f"Zone {zone_id} has no version {number}.")
    return ZoneView(zone, found, area_crs)


def list_zones(session: Session, filters: dict, cursor: str | None, limit: int) -> Page:
    stmt = select(NoUseZone)
    for name in ("status", "district_code"):
        if filters.get(name) is not None:
            stmt = stmt.where(getattr(NoUseZone, name) == filters[name])
    page = paginate(session, stmt, [NoUseZone.id], cursor, limit, descending=False)
    return Page(_current_views(session, page.items), page.next_cursor, page.limit)


def zone_versions(session: Session, zone_id: int) -> list[ZoneView]:
    zone = get_zone(session, zone_id).zone
    versions = session.scalars(select(ZoneVersion).where(ZoneVersion.zone_id == zone_id).order_by(ZoneVersion.version))
    return [ZoneView(zone, v) for v in versions]


def active_zones_collection(session: Session, area_crs: Crs = Crs.WGS84) -> dict:
    """Every active zone as a GeoJSON FeatureCollection (for maps), in `area_crs`."""
    zones = session.scalars(select(NoUseZone).where(NoUseZone.status == ZoneStatus.ACTIVE).order_by(NoUseZone.id))
    features = []
    for view in _current_views(session, list(zones), area_crs):
        properties = {"id": view.id, "version": view.version.version, "name": view.name,
                      "district_code": view.district_code, **{f: _plain(getattr(view.version, f)) for f in RULE_FIELDS}}
        features.append({"type": "Feature", "id": view.id, "properties": properties, "geometry": view.area})
    return {"type": "FeatureCollection", "crs_name": area_crs.value, "features": features}


def _current_views(session: Session, zones: list[NoUseZone], area_crs: Crs = Crs.WGS84) -> list[ZoneView]:
    if not zones:
        return []
    keys = [(z.id, z.current_version) for z in zones]
    versions = session.scalars(select(ZoneVersion).where(
        ZoneVersion.zone_id.in_([k[0] for k in keys]))).all()
    by_key = {(v.zone_id, v.version): v for v in versions}
    return [ZoneView(z, by_key[(z.id, z.current_version)], area_crs) for z in zones]


def area_geojson(version: ZoneVersion, crs: Crs = Crs.WGS84) -> dict:
    shape = to_shape(version.geometry)
    if crs is not Crs.WGS84:
        shape = shapely.transform(shape, lambda xy: np.column_stack(from_wgs84(xy[:, 0], xy[:, 1], crs)))
    return _rounded(mapping(shape))


# --- writing -------------------------------------------------------------------------------------

def create_zone(session: Session, principal: Principal, draft: dict) -> ZoneView:
    """A new zone from its area (GeoJSON in `draft['crs']`) and rule; version 1."""
    area = parse_area_or_422(draft["area"], draft["crs"], "area")
    content = _content(draft, RULE_DEFAULTS)
    _check_content(session, content)
    return _new_zone(session, principal, content, area, draft)


def update_zone(session: Session, principal: Principal, zone_id: int, changes: dict) -> ZoneView:
    """A new version with `changes` applied; nothing new when nothing changes."""
    zone = _locked_active_zone(session, zone_id, changes.get("expected_version"))
    current = get_zone(session, zone_id).version
    content = _canonical({f: _plain(changes[f] if f in changes else getattr(current, f)) for f in CONTENT_FIELDS})
    _check_content(session, content)
    area = parse_area_or_422(changes["area"], changes["crs"], "area") if "area" in changes else None
    changed = [f for f in CONTENT_FIELDS if content[f] != _plain(getattr(current, f))]
    if area is not None and not area.geometry.equals(to_shape(current.geometry)):
        changed.append("area")
    if not changed:
        return ZoneView(zone, current)
    geometry = area.geometry if area is not None and "area" in changed else to_shape(current.geometry)
    source = (changes["area"], changes["crs"]) if "area" in changed else (None, current.source_crs)
    return _next_version(session, principal, zone, current, content, geometry, source, changed,
                         changes.get("note", ""), ZoneStatus.ACTIVE)


def retire_zone(session: Session, principal: Principal, zone_id: int, note: str = "",
                expected_version: int | None = None) -> ZoneView:
    """The zone stops applying now; a retiring version records who and why. Final."""
    zone = _locked_active_zone(session, zone_id, expected_version)
    current = get_zone(session, zone_id).version
    content = {f: _plain(getattr(current, f)) for f in CONTENT_FIELDS}
    return _next_version(session, principal, zone, current, content, to_shape(current.geometry),
                         (None, current.source_crs), ["retired"], note, ZoneStatus.RETIRED)


def import_zones(session: Session, principal: Principal, draft: dict) -> list[ZoneView]:
    """One zone per feature of a FeatureCollection, sharing the draft's rule. The name comes
    from the feature's `name_property`, the district from `district_property` when it is a
    district this platform serves. All or nothing."""
    collection = draft["area"]
    features = collection.get("features") if isinstance(collection, dict) else None
    if collection.get("type") != "FeatureCollection" or not isinstance(features, list) or not features:
        raise invalid("area", "an import needs a FeatureCollection with at least one feature", "malformed")
    parsed, problems = [], []
    for index, feature in enumerate(features):
        result = geojson.parse_area(feature, draft["crs"])
        if isinstance(result, list):
            problems += [_field_error(p, f"area/features/{index}") for p in result]
        parsed.append(result)
    if problems:
        raise _area_problems(problems)
    created = []
    for index, (feature, area) in enumerate(zip(features, parsed)):
        content = _content({**draft, **_feature_identity(session, feature, index, draft)}, RULE_DEFAULTS)
        _check_content(session, content)
        created.append(_new_zone(session, principal, content, area, {"area": feature, "crs": draft["crs"],
                                                                     "note": draft.get("note", "")}))
    return created


def parse_area_or_422(document, crs: str, field: str) -> geojson.ParsedGeometry:
    try:
        result = geojson.parse_area(document, crs)
    except geojson.AreaQueryError as exc:  # pragma: no cover - parse_area raises only for a bad crs
        raise invalid("crs", str(exc)) from exc
    if isinstance(result, list):
        raise _area_problems([_field_error(p, field) for p in result])
    return result


def _new_zone(session, principal, content, area, draft) -> ZoneView:
    now = clock.now()
    zone = NoUseZone(name=content["name"], district_code=content["district_code"], status=ZoneStatus.ACTIVE,
                     current_version=1, created_at=now, updated_at=now)
    session.add(zone)
    session.flush()
    version = _version_row(zone, 1, ZoneStatus.ACTIVE, content, area.geometry, (draft["area"], draft["crs"]),
                           ["created"], draft.get("note", ""), principal, now)
    session.add(version)
    session.flush()
    return ZoneView(zone, version)


def _next_version(session, principal, zone, current, content, geometry, source, changed, note, status) -> ZoneView:
    now = clock.now()
    if now <= current.recorded_at:  # versions must follow each other in time
        raise Conflict("The zone changed a moment ago; try again.")
    number = current.version + 1
    version = _version_row(zone, number, status, content, geometry, source, changed, note, principal, now)
    session.add(version)
    zone.current_version, zone.status, zone.updated_at = number, status, now
    zone.name, zone.district_code = content["name"], content["district_code"]
    session.flush()
    return ZoneView(zone, version)


def _version_row(zone, number, status, content, geometry, source, changed, note, principal, now) -> ZoneVersion:
    document, crs = source
    return ZoneVersion(zone_id=zone.id, version=number, status=status, geometry=from_shape(_multi(geometry), 4326),
                       source_crs=str(crs), source_geojson=document, changed=changed, note=note or "",
                       recorded_at=now, recorded_by=principal.user_id, **content)


def _locked_active_zone(session: Session, zone_id: int, expected_version: int | None) -> NoUseZone:
    zone = session.get(NoUseZone, zone_id, with_for_update=True)
    if zone is None:
        raise NotFound("No such zone.")
    if zone.status is ZoneStatus.RETIRED:
        raise Conflict("A retired zone cannot be changed; create a new zone.")
    if expected_version is not None and expected_version != zone.current_version:
        raise Conflict(f"The zone is at version {zone.current_version}, not {expected_version}; reload it and "
                       f"apply your change again.", current_version=zone.current_version)
    return zone


def _content(draft: dict, defaults: dict) -> dict:
    content = {"name": draft["name"], "district_code": draft.get("district_code")}
    content.update({f: draft.get(f, defaults[f]) for f in RULE_FIELDS})
    return _canonical({k: _plain(v) for k, v in content.items()})


def _canonical(content: dict) -> dict:
    """Lists in one order (stages from oldest to newest), so equal rules compare equal."""
    content["prohibited_stages"] = sorted(set(content["prohibited_stages"]), key=STAGE_ORDER.index)
    content["exempt_machine_types"] = sorted(set(content["exempt_machine_types"]))
    return content


def _check_content(session: Session, content: dict) -> None:
    registry.ensure_district(session, content["district_code"])
    start, end = content["effective_from"], content["effective_until"]
    if start is not None and end is not None and not start < end:
        raise invalid("effective_until", "must be later than effective_from")
    if not content["prohibited_stages"] and not content["prohibit_unknown_stage"] \
            and not content["prohibit_unregistered"]:
        raise invalid("prohibited_stages", "a zone that prohibits nothing would never apply")


def _feature_identity(session: Session, feature: dict, index: int, draft: dict) -> dict:
    properties = feature.get("properties") or {}
    name = properties.get(draft["name_property"])
    if not isinstance(name, str) or not name.strip():
        raise invalid(f"area.features.{index}.properties.{draft['name_property']}", "each feature needs a name")
    district = properties.get(draft["district_property"])
    district = str(district) if district is not None else None
    known = district is not None and _is_district(session, district)
    prefix = draft.get("name_prefix") or ""
    return {"name": f"{prefix}{name.strip()}"[:100], "district_code": district if known else draft.get("district_code")}


def _is_district(session: Session, code: str) -> bool:
    try:
        registry.ensure_district(session, code)
    except Unprocessable:
        return False
    return True


def _field_error(problem: geojson.GeometryProblem, prefix: str) -> FieldError:
    where = (prefix + problem.pointer).replace("/", ".")
    reason = problem.code.value.replace("_", " ")
    if problem.point is not None:
        reason += f" at ({problem.point[0]:.7f}, {problem.point[1]:.7f})"
    if problem.detail:
        reason += f": {problem.detail}"
    return FieldError(where, reason, problem.code.value)


def _area_problems(errors: list[FieldError]) -> Unprocessable:
    return Unprocessable(f"The area is not a valid zone ({len(errors)} problem(s)); nothing was stored.", errors)


def _multi(geometry) -> MultiPolygon:
    return MultiPolygon([geometry]) if isinstance(geometry, Polygon) else geometry


def _plain(value):
    """Content values in their stored JSON form (times as 'HH:MM[:SS]', enums by value)."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, time):
        return value.isoformat(timespec="seconds" if value.second else "minutes")
    if hasattr(value, "value") and not isinstance(value, (datetime, date)):
        return value.value
    return value


def _rounded(geometry: dict) -> dict:
    def walk(c):
        return [round(c[0], 7), round(c[1], 7)] if isinstance(c[0], float) else [walk(x) for x in c]
    return {"type": geometry["type"], "coordinates": walk(_lists(geometry["coordinates"]))}


def _lists(c):
    return [_lists(x) for x in c] if isinstance(c, (list, tuple)) and c and isinstance(c[0], (list, tuple)) else list(c)


# --- alert days ----------------------------------------------------------------------------------

def declare_alert_day(session: Session, principal: Principal, day: date, level: str, note: str) -> AlertDay:
    alert = session.get(AlertDay, day)
    if alert is None:
        alert = AlertDay(day=day)
        session.add(alert)
    alert.level, alert.note, alert.declared_by, alert.declared_at = level, note, principal.user_id, clock.now()
    session.flush()
    return alert


def cancel_alert_day(session: Session, day: date) -> None:
    alert = session.get(AlertDay, day)
    if alert is None:
        raise NotFound(f"{day.isoformat()} is not an alert day.")
    session.delete(alert)
    session.flush()


def list_alert_days(session: Session, first: date | None, last: date | None) -> list[AlertDay]:
    stmt = select(AlertDay)
    if first is not None:
        stmt = stmt.where(AlertDay.day >= first)
    if last is not None:
        stmt = stmt.where(AlertDay.day <= last)
    return list(session.scalars(stmt.order_by(AlertDay.day)))


def alert_days_between(session: Session, first: date, last: date) -> set[date]:
    return set(session.scalars(select(AlertDay.day).where(AlertDay.day >= first, AlertDay.day <= last)))
