"""GeoJSON areas in any declared datum -> one valid Shapely (Multi)Polygon in WGS-84.

Accepted input: a Feature, a FeatureCollection, or a bare Polygon / MultiPolygon geometry,
holes allowed, positions [lon, lat] or [lon, lat, alt] (altitude dropped). `parse_area` returns
either a `ParsedGeometry` or the list of every `GeometryProblem` found — never a partly accepted
geometry. Each problem carries a stable `ProblemCode`, a JSON pointer into the submitted
document and, where known, the feature/polygon/ring/coordinate indices and the offending point
(in the declared datum, as the user drew it). `require_area` is the raising variant for callers
that prefer an exception (`InvalidGeometry` carries all problems).

Checks run in the declared datum (so reported points match the user's map), then the geometry
is converted to WGS-84 (standards-telemetry.md 5.3-5.5) and checked once more.

Combination rule: the polygons of one MultiPolygon must form an OGC-valid MultiPolygon (parts
may touch at points, must not overlap or share edges: PARTS_OVERLAP); the features of a
FeatureCollection are independent drawings and are united (overlaps allowed).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon

from mobsrc.core.geo.crs import Crs, is_in_china, parse_crs, to_wgs84

BBOX_POINTS_PER_SIDE = 16
# A ring whose convex hull is thinner than this fraction of its size is degenerate (a collinear
# ring evaluated in floating point keeps a ~1e-17 deg² area; 1e-9 is ~0.1 mm across 100 km).
ZERO_AREA_RELATIVE = 1e-9  # a non-WGS bbox edge bends slightly once converted; densify it


class ProblemCode(StrEnum):
    UNSUPPORTED_TYPE = "unsupported_type"
    MALFORMED = "malformed"  # wrong nesting, missing members
    EMPTY = "empty"
    NON_NUMERIC_COORDINATE = "non_numeric_coordinate"  # also NaN/inf and 1-D positions
    TOO_FEW_POSITIONS = "too_few_positions"  # ring < 4 positions (RFC 7946 3.1.6)
    RING_NOT_CLOSED = "ring_not_closed"
    OUTSIDE_CHINA = "outside_china"
    ZERO_AREA = "zero_area"
    SELF_INTERSECTION = "self_intersection"
    HOLE_OUTSIDE_SHELL = "hole_outside_shell"
    PARTS_OVERLAP = "parts_overlap"
    INVALID_TOPOLOGY = "invalid_topology"  # nested holes, disconnected interior, ...


@dataclass(frozen=True)
class GeometryProblem:
    code: ProblemCode
    pointer: str  # JSON pointer into the submitted document
    feature_index: int | None = None
    polygon_index: int | None = None
    ring_index: int | None = None
    coordinate_index: int | None = None
    point: tuple[float, float] | None = None  # in the declared datum
    detail: str = ""


@dataclass(frozen=True)
class ParsedGeometry:
    geometry: Polygon | MultiPolygon  # WGS-84, valid, non-empty
    source_crs: Crs
    polygon_count: int
    hole_count: int


class InvalidGeometry(ValueError):
    """Raised by `require_area`; `problems` lists every problem found."""

    def __init__(self, problems: Sequence[GeometryProblem]):
        super().__init__(f"{len(problems)} geometry problem(s): {problems[0].code.value} at {problems[0].pointer!r}")
        self.problems = tuple(problems)


class AreaQueryError(ValueError):
    """`area_query` called without exactly one of bbox / geojson."""


@dataclass(frozen=True)
class _Where:
    """Location of one polygon in the document."""

    feature_index: int | None
    pointer: str  # pointer to this polygon's coordinates array
    polygon_index: int | None

    def problem(self, code, ring=None, coordinate=None, point=None, detail="") -> GeometryProblem:
        pointer = self.pointer + "".join(f"/{i}" for i in (ring, coordinate) if i is not None)
        return GeometryProblem(code, pointer, self.feature_index, self.polygon_index, ring, coordinate, point, detail)


# ---------------------------------------------------------------- public entry points


def parse_area(document, crs: Crs | str) -> ParsedGeometry | list[GeometryProblem]:
    """Validate a GeoJSON area declared in `crs`; WGS-84 geometry or all problems."""
    source = parse_crs(crs)
    geometries, problems = _geometries_of(document)
    polygons_by_geometry = []
    for feature_index, pointer, geometry in geometries:
        polygons, found = _polygons_of(feature_index, pointer, geometry)
        problems += found
        polygons_by_geometry.append(polygons)
    if problems:
        return sorted(problems, key=lambda p: -1 if p.feature_index is None else p.feature_index)
    shapes = [_as_shape(g, polys) for g, polys in zip(geometries, polygons_by_geometry)]
    problems = [p for shape, g in zip(shapes, geometries) for p in _overlap_problems(shape, g)]
    if problems:
        return problems
    return _to_wgs84_parsed(shapes, source)


def require_area(document, crs: Crs | str) -> ParsedGeometry:
    """`parse_area`, raising `InvalidGeometry` (all problems attached) instead of returning them."""
    parsed = parse_area(document, crs)
    if isinstance(parsed, list):
        raise InvalidGeometry(parsed)
    return parsed


def area_query(*, bbox: Sequence | None = None, geojson=None, crs: Crs | str = Crs.WGS84):
    """Query area from a bbox [min_lon, min_lat, max_lon, max_lat] or a GeoJSON polygon,
    in `crs`, as WGS-84 `ParsedGeometry` (or the problems found)."""
    if (bbox is None) == (geojson is None):
        raise AreaQueryError("give exactly one of bbox or geojson")
    if geojson is not None:
        return parse_area(geojson, crs)
    return _bbox_area(bbox, parse_crs(crs))


# ---------------------------------------------------------------- document structure


def _geometries_of(document):
    """[(feature_index, pointer, geometry dict)] and structural problems."""
    if not isinstance(document, Mapping):
        return [], [GeometryProblem(ProblemCode.MALFORMED, "", detail="expected a GeoJSON object")]
    kind = document.get("type")
    if kind == "FeatureCollection":
        return _collection_geometries(document.get("features"))
    if kind == "Feature":
        return _feature_geometry(document, None, "")
    if kind in ("Polygon", "MultiPolygon"):
        return [(None, "", document)], []
    return [], [GeometryProblem(ProblemCode.UNSUPPORTED_TYPE, "/type", detail=f"type {kind!r}")]


def _collection_geometries(features):
    if not isinstance(features, list):
        return [], [GeometryProblem(ProblemCode.MALFORMED, "/features", detail="features must be an array")]
    if not features:
        return [], [GeometryProblem(ProblemCode.EMPTY, "/features", detail="no features")]
    geometries, problems = [], []
    for index, feature in enumerate(features):
        found, errors = _feature_geometry(feature, index, f"/features/{index}")
        geometries += found
        problems += errors
    return geometries, problems


def _feature_geometry(feature, index, pointer):
    if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
        return [], [GeometryProblem(ProblemCode.MALFORMED, pointer, index, detail="expected a Feature")]
    geometry = feature.get("geometry")
    if geometry is None:
        return [], [GeometryProblem(ProblemCode.EMPTY, pointer + "/geometry", index, detail="null geometry")]
    kind = geometry.get("type") if isinstance(geometry, Mapping) else None
    if kind not in ("Polygon", "MultiPolygon"):
        return [], [GeometryProblem(ProblemCode.UNSUPPORTED_TYPE, pointer + "/geometry/type", index,
                                    detail=f"type {kind!r}")]
    return [(index, pointer + "/geometry", geometry)], []


def _polygons_of(feature_index, pointer, geometry):
    """Shapely polygons of one Polygon/MultiPolygon member, or problems."""
    coordinates = geometry.get("coordinates")
    base = pointer + "/coordinates"
    if not isinstance(coordinates, list) or not coordinates:
        return [], [GeometryProblem(ProblemCode.EMPTY, base, feature_index, detail="no coordinates")]
    if geometry["type"] == "Polygon":
        parts = [(_Where(feature_index, base, None), coordinates)]
    else:
        parts = [(_Where(feature_index, f"{base}/{i}", i), c) for i, c in enumerate(coordinates)]
    polygons, problems = [], []
    for where, rings in parts:
        polygon, found = _polygon(where, rings)
        polygons.append(polygon)
        problems += found
    return polygons, problems


# ---------------------------------------------------------------- one polygon


def _polygon(where: _Where, rings):
    if not isinstance(rings, list) or not rings:
        return None, [where.problem(ProblemCode.EMPTY, detail="polygon without rings")]
    parsed, problems = [], []
    for ring_index, ring in enumerate(rings):
        positions, found = _ring_positions(where, ring_index, ring)
        parsed.append(positions)
        problems += found
    if problems:
        return None, problems
    problems = [p for i, ring in enumerate(parsed) for p in _ring_area_problems(where, i, ring)]
    if problems:
        return None, problems
    polygon = Polygon(parsed[0], parsed[1:])
    return polygon, _validity_problems(where, polygon)


def _ring_positions(where: _Where, ring_index, ring):
    if not isinstance(ring, list):
        return None, [where.problem(ProblemCode.MALFORMED, ring_index, detail="ring must be an array")]
    positions = []
    for index, position in enumerate(ring):
        if not _is_position(position):
            return None, [where.problem(ProblemCode.NON_NUMERIC_COORDINATE, ring_index, index,
                                        detail=f"position {position!r}")]
        positions.append((float(position[0]), float(position[1])))
    return positions, _ring_shape_problems(where, ring_index, positions)


def _is_position(position) -> bool:
    if not isinstance(position, (list, tuple)) or not 2 <= len(position) <= 3:
        return False
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in position)


def _ring_shape_problems(where: _Where, ring_index, positions):
    if len(positions) < 4:
        return [where.problem(ProblemCode.TOO_FEW_POSITIONS, ring_index,
                              detail=f"{len(positions)} positions; a ring needs at least 4")]
    if positions[0] != positions[-1]:
        return [where.problem(ProblemCode.RING_NOT_CLOSED, ring_index, len(positions) - 1,
                              point=positions[-1], detail="first and last positions differ")]
    for index, (lon, lat) in enumerate(positions):
        if not is_in_china(lon, lat):
            return [where.problem(ProblemCode.OUTSIDE_CHINA, ring_index, index, point=(lon, lat))]
    return []


def _ring_area_problems(where: _Where, ring_index, positions):
    """A ring whose points are all (nearly) collinear or coincident encloses nothing."""
    hull = shapely.multipoints(np.asarray(positions)).convex_hull  # vectorised: no Point per position
    if hull.area > ZERO_AREA_RELATIVE * hull.length ** 2:
        return []
    return [where.problem(ProblemCode.ZERO_AREA, ring_index, detail="ring encloses no area")]


_REASON_CODES = (
    ("Ring Self-intersection", ProblemCode.SELF_INTERSECTION),
    ("Self-intersection", ProblemCode.SELF_INTERSECTION),
    ("Hole lies outside shell", ProblemCode.HOLE_OUTSIDE_SHELL),
    ("Too few points", ProblemCode.TOO_FEW_POSITIONS),
    ("Invalid Coordinate", ProblemCode.NON_NUMERIC_COORDINATE),
)
_REASON_POINT = re.compile(r"\[([-+0-9.eE]+) ([-+0-9.eE]+)\]")


def _validity_problems(where: _Where, polygon: Polygon):
    reason = shapely.is_valid_reason(polygon)
    if reason == "Valid Geometry":
        return []
    code = next((c for prefix, c in _REASON_CODES if reason.startswith(prefix)), ProblemCode.INVALID_TOPOLOGY)
    point = _reason_point(reason)
    ring = _nearest_ring(polygon, point) if point else None
    return [where.problem(code, ring, point=point, detail=reason)]


def _reason_point(reason: str) -> tuple[float, float] | None:
    match = _REASON_POINT.search(reason)
    return (float(match.group(1)), float(match.group(2))) if match else None


def _nearest_ring(polygon: Polygon, point) -> int:
    rings = [polygon.exterior, *polygon.interiors]
    distances = shapely.distance(rings, Point(point))
    return int(np.argmin(distances))


# ---------------------------------------------------------------- assembling the area


def _as_shape(geometry_entry, polygons):
    kind = geometry_entry[2]["type"]
    return polygons[0] if kind == "Polygon" else MultiPolygon(polygons)


def _overlap_problems(shape, geometry_entry):
    if isinstance(shape, Polygon) or shape.is_valid:
        return []
    feature_index, pointer, _ = geometry_entry
    reason = shapely.is_valid_reason(shape)
    return [GeometryProblem(ProblemCode.PARTS_OVERLAP, pointer + "/coordinates", feature_index,
                            point=_reason_point(reason), detail=reason)]


def _to_wgs84_parsed(shapes, source: Crs) -> ParsedGeometry | list[GeometryProblem]:
    area = shapes[0] if len(shapes) == 1 else shapely.union_all(shapes)
    if source is not Crs.WGS84:
        area = shapely.transform(area, lambda xy: np.column_stack(to_wgs84(xy[:, 0], xy[:, 1], source)))
    if not area.is_valid:  # the datum shift is smooth; this would need near-touching rings
        reason = shapely.is_valid_reason(area)
        return [GeometryProblem(ProblemCode.SELF_INTERSECTION, "", point=_reason_point(reason),
                                detail=f"after conversion to WGS-84: {reason}")]
    polygons = list(area.geoms) if isinstance(area, MultiPolygon) else [area]
    holes = sum(len(p.interiors) for p in polygons)
    return ParsedGeometry(area, source, len(polygons), holes)


def _bbox_area(bbox, source: Crs) -> ParsedGeometry | list[GeometryProblem]:
    if not isinstance(bbox, (list, tuple)) or len(bbox) != 4 or not _is_position(bbox[:2]) \
            or not _is_position(bbox[2:]):
        return [GeometryProblem(ProblemCode.NON_NUMERIC_COORDINATE, "/bbox",
                                detail="bbox must be [min_lon, min_lat, max_lon, max_lat]")]
    min_lon, min_lat, max_lon, max_lat = (float(v) for v in bbox)
    if not (min_lon < max_lon and min_lat < max_lat):
        return [GeometryProblem(ProblemCode.ZERO_AREA, "/bbox", detail="min must be below max")]
    for index, corner in ((0, (min_lon, min_lat)), (2, (max_lon, max_lat))):
        if not is_in_china(*corner):
            return [GeometryProblem(ProblemCode.OUTSIDE_CHINA, f"/bbox/{index}", point=corner)]
    ring = _densified_box(min_lon, min_lat, max_lon, max_lat)
    return _to_wgs84_parsed([Polygon(ring)], source)


def _densified_box(min_lon, min_lat, max_lon, max_lat):
    t = np.linspace(0.0, 1.0, BBOX_POINTS_PER_SIDE, endpoint=False)
    xs = np.concatenate([min_lon + t * (max_lon - min_lon), np.full_like(t, max_lon),
                         max_lon - t * (max_lon - min_lon), np.full_like(t, min_lon)])
    ys = np.concatenate([np.full_like(t, min_lat), min_lat + t * (max_lat - min_lat),
                         np.full_like(t, max_lat), max_lat - t * (max_lat - min_lat)])
    return np.column_stack([xs, ys])
